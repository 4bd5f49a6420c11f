#!/usr/bin/env bash
# Packs the CUDA test and bench binaries of this machine's build (build/python, sm_90) with
# libingot.so into tmp_probe/car/bins.tar.xz (git-ignored), for scripts/device_kernel_profile.sh
# to run on the GPU machine without a device build (carry tmp_probe/car; ~14 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/python
T=$(mktemp -d)
cp $B/tests/cuda/ingot_cuda_kernel_bench $B/tests/cuda/ingot_cuda_tests $B/tests/cuda/ingot_pointwise_tests \
   $B/cpp/runtime/cuda/ingot_gemm_search_bench $B/cpp/libingot.so "$T"/
mkdir -p tmp_probe/car
tar cJf tmp_probe/car/bins.tar.xz -C "$T" .
rm -rf "$T"
ls -la tmp_probe/car/bins.tar.xz
