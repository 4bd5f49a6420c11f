#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry .deps): the first GPU run of the squeeze-excite
# channel sums (build/squeeze_excite_sums.cpp, bench/NOTES.md note 62). Build; every CUDA kernel
# test (the direct kernel's and the column-sum launch's sums, the gates with given sums among
# them) and the generated pointwise kernels' tests; the kernel bench of EfficientNet-B0's
# depthwise layers (with and without the sums);
# the GPU pytest cases of the convolution tactics and the large squeeze-excite gates;
# EfficientNet-B0 at BATCHES (default 32,1) against eager and freeze, with INGOT_SE_SUMS=0 and
# INGOT_SE_SUMS=gates timed in turns as variants; an EfficientNet-B0 bs32 kernel trace with the
# convolutions' timed tactics, then Nsight Compute on the direct kernel, with the time left.
# It replaces scripts/device_depthwise.sh (note 59's run): VARIANTS="INGOT_CUDA_DEPTHWISE_DIRECT=0
# INGOT_CUDA_SMALL_INPUT=1" times that run's engine variants.
# BEFORE: tar.xz archives of ingot_cuda_kernel_bench and libingot.so built from earlier commits
# (carried; e.g. "tmp_probe/car/base.tar.xz tmp_probe/car/conv.tar.xz", packed by
# scripts/pack_kernel_revisions.sh): their depthwise kernel bench runs in the same call, in turns
# with this build's, ROUNDS times (default 1), as kbench-FILTER-NAME-ROUND.txt against
# kbench-FILTER-ROUND.txt, for each kernel-bench filter in KFILTERS (default "depthwise"); a
# filter written FILTER@NAME,NAME runs only those carried builds (e.g. "layer_norm@base").
# END: seconds from the start by which it all ends; KBENCH=0 / PYTEST=0 / NCU_RUN=0 skip those, VARIANTS
# replaces the engine variants (default "INGOT_SE_SUMS=0 INGOT_SE_SUMS=gates"; "none": the default engine
# only); TRACE=0 skips the trace; TAIL (default 90): the seconds before END the bench leaves to the
# trace and Nsight Compute. MODELS (default efficientnet_b0) and PEERS (default eager,freeze) replace
# the bench's models and peers; PYTEST_EXTRA adds GPU pytest files (e.g. test_feed_forward_gpu.py);
# a filter written FILTER@none runs only this build's kernel bench (rows older builds lack).
# Results: $OUT/se_sums_run.tgz.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup se_sums_run
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/check.log 2>&1; echo "build rc=$? t=$(el)"; tail -2 $R/check.log
timeout 100 build/gpu/tests/cuda/ingot_cuda_tests --gtest_brief=1 > $R/cuda-tests.txt 2>&1; echo "cuda tests rc=$? t=$(el)"
tail -3 $R/cuda-tests.txt; grep -E "^\[  FAILED" $R/cuda-tests.txt | head -10
[ -x build/gpu/tests/cuda/ingot_pointwise_tests ] && { timeout 60 build/gpu/tests/cuda/ingot_pointwise_tests --gtest_brief=1 > $R/pointwise-tests.txt 2>&1
  echo "pointwise tests rc=$? t=$(el)"; tail -1 $R/pointwise-tests.txt; }
if [ "${KBENCH:-1}" != 0 ]; then
  for b in ${BEFORE:-}; do unpack_build "$b"; done
  for i in $(seq 1 "${ROUNDS:-1}"); do
    for spec in ${KFILTERS:-depthwise}; do
      f=${spec%%@*}; only=""; [ "$spec" = "$f" ] || only=",${spec#*@},"
      for b in ${BEFORE:-}; do
        n=$(basename "$b" .tar.xz)
        [ -n "$only" ] && [[ "$only" != *",$n,"* ]] && continue
        run_build 90 /tmp/kb/$n ingot_cuda_kernel_bench 200 "$f" > $R/kbench-$f-$n-$i.txt 2>&1
        echo "kbench $f $n $i rc=$? t=$(el)"
      done
      timeout 90 build/gpu/tests/cuda/ingot_cuda_kernel_bench 200 "$f" > $R/kbench-$f-$i.txt 2>&1; echo "kbench $f $i rc=$? t=$(el)"
    done
    finish
  done
  cp $R/kbench-depthwise-1.txt $R/kbench-depthwise.txt 2>/dev/null
fi
[ -f $R/kbench-depthwise.txt ] && grep -E "\[32," $R/kbench-depthwise.txt | grep -E "direct[24] |sums|s[12] +\[" | cut -c1-110 | head -60
export PYTHONPATH=python
[ "${PYTEST:-1}" = 0 ] || (cd tests/python && PYTHONPATH=../../python timeout 200 python3 -m pytest -q -ra -p no:cacheprovider \
   test_conv_tactics_gpu.py "test_gpu.py::test_large_squeeze_excite_runs_as_gated_weights_and_a_batched_matmul" ${PYTEST_EXTRA:-} \
   > $R/pytest.log 2>&1); echo "pytest rc=$? t=$(el)"
grep -E "passed|failed|^FAILED|^ERROR" $R/pytest.log | tail -8
finish
END=${END:-560}
left=$(( END - ${TAIL:-90} - $(el) ))
[ $left -gt 60 ] && timeout $left python3 bench/run.py --models ${MODELS:-efficientnet_b0} --batches ${BATCHES:-32,1} \
  --peers ${PEERS:-eager,freeze} --timing-cache /tmp/t.tc $(for v in ${VARIANTS:-INGOT_SE_SUMS=0 INGOT_SE_SUMS=gates}; do [ "$v" = none ] || echo --ingot-env $v; done) \
  --worker-timeout 200 --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; grep -v "^  " $R/bench.txt | tail -10
finish
left=$(( END - 45 - $(el) ))
[ "${TRACE:-1}" != 0 ] && [ $left -gt 25 ] && timeout $left python3 bench/kernel_trace.py --model efficientnet_b0 --batch 32 --sequence --timed convolution \
  --timing-cache /tmp/t.tc --json $R/trace-effnet-bs32.json > $R/trace-effnet.txt 2>&1; echo "trace rc=$? t=$(el)"
head -14 $R/trace-effnet.txt 2>/dev/null | cut -c1-150
finish
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
left=$(( END - $(el) ))
[ "${NCU_RUN:-1}" != 0 ] && [ -n "$NCU" ] && [ $left -gt 20 ] && timeout $left "$NCU" --clock-control none --set full --launch-skip 3 --launch-count 1 \
  -k "regex:depthwise_direct" build/gpu/tests/cuda/ingot_cuda_kernel_bench 4 "direct4 [32,14,14,672]" > $R/ncu-direct4-k5-14x14x672.txt 2>&1
echo "ncu rc=$? t=$(el)"
