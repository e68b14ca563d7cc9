#!/usr/bin/env bash
# supervise.sh SCRIPT.mjs PREFIX [ARGS…]: runs `node SCRIPT.mjs ARGS… --workdir W` as root, W a new
# /tmp/PREFIX-XXXXXX unless ARGS name one, and owns its clean-up (bench/run, qa/run).
#
# The script does the work and stops its daemons when it ends normally; it runs its commands
# synchronously, so it cannot act on a signal in the middle of one. This wrapper owns the trap: on
# any exit it stops the daemons recorded in $W/daemons.pids, unmounts what is left under $W and
# removes it (unless --keep).
set -euo pipefail
script=$1 prefix=$2
shift 2
here=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "${script##*/}: run as root" >&2; exit 1; }
[ -x "$here/node_modules/.bin/kiln" ] || { echo "${script##*/}: run scripts/setup.sh first" >&2; exit 1; }

W="" keep=0 args=("$@")
for ((i = 0; i < $#; i++)); do
  case "${args[i]}" in
    --workdir) W=${args[i + 1]:-} ;;
    --keep) keep=1 ;;
    -h | --help) exec node "$script" --help ;;
  esac
done
[ -n "$W" ] || { W=$(mktemp -d "/tmp/$prefix-XXXXXX"); args+=(--workdir "$W"); }
mkdir -p "$W"

node_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  [ -n "$node_pid" ] && kill -KILL "$node_pid" 2>/dev/null || true
  if [ -f "$W/daemons.pids" ]; then
    while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null || true; done <"$W/daemons.pids"
    for _ in $(seq 100); do
      alive=0
      while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$W/daemons.pids"
      [ $alive = 0 ] && break
      sleep 0.1
    done
    while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done <"$W/daemons.pids"
  fi
  if [ $keep = 0 ]; then
    awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf "$W"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
node "$script" "${args[@]}" &
node_pid=$!
wait $node_pid
