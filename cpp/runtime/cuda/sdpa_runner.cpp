// Attention layers on cuDNN's fused scaled-dot-product attention (flash-style: one kernel,
// scores never reach memory), through the cuDNN frontend. Half-precision q/k/v with head
// dims that are multiples of 8 up to 256, an optional mask (float: added to the scores; bool:
// turned into a 0 / -inf bias in the workspace first; any broadcast cuDNN accepts) and
// top-left causal masking. Everything else (fp32, bool masks,
// shapes cuDNN refuses when the layer is prepared) runs as GEMM + softmax + GEMM
// (matmul_runner.cpp). At build time either is timed against our own kernel
// (kernels/cuda/attention.cuh: small problems, e.g. batch 1, run faster on it) where that
// applies: the CUDA-core kernel and the tensor-core one with 1, 2 and 4 warps a block. The
// tactic records which: "cudnn-sdpa", "gemm-softmax-gemm", "ingot:attention" or
// "ingot:attention-mma-w<warps>".
#include <cudnn_frontend.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_map>

#include "net/network.h"
#include "runtime/cuda/cuda_util.h"
#include "runtime/cuda/cudnn_graph_store.h"
#include "runtime/cuda/runner.h"

namespace ingot::runtime::cuda {
namespace {

namespace fe = cudnn_frontend;

constexpr int64_t kQ = 1, kK = 2, kV = 3, kBias = 4, kO = 5;
constexpr const char* kSdpaTactic = "cudnn-sdpa";
constexpr const char* kGemmTactic = "gemm-softmax-gemm";
constexpr const char* kOwnTactic = "ingot:attention";  // kernels/cuda/attention.cuh
constexpr const char* kMmaTacticPrefix = "ingot:attention-mma-w";

// Our kernel a tactic names, if it names one of ours.
std::optional<kernels::cuda::AttentionKernel> own_kernel(const std::string& tactic) {
  if (tactic == kOwnTactic) return kernels::cuda::AttentionKernel{};
  for (int w : {1, 2, 4}) {
    if (tactic == kMmaTacticPrefix + std::to_string(w)) return kernels::cuda::AttentionKernel{.tensor_cores = true, .warps = w};
  }
  return std::nullopt;
}

std::string tactic_of(const kernels::cuda::AttentionKernel& k) {
  return k.tensor_cores ? kMmaTacticPrefix + std::to_string(k.warps) : std::string(kOwnTactic);
}

#define INGOT_FE_TRY(call)                                                                            \
  do {                                                                                                \
    auto ingot_fe_ = (call);                                                                          \
    if (ingot_fe_.is_bad()) {                                                                         \
      return ::ingot::unsupported("cuDNN SDPA: ", #call, ": ", ingot_fe_.get_message());              \
    }                                                                                                 \
  } while (0)

// An operand as cuDNN sees it: [B, H, rows, cols] dims and strides, and its first element's
// byte offset from the tensor's data.
struct Operand {
  std::vector<int64_t> dims, strides;
  int64_t byte_offset = 0;
};

// A packed [batch..., rows, cols] tensor: two batch dims are B and H, one is B (H = 1), more
// are folded into B (all but the last) and H (the last).
Operand packed_operand(const std::vector<int64_t>& dims) {
  size_t r = dims.size();
  int64_t b = 1, h = 1;
  if (r == 3) b = dims[0];
  for (size_t i = 0; r >= 4 && i + 3 < r; ++i) b *= dims[i];
  if (r >= 4) h = dims[r - 3];
  return {{b, h, dims[r - 2], dims[r - 1]}, {h * dims[r - 2] * dims[r - 1], dims[r - 2] * dims[r - 1], dims[r - 1], 1}, 0};
}

Expected<std::vector<int64_t>> concrete(const ir::Shape& s) {
  if (auto d = ir::static_dims(s)) return *d;
  return error(ErrorCode::kInternal, "SDPA: symbolic view ", ir::shape_str(s), " at run time");
}

// A strided operand (AttentionParams' view) of rank 3 or 4 over a tensor of `storage_numel`
// elements; rank 3 gets a unit head dim.
Expected<Operand> strided_operand(const ir::Shape& shape, const ir::Shape& strides, const ir::SymExpr& offset,
                                  int64_t storage_numel, size_t elem, const char* what) {
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> d, concrete(shape));
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> s, concrete(strides));
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> off, concrete({offset}));
  INGOT_RETURN_IF_ERROR(net::check_strided_view(what, d, s, off[0], storage_numel));
  if (d.size() == 3) {
    d.insert(d.begin() + 1, 1);
    s.insert(s.begin() + 1, s[1] * d[2]);
  }
  if (d.size() != 4) return unsupported("SDPA: strided ", what, " of rank ", d.size());
  return Operand{d, s, off[0] * static_cast<int64_t>(elem)};
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
    // INGOT_CUDA_ATTENTION=gemm forces the GEMM path (tests of its strided operands use it); any
    // value keeps our own kernel out (=cudnn: cuDNN's SDPA where it applies).
    const char* force = std::getenv("INGOT_CUDA_ATTENTION");
    use_own_ = false;
    std::optional<kernels::cuda::AttentionKernel> own = own_kernel(tactic_);
    if (own && !force && kernels::cuda::attention_supported(std::get<net::AttentionParams>(params), in, out, *own).is_ok()) {
      use_own_ = true;
      own_ = *own;
      *workspace = 0;
      return Status::ok();
    }
    use_gemm_ = tactic_ == kGemmTactic || (force && std::string(force) == "gemm");
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
    if (use_own_) return kernels::cuda::launch_attention(std::get<net::AttentionParams>(params), in, out, stream, own_);
    if (use_gemm_) return gemm_->enqueue(env, params, in, out, workspace, stream);
    INGOT_CUDNN_TRY(cudnnSetStream(env.cudnn, stream));
    auto at = [](void* p, int64_t bytes) { return static_cast<void*>(static_cast<uint8_t*>(p) + bytes); };
    std::unordered_map<int64_t, void*> pack{{kQ, at(in[0].data, q_.byte_offset)},
                                            {kK, at(in[1].data, k_.byte_offset)},
                                            {kV, at(in[2].data, v_.byte_offset)},
                                            {kO, out[0].data}};
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

