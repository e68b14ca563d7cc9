#!/usr/bin/env bash
# README line 1: installs what kiln needs on a fresh Debian 12 machine (as root), builds kiln
# and its native helper, imports busybox as busybox:latest and builds examples/hello.
# Idempotent: a second run installs nothing and rebuilds from the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-packages.sh busybox-static gcc make libc6-dev uidmap bzip2 xz-utils zstd
pnpm install --frozen-lockfile --reporter=silent
pnpm run -s build
kiln=node_modules/.bin/kiln
if ! "$kiln" inspect busybox:latest >/dev/null 2>&1; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  bash scripts/make-busybox-rootfs.sh "$rootfs"
  "$kiln" import "$rootfs" busybox:latest >/dev/null
fi
echo "examples/hello built: $("$kiln" build -q -t hello:latest examples/hello)"
