#!/bin/sh
# Installs Debian packages the tests need, for the ensure-*.sh scripts: `apt-ensure.sh <name> <package>…`
# (<name> prefixes the messages). CI starts from a clean Debian machine: this needs root and apt-get,
# refreshes the package lists once when they are missing or do not know a package, and tries once more
# after a refresh when the lists are stale (a version gone from the mirror). Packages' own services are
# never started: policy-rc.d keeps apt from starting them (there is no init system here anyway).
set -eu

name=$1
shift
if [ "$(id -u)" != 0 ]; then
  echo "$name: installing $* needs root (apt-get install $*)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$name: there is no apt-get to install $*" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
for pkg in "$@"; do
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    apt-get update -qq
    break
  fi
done

if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
if ! apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
fi
