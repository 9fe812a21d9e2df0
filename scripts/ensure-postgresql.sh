#!/bin/sh
# Makes sure a PostgreSQL server's programs (initdb, pg_ctl) exist for the multi-process tests
# (test/harness/system-postgres.ts starts a throwaway cluster of its own as the `postgres` user; this
# only installs Debian's `postgresql` package, whose own cluster is never started).
set -eu

if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  exit 0
fi
sh "$(dirname "$0")/apt-ensure.sh" ensure-postgresql postgresql
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null
