#!/usr/bin/env bash
# Runs on the GPU machine (device tool, carry .deps): the four-model table of bench/NOTES.md
# (ResNet-50, EfficientNet-B0, BERT-base, ViT-B/16 at MODELS / BATCHES, against eager and freeze,
# one process a model), after an incremental build (a machine kept warm since the last call
# still has build/gpu). END: seconds from the start by which it ends. Results: $OUT/table_run.tgz.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup table_run
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/check.log 2>&1; echo "build rc=$? t=$(el)"; tail -2 $R/check.log
export PYTHONPATH=python
END=${END:-560}
left=$(( END - $(el) ))
[ $left -gt 60 ] && timeout $left python3 bench/run.py --models ${MODELS:-efficientnet_b0,resnet50,bert,vit_b_16} \
  --batches ${BATCHES:-1,32} --peers eager,freeze --timing-cache /tmp/t.tc --worker-timeout 200 --json $R/bench.json \
  > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; grep -v "^  " $R/bench.txt | tail -12
