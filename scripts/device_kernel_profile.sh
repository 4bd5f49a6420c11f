#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry tmp_probe/car): binaries built on the CPU machine
# for sm_90 and carried as tmp_probe/car/bins.tar.xz (ingot_cuda_kernel_bench, ingot_cuda_tests,
# ingot_pointwise_tests, ingot_gemm_search_bench, libingot.so; scripts/pack_carried_binaries.sh
# makes it), so that no device build is needed. In this order:
#   1. Nsight Compute on our few-rows GEMM (linear_mma, bench/NOTES.md note 46: 0.6-0.8 us per
#      32-wide K step, cause unknown) and our tensor-core attention (24 us against cuDNN's 5.8):
#      the full section set of one launch each, as text (stall reasons, memory throughput);
#   2. the kernel bench of the few-rows GEMM (every tile and split) and of the generated
#      gelu_new kernel against the eight launches it replaces; the tuner's noise with one and
#      five replays (scripts/device_tune_noise.sh);
#   3. ingot_pointwise_tests (the NVRTC-generated pointwise kernels against the CPU reference,
#      where the archive has it) and ingot_cuda_tests (every CUDA kernel test) until CAP seconds
#      from the start.
# Results: $OUT/profile.tgz (tarred every 15 s).
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup profile
mkdir -p /tmp/bins && tar xJf tmp_probe/car/bins.tar.xz -C /tmp/bins
export LD_LIBRARY_PATH=/tmp/bins:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
KB=/tmp/bins/ingot_cuda_kernel_bench
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
echo "ncu: $NCU"
prof() {  # prof FILE FILTER KERNEL-REGEX
  timeout 90 "$NCU" --clock-control none --set full --launch-skip 3 --launch-count 1 -k "regex:$3" \
    $KB 4 "$2" > "$R/$1.txt" 2>&1
  echo "$1 rc=$? t=$(el)"
}
prof ncu-linear-qkv-64x64-s1 "linear qkv 64x64 s1" linear_mma
prof ncu-linear-qkv-64x64-s4 "linear qkv 64x64 s4" linear_mma
prof ncu-attention-mma-w4 "attention mma w4" attention
finish
# The plain times of the same kernels, for the ratios without the profiler.
timeout 60 $KB 200 "linear qkv 64x64" > "$R/kbench-linear-qkv.txt" 2>&1; echo "kbench rc=$? t=$(el)"
timeout 60 $KB 200 "linear" > "$R/kbench-linear.txt" 2>&1; echo "kbench linear rc=$? t=$(el)"
timeout 60 $KB 200 "gelu_new" > "$R/kbench-gelu-new.txt" 2>&1; echo "kbench gelu_new rc=$? t=$(el)"
BIN=/tmp/bins bash scripts/device_tune_noise.sh > "$R/tune-noise.log" 2>&1; echo "tune-noise rc=$? t=$(el)"
cp "$OUT/tune-noise.txt" "$R/" 2>/dev/null
finish
[ -x /tmp/bins/ingot_pointwise_tests ] && timeout 60 /tmp/bins/ingot_pointwise_tests > "$R/pointwise-tests.txt" 2>&1
echo "pointwise tests rc=$? t=$(el)"; tail -3 "$R/pointwise-tests.txt" 2>/dev/null
left=$(( ${CAP:-200} - $(el) ))
[ $left -gt 20 ] && timeout $left /tmp/bins/ingot_cuda_tests --gtest_brief=1 > "$R/cuda-tests.txt" 2>&1
echo "cuda tests rc=$? t=$(el)"; tail -4 "$R/cuda-tests.txt"
