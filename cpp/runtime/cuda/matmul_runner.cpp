// MatMul layers on cuBLASLt: bias and ReLU / tanh-GELU in cuBLASLt's epilogue, the residual
// as its C matrix, other activations (and biases that are not a row vector) by our epilogue.
// Products with few rows (a [M, K] by b [N, K], M <= kLinearMaxRows: transformer layers at small
// batch) also time our tensor-core kernel (kernels/cuda/linear_mma.cuh) in each tile and split,
// bias, residual and activation included, against cuBLASLt's best with its epilogue launches;
// the tactic "ingot:linear-<rows>x<cols>-s<split>" records it when it wins. For now that needs
// INGOT_CUDA_MATMUL=timed at build time: the kernel has passed the emulated tests but has not
// yet run on a GPU (bench/NOTES.md note 41), so by default the build keeps to cuBLASLt.
// INGOT_CUDA_MATMUL=linear takes our fastest wherever it applies, whatever the timing (tests).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "net/network.h"
#include "runtime/cuda/cuda_util.h"
#include "runtime/cuda/gemm.h"
#include "runtime/cuda/runner.h"

namespace ingot::runtime::cuda {
namespace {

int64_t prod(const std::vector<int64_t>& d, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= d[i];
  return p;
}

constexpr const char* kLinearTacticPrefix = "ingot:linear-";
// Rows up to which the build times our kernel: beyond, its simple mma.sync main loop loses to
// cuBLASLt's (the products are compute-bound there), so timing it would only cost build time.
constexpr int64_t kLinearMaxRows = 1024;

std::string tactic_of(const kernels::cuda::LinearKernel& k) {
  return kLinearTacticPrefix + std::to_string(k.block_rows) + "x" + std::to_string(k.block_cols) + "-s" +
         std::to_string(k.split);
}

// Our kernel a tactic names, if it names one.
std::optional<kernels::cuda::LinearKernel> linear_kernel_of(const std::string& tactic) {
  if (tactic.rfind(kLinearTacticPrefix, 0) != 0) return std::nullopt;
  kernels::cuda::LinearKernel k;
  char tail = 0;
  if (std::sscanf(tactic.c_str() + std::char_traits<char>::length(kLinearTacticPrefix), "%dx%d-s%d%c", &k.block_rows,
                  &k.block_cols, &k.split, &tail) != 3) {
    return std::nullopt;
  }
  return k;
}

// Every tile and split of our kernel (linear_supported() says which run a layer).
std::vector<kernels::cuda::LinearKernel> linear_candidates() {
  std::vector<kernels::cuda::LinearKernel> v;
  for (auto [rows, cols] : {std::pair{128, 64}, std::pair{64, 128}, std::pair{64, 64}}) {
    for (int split : {1, 2, 4, 8}) v.push_back({.block_rows = rows, .block_cols = cols, .split = split});
  }
  return v;
}

class MatMulRunner : public LayerRunner {
 public:
  explicit MatMulRunner(std::string tactic) : tactic_(std::move(tactic)) {}

