#!/usr/bin/env bash
# The whole side-by-side comparison in one run: builds every contestant,
# then for each workload starts each server pinned to one core, drives it
# with `load` pinned to another, and reads the server's CPU time from
# /proc. Prints one markdown table: server CPU per operation (lower is
# better; RSS per connection for the idle row) and oneport's ratio to the
# best peer (below 1.00: oneport is ahead).
#
#   bench/compare/compare.sh [UWS_BUILD_SCRIPT]
#
# UWS_BUILD_SCRIPT is the uWebSockets reference server's build script
# (the workplace's tools folder has it); the server is built once into
# target/uws_server. Without it the uWS column is left out, and said so.
# Servers run with CPU 0, the load generator with CPU 1; every workload
# runs each server in turn, ROUNDS times (default 3), and the median is
# kept.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
rounds=${ROUNDS:-3}
uws_build=${1:-}

(cd "$repo" && cargo build --release --example demo >/dev/null 2>&1)
(cd "$here" && cargo build --release >/dev/null 2>&1)
uws=$repo/target/uws_server
if [ -n "$uws_build" ] && [ ! -x "$uws" ]; then
  bash "$uws_build" "$uws" >/dev/null 2>&1 || { echo "the uWS build failed" >&2; exit 1; }
fi
load=$here/target/release/load

declare -A bin=(
  [oneport]=$repo/target/release/examples/demo
  [fws]=$here/target/release/peer_fws
  [tt]=$here/target/release/peer_tt
  [axum]=$here/target/release/peer_axum
)
names=(oneport fws tt axum)
if [ -x "$uws" ]; then
  bin[uws]=$uws
  names=(oneport uws fws tt axum)
else
  echo "note: no uWS server (pass its build script); the uWS column is left out" >&2
fi

tick=$(getconf CLK_TCK)
# Each contestant's load-generator output, for rows that read more than CPU.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start NAME -> sets $addr and $pid
start() {
  local out
  out=$(mktemp)
  taskset -c 0 "${bin[$1]}" --addr 127.0.0.1:0 > "$out" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
  addr=$(sed -n 's/^listening on //p' "$out")
  rm -f "$out"
  [ -n "$addr" ] || { echo "$1 did not start" >&2; kill "$pid" 2>/dev/null; return 1; }
}

# measure NAME OPS LOAD_ARGS... -> prints µs of server CPU per operation
measure() {
  local name=$1 ops=$2; shift 2
  local results=()
  for _ in $(seq "$rounds"); do
    start "$name" || { echo "-"; return; }
    local before after
    before=$(cpu_of "$pid")
    if ! taskset -c 1 "$load" "${@/ADDR/$addr}" >>"$logs/$name" 2>&1; then
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
      echo "-"; return
    fi
    after=$(cpu_of "$pid")
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    results+=("$(awk -v t="$((after - before))" -v hz="$tick" -v n="$ops" 'BEGIN {printf "%.3f", t / hz * 1e6 / n}')")
  done
  printf '%s\n' "${results[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'
}

# idle NAME [http] -> bytes of server RSS per idle WebSocket (or keep-alive
# connection)
idle() {
  start "$1" || { echo "-"; return; }
  local line
  line=$(taskset -c 1 "$load" idle "$addr" 3000 "$pid" ${2:-} 2>/dev/null || true)
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  echo "$line" | sed -n 's/.*, \([0-9]*\) bytes per connection/\1/p' | sed 's/^$/-/'
}

