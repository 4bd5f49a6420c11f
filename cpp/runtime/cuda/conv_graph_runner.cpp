// Forward convolutions on cuDNN's graph API (through the cuDNN frontend): one operation graph
// per layer, conv -> (+ bias) -> (+ residual) -> activation, which cuDNN runs as one fused
// kernel, NHWC or NCHW as the tensors are stored. Candidates come from cuDNN's heuristics; the
// build times the first few (more at higher optimization levels) and records the winner as
// "cudnn:eng=E;K=V,..." (engine id and knob choices), which later loads rebuild directly.
// Depthwise channels-last convolutions also time our own kernels (kernels/cuda/depthwise.cuh,
// recorded as "ingot:depthwise" when it wins, and depthwise_direct.cuh with 1, 2 and 4 pixels a
// thread, "ingot:depthwise-direct<P>"), 1x1 ones with few input channels our pointwise
// kernel (pointwise_conv.cuh, "ingot:pointwise"), other ones of at most 4 input channels (image
// stems, with INGOT_CUDA_SMALL_INPUT=1) our small-input kernel (small_input_conv.cuh,
// "ingot:small-input"), and 1x1 ones cuBLASLt's GEMMs (conv_gemm.h, recorded as gemm.cpp's
// "lt:..."); a load where the recorded one does not apply (another shape of the profile) builds
// cuDNN's heuristic choice instead.
// Transposed convolutions, and graphs cuDNN cannot run (checked when the layer is prepared),
// use the legacy-API runner (conv_runner.cpp).
// A convolution with channel_sums (net::ConvolutionParams) also writes y's sums over H x W:
// every path computes y as without them, the sums zeroed first (a memset) and then added by
// the direct depthwise kernel as it stores y, or by a column-sum launch after the others; the
// build compares the candidates with that launch's time added where they need it.
// Built plans go through the process's CudnnPlanStore (cudnn_plans.h): prebuild() lets worker
// threads build (compile) the plans prepare() and tune() will need, in parallel, and the runner
// then deserializes them; a plan the store lacks is built here and added to it.
#include <cudnn_frontend.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "runtime/cuda/conv_gemm.h"
#include "runtime/cuda/cuda_util.h"
#include "runtime/cuda/cudnn_graph_store.h"
#include "runtime/cuda/runner.h"
#include "runtime/timing_cache.h"