  Status prepare(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                 size_t* workspace) override {
    const auto& p = std::get<net::MatMulParams>(params);
    const DeviceTensor &a = in[0], &b = in[1], &d = out[0];
    size_t ra = a.dims.size(), rb = b.dims.size(), rd = d.dims.size();
    GemmShape s;
    s.trans_a = p.transpose_a;
    s.trans_b = p.transpose_b;
    s.m = p.transpose_a ? a.dims[ra - 1] : a.dims[ra - 2];
    s.k = p.transpose_a ? a.dims[ra - 2] : a.dims[ra - 1];
    s.n = p.transpose_b ? b.dims[rb - 2] : b.dims[rb - 1];
    int64_t batch_a = prod(a.dims, 0, ra - 2), batch_b = prod(b.dims, 0, rb - 2), batch = prod(d.dims, 0, rd - 2);
    if (batch_b == 1 && !p.transpose_a && batch_a == batch) {
      s.m *= batch;  // B is shared: one product over all rows of A
    } else if (batch_a == batch && batch_b == batch) {
      s.batch = batch;
      s.stride_a = s.m * s.k, s.stride_b = s.k * s.n, s.stride_d = s.m * s.n;
    } else if (batch_a == 1 && batch_b == batch) {
      s.batch = batch;
      s.stride_a = 0, s.stride_b = s.k * s.n, s.stride_d = s.m * s.n;
    } else if (batch_b == 1 && batch_a == batch) {
      s.batch = batch;
      s.stride_a = s.m * s.k, s.stride_b = 0, s.stride_d = s.m * s.n;
    } else {
      return unsupported("matmul: batch broadcast of ", ingot::shape_str(a.dims), " and ", ingot::shape_str(b.dims),
                         " needs an expanded operand");
    }
    s.a_type = a.dtype, s.b_type = b.dtype, s.d_type = d.dtype;
    s.allow_tf32 = env.allow_tf32;
    bool has_bias = in.size() > 2 && in[2].data;
    vector_bias_ = has_bias && in[2].numel() == s.n && (in[2].dims.empty() || in[2].dims.back() == s.n);
    residual_ = in.size() > 3 && in[3].data;
    // cuBLASLt applies its activation before anything we add afterwards: only use it when the
    // bias (if any) is its row vector.
    act_in_lt_ = (p.activation == net::UnaryOp::kIdentity || p.activation == net::UnaryOp::kRelu ||
                  p.activation == net::UnaryOp::kGeluTanh) &&
                 (!has_bias || vector_bias_);
    s.bias = vector_bias_;
    if (p.activation == net::UnaryOp::kRelu) s.epilogue = vector_bias_ ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
    else if (p.activation == net::UnaryOp::kGeluTanh) s.epilogue = vector_bias_ ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
    else s.epilogue = vector_bias_ ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    if (!act_in_lt_) s.epilogue = vector_bias_ ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    if (!act_in_lt_ && !epilogue_supports(p.activation)) {
      return unsupported("matmul: activation ", net::enum_name(p.activation), " cannot be fused on the GPU");
    }
    // Our kernel where the tactic names it and it takes these tensors; cuBLASLt stays configured
    // (the heuristic's choice) for tensors it refuses at enqueue time.
    own_ = linear_kernel_of(tactic_);
    if (own_ && !kernels::cuda::linear_supported(p, in, out, *own_).is_ok()) own_.reset();
    INGOT_RETURN_IF_ERROR(gemm_.configure(env.lt, s, own_ ? std::string() : tactic_, kMaxLayerWorkspace));
    *workspace = gemm_.workspace();
    rows_ = s.batch == 1 ? s.m : 0;
    return Status::ok();
  }

  Status enqueue(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                 void* workspace, cudaStream_t stream) override {
    const auto& p = std::get<net::MatMulParams>(params);
    if (own_) {
      kernels::cuda::LinearKernel k = *own_;
      k.constant_b = env.is_constant(in[1]);
      // launch_linear checks the tensors before it launches: where it refuses these (kUnsupported,
      // nothing enqueued), cuBLASLt runs the layer.
      Status s = kernels::cuda::launch_linear(p, in, out, stream, k);
      if (s.code() != ErrorCode::kUnsupported) return s;
    }
    return enqueue_cublas(env, p, in, out, workspace, stream);
  }

  Expected<std::string> tune(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                             void* workspace, size_t workspace_size, cudaStream_t stream,
                             std::vector<net::TimedTactic>* timed) override {
    const auto& p = std::get<net::MatMulParams>(params);
    own_.reset();
    INGOT_ASSIGN_OR_RETURN(std::string chosen,
                           gemm_.tune(env.lt, in[0].data, in[1].data, out[0].data, vector_bias_ ? in[2].data : nullptr,
                                      1.0f, workspace, workspace_size, stream, timed,
                                      gemm_candidates_for_level(env.tune_level),
                                      env.wide_gemm_search ? 3 * gemm_candidates_for_level(env.tune_level) : 0));
    const char* force_env = std::getenv("INGOT_CUDA_MATMUL");
    const std::string force = force_env ? force_env : "";
    std::vector<kernels::cuda::LinearKernel> ours;
    const bool time_ours = force == "linear" || force == "timed";
    if (time_ours && rows_ > 0 && (rows_ <= kLinearMaxRows || force == "linear")) {
      for (auto k : linear_candidates()) {
        k.constant_b = env.is_constant(in[1]);
        if (kernels::cuda::linear_supported(p, in, out, k).is_ok()) ours.push_back(k);
      }
    }
    if (ours.empty()) return chosen;
    // cuBLASLt's best as the layer runs it (with our epilogue launches, if any) against ours.
    Expected<float> theirs = time_on_stream(stream, [&] { return enqueue_cublas(env, p, in, out, workspace, stream); });
    std::optional<kernels::cuda::LinearKernel> best;
    float best_ms = theirs.has_value() ? *theirs : 0.0f;
    for (const auto& k : ours) {
      Expected<float> ms = time_on_stream(stream, [&] { return kernels::cuda::launch_linear(p, in, out, stream, k); });
      if (!ms.has_value()) continue;
      if (timed) timed->push_back({tactic_of(k), static_cast<double>(*ms)});
      const bool beats = (!theirs.has_value() || force == "linear") && !best;
      if (beats || *ms < best_ms) best = k, best_ms = *ms;
    }
    cudaGetLastError();
    if (!best) {
      if (!theirs.has_value()) return theirs.status().with_context("matmul: ");
      return chosen;
    }
    own_ = best;
    return tactic_of(*best);
  }

