// Depthwise 2-D convolution in channels-last layout, the many-small-blocks kernel (tactics
// "ingot:depthwise-direct<P>"): the same layer and results as depthwise.cuh's kernel, for the
// common EfficientNet / MobileNet geometries only (3x3 and 5x5 kernels without dilation, width
// stride 1 or 2, any height stride and padding, f16 / bf16 with the channels a multiple of 8 and
// x, y and the residual 16-byte aligned).
//
// Why a second kernel: depthwise.cuh's one-wave kernel keeps few warps an SM (one block of ~240
// threads at up to 128 registers, walking pixel tiles one after another), and each of its
// threads waits on K dependent rounds of loads a tile; at bs32 it and cuDNN's grouped kernel
// reach 0.4-1.4 TB/s on layers that need only their input and output once (bench/NOTES.md
// note 59). Here every thread computes P output pixels of one row for 8 channels (one 16-byte
// vector) once, and the grid covers the output exactly: a block is a small channel tile (at
// most 64 channels, their weights staged in shared memory as float: 6.4 KB for 5x5) times
// enough pixel runs for 256 threads, so an SM keeps several blocks and many independent loads
// in flight. A thread streams each kernel row's (P - 1) * S + K input vectors once into
// registers and adds them to every pixel whose window covers them.
//
// Launched programmatically (launch_dependent): when the weights are constants (the runner
// says so) a block stages them before it waits for the previous kernel, else after.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// Enqueues the convolution with `pixels` (1, 2 or 4) output pixels a thread; `dense` caps the
// registers for 4 blocks an SM (3 at 4 pixels); for any other geometry, the reason
// depthwise_direct_conv_supported() gives.
Status launch_depthwise_direct_conv(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out, int pixels,
                                    bool constant_weights, cudaStream_t stream, bool dense);

}  // namespace ingot::kernels::cuda::detail
