#!/usr/bin/env bash
# Puts the cuDNN frontend headers (PyPI nvidia-cudnn-frontend; header-only C++ over cuDNN's
# graph API, which the CUDA backend is written against) into .deps/cudnn_frontend/include.
# Only the wheel's headers are used; nothing is installed. Does nothing if they are there.
#   PYTHON=.venv/bin/python bash scripts/fetch_cudnn_frontend.sh
set -euo pipefail
cd "$(dirname "$0")/.."
version=${CUDNN_FRONTEND_VERSION:-1.32.0}
[ -f .deps/cudnn_frontend/include/cudnn_frontend.h ] && exit 0
py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" -m pip download -q --no-deps -d "$tmp" "nvidia-cudnn-frontend==$version"
"$py" -m zipfile -e "$tmp"/*.whl "$tmp/x" >/dev/null
mkdir -p .deps/cudnn_frontend
rm -rf .deps/cudnn_frontend/include
cp -r "$tmp"/x/include .deps/cudnn_frontend/include
echo "cuDNN frontend $version headers in .deps/cudnn_frontend/include"