  // Times what prepare() chose (cuDNN's SDPA, else the GEMM path) against our own kernels where
  // they apply, keeps the fastest and returns its tactic.
  Expected<std::string> tune(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                             void* workspace, size_t, cudaStream_t stream, std::vector<net::TimedTactic>* timed) override {
    const char* force = std::getenv("INGOT_CUDA_ATTENTION");
    use_own_ = false;
    std::string chosen = use_gemm_ ? kGemmTactic : kSdpaTactic;
    const auto& p = std::get<net::AttentionParams>(params);
    if (force || !kernels::cuda::attention_supported(p, in, out).is_ok()) return chosen;
    Expected<float> theirs = time_on_stream(stream, [&] { return enqueue(env, params, in, out, workspace, stream); });
    if (timed && theirs.has_value()) timed->push_back({chosen, static_cast<double>(*theirs)});
    std::optional<kernels::cuda::AttentionKernel> best;
    float best_ms = theirs.has_value() ? *theirs : 0.0f;
    std::vector<kernels::cuda::AttentionKernel> candidates{{}};
    for (int w : {1, 2, 4}) candidates.push_back({.tensor_cores = true, .warps = w});
    for (const auto& k : candidates) {
      if (!kernels::cuda::attention_supported(p, in, out, k).is_ok()) continue;
      Expected<float> ours = time_on_stream(stream, [&] { return kernels::cuda::launch_attention(p, in, out, stream, k); });
      if (!ours.has_value()) continue;
      if (timed) timed->push_back({tactic_of(k), static_cast<double>(*ours)});
      if ((!theirs.has_value() && !best) || *ours < best_ms) best = k, best_ms = *ours;
    }
    if (best) {
      use_own_ = true;
      own_ = *best;
      return tactic_of(*best);
    }
    if (!theirs.has_value()) return theirs.status().with_context("attention: ");
    return chosen;
  }

 private:
  // The operands' logical dims and cuDNN layouts (strided or packed).
  Status layouts(const net::AttentionParams& p, const Tensors& in, const Tensors& out, std::vector<int64_t>* qd,
                 std::vector<int64_t>* kd, std::vector<int64_t>* vd, std::vector<int64_t>* od) {
    size_t elem = ir::dtype_size(in[0].dtype);
    auto one = [&](const DeviceTensor& t, const ir::Shape& shape, const ir::Shape& strides, const ir::SymExpr& offset,
                   const char* what, std::vector<int64_t>* dims, Operand* op) -> Status {
      if (shape.empty()) {
        *dims = t.dims;
        *op = packed_operand(t.dims);
        return Status::ok();
      }
      INGOT_ASSIGN_OR_RETURN(*dims, concrete(shape));
      INGOT_ASSIGN_OR_RETURN(*op, strided_operand(shape, strides, offset, t.numel(), elem, what));
      return Status::ok();
    };
    INGOT_RETURN_IF_ERROR(one(in[0], p.q_shape, p.q_strides, p.q_offset, "q", qd, &q_));
    INGOT_RETURN_IF_ERROR(one(in[1], p.k_shape, p.k_strides, p.k_offset, "k", kd, &k_));
    INGOT_RETURN_IF_ERROR(one(in[2], p.v_shape, p.v_strides, p.v_offset, "v", vd, &v_));
    if (qd->size() < 3) return unsupported("SDPA ranks");
    *od = std::vector<int64_t>(qd->begin(), qd->end() - 1);
    od->push_back(vd->back());
    if (!p.strided_output()) {
      o_ = packed_operand(*od);
      return Status::ok();
    }
    // The output's strides are over the output tensor; it starts at its first element.
    return one(out[0], ir::shape_of(*od), p.out_strides, ir::SymExpr(0), "output", od, &o_);
  }

