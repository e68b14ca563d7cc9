#!/usr/bin/env bash
# README line 1: installs what kiln needs on a fresh Debian 12 machine (as root), builds kiln
# and its native helper, imports busybox as busybox:latest and builds examples/hello.
# Idempotent: a second run installs nothing and rebuilds from the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for pkg in busybox-static gcc make libc6-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10 >/dev/null
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
