#!/bin/sh
# Makes sure an OpenSSH server binary exists for the SSH host tests (test/hosts/sshd.ts starts a
# throwaway sshd of its own; this only installs the program, with Debian's openssh-server).
set -eu

if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null 2>&1; then
  exit 0
fi
sh "$(dirname "$0")/apt-ensure.sh" ensure-sshd openssh-server

# sshd refuses to start without its privilege-separation directory.
mkdir -p /run/sshd
chmod 755 /run/sshd
test -x /usr/sbin/sshd
