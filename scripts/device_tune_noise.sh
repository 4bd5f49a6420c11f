#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry tmp_probe/gsb as in device_gemm_search_bench.sh):
# how far the tuner's times for the same cuBLASLt candidates move between two passes, with one
# timed replay (INGOT_TUNE_REPLAYS=1, the default) and with the median of up to 5:
# ingot_gemm_search_bench 0 times the heuristic candidates twice per shape, and its
# ratio column is the second pass's best over the first's.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
carried_binaries
for round in 1 2 3; do
  for r in 1 5; do
    echo "== INGOT_TUNE_REPLAYS=$r round $round"
    INGOT_TUNE_REPLAYS=$r timeout 60 $BIN/ingot_gemm_search_bench 0 | tail -n +3 | awk '{print $1"-"$2, $4, $5, $6}' | tr '\n' ';'
    echo
  done
done 2>&1 | tee "$OUT/tune-noise.txt"
