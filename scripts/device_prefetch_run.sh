#!/usr/bin/env bash
# Runs on the GPU machine (through the device tool, carry .deps): the measurement run for the L2
# weight prefetch (bench/NOTES.md note 47) and the full bench table, in two calls on one warm
# machine (each within ~9.5 minutes). Results: $OUT/ingot_run$STEP.tgz (tarred every 15 s, so that a call
# cut short still brings back what it measured).
#   STEP=1: build, the GPU tests of the prefetch / linear / timing-cache paths, the four models
#           at bs1 against eager and freeze with INGOT_L2_PREFETCH=16 timed in turns with the
#           default, and (time left) a BERT bs1 kernel trace with the prefetch on.
#   STEP=2: (the build is kept) ResNet-50 and EfficientNet-B0 at bs1 and 32, BERT and ViT-B/16
#           at bs32, against eager and freeze, with INGOT_L2_PREFETCH=16 in turns.
# CAP: seconds from the start by which the bench must end.
set -u
cd "$(dirname "$0")/.."
STEP=${STEP:-1}
. scripts/device_run_common.sh
device_run_setup ingot_run$STEP
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/build.log 2>&1; echo "build rc=$? t=$(el)"
export PYTHONPATH=python
if [ "$STEP" = 1 ]; then
  (cd tests/python && PYTHONPATH=../../python timeout 120 python3 -m pytest -q -ra -p no:cacheprovider test_l2_prefetch_gpu.py \
     test_linear_gpu.py test_timing_cache.py > $R/pytest.log 2>&1); echo "pytest rc=$? t=$(el)"; tail -3 $R/pytest.log
  finish
  left=$(( ${CAP:-540} - $(el) ))
  timeout $left python3 bench/run.py --models bert,resnet50,vit_b_16,efficientnet_b0 --batches 1 --peers eager,freeze \
    --timing-cache /tmp/t.tc --ingot-env INGOT_L2_PREFETCH=16 --worker-timeout 150 \
    --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; tail -6 $R/bench.txt
  left=$(( 570 - $(el) ))
  [ $left -gt 30 ] && INGOT_L2_PREFETCH=16 timeout $left python3 bench/kernel_trace.py --model bert --batch 1 --sequence \
    --timing-cache /tmp/t.tc --json $R/trace-bert-bs1-prefetch16.json > $R/trace.txt 2>&1; echo "trace rc=$? t=$(el)"
else
  left=$(( ${CAP:-560} - $(el) ))
  timeout $left python3 bench/run.py --models ${MODELS:-resnet50,efficientnet_b0} --batches ${BATCHES:-1,32} --peers eager,freeze \
    --timing-cache /tmp/t.tc --ingot-env INGOT_L2_PREFETCH=16 --worker-timeout 150 \
    --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; tail -8 $R/bench.txt
  left=$(( 565 - $(el) ))
  [ $left -gt 60 ] && timeout $left python3 bench/run.py --models bert,vit_b_16 --batches 32 --peers eager,freeze \
    --timing-cache /tmp/t.tc --ingot-env INGOT_L2_PREFETCH=16 --worker-timeout 150 \
    --json $R/bench-t32.json > $R/bench-t32.txt 2>&1; echo "bench-t32 rc=$? t=$(el)"; tail -4 $R/bench-t32.txt
fi
