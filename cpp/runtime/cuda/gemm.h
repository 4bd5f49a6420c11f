// One cuBLASLt matrix product, described in row-major terms:
//   D[b] (m x n) = epilogue(alpha * opA(A[b]) * opB(B[b]) + beta * C[b] + bias)
// with A m x k (or k x m when trans_a), B k x n (or n x k when trans_b), batch b with element
// strides (0 broadcasts an operand), C of D's layout and type, bias a vector of n.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "ir/dtype.h"
#include "net/network.h"
#include "support/status.h"

namespace ingot::runtime::cuda {

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_d = 0;
  ir::DType a_type = ir::DType::kFloat32, b_type = ir::DType::kFloat32, d_type = ir::DType::kFloat32;
  bool bias = false;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  bool allow_tf32 = true;
};

// Whether `tactic` names a cuBLASLt algorithm as Gemm records them.
bool is_gemm_tactic(const std::string& tactic);
// A recorded cuBLASLt tactic in words ("algo 21 tile 18 stages 0 splitk 4 reduction 1"), or
// an empty string where it is not one.
std::string describe_gemm_tactic(const std::string& tactic);

// How many cuBLASLt candidates a build times per GEMM at an optimization level (1..5).
int gemm_candidates_for_level(int level);

// INGOT_GEMM_SEARCH: "heuristic" (or unset) times cuBLASLt's heuristic candidates only; "wide"
// also times variants of them (runtime/gemm_search.h) for matmul layers. Any other value is an
// error that names the variable.
Expected<bool> wide_gemm_search_from_env();

class Gemm {
 public:
  Gemm() = default;
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;
  ~Gemm();

  // Creates the descriptors and picks the algorithm: the recorded `tactic` if it still fits,
  // else cuBLASLt's first heuristic choice.
  Status configure(cublasLtHandle_t lt, const GemmShape& s, const std::string& tactic, size_t max_workspace);
  size_t workspace() const { return workspace_; }
  // The configured (or tuned) algorithm as a tactic: "lt:" and its bytes in hex.
  std::string tactic() const;
  Status run(cublasLtHandle_t lt, const void* a, const void* b, const void* c, void* d, const void* bias, float alpha,
             float beta, void* workspace, cudaStream_t stream) const;
  // Times up to `candidates` of cuBLASLt's heuristic algorithms on these buffers, and then up to
  // `variants` split-K / tile / stage variants of them that cuBLASLt accepts (gemm_search.h);
  // returns the fastest as a tactic and appends each candidate timed (tactic, ms per run) to
  // `timed` when it is not null.
  Expected<std::string> tune(cublasLtHandle_t lt, const void* a, const void* b, void* d, const void* bias,
                             float alpha, void* workspace, size_t workspace_size, cudaStream_t stream,
                             std::vector<net::TimedTactic>* timed, int candidates, int variants = 0);

 private:
  void destroy();
  // Up to `count` variants of `seeds` that cuBLASLt accepts with at most `max_workspace` bytes.
  std::vector<cublasLtMatmulHeuristicResult_t> variants_of(cublasLtHandle_t lt,
                                                            const std::vector<cublasLtMatmulHeuristicResult_t>& seeds,
                                                            int count, size_t max_workspace) const;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t la_ = nullptr, lb_ = nullptr, lc_ = nullptr, ld_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
  size_t workspace_ = 0;
  size_t max_workspace_ = 0;
  int64_t k_ = 0;
};

}  // namespace ingot::runtime::cuda
