// supports() and launch(): the dispatch from a layer's parameters to its family's launcher,
// and the host-side index helpers of cuda_common.cuh.
#include <atomic>
#include <cstdlib>
#include <string_view>
#include <type_traits>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/cuda_common.cuh"
#include "kernels/cuda/depthwise.cuh"
#include "kernels/cuda/pointwise_conv.cuh"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/norm.cuh"
#include "kernels/cuda/pooling.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/shuffle.cuh"
#include "kernels/cuda/small_input_conv.cuh"
#include "kernels/cuda/squeeze_excite.cuh"
#include "kernels/cuda/unary.cuh"

namespace ingot::kernels::cuda {

namespace detail {

#ifndef INGOT_CUDA_EMULATION
namespace {
__global__ void programmatic_launch_probe() {}
}  // namespace

bool sm90_code_on_device() {
  // Per device, decided once: 0 unknown, 1 no, 2 yes.
  static std::atomic<int> decided[64];
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= 64) return false;
  int state = decided[device].load(std::memory_order_relaxed);
  if (state == 0) {
    int major = 0;
    cudaFuncAttributes attrs{};
    const bool yes = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
                     major >= 9 && cudaFuncGetAttributes(&attrs, programmatic_launch_probe) == cudaSuccess &&
                     attrs.ptxVersion >= 90;
    state = yes ? 2 : 1;
    decided[device].store(state, std::memory_order_relaxed);
  }
  return state == 2;
}

bool programmatic_launch_enabled() {
  // On unless INGOT_PDL=0 (bench/NOTES.md note 53: BERT and ViT-B/16 1.6% faster at batch 1).
  static const bool requested = [] {
    const char* env = std::getenv("INGOT_PDL");
    return !(env && std::string_view(env) == "0");
  }();
  // The kernels' wait (griddepcontrol.wait) exists only in code built for sm_90+.
  return requested && sm90_code_on_device();
}
#else
bool sm90_code_on_device() { return true; }  // the emulation runs clusters (cuda_emulation.h)
#endif

void collapse_dims(std::vector<int64_t>& dims, std::vector<std::vector<int64_t>>& strides) {
  std::vector<int64_t> out_dims;
  std::vector<std::vector<int64_t>> out_strides(strides.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;
    bool merge = !out_dims.empty();
    for (size_t k = 0; merge && k < strides.size(); ++k) merge = out_strides[k].back() == strides[k][i] * dims[i];
    if (merge) {
      out_dims.back() *= dims[i];
      for (size_t k = 0; k < strides.size(); ++k) out_strides[k].back() = strides[k][i];
      continue;
    }
    out_dims.push_back(dims[i]);
    for (size_t k = 0; k < strides.size(); ++k) out_strides[k].push_back(strides[k][i]);
  }
  if (out_dims.empty()) {
    out_dims.push_back(1);
    for (auto& s : out_strides) s.push_back(0);
  }
  dims = std::move(out_dims);
  strides = std::move(out_strides);
}

bool broadcast_strides(const std::vector<int64_t>& in, const std::vector<int64_t>& out, std::vector<int64_t>* strides) {
  if (in.size() > out.size()) return false;
  std::vector<int64_t> dense = dense_strides(in);
  strides->assign(out.size(), 0);
  size_t shift = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != out[i + shift] && in[i] != 1) return false;
    (*strides)[i + shift] = in[i] == 1 ? 0 : dense[i];
  }
  return true;
}

std::vector<int64_t> dense_strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

}  // namespace detail

