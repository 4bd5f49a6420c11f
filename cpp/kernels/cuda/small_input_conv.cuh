// 2-D convolution of few input channels in channels-last layout: the image stems of CNNs
// (EfficientNet / MobileNet / RegNet: 3 channels, 3x3, stride 2, 32 outputs). x [N, H, W, C]
// with C <= 4, w [M, kH, kW, C] (the layout pass's weight order), bias? [M], residual?
// [N, OH, OW, M]; y = act(conv(x, w) + bias + residual), accumulated in float, any stride,
// padding and dilation, one group, kH * kW * C <= 64, f32 / f16 / bf16. 1x1 convolutions at
// stride 1 without padding are the pointwise kernel's (pointwise_conv.cuh), so this refuses them.
//
// cuDNN has no tensor-core kernel for 3 input channels in NHWC and runs a generic one (46 us
// for EfficientNet-B0's stem at batch 32 on an H100, 0.8 TB/s; bench/NOTES.md note 58). Here a
// block keeps all of w in shared memory as float ([tap][channel][M], M padded to 8), and a
// thread computes 8 consecutive output channels of kPixels consecutive output pixels of one
// row: for each tap and input channel it loads the kPixels inputs (L1 serves the overlap of
// neighbouring windows) and reads the tap's 8 weights once for all of them.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// The most input channels, and the most weights an output channel (kH * kW * C), it takes.
inline constexpr int64_t kSmallInputMaxChannels = 4;
inline constexpr int64_t kSmallInputMaxTaps = 64;

// Enqueues the convolution (kernels::cuda::launch() of a ConvolutionParams that
// small_input_conv_supported() accepts comes here).
Status launch_small_input_conv(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out,
                               cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
