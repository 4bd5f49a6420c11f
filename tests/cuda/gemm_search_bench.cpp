// The wide cuBLASLt search (INGOT_GEMM_SEARCH=wide, runtime/gemm_search.h) against the
// heuristic's own candidates on the bench transformers' GEMM shapes, f16, outside any engine:
// for each shape the best time of each search (a CUDA graph of 10 calls, weights warm in L2),
// the wide search's choice in words, and its output against the heuristic choice's (rel-L2).
//   ingot_gemm_search_bench [variants=48]
#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "runtime/cuda/gemm.h"

using namespace ingot;
using namespace ingot::runtime::cuda;

namespace {

struct Shape {
  const char* name;
  int64_t m, n, k;
  cublasLtEpilogue_t epilogue;
};

#define CHECK_CUDA(x)                                                          \
  do {                                                                         \
    cudaError_t e_ = (x);                                                      \
    if (e_ != cudaSuccess) {                                                   \
      std::printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__); \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

std::vector<__half> random_half(size_t n, std::mt19937& rng, float scale) {
  std::vector<__half> v(n);
  std::uniform_real_distribution<float> u(-scale, scale);
  for (auto& x : v) x = __float2half(u(rng));
  return v;
}

double rel_l2(const std::vector<__half>& a, const std::vector<__half>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double x = __half2float(a[i]), y = __half2float(b[i]);
    num += (x - y) * (x - y);
    den += y * y;
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

}  // namespace

int main(int argc, char** argv) {
  const int variants = argc > 1 ? std::atoi(argv[1]) : 48;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("no CUDA device\n");
    return 0;
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("%s, cuBLASLt %zu, %d variants\n", prop.name, cublasLtGetVersion(), variants);
  cublasLtHandle_t lt = nullptr;
  if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) return 1;
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const size_t ws_bytes = size_t(64) << 20;
  void* ws = nullptr;
  CHECK_CUDA(cudaMalloc(&ws, ws_bytes));
  const auto bias = CUBLASLT_EPILOGUE_BIAS, gelu = CUBLASLT_EPILOGUE_GELU_BIAS;
  const std::vector<Shape> shapes = {
      {"bert-bs1 qkv", 128, 2304, 768, bias},   {"bert-bs1 attn-out", 128, 768, 768, bias},
      {"bert-bs1 fc1", 128, 3072, 768, gelu},   {"bert-bs1 fc2", 128, 768, 3072, bias},
      {"vit-bs1 qkv", 197, 2304, 768, bias},    {"vit-bs1 attn-out", 197, 768, 768, bias},
      {"vit-bs1 fc1", 197, 3072, 768, gelu},    {"vit-bs1 fc2", 197, 768, 3072, bias},
      {"bert-bs32 qkv", 4096, 2304, 768, bias}, {"bert-bs32 attn-out", 4096, 768, 768, bias},
      {"bert-bs32 fc1", 4096, 3072, 768, gelu}, {"bert-bs32 fc2", 4096, 768, 3072, bias},
      {"vit-bs32 qkv", 6304, 2304, 768, bias},  {"vit-bs32 attn-out", 6304, 768, 768, bias},
      {"vit-bs32 fc1", 6304, 3072, 768, gelu},  {"vit-bs32 fc2", 6304, 768, 3072, bias},
  };
  std::mt19937 rng(0);
  std::printf("%-20s %6s %12s %12s %7s %9s  %s\n", "shape", "timed", "heuristic us", "wide us", "ratio", "rel-L2",
              "wide choice");
  for (const Shape& sh : shapes) {
    GemmShape s;
    s.m = sh.m, s.n = sh.n, s.k = sh.k;
    s.trans_b = true;  // w as [N, K], as linear layers store it
    s.a_type = s.b_type = s.d_type = ir::DType::kFloat16;
    s.bias = true;
    s.epilogue = sh.epilogue;
    auto a = random_half(size_t(sh.m * sh.k), rng, 1.0f);
    auto b = random_half(size_t(sh.n * sh.k), rng, 1.0f / std::sqrt(float(sh.k)));
    auto c = random_half(size_t(sh.n), rng, 0.1f);
    void *da, *db, *dbias, *d1, *d2;
    const size_t out_bytes = size_t(sh.m * sh.n) * 2;
    CHECK_CUDA(cudaMalloc(&da, a.size() * 2));
    CHECK_CUDA(cudaMalloc(&db, b.size() * 2));
    CHECK_CUDA(cudaMalloc(&dbias, c.size() * 2));
    CHECK_CUDA(cudaMalloc(&d1, out_bytes));
    CHECK_CUDA(cudaMalloc(&d2, out_bytes));
    CHECK_CUDA(cudaMemcpy(da, a.data(), a.size() * 2, cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(db, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(dbias, c.data(), c.size() * 2, cudaMemcpyHostToDevice));
    double best[2] = {1e30, 1e30};
    std::string chosen[2];
    size_t timed_count = 0;
    for (int wide = 0; wide < 2; ++wide) {
      Gemm g;
      Status st = g.configure(lt, s, "", ws_bytes);
      if (!st.is_ok()) {
        std::printf("%s: configure: %s\n", sh.name, st.message().c_str());
        return 1;
      }
      std::vector<net::TimedTactic> timed;
      auto t = g.tune(lt, da, db, wide ? d2 : d1, dbias, 1.0f, ws, ws_bytes, stream, &timed, 16, wide ? variants : 0);
      if (!t || t->empty()) {
        std::printf("%s: tune failed\n", sh.name);
        return 1;
      }
      for (const auto& x : timed) best[wide] = std::min(best[wide], x.ms * 1e3);
      chosen[wide] = *t;
      timed_count = timed.size();
      // The chosen tactic as an engine would load it, on poisoned output.
      Gemm run;
      if (!run.configure(lt, s, *t, ws_bytes).is_ok()) {
        std::printf("%s: the chosen tactic does not configure\n", sh.name);
        return 1;
      }
      CHECK_CUDA(cudaMemset(wide ? d2 : d1, 0xff, out_bytes));
      st = run.run(lt, da, db, nullptr, wide ? d2 : d1, dbias, 1.0f, 0.0f, ws, stream);
      if (!st.is_ok()) {
        std::printf("%s: run: %s\n", sh.name, st.message().c_str());
        return 1;
      }
    }
    CHECK_CUDA(cudaStreamSynchronize(stream));
    std::vector<__half> h1(size_t(sh.m * sh.n)), h2(h1.size());
    CHECK_CUDA(cudaMemcpy(h1.data(), d1, out_bytes, cudaMemcpyDeviceToHost));
    CHECK_CUDA(cudaMemcpy(h2.data(), d2, out_bytes, cudaMemcpyDeviceToHost));
    std::printf("%-20s %6zu %12.2f %12.2f %7.3f %9.2e  %s\n", sh.name, timed_count, best[0], best[1], best[1] / best[0],
                rel_l2(h2, h1), describe_gemm_tactic(chosen[1]).c_str());
    for (void* p : {da, db, dbias, d1, d2}) cudaFree(p);
  }
  cudaFree(ws);
  cublasLtDestroy(lt);
  return 0;
}
