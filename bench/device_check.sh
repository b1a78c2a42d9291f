#!/usr/bin/env bash
# The GPU measurements, as one prepared run on a lent GPU machine (about 5 minutes there):
#   here:  bash bench/device_kit.sh
#   there: device tool, carry [".whl", ".gl"], command "bash bench/device_check.sh", timeout 540
# Writes to $OUT (or runs/device_check/): the environment, bench_topology's cuda section of
# docs/BENCHMARKS.md, and an adaptation benchmark on one shifted site (source and Ours, lr-32)
# with its cells, its docs/RESULTS.md section and its log. Copy the sections into the repo's docs
# afterwards: the device machine's copy of the tree does not come back.
# DEVICE=cpu SMOKE=1 tries the whole script on any machine in a minute or two.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/device_check}
quick=(); short=()
if [ -n "${SMOKE:-}" ]; then quick=(--quick --no-write); short=(--frames 40 --iterations 2); fi
mkdir -p "$OUT"
source bench/device_env.sh
device_environment "$OUT/environment.txt"

step() {  # name, command...: run one step with a time limit, keep its log, go on when it fails
  local name=$1; shift
  echo "== $name: $*"
  timeout 240 "$@" > "$OUT/$name.log" 2>&1
  echo "== $name: exit $?"
  tail -n 25 "$OUT/$name.log"
}

step topology "$PY" -m bench.bench_topology --device "$DEVICE" "${quick[@]}"
cp docs/BENCHMARKS.md "$OUT/BENCHMARKS.md"
step adaptation "$PY" -m bench.bench_adaptation --shifts lr-32 --variants source,ours --config "{\"device\": \"$DEVICE\"}" "${short[@]}" \
  --runs "$OUT/bench_adaptation_cuda" --section adaptation-bench-cuda --title "Adaptation on a GPU (lr-32)" \
  --plot adaptation_curves_cuda.png
cp docs/RESULTS.md "$OUT/RESULTS.md"
cp docs/adaptation_curves_cuda.png "$OUT/" 2>/dev/null || true