 private:
  Status enqueue_cublas(const RunnerEnv& env, const net::MatMulParams& p, const Tensors& in, const Tensors& out,
                        void* workspace, cudaStream_t stream) {
    const void* bias = vector_bias_ ? in[2].data : nullptr;
    const void* c = residual_ ? in[3].data : nullptr;
    INGOT_RETURN_IF_ERROR(gemm_.run(env.lt, in[0].data, in[1].data, c, out[0].data, bias, 1.0f, residual_ ? 1.0f : 0.0f,
                                    workspace, stream));
    bool general_bias = in.size() > 2 && in[2].data && !vector_bias_;
    if (general_bias) {
      INGOT_RETURN_IF_ERROR(kernels::cuda::launch(net::ElementwiseParams{net::BinaryOp::kAdd}, {out[0], in[2]}, {out[0]}, stream));
    }
    if (!act_in_lt_) {
      Epilogue e;
      e.activation = p.activation;
      e.alpha = static_cast<float>(p.act_alpha);
      e.beta = static_cast<float>(p.act_beta);
      INGOT_RETURN_IF_ERROR(launch_epilogue(out[0], e, stream));
    }
    return Status::ok();
  }

  std::string tactic_;
  Gemm gemm_;
  bool vector_bias_ = false, residual_ = false, act_in_lt_ = true;
  std::optional<kernels::cuda::LinearKernel> own_;  // our kernel runs the layer
  int64_t rows_ = 0;                                 // M of an unbatched product, else 0
};

Expected<std::vector<int64_t>> concrete(const ir::Shape& s) {
  if (auto d = ir::static_dims(s)) return *d;
  return error(ErrorCode::kInternal, "attention: symbolic view ", ir::shape_str(s), " at run time");
}

size_t align256(size_t n) { return (n + 255) / 256 * 256; }

// softmax(q k^T * scale + mask) v as two batched products around a masked softmax. Strided
// operands are packed into the workspace first, and a strided output is computed packed there
// and then scattered.
class AttentionRunner : public LayerRunner {
 public:
  explicit AttentionRunner(std::string tactic) : tactic_(std::move(tactic)) {}

