// Single-precision matrix multiply for the CPU kernels (internal), shared by convolution and
// matmul. Plain C++ written so that the compiler vectorizes the inner loops: panels of A and B
// are packed into contiguous strips and a small block of C is accumulated in registers.
#pragma once

#include <cstdint>

namespace ingot::kernels::cpu::detail {

// C[m x n] += A[m x k] * B[k x n]. All row-major; lda, ldb, ldc are the row pitches in
// elements. Sums are accumulated in float.
void gemm_accumulate(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                     int64_t ldb, float* c, int64_t ldc);

}  // namespace ingot::kernels::cpu::detail