namespace ingot::runtime::cuda {
namespace {

namespace fe = cudnn_frontend;

constexpr int64_t kX = 1, kW = 2, kB = 3, kZ = 4, kY = 5;  // tensor uids

#define INGOT_FE_TRY(call)                                                                            \
  do {                                                                                                \
    auto ingot_fe_ = (call);                                                                          \
    if (ingot_fe_.is_bad()) {                                                                         \
      return ::ingot::unsupported("cuDNN graph: ", #call, ": ", ingot_fe_.get_message());             \
    }                                                                                                 \
  } while (0)

// Logical [N, C, spatial...] dims and strides of a tensor stored as `dims` (NCHW order, or
// NHWC when channels_last); 1-D convolutions get a unit height.
void logical(const std::vector<int64_t>& phys, bool channels_last, std::vector<int64_t>* dims,
             std::vector<int64_t>* strides) {
  std::vector<int64_t> d = phys;
  if (channels_last) {  // [N, H, W, C] -> [N, C, H, W]
    d = {phys[0], phys[3], phys[1], phys[2]};
  } else if (d.size() == 3) {
    d.insert(d.begin() + 2, 1);
  }
  std::vector<int64_t> s(d.size(), 1);
  if (channels_last) {
    s[1] = 1;
    s[3] = d[1];
    s[2] = d[3] * d[1];
    s[0] = d[2] * s[2];
  } else {
    for (size_t i = d.size() - 1; i-- > 0;) s[i] = s[i + 1] * d[i + 1];
  }
  *dims = std::move(d);
  *strides = std::move(s);
}

// The cuDNN pointwise mode applying `a`, or false when cuDNN has none (our epilogue kernel
// applies it after the graph).
bool activation_mode(net::UnaryOp op, double alpha, double beta, fe::graph::Pointwise_attributes* attrs) {
  switch (op) {
    case net::UnaryOp::kRelu: attrs->set_mode(fe::PointwiseMode_t::RELU_FWD); return true;
    case net::UnaryOp::kLeakyRelu:
      attrs->set_mode(fe::PointwiseMode_t::RELU_FWD).set_relu_lower_clip_slope(static_cast<float>(alpha));
      return true;
    case net::UnaryOp::kClamp: {  // relu6 and friends: clip to [alpha, beta]
      if (!std::isfinite(alpha) || !std::isfinite(beta)) return false;
      attrs->set_mode(fe::PointwiseMode_t::RELU_FWD)
          .set_relu_lower_clip(static_cast<float>(alpha))
          .set_relu_upper_clip(static_cast<float>(beta));
      return true;
    }
    case net::UnaryOp::kSigmoid: attrs->set_mode(fe::PointwiseMode_t::SIGMOID_FWD); return true;
    case net::UnaryOp::kTanh: attrs->set_mode(fe::PointwiseMode_t::TANH_FWD); return true;
    case net::UnaryOp::kGeluErf: attrs->set_mode(fe::PointwiseMode_t::GELU_FWD); return true;
    case net::UnaryOp::kGeluTanh: attrs->set_mode(fe::PointwiseMode_t::GELU_APPROX_TANH_FWD); return true;
    case net::UnaryOp::kSilu: attrs->set_mode(fe::PointwiseMode_t::SWISH_FWD).set_swish_beta(1.0f); return true;
    default: return false;
  }
}

Expected<fe::DataType_t> fe_dtype(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: return fe::DataType_t::FLOAT;
    case ir::DType::kFloat16: return fe::DataType_t::HALF;
    case ir::DType::kBFloat16: return fe::DataType_t::BFLOAT16;
    default: return unsupported("cuDNN graph convolution on ", ir::dtype_name(t));
  }
}

// "cudnn:eng=E;K=V,K=V" <-> engine id and knobs.
std::string tactic_name(int64_t engine, const std::unordered_map<fe::KnobType_t, int64_t>& knobs) {
  std::vector<std::pair<int64_t, int64_t>> kv;
  for (const auto& [k, v] : knobs) kv.emplace_back(static_cast<int64_t>(k), v);
  std::sort(kv.begin(), kv.end());
  std::ostringstream s;
  s << "cudnn:eng=" << engine << ";";
  for (size_t i = 0; i < kv.size(); ++i) s << (i ? "," : "") << kv[i].first << "=" << kv[i].second;
  return s.str();
}

bool parse_tactic(const std::string& t, int64_t* engine, std::unordered_map<fe::KnobType_t, int64_t>* knobs) {
  if (t.rfind("cudnn:eng=", 0) != 0) return false;
  const char* p = t.c_str() + 10;
  char* end = nullptr;
  *engine = std::strtoll(p, &end, 10);
  if (end == p || *end != ';') return false;
  p = end + 1;
  while (*p) {
    int64_t k = std::strtoll(p, &end, 10);
    if (end == p || *end != '=') return false;
    p = end + 1;
    int64_t v = std::strtoll(p, &end, 10);
    if (end == p) return false;
    (*knobs)[static_cast<fe::KnobType_t>(k)] = v;
    p = end;
    if (*p == ',') ++p;
    else if (*p) return false;
  }
  return true;
}

// Our convolution kernels, each a tactic of its own: whether it applies to these tensors and
// how it launches. tune() times every one that applies (the small-input kernel only with
// INGOT_CUDA_SMALL_INPUT=1) next to cuDNN's candidates and cuBLASLt's GEMMs.
struct OwnKernel {
  const char* tactic;
  int pixels;  // the direct depthwise kernel's pixels a thread; 0 for the others
  // Whether it runs this convolution (a recorded tactic runs where it applies).
  bool applies(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out) const {
    const std::string_view t = tactic;
    if (t == "ingot:depthwise") return kernels::cuda::depthwise_conv_supported(p, in, out).is_ok();
    if (pixels > 0) return kernels::cuda::depthwise_direct_conv_supported(p, in, out, pixels).is_ok();
    if (t == "ingot:pointwise") return kernels::cuda::pointwise_conv_supported(p, in, out).is_ok();
    return kernels::cuda::small_input_conv_supported(p, in, out).is_ok();
  }
  // Whether it adds a convolution's channel sums as it stores y (the direct depthwise kernel).
  bool adds_sums() const { return pixels > 0; }
  // Whether tune() times it where it applies.
  bool timed() const {
    if (pixels > 0) return depthwise_direct_timed();
    return std::string_view(tactic) != "ingot:small-input" || small_input_conv_timed();
  }
  Status launch(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                cudaStream_t stream) const {
    if (pixels == 0) return kernels::cuda::launch(params, in, out, stream);  // the one of the three that applies
    const auto& p = std::get<net::ConvolutionParams>(params);
    return kernels::cuda::launch_depthwise_direct_conv(p, in, out, pixels, env.is_constant(in[1]), stream);
  }
};
constexpr OwnKernel kOwnKernels[] = {
    {"ingot:depthwise", 0},         {"ingot:depthwise-direct1", 1}, {"ingot:depthwise-direct2", 2},
    {"ingot:depthwise-direct4", 4}, {"ingot:pointwise", 0},         {"ingot:small-input", 0},
};

// The kernel of ours that `tactic` names, when it applies to this convolution; else null.
const OwnKernel* own_kernel_for(const std::string& tactic, const net::ConvolutionParams& p, const Tensors& in,
                                const Tensors& out) {
  for (const OwnKernel& k : kOwnKernels) {
    if (tactic == k.tactic) return k.applies(p, in, out) ? &k : nullptr;
  }
  return nullptr;
}

// A layer's params and outputs split for the paths that compute y alone: with channel_sums the
// params without it, y alone and the sums apart; else as they are (sums null).
struct SumsSplit {
  net::LayerParams params;
  Tensors y;
  const DeviceTensor* sums = nullptr;
};
SumsSplit split_sums(const net::LayerParams& params, const Tensors& out) {
  const auto& p = std::get<net::ConvolutionParams>(params);
  if (!p.channel_sums || out.size() != 2) return {params, out, nullptr};
  net::ConvolutionParams q = p;
  q.channel_sums = false;
  return {q, Tensors{out[0]}, &out[1]};
}

Status zero_sums(const DeviceTensor& sums, cudaStream_t stream) {
  if (sums.numel() == 0) return Status::ok();
  INGOT_CUDA_TRY(cudaMemsetAsync(sums.data, 0, static_cast<size_t>(sums.numel()) * sizeof(double), stream));
  return Status::ok();
}

// How many heuristic candidates the build times per convolution, by optimization level.
int64_t candidates_for_level(int level) {
  static constexpr int64_t kCount[] = {1, 2, 4, 6, 10, std::numeric_limits<int64_t>::max()};
  return kCount[std::clamp(level, 0, 5)];
}

// An operation graph conv -> (+ bias) -> (+ residual) -> activation, and what it fused.
struct ConvGraph {
  std::unique_ptr<fe::graph::Graph> graph;
  bool has_bias = false, has_residual = false;
  bool post_epilogue = false;  // the activation is not in the graph: our epilogue kernel applies it
  bool allow_tensor_cores = true;
};

// The graph for these tensors (their dims, dtypes and which optional inputs are present; the
// pointers do not matter), built on `handle`.
Expected<ConvGraph> make_conv_graph(cudnnHandle_t handle, const net::ConvolutionParams& p, const Tensors& in,
                                    const Tensors& out, bool allow_tf32) {
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  INGOT_ASSIGN_OR_RETURN(fe::DataType_t dt, fe_dtype(x.dtype));
  ConvGraph cg;
  cg.allow_tensor_cores = x.dtype != ir::DType::kFloat32 || allow_tf32;
  cg.has_bias = in.size() > 2 && in[2].data;
  cg.has_residual = in.size() > 3 && in[3].data;
  std::vector<int64_t> xd, xs, wd, ws, yd, ys;
  logical(x.dims, p.channels_last, &xd, &xs);
  logical(w.dims, p.channels_last, &wd, &ws);
  logical(y.dims, p.channels_last, &yd, &ys);
  std::vector<int64_t> pad = p.padding, stride = p.stride, dil = p.dilation;
  if (x.dims.size() == 3) {  // 1-D: the unit height comes first
    pad.insert(pad.begin(), 0), stride.insert(stride.begin(), 1), dil.insert(dil.begin(), 1);
  }

  cg.graph = std::make_unique<fe::graph::Graph>();
  auto& g = *cg.graph;
  g.set_io_data_type(dt).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(fe::DataType_t::FLOAT);
  auto X = g.tensor(fe::graph::Tensor_attributes().set_name("x").set_uid(kX).set_dim(xd).set_stride(xs));
  auto W = g.tensor(fe::graph::Tensor_attributes().set_name("w").set_uid(kW).set_dim(wd).set_stride(ws));
  auto Y = g.conv_fprop(X, W, fe::graph::Conv_fprop_attributes().set_padding(pad).set_stride(stride).set_dilation(dil));
  std::vector<int64_t> bd(yd.size(), 1), bs(yd.size(), 1);
  bd[1] = yd[1];
  if (cg.has_bias) {
    auto B = g.tensor(fe::graph::Tensor_attributes().set_name("b").set_uid(kB).set_dim(bd).set_stride(bs));
    Y = g.pointwise(Y, B, fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::ADD));
  }
  if (cg.has_residual) {
    auto Z = g.tensor(fe::graph::Tensor_attributes().set_name("z").set_uid(kZ).set_dim(yd).set_stride(ys));
    Y = g.pointwise(Y, Z, fe::graph::Pointwise_attributes().set_mode(fe::PointwiseMode_t::ADD));
  }
  if (p.activation != net::UnaryOp::kIdentity) {
    fe::graph::Pointwise_attributes act;
    if (activation_mode(p.activation, p.act_alpha, p.act_beta, &act)) {
      Y = g.pointwise(Y, act);
    } else if (epilogue_supports(p.activation)) {
      cg.post_epilogue = true;
    } else {
      return unsupported("convolution: activation ", net::enum_name(p.activation), " cannot be fused on the GPU");
    }
  }
  Y->set_output(true).set_uid(kY).set_data_type(dt).set_dim(yd).set_stride(ys);
  INGOT_FE_TRY(g.validate());
  INGOT_FE_TRY(g.build_operation_graph(handle));
  return cg;
}

// Fills the graph's candidate list from cuDNN's heuristics (mode A), without the ones that need
// more workspace than `workspace_limit` or tensor cores where they are not allowed.
Status list_candidates(fe::graph::Graph& g, bool allow_tensor_cores, size_t workspace_limit) {
  INGOT_FE_TRY(g.create_execution_plans({fe::HeurMode_t::A}));
  g.deselect_workspace_greater_than(static_cast<int64_t>(workspace_limit));
  if (!allow_tensor_cores) g.deselect_numeric_notes({fe::NumericalNote_t::TENSOR_CORE});
  INGOT_FE_TRY(g.check_support());
  return Status::ok();
}

// The tactic of candidate `index` ("" if cuDNN cannot say).
std::string candidate_tactic(const fe::graph::Graph& g, int64_t index) {
  int64_t engine = 0;
  std::unordered_map<fe::KnobType_t, int64_t> knobs;
  if (g.get_engine_and_knobs_at_index(index, engine, knobs).is_bad()) return std::string();
  return tactic_name(engine, knobs);
}

// The store key of this convolution's graph (append ";" and a tactic for one of its plans).
std::string graph_key(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out, bool allow_tf32) {
  return graph_store_key(net::LayerParams(p), in, out, allow_tf32, ";conv-graph");
}

// Whether prepare() will take the legacy API for this layer and tactic.
bool takes_legacy(const net::ConvolutionParams& p, const Tensors& in, const std::string& tactic) {
  return p.transposed || in[0].dims.size() < 3 || in[0].dims.size() > 5 || tactic.rfind("fwd=", 0) == 0;
}

class GraphConvRunner : public LayerRunner {
 public:
  explicit GraphConvRunner(std::string tactic) : tactic_(std::move(tactic)) {}

