#!/usr/bin/env bash
# Runs on the GPU machine (through the device tool, carry .deps): the measurement run for the wide
# cuBLASLt search (INGOT_GEMM_SEARCH=wide, bench/NOTES.md note 50) and programmatic dependent
# launch (INGOT_PDL=1, note 40), each timed in turns with the default engine, plus the GPU tests
# not yet run on a GPU. Results: $OUT/ingot_run$STEP.tgz (tarred every 15 s, so that a call cut short
# still brings back what it measured).
#   STEP=1: build; BERT and ViT-B/16 at bs1 against eager and freeze with both variants;
#           pytest (the wide search, note 48's epilogue fix, the prefetch bit-identity, the
#           few-rows GEMM); time left, a ViT-B/16 bs1 kernel trace of the default engine (per
#           layer, --timed matmul). END: seconds from the start by which it all ends.
#   STEP=2: (the build is kept) MODELS / BATCHES (default: all four at bs32, then the CNNs at
#           bs1) against eager and freeze with VARIANTS (default: both) in turns.
set -u
cd "$(dirname "$0")/.."
STEP=${STEP:-1}
. scripts/device_run_common.sh
device_run_setup ingot_run$STEP
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/check.log 2>&1; echo "build rc=$? t=$(el)"; tail -3 $R/check.log
export PYTHONPATH=python
VARIANTS=${VARIANTS:---ingot-env INGOT_GEMM_SEARCH=wide --ingot-env INGOT_PDL=1}
if [ "$STEP" = 1 ]; then
  # The bench first (its rel-L2 checks every engine against eager fp32), then the tests.
  END=${END:-580}  # seconds from the start by which everything must end
  left=$(( END - 150 - $(el) ))
  timeout $left python3 bench/run.py --models ${MODELS:-bert,vit_b_16} --batches 1 --peers eager,freeze \
    --timing-cache /tmp/t.tc $VARIANTS --worker-timeout 200 \
    --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; tail -5 $R/bench.txt
  finish
  left=$(( END - 40 - $(el) ))
  (cd tests/python && PYTHONPATH=../../python timeout $left python3 -m pytest -q -ra -s -p no:cacheprovider \
     test_gemm_search_gpu.py "test_gpu.py::test_adds_after_an_activation_stay_outside_the_epilogue" \
     test_l2_prefetch_gpu.py test_linear_gpu.py > $R/pytest.log 2>&1); echo "pytest rc=$? t=$(el)"
  grep -E "passed|failed|^FAILED|^ERROR|heuristic .* wide" $R/pytest.log | tail -14
  finish
  left=$(( END - $(el) ))
  [ $left -gt 30 ] && timeout $left python3 bench/kernel_trace.py --model vit_b_16 --batch 1 --sequence --timed matmul \
    --timing-cache /tmp/t.tc --json $R/trace-vit-bs1.json > $R/trace-vit.txt 2>&1; echo "trace rc=$? t=$(el)"
else
  left=$(( ${CAP:-560} - $(el) ))
  timeout $left python3 bench/run.py --models ${MODELS:-bert,vit_b_16,resnet50,efficientnet_b0} --batches ${BATCHES:-32} \
    --peers eager,freeze --timing-cache /tmp/t.tc $VARIANTS --worker-timeout 200 \
    --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; tail -8 $R/bench.txt
fi
