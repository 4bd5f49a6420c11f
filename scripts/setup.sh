#!/usr/bin/env bash
# Sets up everything ingot needs on a fresh Debian/Ubuntu machine and builds it:
#   system packages (compiler, CMake, Ninja, ccache, GoogleTest, xxHash),
#   a virtual environment in .venv with torch 2.11 / torchvision 0.26 and the build tools,
#   and ingot itself (pip install, with the C++ tests built in build/python).
# Safe to run again: it only does what is missing, and rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v g++ >/dev/null || need_apt+=(g++)
command -v cmake >/dev/null || need_apt+=(cmake)
command -v ninja >/dev/null || need_apt+=(ninja-build)
command -v ccache >/dev/null || need_apt+=(ccache)
[ -f /usr/include/gtest/gtest.h ] || need_apt+=(libgtest-dev)
[ -f /usr/include/xxhash.h ] || [ -f .deps/usr/include/xxhash.h ] || need_apt+=(libxxhash-dev)
command -v python3 >/dev/null || need_apt+=(python3)
python3 -m venv --help >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt

# The system compiler: some images point CXX at a toolchain that links parts of libstdc++
# statically into shared libraries, which crashes once two copies meet in one process.
if [ -x /usr/bin/g++ ]; then export CC=${INGOT_CC:-/usr/bin/gcc} CXX=${INGOT_CXX:-/usr/bin/g++}; fi
[ -x /usr/bin/g++ ] && command -v nvcc >/dev/null && export CUDAHOSTCXX=${CXX}
# With a CUDA toolkit the CUDA backend is built too; it needs the cuDNN frontend headers.
if command -v nvcc >/dev/null; then PYTHON=.venv/bin/python bash scripts/fetch_cudnn_frontend.sh; fi
echo "setup: building ingot (incremental; first build takes a few minutes on 2 cores)"
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
  .venv/bin/python -m pip install -q --no-build-isolation --no-deps \
  -Cbuild-dir=build/python -Ccmake.define.INGOT_BUILD_TESTS=ON -Ccmake.define.INGOT_BUILD_TOOLS=ON .
echo "setup: done"