  Status prepare(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                 size_t* workspace) override {
    const SumsSplit split = split_sums(params, out);
    return prepare_y(env, split.params, in, split.y, workspace);
  }

  Status enqueue(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                 void* workspace, cudaStream_t stream) override {
    const SumsSplit split = split_sums(params, out);
    if (!split.sums) return enqueue_y(env, params, in, out, workspace, stream);
    INGOT_RETURN_IF_ERROR(zero_sums(*split.sums, stream));
    if (own_ && own_->adds_sums()) return own_->launch(env, params, in, out, stream);
    INGOT_RETURN_IF_ERROR(enqueue_y(env, split.params, in, split.y, workspace, stream));
    return kernels::cuda::launch_channel_sums(out[0], *split.sums, stream);
  }

  // With channel sums, the column-sum launch (and the memset) is timed once and added to every
  // candidate that needs it; the direct depthwise kernels are timed adding the sums themselves.
  Expected<std::string> tune(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                             void* workspace, size_t workspace_size, cudaStream_t stream,
                             std::vector<net::TimedTactic>* timed) override {
    const SumsSplit split = split_sums(params, out);
    if (!split.sums) return tune_y(env, params, in, out, workspace, workspace_size, stream, timed, nullptr, nullptr, 0);
    INGOT_ASSIGN_OR_RETURN(float sums_ms, time_on_stream(stream, [&]() -> Status {
                             INGOT_RETURN_IF_ERROR(zero_sums(*split.sums, stream));
                             return kernels::cuda::launch_channel_sums(out[0], *split.sums, stream);
                           }));
    if (timed) timed->push_back({"channel-sums (added to the others)", static_cast<double>(sums_ms)});
    return tune_y(env, split.params, in, split.y, workspace, workspace_size, stream, timed, &params, &out, sums_ms);
  }

