#!/bin/sh
# Makes sure an OpenSSH server binary exists for the SSH host tests (test/hosts/sshd.ts starts a
# throwaway sshd of its own; this only installs the program). CI starts from a clean Debian
# machine, so this installs Debian's openssh-server with apt, refreshing the package lists once
# when they are missing or do not know the package. The package's own sshd service is not used:
# policy-rc.d keeps apt from starting it (there is no init system here anyway).
set -eu

if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-sshd: /usr/sbin/sshd is missing and installing it needs root" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-sshd: /usr/sbin/sshd is missing and there is no apt-get to install openssh-server" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show openssh-server >/dev/null 2>&1; then
  apt-get update -qq
fi

# Keep the package's maintainer scripts from starting a system sshd on port 22.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
if ! apt-get install -y -qq --no-install-recommends openssh-server >/dev/null; then
  # The lists may be stale (a package version gone from the mirror): refresh once and try again.
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
fi

# sshd refuses to start without its privilege-separation directory.
mkdir -p /run/sshd
chmod 755 /run/sshd
test -x /usr/sbin/sshd
