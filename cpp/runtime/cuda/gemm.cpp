#include "runtime/cuda/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "runtime/cuda/cuda_util.h"
#include "runtime/gemm_search.h"

namespace ingot::runtime::cuda {

namespace {

constexpr const char* kTacticPrefix = "lt:";

std::string encode_algo(const cublasLtMatmulAlgo_t& algo) {
  static const char* hex = "0123456789abcdef";
  std::string s = kTacticPrefix;
  const auto* bytes = reinterpret_cast<const uint8_t*>(&algo);
  for (size_t i = 0; i < sizeof(algo); ++i) {
    s += hex[bytes[i] >> 4];
    s += hex[bytes[i] & 15];
  }
  return s;
}

bool decode_algo(const std::string& s, cublasLtMatmulAlgo_t* algo) {
  size_t p = std::strlen(kTacticPrefix);
  if (s.compare(0, p, kTacticPrefix) != 0 || s.size() != p + 2 * sizeof(*algo)) return false;
  auto* bytes = reinterpret_cast<uint8_t*>(algo);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < sizeof(*algo); ++i) {
    int hi = nibble(s[p + 2 * i]), lo = nibble(s[p + 2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

Status set_batch(cublasLtMatrixLayout_t l, int64_t batch, int64_t stride) {
  if (batch <= 1) return Status::ok();
  int32_t count = static_cast<int32_t>(batch);
  INGOT_CUBLAS_TRY(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
  INGOT_CUBLAS_TRY(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  return Status::ok();
}

template <typename T>
bool get_config(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoConfigAttributes_t attr, T* value) {
  size_t written = 0;
  return cublasLtMatmulAlgoConfigGetAttribute(&algo, attr, value, sizeof(T), &written) == CUBLAS_STATUS_SUCCESS &&
         written == sizeof(T);
}

template <typename T>
bool set_config(cublasLtMatmulAlgo_t* algo, cublasLtMatmulAlgoConfigAttributes_t attr, T value) {
  return cublasLtMatmulAlgoConfigSetAttribute(algo, attr, &value, sizeof(T)) == CUBLAS_STATUS_SUCCESS;
}

std::optional<runtime::LtConfig> config_of(const cublasLtMatmulAlgo_t& algo) {
  runtime::LtConfig c;
  if (!get_config(algo, CUBLASLT_ALGO_CONFIG_ID, &c.algo) || !get_config(algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &c.tile) ||
      !get_config(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &c.stages) ||
      !get_config(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &c.splitk) ||
      !get_config(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &c.reduction)) {
    return std::nullopt;
  }
  return c;
}

std::vector<uint32_t> cap_ids(const cublasLtMatmulAlgo_t& algo, cublasLtMatmulAlgoCapAttributes_t attr) {
  size_t bytes = 0;
  if (cublasLtMatmulAlgoCapGetAttribute(&algo, attr, nullptr, 0, &bytes) != CUBLAS_STATUS_SUCCESS) return {};
  std::vector<uint32_t> ids(bytes / sizeof(uint32_t));
  if (ids.empty()) return {};
  if (cublasLtMatmulAlgoCapGetAttribute(&algo, attr, ids.data(), ids.size() * sizeof(uint32_t), &bytes) !=
      CUBLAS_STATUS_SUCCESS) {
    return {};
  }
  ids.resize(bytes / sizeof(uint32_t));
  return ids;
}

std::optional<runtime::LtCaps> caps_of(const cublasLtMatmulAlgo_t& algo) {
  runtime::LtCaps caps;
  int32_t splitk = 0;
  size_t written = 0;
  if (cublasLtMatmulAlgoCapGetAttribute(&algo, CUBLASLT_ALGO_CAP_SPLITK_SUPPORT, &splitk, sizeof(splitk), &written) !=
          CUBLAS_STATUS_SUCCESS ||
      cublasLtMatmulAlgoCapGetAttribute(&algo, CUBLASLT_ALGO_CAP_REDUCTION_SCHEME_MASK, &caps.reduction_mask,
                                        sizeof(caps.reduction_mask), &written) != CUBLAS_STATUS_SUCCESS) {
    return std::nullopt;
  }
  caps.splitk = splitk != 0;
  caps.tiles = cap_ids(algo, CUBLASLT_ALGO_CAP_TILE_IDS);
  caps.stages = cap_ids(algo, CUBLASLT_ALGO_CAP_STAGES_IDS);
  // The undefined tile / stage count (0) lets cuBLASLt pick; the seed's own value is tried anyway.
  std::erase(caps.tiles, 0u);
  std::erase(caps.stages, 0u);
  return caps;
}

}  // namespace

Expected<bool> wide_gemm_search_from_env() {
  const char* env = std::getenv("INGOT_GEMM_SEARCH");
  if (!env || !*env || std::strcmp(env, "heuristic") == 0) return false;
  if (std::strcmp(env, "wide") == 0) return true;
  return error(ErrorCode::kInvalidArgument, "INGOT_GEMM_SEARCH='", env,
               "': expected 'heuristic' (cuBLASLt's own candidates) or 'wide' (also their split-K / tile variants)");
}

std::vector<cublasLtMatmulHeuristicResult_t> Gemm::variants_of(
    cublasLtHandle_t lt, const std::vector<cublasLtMatmulHeuristicResult_t>& seeds, int count,
    size_t max_workspace) const {
  std::vector<cublasLtMatmulHeuristicResult_t> out;
  if (count <= 0 || seeds.empty()) return out;
  std::vector<runtime::LtConfig> configs;
  std::vector<const cublasLtMatmulHeuristicResult_t*> usable;
  for (const auto& r : seeds) {
    if (auto c = config_of(r.algo)) {
      configs.push_back(*c);
      usable.push_back(&r);
    }
  }
  auto caps = [&](size_t i) { return caps_of(usable[i]->algo); };
  constexpr size_t kMaxChecked = 4096;  // cublasLtMatmulAlgoCheck is host work, a few us each
  for (const runtime::LtVariant& v : runtime::gemm_variants(configs, caps, k_, kMaxChecked)) {
    if (static_cast<int>(out.size()) >= count) break;
    cublasLtMatmulHeuristicResult_t r{};
    r.algo = usable[v.seed]->algo;
    if (!set_config(&r.algo, CUBLASLT_ALGO_CONFIG_TILE_ID, v.config.tile) ||
        !set_config(&r.algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, v.config.stages) ||
        !set_config(&r.algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, v.config.splitk) ||
        !set_config(&r.algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, v.config.reduction)) {
      continue;
    }
    cublasLtMatmulHeuristicResult_t check{};
    if (cublasLtMatmulAlgoCheck(lt, op_, la_, lb_, lc_, ld_, &r.algo, &check) != CUBLAS_STATUS_SUCCESS ||
        check.state != CUBLAS_STATUS_SUCCESS || check.workspaceSize > max_workspace) {
      continue;
    }
    r.workspaceSize = check.workspaceSize;
    r.state = CUBLAS_STATUS_SUCCESS;
    out.push_back(r);
  }
  return out;
}

bool is_gemm_tactic(const std::string& tactic) { return tactic.rfind(kTacticPrefix, 0) == 0; }

std::string describe_gemm_tactic(const std::string& tactic) {
  cublasLtMatmulAlgo_t algo{};
  if (!decode_algo(tactic, &algo)) return std::string();
  auto c = config_of(algo);
  if (!c) return "unreadable config";
  return str_cat("algo ", c->algo, " tile ", c->tile, " stages ", c->stages, " splitk ", c->splitk, " reduction ",
                 c->reduction);
}

std::string Gemm::tactic() const { return encode_algo(algo_); }

Gemm::~Gemm() { destroy(); }

void Gemm::destroy() {
  if (op_) cublasLtMatmulDescDestroy(op_);
  for (auto* l : {la_, lb_, lc_, ld_}) {
    if (l) cublasLtMatrixLayoutDestroy(l);
  }
  op_ = nullptr;
  la_ = lb_ = lc_ = ld_ = nullptr;
}

Status Gemm::configure(cublasLtHandle_t lt, const GemmShape& s, const std::string& tactic, size_t max_workspace) {
  destroy();
  max_workspace_ = max_workspace;
  k_ = s.k;
  if (s.batch > INT32_MAX) return unsupported("matmul batch ", s.batch, " is too large for cuBLASLt");
  INGOT_ASSIGN_OR_RETURN(cudaDataType_t ta, cuda_dtype(s.a_type));
  INGOT_ASSIGN_OR_RETURN(cudaDataType_t tb, cuda_dtype(s.b_type));
  INGOT_ASSIGN_OR_RETURN(cudaDataType_t td, cuda_dtype(s.d_type));
  bool f32 = s.a_type == ir::DType::kFloat32;
  cublasComputeType_t compute = f32 && s.allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  INGOT_CUBLAS_TRY(cublasLtMatmulDescCreate(&op_, compute, CUDA_R_32F));
  // Row-major D = op(A) op(B) is column-major D^T = op(B)^T op(A)^T: cuBLASLt's first operand
  // is our B, its second our A.
  cublasOperation_t op_first = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t op_second = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  INGOT_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)));
  INGOT_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)));
  INGOT_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_EPILOGUE, &s.epilogue, sizeof(s.epilogue)));
  if (s.bias) {
    INGOT_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &td, sizeof(td)));
  }
  // Our B as column-major: rows n x cols k (trans_b: stored k x n).
  uint64_t b_rows = s.trans_b ? s.k : s.n, b_cols = s.trans_b ? s.n : s.k;
  uint64_t a_rows = s.trans_a ? s.m : s.k, a_cols = s.trans_a ? s.k : s.m;
  INGOT_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&la_, tb, b_rows, b_cols, static_cast<int64_t>(b_rows)));
  INGOT_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&lb_, ta, a_rows, a_cols, static_cast<int64_t>(a_rows)));
  INGOT_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&lc_, td, s.n, s.m, s.n));
  INGOT_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&ld_, td, s.n, s.m, s.n));
  INGOT_RETURN_IF_ERROR(set_batch(la_, s.batch, s.stride_b));
  INGOT_RETURN_IF_ERROR(set_batch(lb_, s.batch, s.stride_a));
  INGOT_RETURN_IF_ERROR(set_batch(lc_, s.batch, s.stride_d));
  INGOT_RETURN_IF_ERROR(set_batch(ld_, s.batch, s.stride_d));

  if (!tactic.empty() && decode_algo(tactic, &algo_)) {
    cublasLtMatmulHeuristicResult_t check{};
    if (cublasLtMatmulAlgoCheck(lt, op_, la_, lb_, lc_, ld_, &algo_, &check) == CUBLAS_STATUS_SUCCESS &&
        check.workspaceSize <= max_workspace) {
      workspace_ = check.workspaceSize;
      return Status::ok();
    }
  }
  cublasLtMatmulPreference_t pref = nullptr;
  INGOT_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&pref));
  uint64_t ws = max_workspace;
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt, op_, la_, lb_, lc_, ld_, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
    return unsupported("cuBLASLt has no algorithm for a ", s.m, "x", s.k, " by ", s.k, "x", s.n, " product (batch ", s.batch,
                       ", ", ir::dtype_name(s.a_type), "): ", cublas_status_name(st));
  }
  algo_ = result.algo;
  workspace_ = result.workspaceSize;
  return Status::ok();
}

