#!/usr/bin/env bash
# Starts one server that follows the demo contract, prints its address and
# PID, and leaves it running: `bench/compare/run.sh NAME` where NAME is
# oneport (the project's demo), tt, fws or axum. Stop it with `kill PID`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
case "${1:-}" in
  oneport) bin=$repo/target/release/examples/demo ;;
  tt|fws|axum) bin=$here/target/release/peer_$1 ;;
  *) echo "usage: run.sh oneport|tt|fws|axum" >&2; exit 2 ;;
esac
[ -x "$bin" ] || { echo "build first: see bench/compare/README.md" >&2; exit 1; }
out=$(mktemp)
"$bin" --addr 127.0.0.1:0 > "$out" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.1; done
echo "$(sed -n 's/^listening on //p' "$out") $pid"