  // cuDNN plans that prepare() (the recorded tactic, or the heuristics' first that builds) or
  // tune() (the first candidates of the level) will use, built on a worker's handle into the
  // store. Nothing for layers on the legacy API or on one of our own tactics.
  void prebuild(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                int tune_level, std::vector<PrebuildJob>* jobs) override {
    const SumsSplit split = split_sums(params, out);
    prebuild_y(env, split.params, in, split.y, tune_level, jobs);
  }

 private:
  // prepare() for y alone (params without channel sums).
  Status prepare_y(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                   size_t* workspace) {
    const auto& p = std::get<net::ConvolutionParams>(params);
    // Plans tuned on the legacy API ("fwd=...") stay there.
    use_legacy_ = takes_legacy(p, in, tactic_);
    own_ = nullptr;
    use_gemm_ = false;
    if (!use_legacy_) {
      params_ = p, in_ = in, out_ = out;
      own_ = own_kernel_for(tactic_, p, in, out);
      if (own_) {
        *workspace = 0;
        return Status::ok();
      }
      if (is_gemm_tactic(tactic_) && ConvGemm::applies(p, in, out).is_ok()) {
        if (!gemm_) gemm_ = std::make_unique<ConvGemm>();
        use_gemm_ = gemm_->configure(env, p, in, out, tactic_).is_ok();
        if (use_gemm_) {
          *workspace = gemm_->workspace();
          return Status::ok();
        }
      }
      Status s = build_graph(env);
      if (s.is_ok()) s = choose_plan(env);
      if (s.is_ok()) {
        *workspace = workspace_;
        return Status::ok();
      }
      // cuDNN has no engine for this graph (some grouped / dtype combinations): the legacy API.
      use_legacy_ = true;
      graph_.reset();
      exec_.reset();
    }
    if (!legacy_) legacy_ = make_legacy_conv_runner(tactic_.rfind("fwd=", 0) == 0 ? tactic_ : std::string());
    return legacy_->prepare(env, params, in, out, workspace);
  }

