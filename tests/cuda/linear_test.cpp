// The tensor-core GEMM for products with few rows (kernels/cuda/linear_mma.cuh, the MatMul
// runner's "ingot:linear-*" tactics) against the CPU reference matmul: one row per case, as
// kernels_test.cpp. Rows cover every tile (64x64, 128x64, 64x128) and split (1, 2, 4, 8 blocks
// of a cluster), rows and columns that leave partial tiles, a last slice of K shorter than the
// others and K not a multiple of the 32-value stage, leading dims folded into M, bias, residual
// (with and without bias) and activations, f16 and bf16; then what it must refuse.
#include "test_util.h"

namespace ingot::kernels::cuda::testing {

namespace {

using namespace net;  // NOLINT(google-build-using-namespace): parameter structs and enums

constexpr DType F16 = DType::kFloat16, BF16 = DType::kBFloat16, F32 = DType::kFloat32;

class LinearKernelTest : public ::testing::TestWithParam<Case> {};

TEST_P(LinearKernelTest, MatchesCpuReference) {
  INGOT_SKIP_WITHOUT_GPU();
  run_case(GetParam());
}

struct Lin {
  Dims a;  // [..., M, K]
  int64_t n = 64;
  bool bias = true, residual = false;
  UnaryOp act = UnaryOp::kIdentity;
  LinearKernel kernel;
};

// Inputs in [-1, 1]: sums of up to ~800 products of magnitude ~10, so half-precision outputs
// differ from the reference by the rounding of the last place (the order of the float sums
// differs).
Case linear_case(std::string name, DType t, const Lin& d) {
  MatMulParams p;
  p.transpose_b = true;
  p.activation = d.act;
  const Dist unit = uniform(-1, 1);
  Dims y = d.a;
  y.back() = d.n;
  std::vector<InputSpec> inputs{in(t, d.a, unit), in(t, {d.n, d.a.back()}, unit)};
  inputs.push_back(d.bias ? in(t, {d.n}, unit) : absent());
  if (d.residual) inputs.push_back(in(t, y, unit));
  const LinearKernel k = d.kernel;
  name += "_" + std::to_string(k.block_rows) + "x" + std::to_string(k.block_cols) + "_s" + std::to_string(k.split) +
          (k.constant_b ? "_early_w" : "");
  Case c = make_case(std::move(name), p, std::move(inputs));
  c.rtol = t == F16 ? 2e-3 : 1.6e-2;
  c.atol = t == F16 ? 2e-3 : 1.6e-2;
  c.launcher = [p, k](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t s,
                      void*) -> Status {
    INGOT_RETURN_IF_ERROR(linear_supported(p, in, out, k));  // must apply: a case that does not fails
    return launch_linear(p, in, out, s, k);
  };
  return c;
}

std::vector<Case> linear_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, DType t, Lin d) { v.push_back(linear_case(std::move(name), t, d)); };
  const LinearKernel t128x64{.block_rows = 128, .block_cols = 64}, t64x128{.block_rows = 64, .block_cols = 128},
      t64x64{.block_rows = 64, .block_cols = 64};
  auto split = [](LinearKernel k, int s) {
    k.split = s;
    return k;
  };
  // BERT's shapes scaled down: bias + GELU (FC1), bias + residual (attention out, FC2).
  add("f16_bias_gelu", F16, {.a = {37, 96}, .n = 72, .act = UnaryOp::kGeluErf, .kernel = t128x64});
  add("f16_rank3_bias_residual", F16, {.a = {2, 19, 200}, .n = 72, .residual = true, .kernel = split(t128x64, 4)});
  // w fetched before the wait for the previous kernel (a constant weight under programmatic
  // launch): the same result.
  LinearKernel early = split(t64x64, 2);
  early.constant_b = true;
  add("f16_constant_w_first", F16, {.a = {40, 96}, .n = 80, .residual = true, .act = UnaryOp::kGeluTanh, .kernel = early});
  add("bf16_no_bias", BF16, {.a = {70, 136}, .n = 200, .bias = false, .kernel = split(t64x128, 2)});
  add("f16_residual_no_bias_relu", F16,
      {.a = {5, 768}, .n = 64, .bias = false, .residual = true, .act = UnaryOp::kRelu, .kernel = split(t64x64, 8)});
  // 130 rows: a second row tile with 2 rows (warps without rows skip their products).
  add("f16_rows_past_tile", F16, {.a = {130, 72}, .n = 128, .kernel = split(t128x64, 2)});
  // K = 520, split 4: slices of 160 (five stages of 32) and a last one of 40.
  add("bf16_uneven_slices_tanh", BF16, {.a = {9, 520}, .n = 136, .act = UnaryOp::kTanh, .kernel = split(t64x128, 4)});
  add("f16_k8_single_row", F16, {.a = {1, 8}, .n = 8, .residual = true, .kernel = t64x64});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Linear, LinearKernelTest, ::testing::ValuesIn(linear_cases()), CaseName());

