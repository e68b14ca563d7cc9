#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet (apt-get update only
# when something is missing), and pnpm 10 if absent. Sourced by setup.sh and test.sh.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# corepack cannot be used: the registry mirror serves no signatures.
command -v pnpm >/dev/null 2>&1 || npm install -g pnpm@10 >/dev/null
