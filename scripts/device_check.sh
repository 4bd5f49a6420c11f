#!/usr/bin/env bash
# Runs on the GPU machine (through the device tool): builds ingot with the CUDA backend, runs
# every test (C++ and Python, CPU and GPU) and, if BENCH is set, the benchmark.
#   BENCH="--models resnet50 --batches 1" bash scripts/device_check.sh
#   ZOO="--device cpu --jobs 10" bash scripts/device_check.sh   (the conformance run, in the
#   background next to the tests, into $OUT/zoo.*)
#   SKIP_TESTS=1 skips the test suites; CTEST_ARGS / PYTEST_ARGS pass options to them
#   (CTEST_ARGS="-LE emulation" skips the host emulation CI already runs, PYTEST_ARGS="-m gpu").
# Logs and results go to $OUT (or ./device_out). Needs .deps (scripts/prepare_device_deps.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/device_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0
PY=$(command -v python3)
# The image's CXX (/opt/gcc) links parts of libstdc++ statically into shared libraries, which
# then carry a second, uninitialized copy of its locale: streams crash. Use the system GCC.
export CC=/usr/bin/gcc CXX=/usr/bin/g++ CUDAHOSTCXX=/usr/bin/g++
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  "$PY" -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.backends.cudnn.version())"
  nvcc --version | tail -1
} 2>&1 | tee "$OUT/env.txt"

t0=$(date +%s)
cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DINGOT_BUILD_TESTS=ON -DINGOT_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DPython_EXECUTABLE="$PY" > "$OUT/configure.log" 2>&1 || { tail -40 "$OUT/configure.log"; exit 1; }
cmake --build build/gpu -j "$(nproc)" > "$OUT/build.log" 2>&1 || { grep -E "error|Error" "$OUT/build.log" | head -60; exit 1; }
cmake --install build/gpu --prefix python > /dev/null
echo "build: $(( $(date +%s) - t0 )) s"

if [ -n "${ZOO:-}" ]; then
  (PYTHONPATH=python OMP_NUM_THREADS=1 timeout "${ZOO_SECONDS:-100000}" "$PY" zoo/run.py $ZOO --out "$OUT/zoo" \
     > "$OUT/zoo.log" 2>&1) &
  ZOO_PID=$!
fi

if [ -z "${SKIP_TESTS:-}" ]; then
echo "== C++ tests"
ctest --test-dir build/gpu -j 8 --output-on-failure --timeout 300 ${CTEST_ARGS:-} > "$OUT/ctest.log" 2>&1
grep -E "tests passed|tests failed|\(Failed\)|Not Run|Timeout" "$OUT/ctest.log" | head -40

echo "== Python tests"
(cd tests/python && PYTHONPATH=../../python timeout "${PYTEST_TIMEOUT:-1200}" "$PY" -m pytest -q -ra -p no:cacheprovider --maxfail=40 \
   ${PYTEST_ARGS:-} > "$OUT/pytest.log" 2>&1)
grep -E "passed|failed|^FAILED|^ERROR" "$OUT/pytest.log" | tail -40
fi

if [ -n "${BENCH:-}" ]; then
  echo "== bench $BENCH"
  PYTHONPATH=python "$PY" bench/run.py $BENCH --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log" | tail -30
fi

if [ -n "${ZOO_PID:-}" ]; then
  echo "== zoo (waiting)"
  wait "$ZOO_PID"
  tail -8 "$OUT/zoo.log"
fi
