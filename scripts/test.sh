#!/usr/bin/env bash
# README line 2: runs every check and test (installs test-only packages if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for pkg in busybox-static gcc make libc6-dev umoci skopeo; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10 >/dev/null
pnpm install --frozen-lockfile --reporter=silent
pnpm run -s build
echo '== format'; pnpm -s format:check
echo '== lint'; pnpm -s lint
echo '== typecheck'; pnpm -s typecheck
echo '== tests'; pnpm -s test "$@"