# A row: LABEL WHICH(ws|http|idle) OPS LOAD_ARGS...
row() {
  local label=$1 kind=$2 ops=$3; shift 3
  local cells=() best="" ours=""
  for name in "${names[@]}"; do
    local v
    if { [ "$kind" = http ] || [ "$kind" = idle-http ]; } && [ "$name" = tt ]; then
      v="-"   # tokio-tungstenite serves WebSockets only
    elif [ "$kind" = idle ]; then
      v=$(idle "$name")
    elif [ "$kind" = idle-http ]; then
      v=$(idle "$name" http)
    else
      v=$(measure "$name" "$ops" "$@")
    fi
    cells+=("$v")
    if [ "$name" = oneport ]; then
      ours=$v
    elif [ "$v" != "-" ]; then
      if [ -z "$best" ] || awk -v a="$v" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$v; fi
    fi
  done
  local ratio="-"
  if [ -n "$best" ] && [ "$ours" != "-" ]; then
    ratio=$(awk -v a="$ours" -v b="$best" 'BEGIN {printf "%.2f", a / b}')
  fi
  printf '| %s |' "$label"
  printf ' %s |' "${cells[@]}"
  printf ' %s |\n' "$ratio"
}

# sse_rows SUBSCRIBERS EVENTS RATE: two rows from the same runs, server
# CPU per delivered event and the median of the runs' p99 delivery latency.
# Only the contestants with an event stream (oneport, axum) take part.
sse_rows() {
  local subs=$1 events=$2 rate=$3
  local cpu=() p99=() best_cpu="" best_p99="" our_cpu="-" our_p99="-"
  for name in "${names[@]}"; do
    local v="-" l="-"
    if [ "$name" = oneport ] || [ "$name" = axum ]; then
      : > "$logs/$name"
      v=$(measure "$name" "$((subs * events))" sse ADDR "$subs" "$events" "$rate")
      l=$(sed -n 's/.*delivered \([0-9]*\) of \1, .* p99 \([0-9.]*\) ms/\2/p' "$logs/$name" \
        | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}')
    fi
    cpu+=("$v"); p99+=("$l")
    if [ "$name" = oneport ]; then
      our_cpu=$v; our_p99=$l
    else
      [ "$v" != "-" ] && best_cpu=$v
      [ "$l" != "-" ] && best_p99=$l
    fi
  done
  local r1="-" r2="-"
  [ -n "$best_cpu" ] && [ "$our_cpu" != "-" ] && r1=$(awk -v a="$our_cpu" -v b="$best_cpu" 'BEGIN {printf "%.2f", a / b}')
  [ -n "$best_p99" ] && [ "$our_p99" != "-" ] && r2=$(awk -v a="$our_p99" -v b="$best_p99" 'BEGIN {printf "%.2f", a / b}')
  printf '| SSE fan-out, %s subscribers, %s events/s: server CPU per delivery (µs) |' "$subs" "$rate"
  printf ' %s |' "${cpu[@]}"; printf ' %s |\n' "$r1"
  printf '| SSE fan-out, the same runs: p99 delivery latency (ms), every event delivered |'
  printf ' %s |' "${p99[@]}"; printf ' %s |\n' "$r2"
}

printf '| workload |'; printf ' %s |' "${names[@]}"; printf ' oneport / best peer |\n'
printf '|---|'; for _ in "${names[@]}"; do printf -- '---|'; done; printf -- '---|\n'
row "WS echo 64 B, 100 conns, 1 in flight (µs/msg)" ws 100000 ws ADDR 100 1000 64 1
row "WS echo 64 B, 100 conns, 16 in flight (µs/msg)" ws 1600000 ws ADDR 100 16000 64 16
row "WS echo 64 B, 1 000 conns, 1 in flight (µs/msg)" ws 200000 ws ADDR 1000 200 64 1
row "WS echo 16 KiB binary, 100 conns (µs/msg)" ws 60000 ws ADDR 100 600 16384 1
row "WS echo 16 KiB text, 100 conns (µs/msg)" ws 60000 ws ADDR 100 600 16384 1 text
row "WS echo 1 MiB text, 20 conns (µs/msg)" ws 1200 ws ADDR 20 60 1048576 1 text
row "HTTP /plaintext, 64 conns, 16 pipelined (µs/req)" http 640000 http ADDR 64 10000 16
row "idle WebSocket, server RSS per connection (B)" idle 0
row "idle keep-alive connection, server RSS per connection (B)" idle-http 0
sse_rows 1000 200 20
