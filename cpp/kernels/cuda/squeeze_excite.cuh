// The squeeze-and-excitation gate (net::SqueezeExciteParams), in two launches: the column sums
// of x viewed as [N, H * W, C] over H * W (reduce.cuh's split kernel: 16-byte loads, the rows
// split over blocks, double partial sums in the workspace), then one block per sample that adds
// the partial sums into the pooled means (shared memory, float32), computes the hidden layer
// (a warp per hidden unit, lanes along C), then the gate (a thread per channel). The weights are
// read once per sample. The activations are activation.cuh's.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// The second launch keeps (C + R) floats in shared memory: at most kSqueezeExciteMaxFloats
// (kernels.h).
// Whether launch_squeeze_excite runs these shapes and dtypes; the reason when not.
Status squeeze_excite_supported(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out);
// Workspace bytes (the partial sums) for these shapes.
size_t squeeze_excite_workspace(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out);
Status launch_squeeze_excite(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out, void* workspace,
                             cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
