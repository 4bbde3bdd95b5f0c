#!/usr/bin/env bash
# Runs the Autobahn|Testsuite, cases 1 through 10, strictly, in both modes:
#   server: `wstest -m fuzzingclient` against the demo's /ws echo;
#   client: `wstest -m fuzzingserver` driven by examples/autobahn_client;
# and Autobahn|Python's hixie-76 client against the same /ws.
# Any case that is not OK or INFORMATIONAL (NON-STRICT included) fails.
# Reports go to target/autobahn/{server,client}; summary tables to
# target/autobahn/*.md (docs/conformance.md is refreshed from them by hand).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
home=${AUTOBAHN_HOME:-$repo/target/ci-tools/autobahn}
out=$repo/target/autobahn
# Cases 1-10 of autobahntestsuite 0.8.2 number 301 in each mode.
expected=301

bash "$here/autobahn/install.sh"
wstest=$home/bin/wstest
cargo build --release --example demo --example autobahn_client

rm -rf "$out"; mkdir -p "$out/server" "$out/client"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "conformance: nothing listening on port $1" >&2; return 1
}

rc=0

# --- server mode -----------------------------------------------------------
target/release/examples/demo --addr 127.0.0.1:0 > "$out/server/demo.out" 2> "$out/server/demo.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening on ' "$out/server/demo.out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$out/server/demo.out" | head -1)
[ -n "$addr" ] || { echo "conformance: the demo did not start" >&2; exit 1; }
cat > "$out/server/fuzzingclient.json" <<JSON
{"outdir": "$out/server/reports", "servers": [{"agent": "oneport", "url": "ws://$addr/ws"}],
 "cases": ["*"], "exclude-cases": ["12.*", "13.*"], "exclude-agent-cases": {}}
JSON
(cd "$out/server" && timeout 1200 "$wstest" -m fuzzingclient -s fuzzingclient.json > wstest.log 2>&1) || {
  echo "conformance: wstest fuzzingclient did not finish" >&2; tail -20 "$out/server/wstest.log" >&2; rc=1; }
echo "== Autobahn fuzzingclient against the demo's /ws =="
python3 "$here/autobahn/verdict.py" "$out/server/reports/index.json" oneport "$expected" "$out/server.md" || rc=1

# --- hixie-76 ----------------------------------------------------------------
# Autobahn|Python's own hybi-00 client (it sends the key bytes with
# Content-Length: 8) against the same /ws.
echo "== Autobahn|Python hixie-76 client against the demo's /ws =="
PYTHONWARNINGS=ignore timeout 120 "$home/venv/bin/python" "$here/autobahn/hixie76_client.py" "ws://$addr/ws" || rc=1

# --- client mode -----------------------------------------------------------
port=$(free_port)
cat > "$out/client/fuzzingserver.json" <<JSON
{"url": "ws://127.0.0.1:$port", "outdir": "$out/client/reports",
 "cases": ["*"], "exclude-cases": ["12.*", "13.*"], "exclude-agent-cases": {}}
JSON
(cd "$out/client" && exec "$wstest" -m fuzzingserver -s fuzzingserver.json > wstest.log 2>&1) &
pids+=($!)
wait_port "$port"
timeout 1200 target/release/examples/autobahn_client "ws://127.0.0.1:$port" oneport-client \
  2> "$out/client/client.err" || { echo "conformance: the client run failed" >&2; tail -20 "$out/client/client.err" >&2; rc=1; }
echo "== Autobahn fuzzingserver against examples/autobahn_client =="
python3 "$here/autobahn/verdict.py" "$out/client/reports/index.json" oneport-client "$expected" "$out/client.md" || rc=1

exit $rc
