#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry tmp_probe/car), without a device build: a kernel
# A/B of two builds made on the CPU machine for sm_90. BEFORE and AFTER (defaults
# tmp_probe/car/before.tar.xz / after.tar.xz) each hold ingot_cuda_kernel_bench and libingot.so;
# AFTER also ingot_cuda_tests, which runs first (every CUDA kernel test of the new build). Then
# the kernel bench of FILTER (default "depthwise") ROUNDS times (default 2), before and after
# in turns, and with NCU_RUN=1 Nsight Compute on one launch of NCU_CASE / NCU_KERNEL of each.
# Results: $OUT/kbench_ab.tgz.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup kbench_ab
L=/usr/local/cuda/lib64:/usr/local/cuda/lib
mkdir -p /tmp/before /tmp/after
tar xJf "${BEFORE:-tmp_probe/car/before.tar.xz}" -C /tmp/before && tar xJf "${AFTER:-tmp_probe/car/after.tar.xz}" -C /tmp/after
LD_LIBRARY_PATH=/tmp/after:$L timeout 90 /tmp/after/ingot_cuda_tests --gtest_brief=1 > $R/cuda-tests.txt 2>&1
echo "cuda tests rc=$? t=$(el)"; tail -2 $R/cuda-tests.txt; grep -E "^\[  FAILED" $R/cuda-tests.txt | head -10
finish
for i in $(seq 1 "${ROUNDS:-2}"); do
  for v in before after; do
    LD_LIBRARY_PATH=/tmp/$v:$L timeout 60 /tmp/$v/ingot_cuda_kernel_bench 200 "${FILTER:-depthwise}" > $R/kbench-$v-$i.txt 2>&1
    echo "kbench $v $i rc=$? t=$(el)"
  done
  finish
done
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
if [ "${NCU_RUN:-0}" = 1 ] && [ -n "$NCU" ]; then
  for v in before after; do
    LD_LIBRARY_PATH=/tmp/$v:$L timeout 40 "$NCU" --clock-control none --set full --launch-skip 3 --launch-count 1 \
      -k "regex:${NCU_KERNEL:-depthwise_direct}" /tmp/$v/ingot_cuda_kernel_bench 4 "${NCU_CASE:-direct4 [32,14,14,672]}" \
      > $R/ncu-$v.txt 2>&1; echo "ncu $v rc=$? t=$(el)"
  done
fi