namespace {

using detail::is_float_dtype;
using ir::DType;

bool all_engine(const std::vector<DType>& dtypes) {
  for (DType t : dtypes) {
    if (!ir::is_engine_dtype(t)) return false;
  }
  return true;
}

bool supports_kind(const net::ElementwiseParams& p, const std::vector<DType>& d) {
  return d.size() == 2 && d[0] == d[1] && detail::elementwise_supports(p.op, d[0]);
}
bool supports_kind(const net::UnaryParams& p, const std::vector<DType>& d) {
  return d.size() == 1 && detail::unary_supports(p.op, d[0]);
}
bool supports_kind(const net::SelectParams&, const std::vector<DType>& d) {
  return d.size() == 3 && d[0] == DType::kBool && d[1] == d[2];
}
bool supports_kind(const net::ReduceParams& p, const std::vector<DType>& d) {
  return d.size() == 1 && detail::reduce_supports(p.op, d[0]);
}
bool supports_kind(const net::SoftmaxParams&, const std::vector<DType>& d) { return d.size() == 1 && is_float_dtype(d[0]); }
bool supports_kind(const net::NormalizationParams& p, const std::vector<DType>& d) {
  if (d.empty() || p.kind >= net::NormKind::kCount) return false;
  for (DType t : d) {
    if (!is_float_dtype(t)) return false;
  }
  return true;
}
bool supports_kind(const net::GatherParams&, const std::vector<DType>& d) {
  return d.size() == 2 && (d[1] == DType::kInt32 || d[1] == DType::kInt64);
}
bool supports_kind(const net::PoolingParams& p, const std::vector<DType>& d) {
  if (d.size() != 1 || p.kind >= net::PoolKind::kCount) return false;
  if (p.channels_last && p.kernel.size() != 2) return false;
  if (p.kind == net::PoolKind::kAvg) {
    for (int64_t v : p.dilation) {
      if (v != 1) return false;
    }
  }
  return true;
}
bool supports_kind(const net::CastParams& p, const std::vector<DType>& d) {
  return d.size() == 1 && ir::is_engine_dtype(p.to);
}
bool supports_kind(const net::FillParams& p, const std::vector<DType>& d) { return d.empty() && ir::is_engine_dtype(p.dtype); }
bool supports_kind(const net::IotaParams& p, const std::vector<DType>& d) { return d.empty() && ir::is_engine_dtype(p.dtype); }
bool supports_kind(const net::ReshapeParams&, const std::vector<DType>& d) { return d.size() == 1; }
bool supports_kind(const net::IdentityParams&, const std::vector<DType>& d) { return d.size() == 1; }
bool supports_kind(const net::PermuteParams&, const std::vector<DType>& d) { return d.size() == 1; }
bool supports_kind(const net::ExpandParams&, const std::vector<DType>& d) { return d.size() == 1; }
bool supports_kind(const net::SliceParams&, const std::vector<DType>& d) { return d.size() == 1; }
bool supports_kind(const net::ConcatParams&, const std::vector<DType>& d) {
  for (DType t : d) {
    if (t != d[0]) return false;
  }
  return !d.empty();
}
bool supports_kind(const net::SqueezeExciteParams& p, const std::vector<DType>& d) {
  return (d.size() == 5 || (d.size() == 6 && d[5] == DType::kFloat64)) && is_float_dtype(d[0]) && d[1] == d[0] &&
         d[3] == d[0] && detail::is_epilogue_activation(p.act1) && detail::is_epilogue_activation(p.act2);
}
// No CUDA kernel runs feed_forward layers yet (the fused kernel waits for a GPU run,
// bench/NOTES.md note 71), and the CUDA backend does not ask fuse_feed_forward for them.
bool supports_kind(const net::FeedForwardParams&, const std::vector<DType>&) { return false; }
// Matmul and attention run on cuBLASLt / cuDNN (runtime/cuda/); so do convolutions, except the
// depthwise ones that depthwise_conv_supported() accepts, which depends on the shapes. Our
// attention kernel runs where attention_supported() says so, when the SDPA runner picks it.
bool supports_kind(const net::ConvolutionParams&, const std::vector<DType>&) { return false; }
bool supports_kind(const net::MatMulParams&, const std::vector<DType>&) { return false; }
bool supports_kind(const net::AttentionParams&, const std::vector<DType>&) { return false; }
// Pointwise programs run as kernels generated for each program (runtime/cuda/pointwise_runner.cpp).
bool supports_kind(const net::PointwiseParams&, const std::vector<DType>&) { return false; }

using detail::Tensors;

Status run(const net::ElementwiseParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_elementwise(p, in, out, s); }
Status run(const net::UnaryParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_unary(p, in, out, s); }
Status run(const net::SelectParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_select(p, in, out, s); }
Status run(const net::SoftmaxParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_softmax(p, in, out, s); }
Status run(const net::NormalizationParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_normalization(p, in, out, s); }
Status run(const net::ReshapeParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_reshape(p, in, out, s); }
Status run(const net::PermuteParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_permute(p, in, out, s); }
Status run(const net::ExpandParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_expand(p, in, out, s); }
Status run(const net::ConcatParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_concat(p, in, out, s); }
Status run(const net::SliceParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_slice(p, in, out, s); }
Status run(const net::GatherParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_gather(p, in, out, s); }
Status run(const net::PoolingParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_pooling(p, in, out, s); }
// Depthwise where it applies, else the pointwise kernel, else the small-input one; every reason
// when none does.
Status run(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) {
  Status depthwise = depthwise_conv_supported(p, in, out);
  if (depthwise.is_ok()) return detail::launch_depthwise_conv(p, in, out, s);
  Status pointwise = pointwise_conv_supported(p, in, out);
  if (pointwise.is_ok()) return detail::launch_pointwise_conv(p, in, out, s);
  Status small = small_input_conv_supported(p, in, out);
  if (small.is_ok()) return detail::launch_small_input_conv(p, in, out, s);
  return error(depthwise.code(), depthwise.message(), "; ", pointwise.message(), "; ", small.message());
}
Status run(const net::AttentionParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_attention(p, in, out, s); }
Status run(const net::CastParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_cast(p, in, out, s); }
Status run(const net::FillParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_fill(p, in, out, s); }
Status run(const net::IdentityParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_identity(p, in, out, s); }
Status run(const net::IotaParams& p, const Tensors& in, const Tensors& out, cudaStream_t s) { return detail::launch_iota(p, in, out, s); }

template <typename P>
Status run(const P& p, const Tensors&, const Tensors&, cudaStream_t) {
  return unsupported(P::kName, ": not implemented by the own CUDA kernels (runs on cuDNN / cuBLASLt)");
}

// The layers that use scratch (workspace_size()), and the others, which ignore it.
Status run(const net::ReduceParams& p, const Tensors& in, const Tensors& out, cudaStream_t s, void* ws) {
  return detail::launch_reduce(p, in, out, s, ws);
}
Status run(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out, cudaStream_t s, void* ws) {
  return detail::launch_squeeze_excite(p, in, out, ws, s);
}
template <typename P>
Status run(const P& p, const Tensors& in, const Tensors& out, cudaStream_t s, void*) {
  return run(p, in, out, s);
}

size_t scratch(const net::ReduceParams& p, const Tensors& in, const Tensors& out) { return detail::reduce_workspace(p, in, out); }
size_t scratch(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out) {
  return detail::squeeze_excite_workspace(p, in, out);
}
template <typename P>
size_t scratch(const P&, const Tensors&, const Tensors&) {
  return 0;
}

}  // namespace

