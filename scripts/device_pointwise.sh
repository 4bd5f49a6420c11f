#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry .deps): the first GPU run of pointwise fusion
# (INGOT_POINTWISE_FUSION=1, build/fuse_pointwise.cpp, runtime/cuda/pointwise_kernel.cpp;
# bench/NOTES.md note 54). Build; the generated kernels against the CPU reference
# (ingot_pointwise_tests) and every CUDA kernel test; the GPU pytest cases; BERT-base and
# ViT-B/16 at bs1 against eager and freeze with INGOT_POINTWISE_FUSION=$POINTWISE (default 0: off, now
# that fusion is on by default) timed in turns (and
# VARIANTS, more --ingot-env options); the kernel bench of the few-rows GEMM and gelu_new.
# END: seconds from the start by which it all ends. Results: $OUT/pointwise_run.tgz.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup pointwise_run
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/check.log 2>&1; echo "build rc=$? t=$(el)"; tail -2 $R/check.log
timeout 60 build/gpu/tests/cuda/ingot_pointwise_tests > $R/pointwise-tests.txt 2>&1; echo "pointwise tests rc=$? t=$(el)"
tail -3 $R/pointwise-tests.txt
timeout 60 build/gpu/tests/cuda/ingot_cuda_tests --gtest_brief=1 > $R/cuda-tests.txt 2>&1; echo "cuda tests rc=$? t=$(el)"
tail -2 $R/cuda-tests.txt
# The reworked few-rows GEMM (NOTES 55) and the generated gelu_new kernel, kernel against kernel.
KB=build/gpu/tests/cuda/ingot_cuda_kernel_bench
timeout 60 $KB 200 "linear" > $R/kbench-linear.txt 2>&1; echo "kbench linear rc=$? t=$(el)"
timeout 30 $KB 200 "gelu_new" > $R/kbench-gelu-new.txt 2>&1; echo "kbench gelu_new rc=$? t=$(el)"
export PYTHONPATH=python
(cd tests/python && PYTHONPATH=../../python timeout 120 python3 -m pytest -q -ra -p no:cacheprovider \
   test_gpu.py -k "pointwise or torchvision" > $R/pytest.log 2>&1); echo "pytest rc=$? t=$(el)"
grep -E "passed|failed|^FAILED|^ERROR" $R/pytest.log | tail -8
finish
END=${END:-550}
left=$(( END - $(el) ))
[ $left -gt 60 ] && timeout $left python3 bench/run.py --models ${MODELS:-bert,vit_b_16} --batches ${BATCHES:-1} \
  --peers eager,freeze --timing-cache /tmp/t.tc --ingot-env INGOT_POINTWISE_FUSION=${POINTWISE:-0} ${VARIANTS:-} --worker-timeout 200 \
  --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; grep -v "^  " $R/bench.txt | tail -4
