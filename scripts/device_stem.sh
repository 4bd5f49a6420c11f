#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry .deps): the first GPU run of the small-input
# (image stem) convolution kernel (kernels/cuda/small_input_conv.cu, bench/NOTES.md note 58;
# opt-in with INGOT_CUDA_SMALL_INPUT=1). Build; every CUDA kernel test (the stem cases among
# them) and the generated pointwise kernels; the kernel bench of the stem; the stem's GPU pytest
# case (PYTEST_K selects others); EfficientNet-B0 at BATCHES (default 32,1) against eager and
# freeze with INGOT_CUDA_SMALL_INPUT=1 timed in turns as the variant; an EfficientNet-B0 bs32
# kernel trace with the convolutions' timed tactics; a BERT-base bs1 kernel trace (the case
# furthest from its target) with the time left.
# END: seconds from the start by which it all ends. Results: $OUT/stem_run.tgz.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup stem_run
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/check.log 2>&1; echo "build rc=$? t=$(el)"; tail -2 $R/check.log
timeout 60 build/gpu/tests/cuda/ingot_cuda_tests --gtest_brief=1 > $R/cuda-tests.txt 2>&1; echo "cuda tests rc=$? t=$(el)"
tail -2 $R/cuda-tests.txt
timeout 60 build/gpu/tests/cuda/ingot_pointwise_tests > $R/pointwise-tests.txt 2>&1; echo "pointwise tests rc=$? t=$(el)"
timeout 30 build/gpu/tests/cuda/ingot_cuda_kernel_bench 200 "stem" > $R/kbench-stem.txt 2>&1; echo "kbench rc=$? t=$(el)"
grep "small-input" $R/kbench-stem.txt
export PYTHONPATH=python
(cd tests/python && PYTHONPATH=../../python timeout 120 python3 -m pytest -q -ra -p no:cacheprovider \
   test_conv_tactics_gpu.py -k "${PYTEST_K:-stem}" > $R/pytest.log 2>&1); echo "pytest rc=$? t=$(el)"
grep -E "passed|failed|^FAILED|^ERROR" $R/pytest.log | tail -8
finish
END=${END:-560}
left=$(( END - 90 - $(el) ))
[ $left -gt 60 ] && timeout $left python3 bench/run.py --models efficientnet_b0 --batches ${BATCHES:-32,1} \
  --peers eager,freeze --timing-cache /tmp/t.tc --ingot-env INGOT_CUDA_SMALL_INPUT=1 --worker-timeout 200 \
  --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; grep -v "^  " $R/bench.txt | tail -4
finish
INGOT_CUDA_SMALL_INPUT=1 timeout 45 python3 bench/kernel_trace.py --model efficientnet_b0 --batch 32 --sequence --timed convolution \
  --timing-cache /tmp/t.tc --json $R/trace-effnet-bs32.json > $R/trace-effnet.txt 2>&1; echo "trace rc=$? t=$(el)"
grep -i -B1 -A3 "small-input" $R/trace-effnet.txt | head -12
finish
left=$(( END - $(el) ))
[ $left -gt 25 ] && timeout $left python3 bench/kernel_trace.py --model bert --batch 1 --sequence \
  --timing-cache /tmp/t.tc --json $R/trace-bert-bs1.json > $R/trace-bert.txt 2>&1; echo "trace bert rc=$? t=$(el)"
head -4 $R/trace-bert.txt 2>/dev/null