int gemm_candidates_for_level(int level) {
  static constexpr int kCount[] = {1, 4, 8, 16, 32, 64};
  return kCount[std::clamp(level, 0, 5)];
}

Status Gemm::run(cublasLtHandle_t lt, const void* a, const void* b, const void* c, void* d, const void* bias,
                 float alpha, float beta, void* workspace, cudaStream_t stream) const {
  if (bias) {
    INGOT_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  INGOT_CUBLAS_TRY(cublasLtMatmul(lt, op_, &alpha, b, la_, a, lb_, &beta, c ? c : d, lc_, d, ld_, &algo_, workspace,
                                  workspace_, stream));
  return Status::ok();
}

Expected<std::string> Gemm::tune(cublasLtHandle_t lt, const void* a, const void* b, void* d, const void* bias,
                                 float alpha, void* workspace, size_t workspace_size, cudaStream_t stream,
                                 std::vector<net::TimedTactic>* timed, int candidates, int variants) {
  cublasLtMatmulPreference_t pref = nullptr;
  INGOT_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&pref));
  uint64_t ws = std::min(workspace_size, max_workspace_);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  std::vector<cublasLtMatmulHeuristicResult_t> results(static_cast<size_t>(std::max(candidates, 1)));
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt, op_, la_, lb_, lc_, ld_, pref, static_cast<int>(results.size()),
                                                     results.data(), &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS || found == 0) return std::string();
  results.resize(static_cast<size_t>(found));
  for (const auto& v : variants_of(lt, results, variants, ws)) results.push_back(v);
  found = static_cast<int>(results.size());
  if (bias) {
    INGOT_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  // Each candidate timed as the engine runs it, replayed from a CUDA graph (time_on_stream):
  // 10 calls launched from the host measured cuBLASLt's host cost where it exceeds a small
  // GEMM's kernel (batch 1 BERT / ViT), as they did for cuDNN (bench/NOTES.md, notes 17, 22).
  float best = 1e30f;
  int best_i = -1;
  float beta = 0.0f;
  for (int i = 0; i < found; ++i) {
    const auto& r = results[static_cast<size_t>(i)];
    if (r.state != CUBLAS_STATUS_SUCCESS || r.workspaceSize > ws) continue;
    Expected<float> ms = time_on_stream(stream, [&]() -> Status {
      INGOT_CUBLAS_TRY(cublasLtMatmul(lt, op_, &alpha, b, la_, a, lb_, &beta, d, lc_, d, ld_, &r.algo, workspace,
                                      r.workspaceSize, stream));
      return Status::ok();
    });
    if (!ms.has_value()) continue;  // a candidate that fails here is not one to record
    if (timed) timed->push_back({encode_algo(r.algo), static_cast<double>(*ms)});
    if (*ms < best) best = *ms, best_i = i;
  }
  cudaGetLastError();
  if (best_i < 0) return std::string();
  algo_ = results[static_cast<size_t>(best_i)].algo;
  workspace_ = results[static_cast<size_t>(best_i)].workspaceSize;
  return encode_algo(algo_);
}

}  // namespace ingot::runtime::cuda
