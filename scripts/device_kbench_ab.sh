#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry tmp_probe/car), without a device build: a kernel
# A/B of builds made on the CPU machine for sm_90 (scripts/pack_kernel_revisions.sh packs them).
# BUILDS (default "before after"): names of tmp_probe/car/NAME.tar.xz, each holding
# ingot_cuda_kernel_bench and libingot.so; where a build after the first (the baseline) also
# holds ingot_cuda_tests, they run first (every CUDA kernel test of that build). Then the
# kernel bench of FILTER (default "depthwise") ROUNDS times (default 2), the builds in turns,
# and with NCU_RUN=1 Nsight Compute on one launch of NCU_CASE / NCU_KERNEL of each build.
# Results: $OUT/kbench_ab.tgz.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup kbench_ab
BUILDS=${BUILDS:-before after}
first=${BUILDS%% *}
for v in $BUILDS; do unpack_build tmp_probe/car/$v.tar.xz; done
for v in $BUILDS; do
  [ "$v" = "$first" ] || [ ! -x /tmp/kb/$v/ingot_cuda_tests ] && continue
  run_build 90 /tmp/kb/$v ingot_cuda_tests --gtest_brief=1 > $R/cuda-tests-$v.txt 2>&1
  echo "cuda tests $v rc=$? t=$(el)"; tail -1 $R/cuda-tests-$v.txt; grep -E "^\[  FAILED" $R/cuda-tests-$v.txt | head -10
done
finish
for i in $(seq 1 "${ROUNDS:-2}"); do
  for v in $BUILDS; do
    run_build 60 /tmp/kb/$v ingot_cuda_kernel_bench 200 "${FILTER:-depthwise}" > $R/kbench-$v-$i.txt 2>&1
    echo "kbench $v $i rc=$? t=$(el)"
  done
  finish
done
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
if [ "${NCU_RUN:-0}" = 1 ] && [ -n "$NCU" ]; then
  for v in $BUILDS; do
    LD_LIBRARY_PATH=/tmp/kb/$v:/usr/local/cuda/lib64:/usr/local/cuda/lib timeout 40 "$NCU" --clock-control none --set full --launch-skip 3 --launch-count 1 \
      -k "regex:${NCU_KERNEL:-depthwise_direct}" /tmp/kb/$v/ingot_cuda_kernel_bench 4 "${NCU_CASE:-direct4 [32,14,14,672]}" \
      > $R/ncu-$v.txt 2>&1; echo "ncu $v rc=$? t=$(el)"
  done
fi