  Status enqueue_y(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                   void* workspace, cudaStream_t stream) {
    if (use_legacy_) return legacy_->enqueue(env, params, in, out, workspace, stream);
    if (own_) return own_->launch(env, params, in, out, stream);
    if (use_gemm_) return gemm_->enqueue(env, in, out, workspace, stream);
    INGOT_CUDNN_TRY(cudnnSetStream(env.cudnn, stream));
    return exec_ ? run_cudnn(env, *exec_, 0, in, out, workspace, stream)
                 : run_cudnn(env, *graph_, plan_index_, in, out, workspace, stream);
  }

  // Times the first candidates of cuDNN's heuristics and, where they apply, our depthwise kernel
  // and cuBLASLt's GEMMs on these buffers; keeps the fastest for the runs that follow and
  // returns its tactic. For y alone (params, out); with channel sums, `sums_params` and
  // `sums_out` are the layer's own (the direct kernels time with them) and `sums_ms` the
  // column-sum launch's time, added to every other candidate.
  Expected<std::string> tune_y(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                               void* workspace, size_t workspace_size, cudaStream_t stream,
                               std::vector<net::TimedTactic>* timed, const net::LayerParams* sums_params,
                               const Tensors* sums_out, float sums_ms) {
    const auto& p = std::get<net::ConvolutionParams>(params);
    own_ = nullptr;
    use_gemm_ = false;
    float best_ms = std::numeric_limits<float>::infinity();  // stays so when cuDNN's choice is untimed
    Expected<std::string> best =
        use_legacy_ ? tune_legacy(env, params, in, out, workspace, workspace_size, stream, timed, &best_ms)
                    : tune_cudnn(env, in, out, workspace, workspace_size, stream, timed, &best_ms);
    best_ms += sums_ms;
    Status own_failure = Status::ok();
    // Whether a candidate of ours that ran in `ms` beats the best so far (which may be none).
    auto wins = [&](const Expected<float>& ms, const std::string& tactic) {
      if (!ms.has_value()) {
        own_failure = ms.status();
        return false;
      }
      if (best.has_value() && !(*ms < best_ms)) return false;
      best = tactic;
      best_ms = *ms;
      return true;
    };
    for (const OwnKernel& k : kOwnKernels) {
      if (!k.timed() || !k.applies(p, in, out)) continue;
      const bool fused = sums_out && k.adds_sums();
      Expected<float> ms = time_on_stream(stream, [&]() -> Status {
        if (!fused) return k.launch(env, params, in, out, stream);
        INGOT_RETURN_IF_ERROR(zero_sums((*sums_out)[1], stream));
        return k.launch(env, *sums_params, in, *sums_out, stream);
      });
      if (ms.has_value() && !fused) *ms += sums_ms;
      if (ms.has_value() && timed) timed->push_back({k.tactic, static_cast<double>(*ms)});
      if (wins(ms, k.tactic)) own_ = &k;
    }
    if (ConvGemm::applies(p, in, out).is_ok()) {
      auto gemm = std::make_unique<ConvGemm>();
      float layer_ms = 0;
      Status s = gemm->configure(env, p, in, out, "");
      Expected<std::string> t = s.is_ok() ? gemm->tune(env, in, out, workspace, workspace_size, stream, timed, &layer_ms)
                                          : Expected<std::string>(s);
      if (wins(t.has_value() ? Expected<float>(layer_ms + sums_ms) : Expected<float>(t.status()), t.has_value() ? *t : "")) {
        use_gemm_ = true;
        own_ = nullptr;  // a 1x1 convolution is both ours and a GEMM
        gemm_ = std::move(gemm);
      }
    }
    if (own_ || use_gemm_) use_legacy_ = false;  // ours also beat a graph cuDNN refused
    if (!best.has_value() && !own_failure.is_ok()) {
      return best.status().with_context(str_cat("convolution (our candidates failed too: ", own_failure.message(), "): "));
    }
    return best;
  }

