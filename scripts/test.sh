#!/usr/bin/env bash
# Runs every test: the C++ suite (GoogleTest, via ctest) and the Python suite (pytest).
# GPU tests carry the `gpu` mark and skip themselves without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== C++ tests"
ctest --test-dir build/python --output-on-failure -j "$(nproc)"
echo "== Python tests"
cd tests/python && ../../.venv/bin/python -m pytest -q -ra "$@"
