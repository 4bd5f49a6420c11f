// Reductions over any set of axes, and softmax / log-softmax along one axis.
//
// Reduce: dims are grouped into runs of kept and reduced axes (size-1 axes dropped, adjacent
// runs of one kind merged), then one of three kernels runs:
// - rows: the reduced run is innermost and contiguous (mean over the last axes, over H*W of
//   NCHW): a warp per output element, or a block for long rows, with 16-byte loads when
//   aligned;
// - columns: one reduced run followed by kept axes ([K0, R, K1], e.g. a sum over the batch, or
//   the mean over H * W of a channels-last activation): a block covers a tile of consecutive
//   K1 (16-byte loads where aligned) and 256 / lanes rows at a time, combined by a tree in
//   shared memory; with a workspace (reduce_workspace() bytes) the R rows are also split over
//   several blocks, whose partial results a second kernel combines, so that a few long columns
//   still fill the GPU. Var takes the older columns kernel: 32 outputs per block, R split over 16
//   thread rows, two passes;
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

// Sums of a dense [k0, r, k1] floating tensor over r, for layers that pool before computing on
// the result (squeeze_excite): `partial` receives [k0, splits, k1] doubles, splits =
// column_splits(k0, r, k1, dtype); the caller adds the splits.
int64_t column_splits(int64_t k0, int64_t r, int64_t k1, DType dtype);
Status launch_column_sums(const DeviceTensor& x, int64_t k0, int64_t r, int64_t k1, void* partial, cudaStream_t stream);
// The same sums added into `sums` [k0, k1] (doubles, by atomics: the caller zeroes them first),
// one launch with the splits of launch_column_sums: a convolution's channel sums where its
// kernel does not add them itself.
Status launch_column_sums_add(const DeviceTensor& x, int64_t k0, int64_t r, int64_t k1, double* sums, cudaStream_t stream);

// Scratch launch_reduce() uses to split long columns over blocks (0: it runs in one pass).
size_t reduce_workspace(const net::ReduceParams& p, const Tensors& in, const Tensors& out);
// `workspace`: reduce_workspace() bytes, 16-byte aligned, or nullptr (one pass).
Status launch_reduce(const net::ReduceParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream,
                     void* workspace = nullptr);
Status launch_softmax(const net::SoftmaxParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