  // prebuild() for y alone.
  void prebuild_y(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                  int tune_level, std::vector<PrebuildJob>* jobs) {
    const auto& p = std::get<net::ConvolutionParams>(params);
    if (takes_legacy(p, in, tactic_)) return;
    int64_t engine = 0;
    std::unordered_map<fe::KnobType_t, int64_t> knobs;
    std::string recorded = tune_level == 0 && parse_tactic(tactic_, &engine, &knobs) ? tactic_ : std::string();
    if (tune_level == 0 && recorded.empty() && !tactic_.empty()) {
      if (own_kernel_for(tactic_, p, in, out)) return;
      if (is_gemm_tactic(tactic_) && ConvGemm::applies(p, in, out).is_ok()) return;
    }
    std::string gkey = graph_key(p, in, out, env.allow_tf32);
    int64_t count = tune_level > 0 ? candidates_for_level(tune_level) : std::numeric_limits<int64_t>::max();
    std::string job = gkey + (!recorded.empty() ? ";" + recorded : tune_level > 0 ? ";first " + std::to_string(count) : ";heuristic");
    if (!recorded.empty() && CudnnPlanStore::process().find(gkey + ";" + recorded)) return;
    if (!CudnnPlanStore::process().claim(job)) return;
    bool allow_tf32 = env.allow_tf32;
    jobs->push_back([p, in, out, allow_tf32, gkey, recorded, engine, knobs, count, tune_level](cudnnHandle_t handle) {
      Expected<ConvGraph> cg = make_conv_graph(handle, p, in, out, allow_tf32);
      if (!cg.has_value()) return;
      fe::graph::Graph& g = *cg->graph;
      if (!recorded.empty()) {
        if (g.create_execution_plan(engine, knobs).is_good() && g.check_support().is_good() &&
            g.build_plans(fe::BuildPlanPolicy_t::HEURISTICS_CHOICE).is_good()) {
          store_plan(g, gkey + ";" + recorded);
        }
        return;
      }
      if (!list_candidates(g, cg->allow_tensor_cores, kMaxLayerWorkspace).is_ok()) return;
      int64_t n = std::min(g.get_execution_plan_count(), count);
      for (int64_t i = 0; i < n; ++i) {
        std::string name = candidate_tactic(g, i);
        if (name.empty()) continue;
        bool have = CudnnPlanStore::process().find(gkey + ";" + name) != nullptr;
        if (!have && g.build_plan_at_index(i).is_good()) {
          store_plan(g, gkey + ";" + name);
          have = true;
        }
        if (have && tune_level == 0) return;  // prepare() takes the first that builds
      }
    });
  }

  // The legacy runner's tune() (for graphs cuDNN's graph API refused), with its winner's time.
  Expected<std::string> tune_legacy(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in,
                                    const Tensors& out, void* workspace, size_t workspace_size, cudaStream_t stream,
                                    std::vector<net::TimedTactic>* timed, float* timed_ms) {
    std::vector<net::TimedTactic> legacy_timed;
    Expected<std::string> t = legacy_->tune(env, params, in, out, workspace, workspace_size, stream, &legacy_timed);
    for (const net::TimedTactic& c : legacy_timed) {
      if (t.has_value() && c.tactic == *t) *timed_ms = static_cast<float>(c.ms);
    }
    if (timed) timed->insert(timed->end(), legacy_timed.begin(), legacy_timed.end());
    return t;
  }

