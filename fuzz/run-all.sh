#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, one after another,
# and writes one summary line per target to fuzz/artifacts/summary.txt.
# libFuzzer exits non-zero on a crash, leak, timeout or out-of-memory; the
# script stops at the first such target and reports it.
#
#   fuzz/run-all.sh            # 10 minutes per target
#   fuzz/run-all.sh 30 decode_frame parse_sse
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
secs=${1:-600}
shift || true
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
mkdir -p artifacts
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log=artifacts/$t.log
  if cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 > "$log" 2>&1; then
    line=$(grep -E '^(#[0-9]+|Done)' "$log" | tail -1)
    echo "$t: ok, ${secs}s, $line" | tee -a artifacts/summary.txt
  else
    echo "$t: FAILED, see fuzz/$log" | tee -a artifacts/summary.txt
    exit 1
  fi
done
