// Depthwise 2-D convolution in channels-last layout (groups == input channels == output
// channels): x [N, H, W, C], w [C, kH, kW, 1] (the layout pass's weight order), bias? [C],
// residual? [N, OH, OW, C]; y = act(conv(x, w) + bias + residual), accumulated in float, any
// kernel size, stride, padding and dilation, f32 / f16 / bf16.
//
// cuDNN's NHWC depthwise plans are far from memory speed (bench/NOTES.md), and a depthwise
// convolution is memory-bound: each output reads kH * kW inputs of its own channel only. So a
// thread computes VEC consecutive channels (16-byte vectors where C and the pointers allow,
// else 4, 2 or 1 channels) of a few consecutive output pixels of one row:
// - a block owns a tile of channels and keeps their weights in shared memory as float,
//   transposed to [tap][channel] so that a thread reads its VEC weights of a tap at once; its
//   threads then walk the output pixels of that tile (grid-stride), x over the tile's channels;
// - 3x3 and 5x5 kernels without dilation, at stride 1 (4 output pixels a thread) or 2 (2), are
//   compiled in: a thread streams the input columns its pixels share once per kernel row, with
//   that row's weights in registers; every other geometry reads tap by tap, one pixel a thread.
// Taps in the padding contribute zero times their weight, as in the CPU reference's im2col.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// Enqueues the convolution (kernels::cuda::launch() of a ConvolutionParams comes here); for
// any other, the reason kernels::cuda::depthwise_conv_supported gives.
Status launch_depthwise_conv(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out,
                             cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
