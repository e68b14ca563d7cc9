#!/usr/bin/env bash
# README line 2: runs every check and test (installs test-only packages if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-packages.sh busybox-static gcc make libc6-dev uidmap bzip2 xz-utils zstd umoci skopeo docker-registry apache2-utils oci-image-tool pigz tmux debootstrap openssh-client attr libcap2-bin podman
pnpm install --frozen-lockfile --reporter=silent
pnpm run -s build
echo '== format'; pnpm -s format:check
echo '== lint'; pnpm -s lint
echo '== typecheck'; pnpm -s typecheck
echo '== tests'; pnpm -s test "$@"
