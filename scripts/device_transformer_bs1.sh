#!/usr/bin/env bash
# Runs on the GPU machine (through the device tool, carry .deps): the measurement run for the
# transformer batch-1 work of bench/NOTES.md notes 41-43, within ~6 minutes. Builds, runs the
# GPU tests of our GEMM / attention / norm kernels, their kernel bench, a BERT bs1 trace with the
# tuner's matmul timings, and BERT / ViT bs1 against eager and torch.compile (freezing), then
# ingot alone with programmatic launch (INGOT_PDL=1). Our few-rows GEMM is timed
# (INGOT_CUDA_MATMUL=timed) throughout. Results: $OUT/r.tgz.
#   CAP=330 CAP2=400 CAP3=560 bash scripts/device_transformer_bs1.sh
# (CAP*: seconds from the start by which each bench step must end; KBENCH=0 skips the kernel bench,
# PYTEST_MORE= leaves out the CPU-only training-IR tests, TRACE=0 stops after the tests, CAP3=0
# skips the CNN step and the BERT trace and gives the bench 120 s more.)
set -u
cd "$(dirname "$0")/.."
R=/tmp/ingot_bs1; rm -rf $R; mkdir -p $R
finish() { tar czf "${OUT:-.}/r.tgz.tmp" -C /tmp ingot_bs1 2>/dev/null && mv "${OUT:-.}/r.tgz.tmp" "${OUT:-.}/r.tgz"; }
# A command killed by the device tool's timeout runs no EXIT trap: what was measured so far is
# tarred every 15 s as well.
( while sleep 15; do finish; done ) > /dev/null 2>&1 &
TARLOOP=$!
trap 'kill $TARLOOP 2>/dev/null; finish' EXIT
export CC=/usr/bin/gcc CXX=/usr/bin/g++ CUDAHOSTCXX=/usr/bin/g++ PYTHONUNBUFFERED=1 INGOT_CUDA_MATMUL=timed
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
nvidia-smi --query-gpu=name --format=csv,noheader | tee $R/gpu.txt
OUT=$R SKIP_TESTS=1 bash scripts/device_check.sh > $R/build.log 2>&1; echo "build rc=$? t=$(el)"
timeout 60 build/gpu/tests/cuda/ingot_cuda_tests --gtest_filter="*inear*:*ttention*:*orm*" > $R/gtest.log 2>&1
echo "gtest rc=$? t=$(el)"; grep -E "^\[  (PASSED|FAILED)" $R/gtest.log
(cd tests/python && PYTHONPATH=../../python timeout 120 python3 -m pytest -q -p no:cacheprovider test_linear_gpu.py \
   test_sdpa_gpu.py ${PYTEST_MORE:-test_training_ir.py} -s > $R/pytest-linear.log 2>&1); echo "pytest rc=$? t=$(el)"; tail -2 $R/pytest-linear.log
finish  # what the tests gave comes back even if the run is cut short
[ "${TRACE:-1}" = 0 ] && exit 0
export PYTHONPATH=python
KB=build/gpu/tests/cuda/ingot_cuda_kernel_bench
[ "${KBENCH:-1}" = 1 ] && for f in linear attention layer_norm; do INGOT_PDL=0 timeout 40 $KB 200 $f > $R/kbench-$f.txt 2>&1; done
echo "kernel bench t=$(el)"
# Small mode (CAP3=0: no CNN step) skips the trace and gives its time to the bench.
if [ "${CAP3:-555}" = 0 ]; then TRACE_STEP=0; CAP=$(( ${CAP:-330} + 120 )); else TRACE_STEP=1; fi
[ $TRACE_STEP = 1 ] && timeout 80 python3 bench/kernel_trace.py --model bert --batch 1 --timed matmul --sequence --timing-cache /tmp/bs1.tc \
  --json $R/trace-bert-bs1.json > $R/trace.txt 2>&1; echo "trace rc=$? t=$(el)"
left=$(( ${CAP:-330} - $(el) ))
timeout $left python3 bench/run.py --models ${MODELS:-bert,vit_b_16} --batches 1 --peers eager,freeze --timing-cache /tmp/bs1.tc \
  --json $R/bench.json > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"; tail -5 $R/bench.txt
left=$(( ${CAP2:-390} - $(el) ))
[ $left -gt 30 ] && INGOT_PDL=1 timeout $left python3 bench/run.py --models bert,vit_b_16 --batches 1 --peers eager \
  --timing-cache /tmp/bs1.tc --json $R/bench-pdl.json > $R/bench-pdl.txt 2>&1; echo "bench-pdl rc=$? t=$(el)"
# Build times of the CNNs (cold, then warm timing cache in the process and in a new one, with the
# cuDNN plan file) with the training IR lowered in place.
left=$(( ${CAP3:-560} - $(el) ))
[ $left -gt 30 ] && timeout $left python3 bench/run.py --models resnet50,efficientnet_b0 --batches 1 --peers eager \
  --timing-cache /tmp/cnn.tc --json $R/bench-cnn.json > $R/bench-cnn.txt 2>&1; echo "bench-cnn rc=$? t=$(el)"
grep -h "build" $R/bench*.txt | tail -12
