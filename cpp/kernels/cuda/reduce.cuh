// Reductions over any set of axes, and softmax / log-softmax along one axis.
//
// Reduce: dims are grouped into runs of kept and reduced axes (size-1 axes dropped, adjacent
// runs of one kind merged), then one of three kernels runs:
// - rows: the reduced run is innermost and contiguous (mean over the last axes, over H*W of
//   NCHW): a warp per output element, or a block for long rows, with 16-byte loads when
//   aligned;
// - columns: one reduced run followed by kept axes ([K0, R, K1], e.g. a sum over the batch):
//   32 consecutive outputs per block, coalesced along K1, R split over 16 thread rows;
// - general: any other pattern, the rows kernel enumerating the reduced set through strides.
// Floating inputs accumulate in double (as the CPU reference; memory-bound, so it is free) and
// round once on store; integers reduce exactly in int64 (sum and prod wrap). Var is two-pass
// (mean, then squared deviations) with the divisor max(0, n - correction).
//
// Softmax along the last axis: rows up to 1024 elements live in registers, a warp per row;
// longer rows take a block, cached in shared memory when they fit. Other axes: a thread per
// (outer, inner) column, coalesced along inner. Statistics in float; max and sum by warp
// shuffles.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

bool reduce_supports(net::ReduceOp op, DType dtype);

Status launch_reduce(const net::ReduceParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_softmax(const net::SoftmaxParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
