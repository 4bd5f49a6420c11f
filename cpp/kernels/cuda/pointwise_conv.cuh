// 1x1 convolution with few input channels, channels-last: x [N, H, W, K], w [M, 1, 1, K] (the
// layout pass's weight order), bias? [M], residual? [N, H, W, M]; y = act(x . w^T + bias +
// residual), accumulated in float, f32 / f16 / bf16, stride 1, no padding, one group.
//
// The expand convolutions of inverted-residual blocks (K = 16..40 input channels, M = 6K
// outputs, SiLU) are memory-bound: 2K bytes in and 2M out a pixel in fp16 for K multiply-adds
// an output. cuDNN's plans ran them at ~1.2 TB/s, and cuBLASLt has no SiLU epilogue (its GEMM
// then pays a second pass over the output). f16 / bf16 with K and M multiples of 8 run on tensor
// cores (pointwise_mma.cuh). Elsewhere (f32, other K or M, misaligned pointers) a block keeps
// all of w (as float, [K][M]) in shared memory and a thread computes 8 consecutive output
// channels of kPixels pixels on CUDA cores, reading each pixel's K inputs once into registers.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// The largest K this kernel takes, and its shared memory for the weights (K x M floats, at most).
inline constexpr int64_t kPointwiseMaxInputs = 64;
inline constexpr int64_t kPointwiseWeightBytes = int64_t{40} << 10;

// Enqueues the convolution (kernels::cuda::launch() of a ConvolutionParams that
// pointwise_conv_supported() accepts and depthwise_conv_supported() does not comes here).
Status launch_pointwise_conv(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out,
                             cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
