// The squeeze-and-excitation gate (net::SqueezeExciteParams), in two or three launches:
// - the column sums of x viewed as [N, H * W, C] over H * W (reduce.cuh's split kernel: 16-byte
//   loads, the rows split over blocks, double partial sums in the workspace);
// - where the gate blocks would together redo too much of it, the hidden layer into the
//   workspace (a block per sample and 32 hidden units, 4 units per warp, lanes along C);
// - the gate: a block per (sample, 64 channels[, tile of pixels]) that adds the partial sums
//   into the pooled means and computes the hidden layer itself (shared memory, float32) or reads
//   it, then 8 gate channels per warp (lanes along w2's rows); with scale_input the block then
//   multiplies its tile of x by them (16-byte accesses where C allows).
// The activations are activation.cuh's.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// Pooling a sample adds the partial sums with groups of threads where C < 256 (2 KiB of shared
// memory), the hidden units' 16-byte loads of w1 interleaved 4 units at a time: at batch 1
// a first version that walked the splits and the units one after another was latency-bound.
// The gate launch keeps (C + R + 64) floats in shared memory (kSqueezeExciteMaxFloats, kernels.h).
// Whether launch_squeeze_excite runs these shapes and dtypes; the reason when not.
Status squeeze_excite_supported(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out);
// Workspace bytes (the partial sums) for these shapes.
size_t squeeze_excite_workspace(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out);
Status launch_squeeze_excite(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out, void* workspace,
                             cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
