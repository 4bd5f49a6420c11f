// Attention layers on cuDNN's fused scaled-dot-product attention (flash-style: one kernel,
// scores never reach memory), through the cuDNN frontend. Half-precision q/k/v with head
// dims that are multiples of 8 up to 256, an optional mask (float: added to the scores; bool:
// turned into a 0 / -inf bias in the workspace first; any broadcast cuDNN accepts) and
// top-left causal masking. Everything else (fp32, bool masks,
// shapes cuDNN refuses when the layer is prepared) runs as GEMM + softmax + GEMM
// (matmul_runner.cpp). The tactic records which: "cudnn-sdpa" or "gemm-softmax-gemm".
#include <cudnn_frontend.h>

#include <unordered_map>

#include "runtime/cuda/cuda_util.h"
#include "runtime/cuda/runner.h"

namespace ingot::runtime::cuda {
namespace {

namespace fe = cudnn_frontend;

constexpr int64_t kQ = 1, kK = 2, kV = 3, kBias = 4, kO = 5;
constexpr const char* kSdpaTactic = "cudnn-sdpa";
constexpr const char* kGemmTactic = "gemm-softmax-gemm";

#define INGOT_FE_TRY(call)                                                                            \
  do {                                                                                                \
    auto ingot_fe_ = (call);                                                                          \
    if (ingot_fe_.is_bad()) {                                                                         \
      return ::ingot::unsupported("cuDNN SDPA: ", #call, ": ", ingot_fe_.get_message());              \
    }                                                                                                 \
  } while (0)

// [B, H, rows, cols] dims and packed strides of a [batch..., rows, cols] tensor: two batch dims
// are B and H, one is B (H = 1), more are folded into B (all but the last) and H (the last).
void bhsd(const std::vector<int64_t>& dims, std::vector<int64_t>* d, std::vector<int64_t>* s) {
  size_t r = dims.size();
  int64_t b = 1, h = 1;
  if (r == 3) b = dims[0];
  for (size_t i = 0; r >= 4 && i + 3 < r; ++i) b *= dims[i];
  if (r >= 4) h = dims[r - 3];
  *d = {b, h, dims[r - 2], dims[r - 1]};
  *s = {h * dims[r - 2] * dims[r - 1], dims[r - 2] * dims[r - 1], dims[r - 1], 1};
}

// The mask as a [B, H, L, S] bias: right-aligned against the output's [batch..., L, S] with
// broadcast (size-1 or missing) dims kept at size 1. False if a folded batch group mixes
// broadcast and real dims (then the GEMM path's general broadcasting is used).
bool bias_layout(const std::vector<int64_t>& mask, const std::vector<int64_t>& batch, int64_t L, int64_t S,
                 std::vector<int64_t>* d, std::vector<int64_t>* s) {
  std::vector<int64_t> full = batch;
  full.push_back(L), full.push_back(S);
  if (mask.size() > full.size()) return false;
  std::vector<int64_t> md(full.size(), 1);  // mask dims aligned to full
  for (size_t i = 0; i < mask.size(); ++i) md[full.size() - mask.size() + i] = mask[i];
  for (size_t i = 0; i < full.size(); ++i) {
    if (md[i] != 1 && md[i] != full[i]) return false;
  }
  // Group the batch dims as bhsd() does.
  size_t r = full.size();
  std::vector<std::vector<size_t>> groups(4);
  if (r == 3) groups[0] = {0};
  for (size_t i = 0; r >= 4 && i + 3 < r; ++i) groups[0].push_back(i);
  if (r >= 4) groups[1] = {r - 3};
  groups[2] = {r - 2}, groups[3] = {r - 1};
  std::vector<int64_t> packed(full.size(), 1);  // packed strides of the mask's own dims
  for (size_t i = full.size() - 1; i-- > 0;) packed[i] = packed[i + 1] * md[i + 1];
  d->assign(4, 1), s->assign(4, 1);
  for (size_t g = 0; g < 4; ++g) {
    int64_t n = 1;
    bool any_real = false, any_broadcast = false;
    for (size_t i : groups[g]) {
      n *= md[i];
      (md[i] == 1 && full[i] != 1 ? any_broadcast : any_real) = true;
    }
    if (any_real && any_broadcast) return false;
    (*d)[g] = n;
    (*s)[g] = groups[g].empty() ? 1 : packed[groups[g].back()];
  }
  return true;
}

Expected<fe::DataType_t> half_type(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat16: return fe::DataType_t::HALF;
    case ir::DType::kBFloat16: return fe::DataType_t::BFLOAT16;
    case ir::DType::kFloat32: return fe::DataType_t::FLOAT;
    default: return unsupported("cuDNN SDPA on ", ir::dtype_name(t));
  }
}

class SdpaRunner : public LayerRunner {
 public:
  explicit SdpaRunner(std::string tactic) : tactic_(std::move(tactic)) {}

