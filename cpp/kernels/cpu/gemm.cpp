#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <vector>

namespace ingot::kernels::cpu::detail {

namespace {

// Register block: kMr rows x kNr columns of C. Panels: kKc deep, kMc rows of A, kNc columns
// of B (sized so that a packed B panel stays in L2 and an A strip in L1).
constexpr int64_t kMr = 4;
constexpr int64_t kNr = 8;
constexpr int64_t kKc = 256;
constexpr int64_t kMc = 64;
constexpr int64_t kNc = 1024;

// Packs B[kc x nc] into strips of kNr columns, each strip kc rows of kNr contiguous values;
// columns past nc are zero.
void pack_b(int64_t kc, int64_t nc, const float* b, int64_t ldb, float* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += kNr) {
    int64_t w = std::min(kNr, nc - j0);
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = b + p * ldb + j0;
      float* dst = out + (j0 / kNr) * kc * kNr + p * kNr;
      for (int64_t j = 0; j < w; ++j) dst[j] = src[j];
      for (int64_t j = w; j < kNr; ++j) dst[j] = 0.0f;
    }
  }
}

// Packs A[mc x kc] into strips of kMr rows, each strip kc columns of kMr values (row r of the
// strip at position r); rows past mc are zero.
void pack_a(int64_t mc, int64_t kc, const float* a, int64_t lda, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += kMr) {
    int64_t h = std::min(kMr, mc - i0);
    float* dst = out + (i0 / kMr) * kc * kMr;
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = 0; r < h; ++r) dst[p * kMr + r] = a[(i0 + r) * lda + p];
      for (int64_t r = h; r < kMr; ++r) dst[p * kMr + r] = 0.0f;
    }
  }
}

// C block [h x w] += packed A strip * packed B strip.
void micro_kernel(int64_t kc, const float* pa, const float* pb, float* c, int64_t ldc, int64_t h, int64_t w) {
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const float* bp = pb + p * kNr;
    const float* ap = pa + p * kMr;
    for (int64_t r = 0; r < kMr; ++r) {
      float av = ap[r];
      for (int64_t j = 0; j < kNr; ++j) acc[r][j] += av * bp[j];
    }
  }
  if (h == kMr && w == kNr) {
    for (int64_t r = 0; r < kMr; ++r) {
      for (int64_t j = 0; j < kNr; ++j) c[r * ldc + j] += acc[r][j];
    }
    return;
  }
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t j = 0; j < w; ++j) c[r * ldc + j] += acc[r][j];
  }
}

}  // namespace

void gemm_accumulate(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                     int64_t ldb, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  auto round_up = [](int64_t v, int64_t to) { return (v + to - 1) / to * to; };
  std::vector<float> packed_b(static_cast<size_t>(std::min(kKc, k) * round_up(std::min(kNc, n), kNr)));
  std::vector<float> packed_a(static_cast<size_t>(std::min(kKc, k) * round_up(std::min(kMc, m), kMr)));
  for (int64_t j0 = 0; j0 < n; j0 += kNc) {
    int64_t nc = std::min(kNc, n - j0);
    for (int64_t p0 = 0; p0 < k; p0 += kKc) {
      int64_t kc = std::min(kKc, k - p0);
      pack_b(kc, nc, b + p0 * ldb + j0, ldb, packed_b.data());
      for (int64_t i0 = 0; i0 < m; i0 += kMc) {
        int64_t mc = std::min(kMc, m - i0);
        pack_a(mc, kc, a + i0 * lda + p0, lda, packed_a.data());
        for (int64_t jr = 0; jr < nc; jr += kNr) {
          for (int64_t ir = 0; ir < mc; ir += kMr) {
            micro_kernel(kc, packed_a.data() + (ir / kMr) * kc * kMr, packed_b.data() + (jr / kNr) * kc * kNr,
                         c + (i0 + ir) * ldc + j0 + jr, ldc, std::min(kMr, mc - ir), std::min(kNr, nc - jr));
          }
        }
      }
    }
  }
}

}  // namespace ingot::kernels::cpu::detail
