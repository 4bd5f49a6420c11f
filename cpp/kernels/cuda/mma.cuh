// The warp-level tensor-core product D = A . B + C of one 16x8x16 tile (PTX mma.sync
// m16n8k16, f16 or bf16 inputs, float accumulators), with the fragment layout spelled out, and
// its host emulation (tests/cuda/emulation/: the lanes exchange their fragments and each
// computes its four results in float, in k order).
//
// Fragments, for lane l of the warp, g = l / 4 and t = l % 4 (two 16-bit values a register, the
// lower k or n in the low half):
//   a[0] = A[g][2t, 2t+1]      a[1] = A[g+8][2t, 2t+1]
//   a[2] = A[g][2t+8, 2t+9]    a[3] = A[g+8][2t+8, 2t+9]     (A: 16 rows x 16 k)
//   b[0] = B[2t, 2t+1][g]      b[1] = B[2t+8, 2t+9][g]       (B: 16 k x 8 columns)
//   c[0], c[1] = C[g][2t, 2t+1]   c[2], c[3] = C[g+8][2t, 2t+1]
// So with A's rows and B's columns each stored with k contiguous (x [pixels][K] and w [M][K]
// of a 1x1 convolution), every register is one aligned 4-byte load.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

#ifdef INGOT_CUDA_EMULATION
// The 16-bit element `half` (0 low, 1 high) of a fragment register, as float.
template <typename T>
inline float fragment_value(uint32_t reg, int half) {
  const uint16_t bits = static_cast<uint16_t>(half ? reg >> 16 : reg & 0xFFFFu);
  if constexpr (std::is_same_v<T, __half>) {
    __half_raw raw;
    raw.x = bits;
    return to_float(__half(raw));
  } else {
    __nv_bfloat16_raw raw;
    raw.x = bits;
    return to_float(__nv_bfloat16(raw));
  }
}
#endif

// c += A . B for T = __half or __nv_bfloat16. Every lane of the warp calls it (1-D blocks in the
// emulation: the lane is threadIdx.x % 32).
template <typename T>
__device__ __forceinline__ void mma_16x8x16(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  static_assert(std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>, "f16 or bf16 fragments");
#ifdef INGOT_CUDA_EMULATION
  const uint32_t mine[6] = {a[0], a[1], a[2], a[3], b[0], b[1]};
  uint32_t all[32][6];
  ::ingot_emulation::exchange_words(mine, all);
  const int lane = static_cast<int>(threadIdx.x % 32), g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
    float s = c[i];
    for (int k = 0; k < 16; ++k) {
      // A[row][k]: lane (row % 8) * 4 + (k % 8) / 2, register row / 8 + 2 * (k / 8).
      const float av = fragment_value<T>(all[(row % 8) * 4 + (k % 8) / 2][row / 8 + 2 * (k / 8)], k % 2);
      // B[k][col]: lane col * 4 + (k % 8) / 2, register 4 + k / 8.
      const float bv = fragment_value<T>(all[col * 4 + (k % 8) / 2][4 + k / 8], k % 2);
      s = fmaf(av, bv, s);
    }
    c[i] = s;
  }
#else
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
#endif
}

// Four 8x8 matrices of 16-bit values from shared memory into fragment registers (PTX
// ldmatrix .x4): lane l gives the address of one 16-byte row, lanes 8j .. 8j + 7 the rows of
// matrix j, and receives in r[j] row l / 4 of matrix j, columns 2 (l % 4) and 2 (l % 4) + 1. One
// instruction instead of four 4-byte loads a lane. With rows of a [16][k] A tile at k0 given by
// lane l as row (l % 8) + 8 ((l / 8) % 2), column k0 + 8 (l / 16), r is mma_16x8x16's a; with
// rows of a [n][k] B tile as row (l % 8) + 8 (l / 16), column k0 + 8 ((l / 8) % 2), r[0..1] and
// r[2..3] are the b of column tiles n0 and n0 + 8. Every lane of the warp calls it.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
#ifdef INGOT_CUDA_EMULATION
  const auto p = reinterpret_cast<uintptr_t>(row);
  ::ingot_emulation::check_aligned(row, 16);
  const uint32_t mine[6] = {static_cast<uint32_t>(p), static_cast<uint32_t>(static_cast<uint64_t>(p) >> 32), 0, 0, 0, 0};
  uint32_t all[32][6];
  ::ingot_emulation::exchange_words(mine, all);
  const int lane = static_cast<int>(threadIdx.x % 32);
  for (int j = 0; j < 4; ++j) {
    const uint32_t* src = all[8 * j + lane / 4];
    const uintptr_t addr = static_cast<uintptr_t>(src[0] | (static_cast<uint64_t>(src[1]) << 32));
    std::memcpy(&r[j], reinterpret_cast<const void*>(addr + static_cast<uintptr_t>(lane % 4) * 4), 4);
  }
#else
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(s));
#endif
}

}  // namespace ingot::kernels::cuda::detail
