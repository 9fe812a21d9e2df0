#!/bin/sh
# Makes sure Debian's Chromium exists for the browser tests (test/web/), which drive it through
# playwright-core. Never a browser download of Playwright's own: only Debian's package.
set -eu

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
sh "$(dirname "$0")/apt-ensure.sh" ensure-chromium chromium
test -x /usr/bin/chromium
