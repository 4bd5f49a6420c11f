#!/usr/bin/env bash
# Debugging aid for the GPU machine: builds with debug info and runs a Python script under
# cuda-gdb (which debugs host code too), printing the C++ backtrace of a crash.
#   bash scripts/device_debug.sh path/to/script.py
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/device_out}
mkdir -p "$OUT"
PY=$(command -v python3)
# The image's CXX (/opt/gcc) links parts of libstdc++ statically into shared libraries, which
# then carry a second, uninitialized copy of its locale: streams crash. Use the system GCC.
export CC=/usr/bin/gcc CXX=/usr/bin/g++ CUDAHOSTCXX=/usr/bin/g++
cmake -S . -B build/dbg -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINGOT_BUILD_TESTS=OFF -DINGOT_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DPython_EXECUTABLE="$PY" > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
cmake --build build/dbg -j "$(nproc)" > "$OUT/build.log" 2>&1 || { grep -E "error" "$OUT/build.log" | head -40; exit 1; }
rm -rf /tmp/dbgpy && mkdir -p /tmp/dbgpy && cp -r python/ingot /tmp/dbgpy/ && cmake --install build/dbg --prefix /tmp/dbgpy > /dev/null
PYTHONPATH=/tmp/dbgpy timeout 300 cuda-gdb -q -batch -ex "set pagination off" -ex run -ex "bt 40" -ex "info sharedlibrary" \
  --args "$PY" "$1" > "$OUT/gdb.log" 2>&1
grep -E "^#|signal|Segmentation|^ok|Error" "$OUT/gdb.log" | head -60