// Why the kernel does not take a layer: each reason named (no device needed: only shapes,
// dtypes and addresses are looked at; split 1 needs no clusters).
TEST(LinearKernelChoice, NamesWhatItCannotRun) {
  alignas(16) static char storage[1 << 16];
  auto t = [](DType d, Dims dims, int misalign = 0) { return DeviceTensor{storage + misalign, d, std::move(dims)}; };
  MatMulParams p;
  p.transpose_b = true;
  const LinearKernel k{};
  auto reason = [&](const MatMulParams& q, std::vector<DeviceTensor> in, DeviceTensor out, LinearKernel kernel) {
    return linear_supported(q, in, {out}, kernel).message();
  };
  auto has = [](const std::string& message, const char* part) { return message.find(part) != std::string::npos; };
  EXPECT_EQ(reason(p, {t(F16, {4, 64}), t(F16, {32, 64}), t(F16, {32})}, t(F16, {4, 32}), k), "");
  EXPECT_TRUE(has(reason(p, {t(F32, {4, 64}), t(F32, {32, 64})}, t(F32, {4, 32}), k), "f32 (f16 / bf16 only)"));
  EXPECT_TRUE(has(reason(p, {t(F16, {4, 60}), t(F16, {32, 60})}, t(F16, {4, 32}), k), "multiples of 8"));
  EXPECT_TRUE(has(reason(p, {t(F16, {4, 64}, 1), t(F16, {32, 64})}, t(F16, {4, 32}), k), "16-byte aligned"));
  EXPECT_TRUE(has(reason(p, {t(F16, {4, 64}), t(F16, {32, 64})}, t(F16, {4, 32}), LinearKernel{.block_rows = 32}),
                  "no 32x64 tile"));
  EXPECT_TRUE(has(reason(p, {t(F16, {4, 64}), t(F16, {32, 64})}, t(F16, {4, 32}), LinearKernel{.split = 3}),
                  "split 3"));
  EXPECT_TRUE(has(reason(p, {t(F16, {4, 64}), t(F16, {32, 64}), t(F16, {4, 32})}, t(F16, {4, 32}), k),
                  "is not a row of 32"));
  MatMulParams plain;  // b [K, N]
  EXPECT_TRUE(has(reason(plain, {t(F16, {4, 64}), t(F16, {64, 32})}, t(F16, {4, 32}), k), "transpose_b"));
  MatMulParams act = p;
  act.activation = UnaryOp::kLog;
  EXPECT_TRUE(has(reason(act, {t(F16, {4, 64}), t(F16, {32, 64})}, t(F16, {4, 32}), k), "activation"));
  EXPECT_TRUE(has(reason(p, {t(F16, {4, 64}), t(F16, {32, 48})}, t(F16, {4, 32}), k), "do not match"));
}

// A split that would leave blocks of the cluster without K is refused (on a device with
// clusters, or in the emulation; elsewhere split > 1 is refused for want of clusters).
TEST(LinearKernelChoice, RefusesIdleBlocksOfASplit) {
  alignas(16) static char storage[1 << 12];
  auto t = [](Dims dims) { return DeviceTensor{storage, F16, std::move(dims)}; };
  MatMulParams p;
  p.transpose_b = true;
  const std::string m = linear_supported(p, {t({4, 64}), t({8, 64})}, {t({4, 8})}, LinearKernel{.split = 8}).message();
  EXPECT_TRUE(m.find("without work") != std::string::npos || m.find("clusters") != std::string::npos) << m;
}

}  // namespace

}  // namespace ingot::kernels::cuda::testing