bool supports(const net::LayerParams& params, const std::vector<ir::DType>& input_dtypes) {
  // squeeze_excite's sixth input is f64 (a convolution's channel sums); its supports_kind checks it.
  const bool se_sums = std::holds_alternative<net::SqueezeExciteParams>(params) && input_dtypes.size() == 6;
  const std::vector<DType> engine_part(input_dtypes.begin(), input_dtypes.end() - (se_sums ? 1 : 0));
  if (!all_engine(engine_part)) return false;
  return std::visit([&](const auto& p) { return supports_kind(p, input_dtypes); }, params);
}

Status launch(const net::LayerParams& params, const std::vector<DeviceTensor>& inputs,
              const std::vector<DeviceTensor>& outputs, cudaStream_t stream) {
  return launch(params, inputs, outputs, stream, nullptr);
}

size_t workspace_size(const net::LayerParams& params, const std::vector<DeviceTensor>& inputs,
                      const std::vector<DeviceTensor>& outputs) {
  return std::visit([&](const auto& p) { return scratch(p, inputs, outputs); }, params);
}

namespace {

// What launch() checks of every layer's tensors before its kernels see them.
Status check_tensors(const net::LayerParams& params, const std::vector<DeviceTensor>& inputs,
                     const std::vector<DeviceTensor>& outputs) {
  const char* layer = net::layer_kind_name(net::kind_of(params));
  const bool is_conv = net::kind_of(params) == net::LayerKind::kConvolution;
  const bool is_se = net::kind_of(params) == net::LayerKind::kSqueezeExcite;
  // The one f64 tensor kind: a convolution's channel sums (its output #1, squeeze_excite's input #5).
  auto sums_dtype = [](const DeviceTensor& t, bool at_sums) { return at_sums && t.dtype == DType::kFloat64; };
  for (size_t i = 0; i < outputs.size(); ++i) {
    const DeviceTensor& t = outputs[i];
    if (!ir::is_engine_dtype(t.dtype) && !sums_dtype(t, is_conv && i == 1)) {
      return invalid_argument(layer, ": output dtype ", ir::dtype_name(t.dtype), " is not an engine dtype");
    }
    for (int64_t d : t.dims) {
      if (d < 0) return invalid_argument(layer, ": negative output dimension in ", ingot::shape_str(t.dims));
    }
    if (!t.data && t.numel() > 0) return invalid_argument(layer, ": output has no data");
  }
  const bool is_norm = net::kind_of(params) == net::LayerKind::kNormalization;
  const bool is_attention = net::kind_of(params) == net::LayerKind::kAttention;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const DeviceTensor& t = inputs[i];
    if (!t.data) {
      // Absent: allowed for the optional weight / bias of normalization, the bias / residual of
      // a convolution, the biases of squeeze_excite, the mask of attention, and empty tensors.
      bool optional = (is_norm && (i == 1 || i == 2)) || (is_conv && i >= 2) || (is_se && (i == 2 || i == 4)) ||
                      (is_attention && i == 3);
      if (!optional && t.numel() > 0) return invalid_argument(layer, ": input #", i, " has no data");
      continue;
    }
    if (!ir::is_engine_dtype(t.dtype) && !sums_dtype(t, is_se && i == 5)) {
      return invalid_argument(layer, ": input #", i, " dtype ", ir::dtype_name(t.dtype), " is not an engine dtype");
    }
    for (int64_t d : t.dims) {
      if (d < 0) return invalid_argument(layer, ": negative dimension in input #", i, " ", ingot::shape_str(t.dims));
    }
  }
  return Status::ok();
}

}  // namespace

