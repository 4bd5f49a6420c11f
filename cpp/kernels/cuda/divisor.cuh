// Division by a fixed divisor for the kernels' index math (internal). Host-includable: the
// tests check it against integer division.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace ingot::kernels::cuda::detail {

// Indices below this take the 32-bit path of Divisor (kernels' `narrow` flag).
constexpr int64_t kNarrowLimit = int64_t{1} << 31;

// Division by a fixed positive divisor through a multiply-high and a shift (Granlund and
// Montgomery): q = (mulhi(n, mul) + n) >> shift, with shift = ceil(log2 d) and
// mul = floor(2^N (2^shift - d) / d) + 1, exact for dividends below 2^(N-1). `narrow` (every
// dividend and the divisor below 2^31) selects the 32-bit multiplier, else the 64-bit one;
// no 64-bit division runs on the device (it would be a subroutine call).
struct Divisor {
  int64_t value = 1;
  uint64_t mul64 = 1;
  uint32_t mul32 = 1;
  uint32_t shift = 0;

  static Divisor make(int64_t d) {
    Divisor r;
    r.value = d < 1 ? 1 : d;
    uint64_t u = static_cast<uint64_t>(r.value);
    uint32_t s = 0;
    while ((uint64_t{1} << s) < u) ++s;
    r.shift = s;
    unsigned __int128 m = ((static_cast<unsigned __int128>(1) << 64) * ((uint64_t{1} << s) - u)) / u + 1;
    r.mul64 = static_cast<uint64_t>(m);
    if (u < static_cast<uint64_t>(kNarrowLimit)) {
      r.mul32 = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << s) - u)) / u + 1);
    }
    return r;
  }

  __host__ __device__ __forceinline__ int64_t div(int64_t n, bool narrow) const {
    if (narrow) {
      uint32_t n32 = static_cast<uint32_t>(n);
#ifdef __CUDA_ARCH__
      uint32_t t = __umulhi(n32, mul32);
#else
      uint32_t t = static_cast<uint32_t>((static_cast<uint64_t>(n32) * mul32) >> 32);
#endif
      return static_cast<int64_t>((t + n32) >> shift);
    }
    uint64_t n64 = static_cast<uint64_t>(n);
#ifdef __CUDA_ARCH__
    uint64_t t = __umul64hi(n64, mul64);
#else
    uint64_t t = static_cast<uint64_t>((static_cast<unsigned __int128>(n64) * mul64) >> 64);
#endif
    return static_cast<int64_t>((t + n64) >> shift);
  }
};

}  // namespace ingot::kernels::cuda::detail
