#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry tmp_probe/car; scripts/pack_carried_binaries.sh
# makes it): no device build. The direct depthwise kernel (bench/NOTES.md notes 59-60):
#   1. its GPU tests and the other depthwise ones (ingot_cuda_tests --gtest_filter='*Depthwise*'),
#      the dense variants among them;
#   2. the kernel bench of EfficientNet-B0's depthwise layers (note 24's kernel, direct 1/2/4 and
#      the dense 2/4);
#   3. Nsight Compute, the full section set of one launch each: direct4 and direct4d on
#      [32,14,14,672] 5x5 and direct4 on [32,112,112,32] 3x3 (stall reasons, occupancy, memory).
# CAP: seconds from the start by which it ends. Results: $OUT/dwprof.tgz (tarred every 15 s).
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup dwprof
mkdir -p /tmp/bins && tar xJf tmp_probe/car/bins.tar.xz -C /tmp/bins
export LD_LIBRARY_PATH=/tmp/bins:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
KB=/tmp/bins/ingot_cuda_kernel_bench
timeout 40 /tmp/bins/ingot_cuda_tests --gtest_filter='*Depthwise*' --gtest_brief=1 > "$R/cuda-tests.txt" 2>&1
echo "cuda tests rc=$? t=$(el)"; tail -3 "$R/cuda-tests.txt"
timeout 60 $KB 200 "depthwise" > "$R/kbench-depthwise.txt" 2>&1; echo "kbench rc=$? t=$(el)"
grep -E "\[32," "$R/kbench-depthwise.txt" | cut -c1-100
finish
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
prof() {  # prof FILE FILTER
  left=$(( ${CAP:-200} - $(el) ))
  [ $left -gt 20 ] || return
  timeout $left "$NCU" --clock-control none --set full --launch-skip 3 --launch-count 1 -k "regex:depthwise_direct" \
    $KB 4 "$2" > "$R/$1.txt" 2>&1
  echo "$1 rc=$? t=$(el)"; finish
}
prof ncu-direct4-k5-14x14x672 "direct4 [32,14,14,672]"
prof ncu-direct4d-k5-14x14x672 "direct4d [32,14,14,672]"
prof ncu-direct4-k3-112x112x32 "direct4 [32,112,112,32]"
