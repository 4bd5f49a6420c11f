#!/usr/bin/env bash
# Runs on the GPU machine (device tool), after a device build (e.g. right after
# scripts/device_se_sums.sh on the same warm machine): which library issues the memsets seen in
# the engines' traces (bench/NOTES.md notes 53, 72). Builds bench/probes/memset_origin.cpp (a
# CUPTI injection library) against the CUPTI it finds (the CUDA toolkit's, else the one in the
# Python site-packages), runs bench/run.py on MODELS (default bert) at BATCHES (default 1,32)
# with it injected, and counts the memset calls by their call stacks.
# Results: $OUT/memset_origin.tgz (memsets.txt.<pid> per process, summary.txt).
set -u
cd "$(dirname "$0")/.."
. scripts/device_run_common.sh
device_run_setup memset_origin
SITE=$(python3 -c "import site; print(site.getsitepackages()[0])" 2>/dev/null)
INC=""; LIB=""
for d in /usr/local/cuda/include /usr/local/cuda/extras/CUPTI/include "$SITE/nvidia/cuda_cupti/include" \
         "$SITE/nvidia/cu13/include"; do [ -f "$d/cupti.h" ] && { INC=$d; break; }; done
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/extras/CUPTI/lib64 "$SITE/nvidia/cuda_cupti/lib" \
         "$SITE/nvidia/cu13/lib"; do ls "$d"/libcupti.so* > /dev/null 2>&1 && { LIB=$d; break; }; done
echo "cupti include: ${INC:-none}, lib: ${LIB:-none}" | tee $R/cupti.txt
[ -n "$INC" ] && [ -n "$LIB" ] || exit 1
CUPTI_SO=$(ls "$LIB"/libcupti.so* | head -1)
g++ -std=c++17 -shared -fPIC -O1 -I"$INC" bench/probes/memset_origin.cpp -o /tmp/libmemset_origin.so "$CUPTI_SO" \
  -Wl,-rpath,"$LIB" > $R/build.txt 2>&1; echo "probe build rc=$? t=$(el)"
[ -f /tmp/libmemset_origin.so ] || { cat $R/build.txt; exit 1; }
export PYTHONPATH=python
CUDA_INJECTION64_PATH=/tmp/libmemset_origin.so INGOT_MEMSET_ORIGIN_OUT=$R/memsets.txt \
  timeout ${SECONDS_CAP:-300} python3 bench/run.py --models ${MODELS:-bert} --batches ${BATCHES:-1,32} --peers eager \
  --worker-timeout 200 > $R/bench.txt 2>&1; echo "bench rc=$? t=$(el)"
grep -v "^  " $R/bench.txt | tail -6
cat $R/memsets.txt.* 2>/dev/null | sort | uniq -c | sort -rn > $R/summary.txt
echo "memset calls by call stack (count | API | libraries, innermost first):"; head -20 $R/summary.txt | cut -c1-400
finish