  // The cuDNN part of tune(): the winner's tactic, and its time in *timed_ms (left as it is when
  // none of the candidates ran and prepare()'s choice is kept untimed).
  Expected<std::string> tune_cudnn(const RunnerEnv& env, const Tensors& in, const Tensors& out, void* workspace,
                                   size_t workspace_size, cudaStream_t stream, std::vector<net::TimedTactic>* timed,
                                   float* timed_ms) {
    INGOT_CUDNN_TRY(cudnnSetStream(env.cudnn, stream));
    // A fresh graph and list of candidates (prepare may have built the recorded tactic only).
    INGOT_RETURN_IF_ERROR(build_graph(env));
    INGOT_RETURN_IF_ERROR(list_candidates(*graph_, allow_tensor_cores_, std::min(workspace_size, kMaxLayerWorkspace)));
    int64_t count = std::min(graph_->get_execution_plan_count(), candidates_for_level(env.tune_level));
    int64_t best = -1;
    std::unique_ptr<fe::graph::Graph> best_loaded;
    float best_ms = std::numeric_limits<float>::max();
    size_t best_ws = 0;
    Status failure = Status::ok();
    for (int64_t i = 0; i < count; ++i) {
      std::unique_ptr<fe::graph::Graph> loaded;
      int64_t ws = 0;
      if (!obtain_candidate(env, i, &loaded, &ws).is_ok() || static_cast<size_t>(ws) > workspace_size) continue;
      const fe::graph::Graph& g = loaded ? *loaded : *graph_;
      int64_t index = loaded ? 0 : i;
      Expected<float> ms = time_on_stream(stream, [&] { return run_cudnn(env, g, index, in, out, workspace, stream); });
      if (!ms.has_value()) {
        failure = ms.status();
        continue;
      }
      if (timed) timed->push_back({candidate_tactic(*graph_, i), static_cast<double>(*ms)});
      if (*ms < best_ms) best = i, best_ms = *ms, best_ws = static_cast<size_t>(ws), best_loaded = std::move(loaded);
    }
    if (best < 0) {
      // None of the first candidates built and ran: keep the plan prepare() would choose.
      INGOT_RETURN_IF_ERROR(build_graph(env));
      Status s = choose_plan(env);
      if (!s.is_ok()) return (failure.is_ok() ? s : failure).with_context("convolution: ");
      return tactic_ok_ ? tactic_ : candidate_tactic(*graph_, plan_index_);
    }
    std::string tactic = candidate_tactic(*graph_, best);
    keep_candidate(best);
    exec_ = std::move(best_loaded);  // null: the winner was built in graph_ (at plan_index_) and runs from there
    plan_index_ = best;
    workspace_ = best_ws;
    *timed_ms = best_ms;
    return tactic;
  }

  // Marks candidate `index`'s stored plan as the one this layer runs (the plan file keeps it).
  void keep_candidate(int64_t index) {
    std::string name = candidate_tactic(*graph_, index);
    if (!name.empty()) CudnnPlanStore::process().keep(key_ + ";" + name);
  }

  // A new operation graph for the shapes prepare() saw (its candidate list still empty).
  Status build_graph(const RunnerEnv& env) {
    INGOT_ASSIGN_OR_RETURN(ConvGraph cg, make_conv_graph(env.cudnn, params_, in_, out_, env.allow_tf32));
    graph_ = std::move(cg.graph);
    has_bias_ = cg.has_bias;
    has_residual_ = cg.has_residual;
    post_epilogue_ = cg.post_epilogue;
    allow_tensor_cores_ = cg.allow_tensor_cores;
    key_ = graph_key(params_, in_, out_, env.allow_tf32);
    return Status::ok();
  }

  // Candidate `index` of graph_'s list ready to run: the stored plan deserialized into *loaded,
  // or, when the store has none, built in graph_ (and added to the store); its workspace in *ws.
  Status obtain_candidate(const RunnerEnv& env, int64_t index, std::unique_ptr<fe::graph::Graph>* loaded, int64_t* ws) {
    loaded->reset();
    std::string name = candidate_tactic(*graph_, index);
    if (!name.empty()) {
      *loaded = load_plan(env.cudnn, key_ + ";" + name, ws);
      if (*loaded) return Status::ok();
    }
    INGOT_FE_TRY(graph_->build_plan_at_index(index));
    INGOT_FE_TRY(graph_->get_workspace_size_plan_at_index(index, *ws));
    if (!name.empty()) store_plan(*graph_, key_ + ";" + name);
    return Status::ok();
  }

