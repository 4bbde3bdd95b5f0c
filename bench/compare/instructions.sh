#!/usr/bin/env bash
# Instructions per operation of a server, counted by callgrind: repeatable
# for a given binary and workload, where timings on a shared machine are
# not. Runs the server under valgrind twice, with N and 2N operations per
# connection, and divides the difference by the extra operations, so that
# start-up, handshakes and shutdown cancel out.
#
#   bench/compare/instructions.sh SERVER_BIN ws   CONNS N SIZE BATCH [text]
#   bench/compare/instructions.sh SERVER_BIN http CONNS N PIPELINE
#
# SERVER_BIN follows the demo contract (--addr, "listening on ADDR"), for
# example target/release/examples/demo. Needs valgrind (Debian's package)
# and the load generator built (cd bench/compare && cargo build --release).
# User-space instructions only: the kernel's share of a syscall is not
# counted, so compare builds of one server, not servers with each other.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
load=$here/target/release/load
bin=$1 mode=$2 conns=$3 n=$4
shift 4
extra=("$@")
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 2; }
[ -x "$load" ] || { echo "build the load generator first" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# count OPS_PER_CONN -> total instructions of the server's whole run
count() {
  local out=$work/cg.$1 log=$work/out.$1
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --addr 127.0.0.1:0 \
    > "$log" 2> "$work/err.$1" &
  local pid=$!
  for _ in $(seq 300); do grep -q '^listening on ' "$log" 2>/dev/null && break; sleep 0.1; done
  local addr
  addr=$(sed -n 's/^listening on //p' "$log")
  [ -n "$addr" ] || { echo "the server did not start" >&2; kill "$pid"; exit 1; }
  "$load" "$mode" "$addr" "$conns" "$1" "${extra[@]}" > /dev/null
  kill -TERM "$pid"
  wait "$pid" || true
  callgrind_annotate "$out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
}

one=$(count "$n")
two=$(count "$((2 * n))")
awk -v a="$one" -v b="$two" -v ops="$((conns * n))" \
  'BEGIN {printf "%.0f instructions per operation (%d and %d in all)\n", (b - a) / ops, a, b}'
