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
