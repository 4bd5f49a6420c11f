// Data movement (reshape, identity, permute, expand, concat, slice, gather) and the
// generators fill and iota. Movement copies bytes, so every kernel here is instantiated per
// element size (or per copy unit of up to 16 bytes), never per dtype.
//
// - reshape / identity: one cudaMemcpyAsync (device to device); nothing when in == out.
// - permute / expand / slice: one strided-copy kernel over the collapsed output; rows whose
//   source is contiguous (or broadcast) move 16 bytes per thread. A permute that swaps the two
//   innermost (collapsed) axes, batched or not, uses a 32x32 shared-memory tiled transpose.
// - concat: one launch for up to 32 inputs (blockIdx.y picks the input), copying in the
//   widest unit that all row sizes, offsets and pointers allow.
// - gather: copies rows of the data's trailing dims in the widest unit allowed. Negative
//   indices count from the end; an index out of range writes zeros (the CPU reference
//   reports an error; a kernel cannot).
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

Status launch_reshape(const net::ReshapeParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_identity(const net::IdentityParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_permute(const net::PermuteParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_expand(const net::ExpandParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_concat(const net::ConcatParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_slice(const net::SliceParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_gather(const net::GatherParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_fill(const net::FillParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_iota(const net::IotaParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
