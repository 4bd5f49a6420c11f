#!/usr/bin/env bash
# Packs the CUDA kernel bench and tests of several revisions of some kernel sources, built in
# this machine's build/python by swapping only those files (one nvcc unit each and the links,
# not a full build), for scripts/device_kbench_ab.sh to compare on the GPU machine without a
# device build. Usage: scripts/pack_kernel_revisions.sh "FILE..." NAME=REV...
# e.g. scripts/pack_kernel_revisions.sh cpp/kernels/cuda/depthwise_direct.cu base=f2e68da conv=4521158
# Each NAME=REV gives tmp_probe/car/NAME.tar.xz (ingot_cuda_kernel_bench and libingot.so, ~12 MB;
# the names in TESTS also ingot_cuda_tests, ~23 MB in all: the device tool carries 64 MiB).
# The files are put back as they are in the working tree at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=$1; shift
B=build/python
SAVE=$(mktemp -d)
for f in $FILES; do mkdir -p "$SAVE/$(dirname "$f")"; cp "$f" "$SAVE/$f"; done
restore() { for f in $FILES; do cp "$SAVE/$f" "$f"; touch "$f"; done; rm -rf "$SAVE"; }
trap restore EXIT
mkdir -p tmp_probe/car
for spec in "$@"; do
  name=${spec%%=*}; rev=${spec#*=}
  for f in $FILES; do git show "$rev:$f" > "$f"; touch "$f"; done
  cmake --build $B --target ingot_cuda_kernel_bench ingot_cuda_tests > /tmp/pack_$name.log 2>&1 ||
    { echo "build of $name ($rev) failed: /tmp/pack_$name.log"; exit 1; }
  T=$(mktemp -d)
  cp $B/tests/cuda/ingot_cuda_kernel_bench $B/cpp/libingot.so "$T"/
  case " ${TESTS:-} " in *" $name "*) cp $B/tests/cuda/ingot_cuda_tests "$T"/ ;; esac
  tar cJf tmp_probe/car/$name.tar.xz -C "$T" . && rm -rf "$T"
  ls -la tmp_probe/car/$name.tar.xz
done
