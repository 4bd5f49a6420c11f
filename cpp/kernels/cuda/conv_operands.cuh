// Checks our convolution kernels (depthwise.cuh, pointwise_conv.cuh) share: the operands of
// the fused epilogue y = act(conv(x, w) + bias + residual).
#pragma once

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// x (in[0]), w (in[1]) and y one floating dtype, bias? (in[2]) [channels] and residual? (in[3])
// y's shape in that dtype, the activation one the epilogue fuses; `layer` names the kernel in
// the reason when not.
inline Status conv_epilogue_operands(const char* layer, const net::ConvolutionParams& p, const Tensors& in,
                                     const DeviceTensor& y, int64_t channels) {
  const DeviceTensor &x = in[0], &w = in[1];
  if (!is_float_dtype(x.dtype) || w.dtype != x.dtype || y.dtype != x.dtype) {
    return unsupported(layer, ": dtypes ", ir::dtype_name(x.dtype), " / ", ir::dtype_name(w.dtype), " -> ",
                       ir::dtype_name(y.dtype));
  }
  if (in.size() > 2 && in[2].data && (in[2].dtype != x.dtype || in[2].numel() != channels)) {
    return invalid_argument(layer, ": bias ", ir::dtype_name(in[2].dtype), ingot::shape_str(in[2].dims), " is not ",
                            ir::dtype_name(x.dtype), "[", channels, "]");
  }
  if (in.size() > 3 && in[3].data && (in[3].dtype != x.dtype || in[3].dims != y.dims)) {
    return invalid_argument(layer, ": residual ", ir::dtype_name(in[3].dtype), ingot::shape_str(in[3].dims),
                            " does not match the output ", ingot::shape_str(y.dims));
  }
  if (!is_epilogue_activation(p.activation)) {
    return unsupported(layer, ": activation ", net::enum_name(p.activation), " cannot be fused");
  }
  return Status::ok();
}

}  // namespace ingot::kernels::cuda::detail
