// A tensor-core GEMM for products with few rows: y [M, N] = act(a [M, K] . w [N, K]^T + bias
// [N] + residual [M, N]), f16 / bf16 with float accumulators, for the linear layers of a
// transformer at small batch (BERT / ViT at batch 1: M = 128..197, N and K = 768..3072).
//
// Why: there the product is bound by reading w (1-5 MB) and by latency, not by arithmetic.
// cuBLASLt's kernels took 4.6-5.7 us a layer on the H100 / H200 (2.5 more for a split-K
// reduction kernel), ~4x the time w takes to stream (bench/NOTES.md note 41). Here a block
// computes a BM x BN tile over a slice of K; the slices of one tile are the blocks of one
// thread block cluster (split-K over `split` blocks, up to 8), so that many SMs stream w at once,
// and the blocks add their partial tiles through distributed shared memory: no workspace, no
// second kernel, and bias, residual and activation applied once, in the same launch.
//
// The block: (BM / 32) x (BN / 32) warps, each a 32 x 32 sub-tile of 2 x 4 mma tiles
// (m16n8k16, mma.cuh); a and w staged 32 values of K at a time through a 3-stage cp.async
// pipeline (rows padded to 40 values: the fragment loads hit 32 distinct banks); then the float
// tile in shared memory, and each block of the cluster sums its 1 / split of the tile's rows over
// the cluster's blocks and stores them (bias, residual, activation; 16-byte stores).
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

struct LinearOperands {
  const void* a = nullptr;         // [M, K]
  const void* w = nullptr;         // [N, K]
  const void* bias = nullptr;      // [N] or null
  const void* residual = nullptr;  // [M, N] or null
  void* y = nullptr;               // [M, N]
  DType dtype = DType::kFloat16;   // every operand's
  int64_t m = 0, n = 0, k = 0;
  net::UnaryOp act = net::UnaryOp::kIdentity;
  float alpha = 0.0f, beta = 0.0f;
};

// Whether the kernel with this tile and split runs these operands; the reason when not.
Status linear_mma_supported(const LinearOperands& o, const LinearKernel& kernel);
// Enqueues it (linear_mma_supported must hold).
void launch_linear_mma(const LinearOperands& o, const LinearKernel& kernel, cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