  // The recorded tactic when it still builds for these shapes (from the store, else built),
  // else cuDNN's first heuristic candidate that builds within the workspace limit.
  Status choose_plan(const RunnerEnv& env) {
    exec_.reset();
    tactic_ok_ = false;
    int64_t engine = 0;
    std::unordered_map<fe::KnobType_t, int64_t> knobs;
    if (parse_tactic(tactic_, &engine, &knobs)) {
      int64_t ws = 0;
      exec_ = load_plan(env.cudnn, key_ + ";" + tactic_, &ws);
      if (exec_ && static_cast<size_t>(ws) <= kMaxLayerWorkspace) {
        workspace_ = static_cast<size_t>(ws);
        tactic_ok_ = true;
        CudnnPlanStore::process().keep(key_ + ";" + tactic_);
        return Status::ok();
      }
      exec_.reset();
      auto& g = *graph_;
      if (g.create_execution_plan(engine, knobs).is_good() && g.check_support().is_good() &&
          g.build_plans(fe::BuildPlanPolicy_t::HEURISTICS_CHOICE).is_good()) {
        if (g.get_workspace_size_plan_at_index(0, ws).is_good() && static_cast<size_t>(ws) <= kMaxLayerWorkspace) {
          store_plan(g, key_ + ";" + tactic_);
          CudnnPlanStore::process().keep(key_ + ";" + tactic_);
          plan_index_ = 0;
          workspace_ = static_cast<size_t>(ws);
          tactic_ok_ = true;
          return Status::ok();
        }
      }
      // Timed at another shape (a profile's opt) or on another GPU: cuDNN's heuristics decide.
      INGOT_RETURN_IF_ERROR(build_graph(env));
    }
    INGOT_RETURN_IF_ERROR(list_candidates(*graph_, allow_tensor_cores_, kMaxLayerWorkspace));
    int64_t n = graph_->get_execution_plan_count();
    for (int64_t i = 0; i < n; ++i) {
      std::unique_ptr<fe::graph::Graph> loaded;
      int64_t ws = 0;
      if (!obtain_candidate(env, i, &loaded, &ws).is_ok() || static_cast<size_t>(ws) > kMaxLayerWorkspace) continue;
      exec_ = std::move(loaded);
      plan_index_ = i;
      workspace_ = static_cast<size_t>(ws);
      keep_candidate(i);
      return Status::ok();
    }
    return unsupported("convolution: no cuDNN plan builds for this graph");
  }

  // Plan `index` of `g`, then our epilogue kernel for an activation cuDNN's graph lacks (so that
  // tuning compares the whole layer with our depthwise kernel's).
  Status run_cudnn(const RunnerEnv& env, const fe::graph::Graph& g, int64_t index, const Tensors& in, const Tensors& out,
                   void* workspace, cudaStream_t stream) {
    std::unordered_map<int64_t, void*> pack{{kX, in[0].data}, {kW, in[1].data}, {kY, out[0].data}};
    if (has_bias_) pack[kB] = in[2].data;
    if (has_residual_) pack[kZ] = in[3].data;
    auto st = g.execute_plan_at_index(env.cudnn, pack, workspace, index);
    if (st.is_bad()) return error(ErrorCode::kInternal, "cuDNN graph convolution failed: ", st.get_message());
    if (!post_epilogue_) return Status::ok();
    Epilogue e;
    e.activation = params_.activation;
    e.alpha = static_cast<float>(params_.act_alpha);
    e.beta = static_cast<float>(params_.act_beta);
    return launch_epilogue(out[0], e, stream);
  }

  std::string tactic_;
  bool tactic_ok_ = false;  // choose_plan() runs the recorded tactic
  net::ConvolutionParams params_;
  Tensors in_, out_;  // shapes and dtypes of the prepared layer (pointers are the enqueue's)
  std::string key_;   // the store key of this graph
  std::unique_ptr<fe::graph::Graph> graph_;  // the operation graph and its candidates
  std::unique_ptr<fe::graph::Graph> exec_;   // the chosen plan loaded from the store (else graph_'s plan_index_)
  std::unique_ptr<LayerRunner> legacy_;
  std::unique_ptr<ConvGemm> gemm_;
  int64_t plan_index_ = 0;
  size_t workspace_ = 0;
  const OwnKernel* own_ = nullptr;  // the kernel of ours this layer runs, if any
  bool use_legacy_ = false, use_gemm_ = false, has_bias_ = false, has_residual_ = false, post_epilogue_ = false;
  bool allow_tensor_cores_ = true;
};

}  // namespace

std::unique_ptr<LayerRunner> make_conv_runner(const std::string& tactic) {
  return std::make_unique<GraphConvRunner>(tactic);
}

bool depthwise_direct_timed() {
  const char* env = std::getenv("INGOT_CUDA_DEPTHWISE_DIRECT");
  return !(env && std::string_view(env) == "0");
}

bool small_input_conv_timed() {
  const char* env = std::getenv("INGOT_CUDA_SMALL_INPUT");
  return env && std::string_view(env) == "1";
}

}  // namespace ingot::runtime::cuda