  Status build(const RunnerEnv& env, const net::AttentionParams& p, const Tensors& in, const Tensors& out) {
    const DeviceTensor& q = in[0];
    if (q.dtype != ir::DType::kFloat16 && q.dtype != ir::DType::kBFloat16) return unsupported("SDPA needs fp16/bf16");
    std::vector<int64_t> q_dims, k_dims, v_dims, o_dims;
    INGOT_RETURN_IF_ERROR(layouts(p, in, out, &q_dims, &k_dims, &v_dims, &o_dims));
    size_t r = q_dims.size();
    if (r < 3 || k_dims.size() != r || v_dims.size() != r) return unsupported("SDPA ranks");
    for (size_t i = 0; i + 2 < r; ++i) {
      if (q_dims[i] != o_dims[i] || k_dims[i] != o_dims[i] || v_dims[i] != o_dims[i]) {
        return unsupported("SDPA: broadcast batch dims");
      }
    }
    int64_t E = q_dims[r - 1], Ev = v_dims[r - 1];
    if (E % 8 || Ev % 8 || E > 256 || Ev > 256) return unsupported("SDPA head dims");
    INGOT_ASSIGN_OR_RETURN(fe::DataType_t dt, half_type(q.dtype));
    has_bias_ = in.size() > 3 && in[3].data;
    bool_mask_ = has_bias_ && in[3].dtype == ir::DType::kBool;
    bias_bytes_ = bool_mask_ ? (static_cast<size_t>(in[3].numel()) * ir::dtype_size(q.dtype) + 255) / 256 * 256 : 0;
    std::vector<int64_t> bd, bs;
    if (has_bias_) {
      const DeviceTensor& m = in[3];
      std::vector<int64_t> batch(o_dims.begin(), o_dims.end() - 2);
      if (!bias_layout(m.dims, batch, q_dims[r - 2], k_dims[r - 2], &bd, &bs)) return unsupported("SDPA: mask layout");
    }
    const std::vector<int64_t> &qd = q_.dims, &qs = q_.strides, &kd = k_.dims, &ks = k_.strides, &vd = v_.dims,
                               &vs = v_.strides, &od = o_.dims, &os = o_.strides;

    // BERT-base's 12 attention layers are one graph: the first builds its plan (tens of ms),
    // the others, and a later build in this process, load it from the plan store. The graph
    // below is a function of the layer's params and operands, as its timing key is.
    // INGOT_SDPA_PLAN_STORE=0 builds every layer's plan itself (verified on an H100 on 2026-12-07:
    // test_sdpa_gpu.py and BERT end to end, with the plan file, bench/NOTES.md note 46).
    const char* store_env = std::getenv("INGOT_SDPA_PLAN_STORE");
    const bool use_store = !(store_env && std::string(store_env) == "0");
    const std::string key = use_store ? graph_store_key(net::LayerParams(p), in, out, env.allow_tf32, ";sdpa-graph")
                                      : std::string();
    int64_t stored_ws = 0;
    if (auto loaded = use_store ? load_plan(env.cudnn, key, &stored_ws) : nullptr) {
      graph_ = std::move(loaded);
      workspace_ = static_cast<size_t>(stored_ws);
      if (bias_bytes_ + workspace_ > kMaxLayerWorkspace) return unsupported("SDPA: workspace");
      CudnnPlanStore::process().keep(key);
      return Status::ok();
    }

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
    if (use_store) {
      store_plan(g, key);
      CudnnPlanStore::process().keep(key);
    }
    return Status::ok();
  }

  std::string tactic_;
  std::unique_ptr<fe::graph::Graph> graph_;
  std::unique_ptr<LayerRunner> gemm_;
  Operand q_, k_, v_, o_;
  size_t workspace_ = 0, bias_bytes_ = 0;
  kernels::cuda::AttentionKernel own_;
  bool use_gemm_ = false, use_own_ = false, has_bias_ = false, bool_mask_ = false;
};

}  // namespace

std::unique_ptr<LayerRunner> make_attention_runner(const std::string& tactic) {
  return std::make_unique<SdpaRunner>(tactic);
}

}  // namespace ingot::runtime::cuda
