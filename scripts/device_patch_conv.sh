#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry .deps): the measurement run for patch convolutions
# as GEMMs (build/patch_convolutions.cpp, bench/NOTES.md note 53) and programmatic launch on by
# default. Build; the CUDA kernel tests; ViT-B/16 at bs1 and bs32 against eager and freeze, with
# INGOT_PDL=0 timed in turns as the variant; the GPU pytest files that cover them (test_gpu.py
# with ViT-B/16 in f16 and f32, test_linear_gpu.py); a ViT-B/16 bs1 kernel trace with the time
# left. END: seconds from the start by which it all ends. Results: $OUT/patch_run.tgz.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup patch_run
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/check.log 2>&1; echo "build rc=$? t=$(el)"; tail -2 $R/check.log
timeout 60 build/gpu/tests/cuda/ingot_cuda_tests --gtest_brief=1 > $R/cuda-tests.txt 2>&1; echo "cuda tests rc=$? t=$(el)"; tail -2 $R/cuda-tests.txt
export PYTHONPATH=python
END=${END:-550}
left=$(( END - 100 - $(el) ))
timeout $left python3 bench/run.py --models vit_b_16 --batches ${BATCHES:-1,32} --peers eager,freeze \
  --timing-cache /tmp/t.tc --ingot-env INGOT_PDL=0 --worker-timeout 200 \
  --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; grep -v "^  " $R/bench.txt | tail -4
finish
left=$(( END - 40 - $(el) ))
(cd tests/python && PYTHONPATH=../../python timeout $left python3 -m pytest -q -ra -p no:cacheprovider \
   test_gpu.py test_linear_gpu.py -k "torchvision or replay or adds_after or few_rows" > $R/pytest.log 2>&1); echo "pytest rc=$? t=$(el)"
grep -E "passed|failed|^FAILED|^ERROR" $R/pytest.log | tail -8
finish
left=$(( END - $(el) ))
[ $left -gt 25 ] && timeout $left python3 bench/kernel_trace.py --model vit_b_16 --batch 1 --sequence \
  --timing-cache /tmp/t.tc --json $R/trace-vit-bs1.json > $R/trace-vit.txt 2>&1; echo "trace rc=$? t=$(el)"
head -12 $R/trace-vit.txt 2>/dev/null | tail -9