Status launch(const net::LayerParams& params, const std::vector<DeviceTensor>& inputs,
              const std::vector<DeviceTensor>& outputs, cudaStream_t stream, void* workspace) {
  INGOT_RETURN_IF_ERROR(check_tensors(params, inputs, outputs));
  return std::visit([&](const auto& p) { return run(p, inputs, outputs, stream, workspace); }, params);
}

Status launch_channel_sums(const DeviceTensor& y, const DeviceTensor& sums, cudaStream_t stream) {
  const char* L = "channel sums";
  if (y.dims.size() != 4 || !ir::is_floating(y.dtype) || !ir::is_engine_dtype(y.dtype)) {
    return invalid_argument(L, ": y must be a floating [N, H, W, C] tensor, got ", ir::dtype_name(y.dtype), " ",
                            ingot::shape_str(y.dims));
  }
  if (sums.dtype != DType::kFloat64 || sums.numel() != y.dims[0] * y.dims[3] || (!sums.data && sums.numel() > 0) ||
      !detail::aligned_to(sums.data, 8)) {
    return invalid_argument(L, ": sums must be f64 [", y.dims[0], ", ", y.dims[3], "] (8-byte aligned), got ",
                            ir::dtype_name(sums.dtype), " ", ingot::shape_str(sums.dims));
  }
  if (!y.data && y.numel() > 0) return invalid_argument(L, ": y has no data");
  return detail::launch_column_sums_add(y, y.dims[0], y.dims[1] * y.dims[2], y.dims[3], static_cast<double*>(sums.data),
                                        stream);
}

Status launch_squeeze_excite(const net::SqueezeExciteParams& params, const std::vector<DeviceTensor>& inputs,
                             const std::vector<DeviceTensor>& outputs, cudaStream_t stream, void* workspace,
                             SqueezeExciteMultiply multiply) {
  INGOT_RETURN_IF_ERROR(check_tensors(params, inputs, outputs));
  return detail::launch_squeeze_excite(params, inputs, outputs, workspace, stream, multiply);
}

Status launch_attention(const net::AttentionParams& params, const std::vector<DeviceTensor>& inputs,
                        const std::vector<DeviceTensor>& outputs, cudaStream_t stream, AttentionKernel kernel) {
  INGOT_RETURN_IF_ERROR(check_tensors(params, inputs, outputs));
  if (!kernel.tensor_cores) return detail::launch_attention(params, inputs, outputs, stream);
  return detail::launch_attention_mma(params, inputs, outputs, kernel.warps, stream);
}

bool squeeze_excite_fuses(const net::SqueezeExciteParams& params, const std::vector<DeviceTensor>& inputs,
                          const std::vector<DeviceTensor>& outputs) {
  return check_tensors(params, inputs, outputs).is_ok() && detail::squeeze_excite_fuses(params, inputs, outputs);
}

}  // namespace ingot::kernels::cuda
