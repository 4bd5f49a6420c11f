#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry .deps): the first GPU run of squeeze-excite gates
# in the projection weights (build/squeeze_excite_weights.cpp, bench/NOTES.md note 57) and of
# pointwise fusion on by default. Build; every CUDA kernel test and the generated pointwise
# kernels; the GPU pytest cases that cover them; EfficientNet-B0 at bs32 and bs1 against eager
# and freeze with INGOT_SE_WEIGHTS=0 timed in turns (VARIANTS adds more --ingot-env options);
# an EfficientNet-B0 bs32 kernel trace (launch order) with the time left.
# END: seconds from the start by which it all ends. Results: $OUT/se_run.tgz.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup se_run
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/check.log 2>&1; echo "build rc=$? t=$(el)"; tail -2 $R/check.log
timeout 60 build/gpu/tests/cuda/ingot_pointwise_tests > $R/pointwise-tests.txt 2>&1; echo "pointwise tests rc=$? t=$(el)"
timeout 60 build/gpu/tests/cuda/ingot_cuda_tests --gtest_brief=1 > $R/cuda-tests.txt 2>&1; echo "cuda tests rc=$? t=$(el)"
tail -2 $R/cuda-tests.txt
export PYTHONPATH=python
(cd tests/python && PYTHONPATH=../../python timeout 150 python3 -m pytest -q -ra -p no:cacheprovider \
   test_gpu.py -k "pointwise or squeeze or torchvision or replay" > $R/pytest.log 2>&1); echo "pytest rc=$? t=$(el)"
grep -E "passed|failed|^FAILED|^ERROR" $R/pytest.log | tail -8
finish
END=${END:-570}
left=$(( END - 60 - $(el) ))
[ $left -gt 60 ] && timeout $left python3 bench/run.py --models ${MODELS:-efficientnet_b0} --batches ${BATCHES:-32,1} \
  --peers eager,freeze --timing-cache /tmp/t.tc --ingot-env INGOT_SE_WEIGHTS=0 ${VARIANTS:-} --worker-timeout 200 \
  --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; grep -v "^  " $R/bench.txt | tail -4
finish
left=$(( END - $(el) ))
[ $left -gt 25 ] && timeout $left python3 bench/kernel_trace.py --model efficientnet_b0 --batch 32 --sequence \
  --timing-cache /tmp/t.tc --json $R/trace-effnet-bs32.json > $R/trace-effnet.txt 2>&1; echo "trace rc=$? t=$(el)"
head -14 $R/trace-effnet.txt 2>/dev/null | tail -11
