// The tensor-core path of the pointwise (1x1, channels-last) convolution: y [P, M] = act(x [P, K]
// . w [M, K]^T + bias + residual) as a GEMM of 16-pixel x 8-channel mma tiles (mma.cuh), for f16
// and bf16 with K and M multiples of 8 and K <= 64. pointwise_conv.cu runs it where
// pointwise_mma_applies() says so, its CUDA-core kernel elsewhere.
//
// Why: the expand convolutions of inverted-residual blocks (K = 16..40 -> M = 6K) are
// memory-bound on paper (2K bytes in, 2M out a pixel), but on CUDA cores their K x M float
// multiply-adds a pixel cost as much as the traffic (the first kernel ran at ~0.9 TB/s,
// bench/NOTES.md note 29). Here a warp computes 16 pixels x 32 channels per step with four
// mma a 16-wide slice of K; the weights sit in shared memory as ready-made B fragments; the
// float results pass through a per-warp staging tile so that the epilogue (bias, residual,
// activation) and the stores run along channels: 16-byte stores, 64 contiguous bytes a row in
// fp16.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

struct PointwiseOperands {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;      // absent: null
  const void* residual = nullptr;  // absent: null
  void* y = nullptr;
  DType dtype = DType::kFloat16;
  int64_t pixels = 0;  // N * H * W
  int k = 0, m = 0;    // input and output channels
  net::UnaryOp act = net::UnaryOp::kIdentity;
  float alpha = 0.0f, beta = 0.0f;
};

// Whether the tensor-core kernel takes these operands: f16 / bf16, K and M multiples of 8, K at
// most 64, w's fragments within kPointwiseMmaWeightBytes, x and w 4-byte aligned, y and the
// residual 16-byte aligned.
bool pointwise_mma_applies(const PointwiseOperands& o);

// Enqueues the kernel (pointwise_mma_applies(o) must hold).
void launch_pointwise_mma(const PointwiseOperands& o, cudaStream_t stream);

// Shared memory for w as B fragments (M / 8 x ceil(K / 16) fragments of 256 bytes).
inline constexpr int64_t kPointwiseMmaWeightBytes = int64_t{24} << 10;

}  // namespace ingot::kernels::cuda::detail
