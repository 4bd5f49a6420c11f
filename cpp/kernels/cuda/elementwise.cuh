// Binary elementwise ops with numpy broadcasting, and select (torch.where).
//
// Both run one kernel over the broadcast output: dims are collapsed (size-1 dims dropped,
// contiguous runs merged), so that a same-shape operation is one contiguous row and a bias add
// [B, S, H] + [H] is rows of H. Each thread handles a group of 16 bytes of one row with vector
// loads and stores where the pointers and the row length allow, else one element.
//
// Floating inputs compute in float and round once on store; integer and bool inputs compute
// exactly in int64 with two's-complement wrap-around (the CPU reference's rules). Integer
// division or remainder by zero gives 0 (the CPU reference reports an error; a kernel cannot).
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// True if `op` is defined for inputs of `dtype`.
bool elementwise_supports(net::BinaryOp op, DType dtype);

Status launch_elementwise(const net::ElementwiseParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_select(const net::SelectParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
