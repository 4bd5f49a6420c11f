#!/usr/bin/env bash
# Runs on the GPU machine (device tool): ingot_gemm_search_bench (tests/cuda/gemm_search_bench.cpp)
# with 48 and 160 variants. Carry BIN (default tmp_probe/gsb: the binary and libingot.so built on
# the CPU machine for sm_90); where it does not run there, it is built on the spot.
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
carried_binaries
B=$BIN/ingot_gemm_search_bench
if ! $B 0 > "$OUT/probe.txt" 2>&1; then
  tail -3 "$OUT/probe.txt"
  export CC=/usr/bin/gcc CXX=/usr/bin/g++ CUDAHOSTCXX=/usr/bin/g++
  cmake -S . -B build/g -G Ninja -DCMAKE_BUILD_TYPE=Release -DINGOT_BUILD_TESTS=ON -DINGOT_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DPython_EXECUTABLE="$(command -v python3)" > "$OUT/configure.log" 2>&1
  cmake --build build/g -j "$(nproc)" --target ingot_gemm_search_bench > "$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }
  B=build/g/cpp/runtime/cuda/ingot_gemm_search_bench
fi
for v in 48 160; do timeout 120 $B $v | tee "$OUT/gemm-search-$v.txt"; done