  Status prepare(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                 size_t* workspace) override {
    use_gemm_ = tactic_ == kGemmTactic;
    if (!use_gemm_) {
      Status s = build(env, std::get<net::AttentionParams>(params), in, out);
      if (s.is_ok()) {
        *workspace = bias_bytes_ + workspace_;
        return Status::ok();
      }
      use_gemm_ = true;
      graph_.reset();
    }
    if (!gemm_) gemm_ = make_gemm_attention_runner(std::string());
    return gemm_->prepare(env, params, in, out, workspace);
  }

  Status enqueue(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                 void* workspace, cudaStream_t stream) override {
    if (use_gemm_) return gemm_->enqueue(env, params, in, out, workspace, stream);
    INGOT_CUDNN_TRY(cudnnSetStream(env.cudnn, stream));
    std::unordered_map<int64_t, void*> pack{{kQ, in[0].data}, {kK, in[1].data}, {kV, in[2].data}, {kO, out[0].data}};
    void* cudnn_ws = workspace;
    if (bool_mask_) {  // the bias lives at the start of the workspace
      INGOT_RETURN_IF_ERROR(launch_mask_to_bias(static_cast<const bool*>(in[3].data), workspace, in[0].dtype,
                                                in[3].numel(), stream));
      pack[kBias] = workspace;
      cudnn_ws = static_cast<uint8_t*>(workspace) + bias_bytes_;
    } else if (has_bias_) {
      pack[kBias] = in[3].data;
    }
    auto st = graph_->execute(env.cudnn, pack, cudnn_ws);
    if (st.is_bad()) return error(ErrorCode::kInternal, "cuDNN SDPA failed: ", st.get_message());
    return Status::ok();
  }

  // Nothing to time: records which implementation prepare() chose, for the inspector.
  Expected<std::string> tune(const RunnerEnv&, const net::LayerParams&, const Tensors&, const Tensors&, void*, size_t,
                             cudaStream_t, std::vector<net::TimedTactic>*) override {
    return std::string(use_gemm_ ? kGemmTactic : kSdpaTactic);
  }

