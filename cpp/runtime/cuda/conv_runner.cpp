// Convolution layers on cuDNN's legacy API: transposed convolutions, and the forward ones that
// the graph-API runner (conv_graph_runner.cpp) finds no cuDNN engine for. Forward convolutions with an identity or ReLU epilogue use the
// fused cudnnConvolutionBiasActivationForward (bias, residual "z" and activation in one call);
// others run cudnnConvolutionForward (transposed: BackwardData) and our epilogue kernel.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "runtime/cuda/cuda_util.h"
#include "runtime/cuda/runner.h"

namespace ingot::runtime::cuda {
namespace {

// cuDNN needs at least 4-D tensors: 1-D convolutions get a unit height.
std::vector<int> dims4(const std::vector<int64_t>& d) {
  std::vector<int> out(d.begin(), d.end());
  if (out.size() == 3) out.insert(out.begin() + 2, 1);
  return out;
}

std::vector<int> packed_strides(const std::vector<int>& d) {
  std::vector<int> s(d.size(), 1);
  for (size_t i = d.size() - 1; i-- > 0;) s[i] = s[i + 1] * d[i + 1];
  return s;
}

class ConvRunner : public LayerRunner {
 public:
  explicit ConvRunner(std::string tactic) : tactic_(std::move(tactic)) {}
  ~ConvRunner() override {
    if (x_) cudnnDestroyTensorDescriptor(x_);
    if (y_) cudnnDestroyTensorDescriptor(y_);
    if (b_) cudnnDestroyTensorDescriptor(b_);
    if (w_) cudnnDestroyFilterDescriptor(w_);
    if (conv_) cudnnDestroyConvolutionDescriptor(conv_);
    if (act_) cudnnDestroyActivationDescriptor(act_);
  }

