// Unary elementwise ops (activations, math functions, rounding, predicates) and casts.
//
// Inputs and outputs have one shape, so both kernels walk the tensor as one contiguous run,
// a group of up to 16 bytes per thread (vector loads and stores when both pointers are
// aligned, a scalar tail). Floating inputs compute in float as eager PyTorch does; integers
// exactly in int64. Frequent activations (relu, gelu, silu, sigmoid, tanh, exp, ...) run in a
// kernel that expands them inline; the rarer math functions run in a second kernel through one
// out-of-line switch, which keeps both small and the frequent one free of calls.
//
// Casts follow the CPU reference (kernels/cpu/elements.h): floating to integer truncates, with
// NaN and out-of-range values giving the x86 "integer indefinite" (INT64_MIN, or INT32_MIN
// wrapped to the narrower type); to bool is != 0; int64 to f16/bf16 rounds through float.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// True if `op` is defined for an input of `dtype`.
bool unary_supports(net::UnaryOp op, DType dtype);

Status launch_unary(const net::UnaryParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);
Status launch_cast(const net::CastParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