 private:
  Status build(const RunnerEnv& env, const net::AttentionParams& p, const Tensors& in, const Tensors& out) {
    const DeviceTensor &q = in[0], &k = in[1], &v = in[2], &o = out[0];
    if (q.dtype != ir::DType::kFloat16 && q.dtype != ir::DType::kBFloat16) return unsupported("SDPA needs fp16/bf16");
    size_t r = q.dims.size();
    if (r < 3 || k.dims.size() != r || v.dims.size() != r || o.dims.size() != r) return unsupported("SDPA ranks");
    for (size_t i = 0; i + 2 < r; ++i) {
      if (q.dims[i] != o.dims[i] || k.dims[i] != o.dims[i] || v.dims[i] != o.dims[i]) {
        return unsupported("SDPA: broadcast batch dims");
      }
    }
    int64_t E = q.dims[r - 1], Ev = v.dims[r - 1];
    if (E % 8 || Ev % 8 || E > 256 || Ev > 256) return unsupported("SDPA head dims");
    INGOT_ASSIGN_OR_RETURN(fe::DataType_t dt, half_type(q.dtype));
    has_bias_ = in.size() > 3 && in[3].data;
    bool_mask_ = has_bias_ && in[3].dtype == ir::DType::kBool;
    bias_bytes_ = bool_mask_ ? (static_cast<size_t>(in[3].numel()) * ir::dtype_size(q.dtype) + 255) / 256 * 256 : 0;
    std::vector<int64_t> bd, bs;
    if (has_bias_) {
      const DeviceTensor& m = in[3];
      std::vector<int64_t> batch(o.dims.begin(), o.dims.end() - 2);
      if (!bias_layout(m.dims, batch, q.dims[r - 2], k.dims[r - 2], &bd, &bs)) return unsupported("SDPA: mask layout");
    }
    std::vector<int64_t> qd, qs, kd, ks, vd, vs, od, os;
    bhsd(q.dims, &qd, &qs), bhsd(k.dims, &kd, &ks), bhsd(v.dims, &vd, &vs), bhsd(o.dims, &od, &os);

    graph_ = std::make_unique<fe::graph::Graph>();
    auto& g = *graph_;
    g.set_io_data_type(dt).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(fe::DataType_t::FLOAT);
    auto Q = g.tensor(fe::graph::Tensor_attributes().set_name("q").set_uid(kQ).set_dim(qd).set_stride(qs));
    auto K = g.tensor(fe::graph::Tensor_attributes().set_name("k").set_uid(kK).set_dim(kd).set_stride(ks));
    auto V = g.tensor(fe::graph::Tensor_attributes().set_name("v").set_uid(kV).set_dim(vd).set_stride(vs));
    auto attrs = fe::graph::SDPA_attributes().set_name("sdpa").set_is_inference(true).set_attn_scale(static_cast<float>(p.scale));
    if (p.causal) attrs.set_causal_mask(true);
    if (has_bias_) {
      INGOT_ASSIGN_OR_RETURN(fe::DataType_t bt, half_type(bool_mask_ ? q.dtype : in[3].dtype));
      auto B = g.tensor(fe::graph::Tensor_attributes().set_name("bias").set_uid(kBias).set_dim(bd).set_stride(bs).set_data_type(bt));
      attrs.set_bias(B);
    }
    auto [O, stats] = g.sdpa(Q, K, V, attrs);
    (void)stats;
    O->set_output(true).set_uid(kO).set_dim(od).set_stride(os).set_data_type(dt);
    INGOT_FE_TRY(g.validate());
    INGOT_FE_TRY(g.build_operation_graph(env.cudnn));
    INGOT_FE_TRY(g.create_execution_plans({fe::HeurMode_t::A}));
    g.deselect_workspace_greater_than(static_cast<int64_t>(kMaxLayerWorkspace));
    INGOT_FE_TRY(g.check_support());
    INGOT_FE_TRY(g.build_plans(fe::BuildPlanPolicy_t::HEURISTICS_CHOICE));
    int64_t ws = 0;
    INGOT_FE_TRY(g.get_workspace_size(ws));
    workspace_ = static_cast<size_t>(ws);
    if (bias_bytes_ + workspace_ > kMaxLayerWorkspace) return unsupported("SDPA: workspace");
    return Status::ok();
  }

  std::string tactic_;
  std::unique_ptr<fe::graph::Graph> graph_;
  std::unique_ptr<LayerRunner> gemm_;
  size_t workspace_ = 0, bias_bytes_ = 0;
  bool use_gemm_ = false, has_bias_ = false, bool_mask_ = false;
};

}  // namespace

std::unique_ptr<LayerRunner> make_attention_runner(const std::string& tactic) {
  return std::make_unique<SdpaRunner>(tactic);
}

}  // namespace ingot::runtime::cuda