  Status prepare(const RunnerEnv& env, const net::LayerParams& params, const Tensors& in_, const Tensors& out_,
                 size_t* workspace) override {
    const auto& p = std::get<net::AttentionParams>(params);
    Tensors in = in_, out = out_;
    INGOT_RETURN_IF_ERROR(plan_packing(p, &in, &out));
    const DeviceTensor &q = in[0], &k = in[1], &v = in[2];
    size_t r = q.dims.size();
    L_ = q.dims[r - 2], E_ = q.dims[r - 1], S_ = k.dims[r - 2], Ev_ = v.dims[r - 1];
    batch_ = prod(out[0].dims, 0, r - 2);
    if (prod(q.dims, 0, r - 2) != batch_ || prod(k.dims, 0, r - 2) != batch_ || prod(v.dims, 0, r - 2) != batch_) {
      return unsupported("attention: q, k and v need the same batch dims");
    }
    scale_ = static_cast<float>(p.scale);
    GemmShape s1;
    s1.m = L_, s1.n = S_, s1.k = E_, s1.trans_b = true, s1.batch = batch_;
    s1.stride_a = L_ * E_, s1.stride_b = S_ * E_, s1.stride_d = L_ * S_;
    s1.a_type = s1.b_type = q.dtype, s1.d_type = ir::DType::kFloat32;
    s1.allow_tf32 = env.allow_tf32;
    INGOT_RETURN_IF_ERROR(scores_.configure(env.lt, s1, "", kMaxLayerWorkspace));
    GemmShape s2;
    s2.m = L_, s2.n = Ev_, s2.k = S_, s2.batch = batch_;
    s2.stride_a = L_ * S_, s2.stride_b = S_ * Ev_, s2.stride_d = L_ * Ev_;
    s2.a_type = s2.b_type = s2.d_type = q.dtype;
    s2.allow_tf32 = env.allow_tf32;
    INGOT_RETURN_IF_ERROR(values_.configure(env.lt, s2, "", kMaxLayerWorkspace));
    scores_bytes_ = align(static_cast<size_t>(batch_ * L_ * S_) * 4);
    probs_bytes_ = align(static_cast<size_t>(batch_ * L_ * S_) * ir::dtype_size(q.dtype));
    gemm_bytes_ = std::max(scores_.workspace(), values_.workspace());
    *workspace = packing_bytes_ + scores_bytes_ + probs_bytes_ + gemm_bytes_;

    sm_ = AttentionSoftmax{};
    sm_.batch = batch_, sm_.rows = L_, sm_.cols = S_, sm_.causal = p.causal;
    if (in.size() > 3 && in[3].data) {
      const DeviceTensor& m = in[3];
      size_t mr = m.dims.size();
      std::vector<int64_t> batch_dims(out[0].dims.begin(), out[0].dims.end() - 2);
      if (batch_dims.size() > 6) return unsupported("attention: more than 6 batch dims");
      // Right-aligned strides of the mask against [batch..., L, S]; broadcast dims get 0.
      std::vector<int64_t> full = batch_dims;
      full.push_back(L_);
      full.push_back(S_);
      std::vector<int64_t> strides(full.size(), 0);
      int64_t st = 1;
      for (size_t i = 0; i < mr; ++i) {
        size_t md = mr - 1 - i, fd = full.size() - 1 - i;
        strides[fd] = m.dims[md] == 1 ? 0 : st;
        st *= m.dims[md];
      }
      sm_.mask_dtype = m.dtype;
      sm_.mask_batch_rank = static_cast<int>(batch_dims.size());
      for (size_t i = 0; i < batch_dims.size(); ++i) {
        sm_.mask_batch_dims[i] = batch_dims[i];
        sm_.mask_batch_strides[i] = strides[i];
      }
      sm_.mask_row_stride = strides[full.size() - 2];
      sm_.mask_col_stride = strides[full.size() - 1];
    }
    return Status::ok();
  }

  Status enqueue(const RunnerEnv& env, const net::LayerParams&, const Tensors& in_, const Tensors& out_,
                 void* workspace, cudaStream_t stream) override {
    Tensors in = in_, out = out_;
    for (size_t i = 0; i < 3; ++i) {
      if (!packed_[i]) continue;
      DeviceTensor dense{static_cast<uint8_t*>(workspace) + packed_offset_[i], in_[i].dtype, packed_[i]->dims};
      INGOT_RETURN_IF_ERROR(kernels::cuda::copy_strided(in_[i], packed_[i]->strides, packed_[i]->offset, dense, stream));
      in[i] = dense;
    }
    if (scatter_) out[0] = DeviceTensor{static_cast<uint8_t*>(workspace) + packed_offset_[3], out_[0].dtype, scatter_->dims};
    INGOT_RETURN_IF_ERROR(run(env, in, out, static_cast<uint8_t*>(workspace) + packing_bytes_, stream));
    if (!scatter_) return Status::ok();
    DeviceTensor dst{out_[0].data, out_[0].dtype, scatter_->dst_dims};
    return kernels::cuda::copy_strided(out[0], scatter_->strides, 0, dst, stream);
  }

 private:
  struct View {
    std::vector<int64_t> dims, strides;
    int64_t offset = 0;
  };
  // The output as a gather: the output tensor in memory order (its dims ordered by stride)
  // reads the packed logical result at `strides`.
  struct Scatter {
    std::vector<int64_t> dims, dst_dims, strides;
  };

