#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry .deps): the first GPU run of the direct depthwise
# kernel (kernels/cuda/depthwise_direct.cu, tactics "ingot:depthwise-direct<P>", bench/NOTES.md
# note 59) and of the small-input (stem) kernel (note 58, opt-in with INGOT_CUDA_SMALL_INPUT=1).
# Build; every CUDA kernel test (both kernels' cases among them) and the generated pointwise
# kernels; the kernel bench of EfficientNet-B0's depthwise layers (each kernel and pixel count)
# and of its stem; the GPU pytest cases of the convolution tactics; EfficientNet-B0 at BATCHES
# (default 32,1) against eager and freeze, with INGOT_CUDA_SMALL_INPUT=1 and
# INGOT_CUDA_DEPTHWISE_DIRECT=0 timed in turns as variants; an EfficientNet-B0 bs32 kernel trace
# with the convolutions' timed tactics, with the time left.
# END: seconds from the start by which it all ends. Results: $OUT/depthwise_run.tgz.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup depthwise_run
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/check.log 2>&1; echo "build rc=$? t=$(el)"; tail -2 $R/check.log
timeout 90 build/gpu/tests/cuda/ingot_cuda_tests --gtest_brief=1 > $R/cuda-tests.txt 2>&1; echo "cuda tests rc=$? t=$(el)"
tail -3 $R/cuda-tests.txt; grep -E "^\[  FAILED" $R/cuda-tests.txt | head -10
timeout 60 build/gpu/tests/cuda/ingot_pointwise_tests > $R/pointwise-tests.txt 2>&1; echo "pointwise tests rc=$? t=$(el)"
timeout 90 build/gpu/tests/cuda/ingot_cuda_kernel_bench 200 "depthwise" > $R/kbench-depthwise.txt 2>&1; echo "kbench dw rc=$? t=$(el)"
timeout 30 build/gpu/tests/cuda/ingot_cuda_kernel_bench 200 "stem" > $R/kbench-stem.txt 2>&1; echo "kbench stem rc=$? t=$(el)"
grep -E "bs32|direct|depthwise k|stem" $R/kbench-depthwise.txt $R/kbench-stem.txt | sed -n '1,80p' | cut -c1-120 | grep -E "bs32|s[12] +\[32|direct. +\[32|stem" | head -70
export PYTHONPATH=python
(cd tests/python && PYTHONPATH=../../python timeout 150 python3 -m pytest -q -ra -p no:cacheprovider \
   test_conv_tactics_gpu.py > $R/pytest.log 2>&1); echo "pytest rc=$? t=$(el)"
grep -E "passed|failed|^FAILED|^ERROR" $R/pytest.log | tail -8
finish
END=${END:-560}
left=$(( END - 60 - $(el) ))
[ $left -gt 60 ] && timeout $left python3 bench/run.py --models efficientnet_b0 --batches ${BATCHES:-32,1} \
  --peers eager,freeze --timing-cache /tmp/t.tc --ingot-env INGOT_CUDA_SMALL_INPUT=1 --ingot-env INGOT_CUDA_DEPTHWISE_DIRECT=0 \
  --worker-timeout 200 --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; grep -v "^  " $R/bench.txt | tail -8
finish
left=$(( END - $(el) ))
[ $left -gt 25 ] && timeout $left python3 bench/kernel_trace.py --model efficientnet_b0 --batch 32 --sequence --timed convolution \
  --timing-cache /tmp/t.tc --json $R/trace-effnet-bs32.json > $R/trace-effnet.txt 2>&1; echo "trace rc=$? t=$(el)"
head -12 $R/trace-effnet.txt 2>/dev/null | cut -c1-150