  Status prepare(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                 size_t* workspace) override {
    const auto& p = std::get<net::ConvolutionParams>(params);
    if (!x_) {
      INGOT_CUDNN_TRY(cudnnCreateTensorDescriptor(&x_));
      INGOT_CUDNN_TRY(cudnnCreateTensorDescriptor(&y_));
      INGOT_CUDNN_TRY(cudnnCreateTensorDescriptor(&b_));
      INGOT_CUDNN_TRY(cudnnCreateFilterDescriptor(&w_));
      INGOT_CUDNN_TRY(cudnnCreateConvolutionDescriptor(&conv_));
      INGOT_CUDNN_TRY(cudnnCreateActivationDescriptor(&act_));
    }
    const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
    INGOT_ASSIGN_OR_RETURN(cudnnDataType_t dt, cudnn_dtype(x.dtype));
    bool f32 = x.dtype == ir::DType::kFloat32;
    channels_last_ = p.channels_last;
    int channels;
    if (p.channels_last) {
      // NHWC tensors and [O, kH, kW, C/g] filters; cuDNN takes the dims in NCHW order.
      const auto &xd = x.dims, &wd = w.dims, &yd = y.dims;
      auto i32 = [](int64_t v) { return static_cast<int>(v); };
      INGOT_CUDNN_TRY(cudnnSetTensor4dDescriptor(x_, CUDNN_TENSOR_NHWC, dt, i32(xd[0]), i32(xd[3]), i32(xd[1]), i32(xd[2])));
      INGOT_CUDNN_TRY(cudnnSetTensor4dDescriptor(y_, CUDNN_TENSOR_NHWC, dt, i32(yd[0]), i32(yd[3]), i32(yd[1]), i32(yd[2])));
      INGOT_CUDNN_TRY(cudnnSetFilter4dDescriptor(w_, dt, CUDNN_TENSOR_NHWC, i32(wd[0]), i32(wd[3]), i32(wd[1]), i32(wd[2])));
      int pad[2] = {i32(p.padding[0]), i32(p.padding[1])}, stride[2] = {i32(p.stride[0]), i32(p.stride[1])},
          dil[2] = {i32(p.dilation[0]), i32(p.dilation[1])};
      INGOT_CUDNN_TRY(cudnnSetConvolutionNdDescriptor(conv_, 2, pad, stride, dil, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
      channels = i32(yd[3]);
      INGOT_CUDNN_TRY(cudnnSetTensor4dDescriptor(b_, CUDNN_TENSOR_NHWC, dt, 1, channels, 1, 1));
    } else {
      std::vector<int> xd = dims4(x.dims), wd = dims4(w.dims), yd = dims4(y.dims);
      int nsp = static_cast<int>(xd.size()) - 2;
      std::vector<int> pad(p.padding.begin(), p.padding.end()), stride(p.stride.begin(), p.stride.end()),
          dil(p.dilation.begin(), p.dilation.end());
      if (x.dims.size() == 3) {  // 1-D: the unit height comes first
        pad.insert(pad.begin(), 0), stride.insert(stride.begin(), 1), dil.insert(dil.begin(), 1);
      }
      INGOT_CUDNN_TRY(cudnnSetTensorNdDescriptor(x_, dt, static_cast<int>(xd.size()), xd.data(), packed_strides(xd).data()));
      INGOT_CUDNN_TRY(cudnnSetTensorNdDescriptor(y_, dt, static_cast<int>(yd.size()), yd.data(), packed_strides(yd).data()));
      INGOT_CUDNN_TRY(cudnnSetFilterNdDescriptor(w_, dt, CUDNN_TENSOR_NCHW, static_cast<int>(wd.size()), wd.data()));
      INGOT_CUDNN_TRY(cudnnSetConvolutionNdDescriptor(conv_, nsp, pad.data(), stride.data(), dil.data(),
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
      channels = yd[1];
      std::vector<int> bd(yd.size(), 1);
      bd[1] = channels;
      INGOT_CUDNN_TRY(cudnnSetTensorNdDescriptor(b_, dt, static_cast<int>(bd.size()), bd.data(), packed_strides(bd).data()));
    }
    INGOT_CUDNN_TRY(cudnnSetConvolutionGroupCount(conv_, static_cast<int>(p.groups)));
    base_math_ = f32 && !env.allow_tf32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
    INGOT_CUDNN_TRY(cudnnSetConvolutionMathType(conv_, base_math_));

    has_bias_ = in.size() > 2 && in[2].data;
    has_residual_ = in.size() > 3 && in[3].data;
    transposed_ = p.transposed;
    fused_ = !p.transposed && (p.activation == net::UnaryOp::kIdentity || p.activation == net::UnaryOp::kRelu) &&
             (has_bias_ || has_residual_ || p.activation == net::UnaryOp::kRelu);
    if (!p.transposed && p.activation == net::UnaryOp::kIdentity && !has_bias_ && !has_residual_) fused_ = false;
    if (!fused_ && p.activation != net::UnaryOp::kIdentity && !epilogue_supports(p.activation)) {
      return unsupported("convolution: activation ", net::enum_name(p.activation), " cannot be fused on the GPU");
    }
    if (fused_) {
      INGOT_CUDNN_TRY(cudnnSetActivationDescriptor(
          act_, p.activation == net::UnaryOp::kRelu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
          CUDNN_NOT_PROPAGATE_NAN, 0.0));
      if (!has_bias_) {  // the fused call needs a bias: zeros
        INGOT_RETURN_IF_ERROR(zero_bias_.reserve(static_cast<size_t>(channels) * ir::dtype_size(x.dtype)));
        INGOT_CUDA_TRY(cudaMemset(zero_bias_.get(), 0, zero_bias_.size()));
      }
    }
    size_t ws = 0;
    if (p.transposed) {
      INGOT_RETURN_IF_ERROR(choose_backward_data(env, &ws));
    } else {
      INGOT_RETURN_IF_ERROR(choose_forward(env, p, &ws));
    }
    workspace_ = ws;
    *workspace = ws;
    return Status::ok();
  }

  Status enqueue(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                 void* workspace, cudaStream_t stream) override {
    const auto& p = std::get<net::ConvolutionParams>(params);
    INGOT_CUDNN_TRY(cudnnSetStream(env.cudnn, stream));
    const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
    const float one = 1.0f, zero = 0.0f;
    if (fused_) {
      const float alpha2 = has_residual_ ? 1.0f : 0.0f;
      const void* z = has_residual_ ? in[3].data : y.data;
      const void* bias = has_bias_ ? in[2].data : zero_bias_.get();
      cudnnStatus_t st = cudnnConvolutionBiasActivationForward(env.cudnn, &one, x_, x.data, w_, w.data, conv_, fwd_algo_,
                                                               workspace, workspace_, &alpha2, y_, z, b_, bias, act_,
                                                               y_, y.data);
      if (st == CUDNN_STATUS_SUCCESS) return Status::ok();
      // cuDNN validates the configuration before launching anything: when it refuses the fused
      // call (the first, eager run of a shape finds out), use forward + our epilogue instead.
      if (st != CUDNN_STATUS_NOT_SUPPORTED && st != CUDNN_STATUS_BAD_PARAM) {
        return error(ErrorCode::kInternal, "cudnnConvolutionBiasActivationForward failed: ", cudnnGetErrorString(st));
      }
      fused_ = false;
    }
    if (transposed_) {
      INGOT_CUDNN_TRY(cudnnConvolutionBackwardData(env.cudnn, &one, w_, w.data, x_, x.data, conv_, bwd_algo_, workspace,
                                                   workspace_, &zero, y_, y.data));
    } else {
      INGOT_CUDNN_TRY(cudnnConvolutionForward(env.cudnn, &one, x_, x.data, w_, w.data, conv_, fwd_algo_, workspace,
                                              workspace_, &zero, y_, y.data));
    }
    if (!has_bias_ && !has_residual_ && p.activation == net::UnaryOp::kIdentity) return Status::ok();
    Epilogue e;
    e.activation = p.activation;
    e.alpha = static_cast<float>(p.act_alpha);
    e.beta = static_cast<float>(p.act_beta);
    e.bias = has_bias_ ? in[2].data : nullptr;
    e.residual = has_residual_ ? in[3].data : nullptr;
    if (channels_last_) {
      e.channels = y.dims.back();
      e.inner = 1;
    } else {
      e.channels = y.dims[1];
      e.inner = 1;
      for (size_t d = 2; d < y.dims.size(); ++d) e.inner *= y.dims[d];
    }
    return launch_epilogue(y, e, stream);
  }

  // Records the fastest algorithm cudnnFind measures (for an identity epilogue, the one the
  // fused call accepts). Timing the fused call against forward + our epilogue per layer was
  // tried and removed: it made EfficientNet-B0 slower and picked algorithms that failed at batch
  // 32 (bench/NOTES.md).
  Expected<std::string> tune(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                             void* workspace, size_t workspace_size, cudaStream_t stream,
                             std::vector<net::TimedTactic>* timed) override {
    if (transposed_) return std::string();
    INGOT_CUDNN_TRY(cudnnSetStream(env.cudnn, stream));
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    INGOT_CUDNN_TRY(cudnnFindConvolutionForwardAlgorithmEx(env.cudnn, x_, in[0].data, w_, in[1].data, conv_, y_,
                                                           out[0].data, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf,
                                                           workspace, workspace_size));
    bool identity_fused = fused_ && std::get<net::ConvolutionParams>(params).activation == net::UnaryOp::kIdentity;
    auto tactic_of = [](const cudnnConvolutionFwdAlgoPerf_t& p) {
      return "fwd=" + std::to_string(static_cast<int>(p.algo)) + ",math=" + std::to_string(static_cast<int>(p.mathType));
    };
    for (int i = 0; i < found && timed; ++i) {
      if (perf[i].status == CUDNN_STATUS_SUCCESS) timed->push_back({tactic_of(perf[i]), static_cast<double>(perf[i].time)});
    }
    for (int i = 0; i < found; ++i) {  // sorted by time
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > workspace_size) continue;
      if (identity_fused && perf[i].algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) continue;
      fwd_algo_ = perf[i].algo;
      workspace_ = perf[i].memory;
      // An algorithm is only valid with the math type cudnnFind measured it with.
      INGOT_CUDNN_TRY(cudnnSetConvolutionMathType(conv_, perf[i].mathType));
      return tactic_of(perf[i]);
    }
    return std::string();
  }

 private:
  Status choose_forward(const RunnerEnv& env, const net::ConvolutionParams& p, size_t* ws) {
    bool identity_fused = fused_ && p.activation == net::UnaryOp::kIdentity;  // fused_ already honours the tactic
    auto workspace_for = [&](cudnnConvolutionFwdAlgo_t algo, size_t* bytes) {
      return cudnnGetConvolutionForwardWorkspaceSize(env.cudnn, x_, w_, conv_, y_, algo, bytes) == CUDNN_STATUS_SUCCESS &&
             *bytes <= kMaxLayerWorkspace;
    };
    if (tactic_.rfind("fwd=", 0) == 0) {
      auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(std::atoi(tactic_.c_str() + 4));
      size_t m = tactic_.find(",math=");
      if (m != std::string::npos) {
        INGOT_CUDNN_TRY(cudnnSetConvolutionMathType(conv_, static_cast<cudnnMathType_t>(std::atoi(tactic_.c_str() + m + 6))));
      }
      if ((!identity_fused || algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) && workspace_for(algo, ws)) {
        fwd_algo_ = algo;
        return Status::ok();
      }
      // The tactic was timed at another shape (a profile's opt) and does not fit this one:
      // fall back to cuDNN's choice below, with the engine's math type again.
      INGOT_CUDNN_TRY(cudnnSetConvolutionMathType(conv_, base_math_));
    }
    if (identity_fused) {
      fwd_algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
      if (workspace_for(fwd_algo_, ws)) return Status::ok();
      fused_ = false;  // fall back to forward + our epilogue
    }
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    INGOT_CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(env.cudnn, x_, w_, conv_, y_, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                          &found, perf));
    for (int i = 0; i < found; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
      INGOT_CUDNN_TRY(cudnnSetConvolutionMathType(conv_, perf[i].mathType));
      if (workspace_for(perf[i].algo, ws)) {
        fwd_algo_ = perf[i].algo;
        return Status::ok();
      }
    }
    return unsupported("cuDNN has no forward algorithm for this convolution");
  }

  Status choose_backward_data(const RunnerEnv& env, size_t* ws) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int found = 0;
    // Transposed convolution: its input is the gradient (dy) of a forward convolution whose
    // output shape is ours.
    INGOT_CUDNN_TRY(cudnnGetConvolutionBackwardDataAlgorithm_v7(env.cudnn, w_, x_, conv_, y_,
                                                               CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, perf));
    for (int i = 0; i < found; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
      size_t bytes = 0;
      if (cudnnGetConvolutionBackwardDataWorkspaceSize(env.cudnn, w_, x_, conv_, y_, perf[i].algo, &bytes) ==
              CUDNN_STATUS_SUCCESS &&
          bytes <= kMaxLayerWorkspace) {
        bwd_algo_ = perf[i].algo;
        *ws = bytes;
        return Status::ok();
      }
    }
    return unsupported("cuDNN has no algorithm for this transposed convolution");
  }

  std::string tactic_;
  cudnnTensorDescriptor_t x_ = nullptr, y_ = nullptr, b_ = nullptr;
  cudnnFilterDescriptor_t w_ = nullptr;
  cudnnConvolutionDescriptor_t conv_ = nullptr;
  cudnnActivationDescriptor_t act_ = nullptr;
  cudnnConvolutionFwdAlgo_t fwd_algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  cudnnConvolutionBwdDataAlgo_t bwd_algo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
  cudnnMathType_t base_math_ = CUDNN_TENSOR_OP_MATH;
  size_t workspace_ = 0;
  bool fused_ = false, has_bias_ = false, has_residual_ = false, transposed_ = false, channels_last_ = false;
  DeviceBuffer zero_bias_;
};

}  // namespace

std::unique_ptr<LayerRunner> make_legacy_conv_runner(const std::string& tactic) {
  return std::make_unique<ConvRunner>(tactic);
}

}  // namespace ingot::runtime::cuda
