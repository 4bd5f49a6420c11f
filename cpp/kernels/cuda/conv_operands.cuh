// Checks our convolution kernels (depthwise.cuh, pointwise_conv.cuh, small_input_conv.cuh)
// share: the operands of the fused epilogue y = act(conv(x, w) + bias + residual), and the
// window geometry of 2-D channels-last convolutions.
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

// x, w, bias?, residual? and one output; a forward channels-last convolution of one group over
// rank-4 x / w / y (the dense NHWC kernels: pointwise_conv.cuh, small_input_conv.cuh).
inline Status dense_nhwc_conv_operands(const char* layer, const net::ConvolutionParams& p, const Tensors& in,
                                       const Tensors& out) {
  if (in.size() < 2 || in.size() > 4 || out.size() != 1) {
    return invalid_argument(layer, ": takes x, w, bias?, residual? and one output");
  }
  if (p.transposed || !p.channels_last || p.groups != 1) {
    return unsupported(layer, ": needs a forward channels-last convolution of one group");
  }
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  if (x.dims.size() != 4 || w.dims.size() != 4 || y.dims.size() != 4) {
    return unsupported(layer, ": needs a 2-d convolution, got input ", ingot::shape_str(x.dims), " and weight ",
                       ingot::shape_str(w.dims));
  }
  return Status::ok();
}

// Output size of one spatial axis, as net::infer_types computes it; -1 when the window does not
// fit the padded input.
inline int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  const int64_t span = in + 2 * pad - dil * (k - 1) - 1;
  return span < 0 ? -1 : span / stride + 1;
}

// A 2-D channels-last convolution's window (x [N, H, W, C], w [O, kH, kW, C/g], y [N, OH, OW, O],
// two strides, paddings and dilations, as the caller checked): kernel, stride and dilation at
// least 1, padding at least 0, and OH / OW what they give for H / W.
inline Status conv_window_operands(const char* layer, const net::ConvolutionParams& p, const DeviceTensor& x,
                                   const DeviceTensor& w, const DeviceTensor& y) {
  for (size_t d = 0; d < 2; ++d) {
    if (p.stride[d] < 1 || p.dilation[d] < 1 || p.padding[d] < 0 || w.dims[1 + d] < 1) {
      return invalid_argument(layer, ": invalid kernel / stride / padding / dilation");
    }
    if (conv_out_size(x.dims[1 + d], w.dims[1 + d], p.stride[d], p.padding[d], p.dilation[d]) != y.dims[1 + d]) {
      return invalid_argument(layer, ": output ", ingot::shape_str(y.dims), " does not follow from input ",
                              ingot::shape_str(x.dims), " and the parameters");
    }
  }
  return Status::ok();
}

}  // namespace ingot::kernels::cuda::detail
