# Sourced by the device run scripts (scripts/device_*.sh) on the GPU machine.
#
# device_run_setup NAME: results go to /tmp/NAME ($R), tarred into $OUT/NAME.tgz every 15 s and
# at exit, so that a call cut short still brings back what it measured; el prints the seconds
# since the setup; the system GCC builds (device_check.sh says why).
device_run_setup() {
  DEVICE_RUN_NAME=$1
  R=/tmp/$DEVICE_RUN_NAME; rm -rf "$R"; mkdir -p "$R"
  finish() {
    tar czf "${OUT:-.}/$DEVICE_RUN_NAME.tgz.tmp" -C /tmp "$DEVICE_RUN_NAME" 2>/dev/null &&
      mv "${OUT:-.}/$DEVICE_RUN_NAME.tgz.tmp" "${OUT:-.}/$DEVICE_RUN_NAME.tgz"
  }
  ( while sleep 15; do finish; done ) > /dev/null 2>&1 &
  TARLOOP=$!
  trap 'kill $TARLOOP 2>/dev/null; finish' EXIT
  export CC=/usr/bin/gcc CXX=/usr/bin/g++ CUDAHOSTCXX=/usr/bin/g++ PYTHONUNBUFFERED=1
  T0=$(date +%s)
  nvidia-smi --query-gpu=name --format=csv,noheader | tee "$R/gpu.txt"
}
el() { echo $(( $(date +%s) - T0 )); }

# carried_binaries: BIN (default tmp_probe/gsb) holds binaries and libingot.so built on the CPU
# machine for sm_90 and carried; they load from there and from the CUDA toolkit.
carried_binaries() {
  BIN=${BIN:-tmp_probe/gsb}
  OUT=${OUT:-.}
  nvidia-smi --query-gpu=name --format=csv,noheader
  case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
  export LD_LIBRARY_PATH=$BIN:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
}

# unpack_build ARCHIVE: a carried build (scripts/pack_kernel_revisions.sh: the kernel bench,
# libingot.so and maybe the CUDA tests) unpacked into /tmp/kb/NAME, NAME the archive's name
# without .tar.xz.
unpack_build() {
  local n; n=$(basename "$1" .tar.xz)
  mkdir -p /tmp/kb/$n && tar xJf "$1" -C /tmp/kb/$n || echo "no build $n"
}
# run_build SECONDS DIR PROGRAM ARGS...: one of that build's programs under a timeout, its own
# libingot.so first on the library path, then the CUDA toolkit's.
run_build() {
  local t=$1 d=$2 p=$3; shift 3
  LD_LIBRARY_PATH=$d:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-} timeout "$t" "$d/$p" "$@"
}
