#!/usr/bin/env bash
# Fills .deps/ (git-ignored) with the build dependencies the GPU machine has no registry for:
# xxHash and GoogleTest from this machine's Debian packages, and cuDNN headers (used only if
# the GPU machine's PyTorch-installed cuDNN lacks them; same 9.19 version), and the header-only
# cuDNN frontend (PyPI nvidia-cudnn-frontend) that the CUDA backend's graph-API convolutions
# are written against. Run it here, then name .deps in the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps && mkdir -p .deps/usr/include .deps/cudnn/include
tmp=$(mktemp -d)
(cd "$tmp" && apt-get download -q libxxhash-dev googletest >/dev/null)
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$tmp/x"; done
cp "$tmp"/x/usr/include/xxhash.h .deps/usr/include/
cp -r "$tmp"/x/usr/src/googletest .deps/googletest
rm -rf "$tmp"
if ls /usr/local/cuda/include/cudnn*.h >/dev/null 2>&1; then cp /usr/local/cuda/include/cudnn*.h .deps/cudnn/include/; fi
bash scripts/fetch_cudnn_frontend.sh
du -sh .deps
