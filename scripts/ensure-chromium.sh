#!/bin/sh
# Makes sure Debian's Chromium exists for the browser tests (test/web/), which drive it through
# playwright-core. CI starts from a clean Debian machine, so this installs the `chromium` package
# with apt, refreshing the package lists once when they are missing or stale. Never a browser
# download of Playwright's own: only Debian's package.
set -eu

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: /usr/bin/chromium is missing and installing it needs root (apt-get install chromium)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: /usr/bin/chromium is missing and there is no apt-get to install it" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
  apt-get update -qq
fi
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  # The lists may be stale (a package version gone from the mirror): refresh once and try again.
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
test -x /usr/bin/chromium