  // Replaces strided operands (and a strided output) in `in` / `out` by dense tensors of their
  // logical shapes and reserves workspace for them; enqueue() packs and scatters.
  Status plan_packing(const net::AttentionParams& p, Tensors* in, Tensors* out) {
    packing_bytes_ = 0;
    const ir::Shape* shapes[] = {&p.q_shape, &p.k_shape, &p.v_shape};
    const ir::Shape* strides[] = {&p.q_strides, &p.k_strides, &p.v_strides};
    const ir::SymExpr* offsets[] = {&p.q_offset, &p.k_offset, &p.v_offset};
    for (size_t i = 0; i < 3; ++i) {
      packed_[i].reset();
      if (shapes[i]->empty()) continue;
      View v;
      INGOT_ASSIGN_OR_RETURN(v.dims, concrete(*shapes[i]));
      INGOT_ASSIGN_OR_RETURN(v.strides, concrete(*strides[i]));
      INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> off, concrete({*offsets[i]}));
      v.offset = off[0];
      INGOT_RETURN_IF_ERROR(net::check_strided_view("attention operand", v.dims, v.strides, v.offset, (*in)[i].numel()));
      (*in)[i].dims = v.dims;
      packed_offset_[i] = packing_bytes_;
      packing_bytes_ += align256(static_cast<size_t>((*in)[i].numel()) * ir::dtype_size((*in)[i].dtype));
      packed_[i] = std::move(v);
    }
    scatter_.reset();
    if (!p.strided_output()) return Status::ok();
    const std::vector<int64_t> &qd = (*in)[0].dims, &vd = (*in)[2].dims;
    Scatter sc;
    sc.dims.assign(qd.begin(), qd.end() - 1);
    sc.dims.push_back(vd.back());
    INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> os, concrete(p.out_strides));
    if (os.size() != sc.dims.size()) return invalid_argument("attention: output strides do not match its rank");
    INGOT_RETURN_IF_ERROR(net::check_strided_view("attention output", sc.dims, os, 0, (*out)[0].numel()));
    std::vector<int64_t> packed(sc.dims.size(), 1);
    for (size_t d = packed.size() - 1; d-- > 0;) packed[d] = packed[d + 1] * sc.dims[d + 1];
    std::vector<size_t> order;
    for (size_t d = 0; d < sc.dims.size(); ++d) {
      if (sc.dims[d] != 1) order.push_back(d);
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return os[a] > os[b]; });
    for (size_t d : order) sc.dst_dims.push_back(sc.dims[d]), sc.strides.push_back(packed[d]);
    if (order.empty()) sc.dst_dims = {1}, sc.strides = {0};
    (*out)[0].dims = sc.dims;
    packed_offset_[3] = packing_bytes_;
    packing_bytes_ += align256(static_cast<size_t>((*out)[0].numel()) * ir::dtype_size((*out)[0].dtype));
    scatter_ = std::move(sc);
    return Status::ok();
  }

  Status run(const RunnerEnv& env, const Tensors& in, const Tensors& out, void* workspace, cudaStream_t stream) {
    auto* base = static_cast<uint8_t*>(workspace);
    auto* scores = reinterpret_cast<float*>(base);
    void* probs = base + scores_bytes_;
    void* gemm_ws = base + scores_bytes_ + probs_bytes_;
    INGOT_RETURN_IF_ERROR(scores_.run(env.lt, in[0].data, in[1].data, nullptr, scores, nullptr, scale_, 0.0f, gemm_ws, stream));
    AttentionSoftmax sm = sm_;
    sm.mask = in.size() > 3 ? in[3].data : nullptr;
    INGOT_RETURN_IF_ERROR(launch_attention_softmax(scores, probs, in[0].dtype, sm, stream));
    return values_.run(env.lt, probs, in[2].data, nullptr, out[0].data, nullptr, 1.0f, 0.0f, gemm_ws, stream);
  }

  static size_t align(size_t n) { return align256(n); }
  std::optional<View> packed_[3];
  std::optional<Scatter> scatter_;
  size_t packed_offset_[4] = {0, 0, 0, 0};
  size_t packing_bytes_ = 0;
  std::string tactic_;
  Gemm scores_, values_;
  AttentionSoftmax sm_;
  int64_t L_ = 0, E_ = 0, S_ = 0, Ev_ = 0, batch_ = 1;
  float scale_ = 1;
  size_t scores_bytes_ = 0, probs_bytes_ = 0, gemm_bytes_ = 0;
};

}  // namespace

std::unique_ptr<LayerRunner> make_matmul_runner(const std::string& tactic) { return std::make_unique<MatMulRunner>(tactic); }
std::unique_ptr<LayerRunner> make_gemm_attention_runner(const std::string& tactic) {
  return std::make_unique<AttentionRunner>(tactic);
}

}  // namespace ingot::runtime::cuda
