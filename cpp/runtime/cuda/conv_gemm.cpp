#include "runtime/cuda/conv_gemm.h"

#include "runtime/cuda/cuda_util.h"

namespace ingot::runtime::cuda {

namespace {

bool floating(ir::DType t) {
  return t == ir::DType::kFloat32 || t == ir::DType::kFloat16 || t == ir::DType::kBFloat16;
}

// The activations cuBLASLt's epilogue applies itself (after bias and C, as our layers define).
bool in_cublaslt(net::UnaryOp op) {
  return op == net::UnaryOp::kIdentity || op == net::UnaryOp::kRelu || op == net::UnaryOp::kGeluTanh;
}

}  // namespace

Status ConvGemm::applies(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out) {
  const char* L = "1x1 convolution as a GEMM";
  if (p.transposed || !p.channels_last || p.groups != 1) {
    return unsupported(L, ": needs a forward, ungrouped, channels-last convolution");
  }
  if (in.size() < 2 || in.size() > 4 || out.size() != 1 || in[0].dims.size() != 4 || in[1].dims.size() != 4 ||
      out[0].dims.size() != 4 || p.stride.size() != 2 || p.padding.size() != 2 || p.dilation.size() != 2) {
    return unsupported(L, ": needs a 2-d convolution");
  }
  for (size_t d = 0; d < 2; ++d) {
    if (p.stride[d] != 1 || p.padding[d] != 0 || p.dilation[d] != 1) {
      return unsupported(L, ": needs stride 1, no padding and no dilation");
    }
  }
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  const int64_t c = x.dims[3], o = w.dims[0];
  if (w.dims[1] != 1 || w.dims[2] != 1 || w.dims[3] != c || y.dims[3] != o || y.dims[0] != x.dims[0] ||
      y.dims[1] != x.dims[1] || y.dims[2] != x.dims[2]) {
    return unsupported(L, ": weight ", ingot::shape_str(w.dims), " is not a 1x1 kernel from input ",
                       ingot::shape_str(x.dims), " to output ", ingot::shape_str(y.dims));
  }
  if (!floating(x.dtype) || w.dtype != x.dtype || y.dtype != x.dtype) {
    return unsupported(L, ": dtypes ", ir::dtype_name(x.dtype), " / ", ir::dtype_name(w.dtype), " -> ",
                       ir::dtype_name(y.dtype));
  }
  if (y.numel() == 0 || c == 0) return unsupported(L, ": empty tensors");
  if (in.size() > 2 && in[2].data && (in[2].dtype != y.dtype || in[2].numel() != o)) {
    return unsupported(L, ": bias ", ir::dtype_name(in[2].dtype), ingot::shape_str(in[2].dims), " is not a vector of ", o);
  }
  if (in.size() > 3 && in[3].data && (in[3].dtype != y.dtype || in[3].dims != y.dims)) {
    return unsupported(L, ": residual ", ingot::shape_str(in[3].dims), " is not the output's shape");
  }
  if (!in_cublaslt(p.activation) && !epilogue_supports(p.activation)) {
    return unsupported(L, ": activation ", net::enum_name(p.activation), " cannot be fused");
  }
  return Status::ok();
}

Status ConvGemm::configure(const RunnerEnv& env, const net::ConvolutionParams& p, const Tensors& in, const Tensors& out,
                           const std::string& tactic) {
  INGOT_RETURN_IF_ERROR(applies(p, in, out));
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  bias_ = in.size() > 2 && in[2].data;
  residual_ = in.size() > 3 && in[3].data;
  GemmShape s;
  s.m = x.dims[0] * x.dims[1] * x.dims[2];
  s.k = x.dims[3];
  s.n = w.dims[0];
  s.trans_b = true;  // w [O, C]
  s.a_type = x.dtype, s.b_type = w.dtype, s.d_type = y.dtype;
  s.allow_tf32 = env.allow_tf32;
  s.bias = bias_;
  switch (p.activation) {
    case net::UnaryOp::kRelu: s.epilogue = bias_ ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU; break;
    case net::UnaryOp::kGeluTanh: s.epilogue = bias_ ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU; break;
    default: s.epilogue = bias_ ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT; break;
  }
  post_ = Epilogue{};
  if (!in_cublaslt(p.activation)) {
    post_.activation = p.activation;
    post_.alpha = static_cast<float>(p.act_alpha);
    post_.beta = static_cast<float>(p.act_beta);
  }
  return gemm_.configure(env.lt, s, tactic, kMaxLayerWorkspace);
}

Status ConvGemm::enqueue(const RunnerEnv& env, const Tensors& in, const Tensors& out, void* workspace,
                         cudaStream_t stream) const {
  const void* bias = bias_ ? in[2].data : nullptr;
  const void* c = residual_ ? in[3].data : nullptr;
  INGOT_RETURN_IF_ERROR(gemm_.run(env.lt, in[0].data, in[1].data, c, out[0].data, bias, 1.0f, residual_ ? 1.0f : 0.0f,
                                  workspace, stream));
  if (post_.activation == net::UnaryOp::kIdentity) return Status::ok();
  return launch_epilogue(out[0], post_, stream);
}

Expected<std::string> ConvGemm::tune(const RunnerEnv& env, const Tensors& in, const Tensors& out, void* workspace,
                                     size_t workspace_size, cudaStream_t stream, std::vector<net::TimedTactic>* timed,
                                     float* layer_ms) {
  std::vector<net::TimedTactic> algos;
  INGOT_ASSIGN_OR_RETURN(std::string best, gemm_.tune(env.lt, in[0].data, in[1].data, out[0].data,
                                                       bias_ ? in[2].data : nullptr, 1.0f, workspace, workspace_size,
                                                       stream, &algos, gemm_candidates_for_level(env.tune_level)));
  if (best.empty()) best = gemm_.tactic();  // none of the candidates ran: configure()'s choice
  // Gemm::tune timed the product alone; the choice among convolution tactics needs the layer.
  INGOT_ASSIGN_OR_RETURN(float ms, time_on_stream(stream, [&] { return enqueue(env, in, out, workspace, stream); }));
  bool listed = false;
  for (net::TimedTactic& a : algos) {
    if (a.tactic != best) continue;
    a.ms = ms;
    listed = true;
  }
  if (!listed) algos.push_back({best, static_cast<double>(ms)});
  if (timed) timed->insert(timed->end(), algos.begin(), algos.end());
  *layer_ms = ms;
  return best;
}

}  // namespace ingot::runtime::cuda
