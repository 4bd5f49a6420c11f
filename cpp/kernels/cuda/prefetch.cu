// L2 prefetch of byte ranges (kernels.h: launch_l2_prefetch).
#include <algorithm>

#include "kernels/cuda/cuda_common.cuh"
#include "kernels/cuda/kernels.h"

namespace ingot::kernels::cuda {

namespace {

constexpr int kMaxRanges = 32;      // per launch; more ranges take more launches
constexpr int kThreads = 128;
constexpr uint32_t kChunk = 64 << 10;  // bytes one thread asks for

struct PrefetchArgs {
  const char* data[kMaxRanges];
  uint64_t bytes[kMaxRanges];   // multiples of 16 (rounded up by the launcher)
  uint64_t first[kMaxRanges + 1];  // chunk index where each range starts; first[n] = all chunks
  int n = 0;
};

__global__ void __launch_bounds__(kThreads) l2_prefetch_kernel(const __grid_constant__ PrefetchArgs a) {
  const uint64_t chunk = static_cast<uint64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (chunk >= a.first[a.n]) return;
  int r = 0;
  while (chunk >= a.first[r + 1]) ++r;
  const uint64_t at = (chunk - a.first[r]) * kChunk;
  const char* p = a.data[r] + at;
  const uint64_t left = a.bytes[r] - at;
  const uint32_t size = left < kChunk ? static_cast<uint32_t>(left) : kChunk;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // One bulk request (the TMA unit walks it): no registers wait for the data.
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(p), "r"(size) : "memory");
#elif defined(__CUDA_ARCH__)
  for (uint32_t o = 0; o < size; o += 128) asm volatile("prefetch.global.L2 [%0];" ::"l"(p + o));
#else
  (void)p;
  (void)size;
#endif
}

}  // namespace

Status launch_l2_prefetch(const std::vector<ByteRange>& ranges, cudaStream_t stream) {
  for (size_t start = 0; start < ranges.size(); start += kMaxRanges) {
    PrefetchArgs a;
    uint64_t chunks = 0;
    for (size_t i = start; i < std::min(ranges.size(), start + kMaxRanges); ++i) {
      const ByteRange& r = ranges[i];
      if (reinterpret_cast<uintptr_t>(r.data) % 16 != 0) {
        return error(ErrorCode::kInvalidArgument, "L2 prefetch: range ", i, " is not 16-byte aligned");
      }
      if (r.bytes == 0) continue;
      a.data[a.n] = static_cast<const char*>(r.data);
      a.bytes[a.n] = (r.bytes + 15) / 16 * 16;
      a.first[a.n] = chunks;
      chunks += (a.bytes[a.n] + kChunk - 1) / kChunk;
      ++a.n;
    }
    if (a.n == 0) continue;
    a.first[a.n] = chunks;
    detail::launch_kernel(l2_prefetch_kernel, dim3(static_cast<unsigned>((chunks + kThreads - 1) / kThreads)), dim3(kThreads), 0,
                  stream, a);
    INGOT_RETURN_IF_ERROR(detail::check_launch("L2 prefetch"));
  }
  return Status::ok();
}

}  // namespace ingot::kernels::cuda
