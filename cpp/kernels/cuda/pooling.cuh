// Max and average pooling over 1 to 3 spatial dims of NCHW-style tensors (run as 3-d with
// leading spatial dims of size 1): one thread per output element. Channels-last 2-d pooling
// (x [N, H, W, C]) has its own kernel: one thread per group of consecutive channels of an output
// pixel, read with vector accesses of up to 16 bytes (floating types, where the channel count
// and the pointers' alignment allow; single elements otherwise); 3x3 and 2x2 windows are
// compiled in, so that a thread issues all its loads at once.
//
// Semantics are the CPU reference's (kernels/cpu/pooling.cpp): max takes the window's taps
// inside the input, NaN wins; average divides as ATen's avg_pool does (window clipped to the
// padded input for count_include_pad, else to the input; divisor_override wins). Floating
// inputs sum in double; integer inputs sum exactly and divide with truncation. Average
// pooling with dilation is unsupported, as on the CPU.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

Status launch_pooling(const net::PoolingParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
