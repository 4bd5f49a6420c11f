// The fused feed-forward kernel (kernels/cuda/ffn_fused.cu) against a double-precision reference
// of y = LayerNorm(x + act(x . w1^T + b1) . w2^T + b2) * gamma + beta, with h = act(...)
// rounded to the dtype as the kernel stores it. Cases cover partial row and column tiles, K not
// a multiple of the 64-value stage, every split (chosen or given), both dtypes, activations and
// absent biases; the output is poisoned before each of two launches (an element the kernel does
// not write shows). Then what it must refuse, and the grid-barrier probe.
#include <cmath>
#include <cstring>

#include "test_util.h"

namespace ingot::kernels::cuda::testing {

namespace {

using net::UnaryOp;

constexpr DType F16 = DType::kFloat16, BF16 = DType::kBFloat16;

struct FfnCase {
  const char* name;
  DType t;
  int64_t m, d, f;
  UnaryOp act = UnaryOp::kGeluErf;
  bool biases = true;
  int split = 0;
};

void PrintTo(const FfnCase& c, std::ostream* os) { *os << c.name; }

double activate(UnaryOp op, double v) {
  switch (op) {
    case UnaryOp::kGeluErf: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case UnaryOp::kGeluTanh: return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    case UnaryOp::kRelu: return v > 0.0 ? v : 0.0;
    default: return v;
  }
}

// The reference, in double but for h, which is rounded to the dtype.
HostTensor reference(const FfnCase& c, const HostTensor& x, const HostTensor& w1, const HostTensor& b1,
                     const HostTensor& w2, const HostTensor& b2, const HostTensor& gamma, const HostTensor& beta,
                     double eps) {
  HostTensor h(c.t, {c.m, c.f}), y(c.t, {c.m, c.d});
  for (int64_t r = 0; r < c.m; ++r) {
    for (int64_t j = 0; j < c.f; ++j) {
      double s = c.biases ? b1.get(j) : 0.0;
      for (int64_t k = 0; k < c.d; ++k) s += x.get(r * c.d + k) * w1.get(j * c.d + k);
      h.set(r * c.f + j, activate(c.act, s));
    }
  }
  std::vector<double> z(static_cast<size_t>(c.d));
  for (int64_t r = 0; r < c.m; ++r) {
    double mean = 0.0;
    for (int64_t j = 0; j < c.d; ++j) {
      double s = x.get(r * c.d + j) + (c.biases ? b2.get(j) : 0.0);
      for (int64_t k = 0; k < c.f; ++k) s += h.get(r * c.f + k) * w2.get(j * c.f + k);
      z[static_cast<size_t>(j)] = s;
      mean += s;
    }
    mean /= static_cast<double>(c.d);
    double var = 0.0;
    for (double v : z) var += (v - mean) * (v - mean);
    const double scale = 1.0 / std::sqrt(var / static_cast<double>(c.d) + eps);
    for (int64_t j = 0; j < c.d; ++j) {
      y.set(r * c.d + j, (z[static_cast<size_t>(j)] - mean) * scale * gamma.get(j) + beta.get(j));
    }
  }
  return y;
}

struct Device {
  DeviceBuffer buf;
  DeviceTensor tensor;
};

Device upload(const HostTensor& t) {
  Device d{DeviceBuffer(t.nbytes()), {}};
  d.tensor = DeviceTensor{d.buf.get(), t.dtype, t.dims};
  EXPECT_EQ(cudaMemcpy(d.buf.get(), t.data(), t.nbytes(), cudaMemcpyHostToDevice), cudaSuccess);
  return d;
}

class FfnFusedTest : public ::testing::TestWithParam<FfnCase> {};

TEST_P(FfnFusedTest, MatchesReference) {
  INGOT_SKIP_WITHOUT_GPU();
  const FfnCase& c = GetParam();
  HostTensor x(c.t, {c.m, c.d}), w1(c.t, {c.f, c.d}), b1(c.t, {c.f}), w2(c.t, {c.d, c.f}), b2(c.t, {c.d}),
      gamma(c.t, {c.d}), beta(c.t, {c.d});
  fill_random(x, uniform(-1, 1), 1);
  fill_random(w1, uniform(-1, 1), 2);
  fill_random(b1, uniform(-1, 1), 3);
  fill_random(w2, uniform(-0.5, 0.5), 4);
  fill_random(b2, uniform(-1, 1), 5);
  fill_random(gamma, uniform(0.5, 1.5), 6);
  fill_random(beta, uniform(-0.5, 0.5), 7);
  const float eps = 1e-5f;
  const HostTensor want = reference(c, x, w1, b1, w2, b2, gamma, beta, eps);

  Device dx = upload(x), dw1 = upload(w1), db1 = upload(b1), dw2 = upload(w2), db2 = upload(b2), dg = upload(gamma),
         dbeta = upload(beta);
  HostTensor got(c.t, {c.m, c.d});
  DeviceBuffer y(got.nbytes());
  FfnOperands o{.x = dx.tensor, .w1 = dw1.tensor, .b1 = db1.tensor, .w2 = dw2.tensor, .b2 = db2.tensor,
                .gamma = dg.tensor, .beta = dbeta.tensor, .y = DeviceTensor{y.get(), c.t, {c.m, c.d}},
                .act = c.act, .eps = eps, .split = c.split};
  if (!c.biases) o.b1 = o.b2 = DeviceTensor{};
  ASSERT_TRUE(ffn_fused_supported(o).is_ok()) << ffn_fused_supported(o).message();
  DeviceBuffer ws(ffn_fused_workspace(o));

  const double rtol = c.t == F16 ? 4e-3 : 1.6e-2, atol = c.t == F16 ? 4e-3 : 3e-2;
  for (int poison : {0xFF, 0x7B}) {  // 0xFFFF is a NaN in both dtypes
    ASSERT_EQ(cudaMemset(y.get(), poison, got.nbytes()), cudaSuccess);
    const Status s = launch_ffn_fused(o, ws.get(), nullptr);
    ASSERT_TRUE(s.is_ok()) << s.message();
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(got.data(), y.get(), got.nbytes(), cudaMemcpyDeviceToHost), cudaSuccess);
    int bad = 0;
    for (int64_t i = 0; i < got.numel() && bad < 10; ++i) {
      const double g = got.get(i), w = want.get(i);
      if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w))) {
        ADD_FAILURE() << c.name << " poison " << poison << ": y[" << i / c.d << "][" << i % c.d << "] = " << g
                      << ", want " << w;
        ++bad;
      }
    }
  }
}

const FfnCase kCases[] = {
    // BERT's shape scaled down: 70 rows (a partial second row tile), the split chosen.
    {"f16_gelu", F16, 70, 256, 512},
    // Partial column tiles in both products (D = 136, F = 200), K of the first product not a
    // multiple of the 64-value stage, 3 row tiles, split 2.
    {"bf16_partial_tiles_tanh", BF16, 130, 136, 200, UnaryOp::kGeluTanh, true, 2},
    // BERT's D, few rows, F split 8 ways (slices of 128), no biases.
    {"f16_d768_split8_relu_no_bias", F16, 5, 768, 1024, UnaryOp::kRelu, false, 8},
    // F = 448 split 4: three slices of 128 and one of 64.
    {"bf16_uneven_split4", BF16, 33, 64, 448, UnaryOp::kGeluErf, true, 4},
};

INSTANTIATE_TEST_SUITE_P(Ffn, FfnFusedTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<FfnCase>& i) { return std::string(i.param.name); });

// The feed_forward layer (net::FeedForwardParams) through launch() and the harness: the CPU
// reference (kernels/cpu/feed_forward.cpp), poisoned outputs, workspace_size() bytes of scratch.
class FeedForwardLayerTest : public ::testing::TestWithParam<Case> {};

TEST_P(FeedForwardLayerTest, MatchesCpuReference) {
  INGOT_SKIP_WITHOUT_GPU();
  run_case(GetParam());
}

std::vector<Case> layer_cases() {
  std::vector<Case> v;
  auto make = [&](std::string name, DType t, Dims x, int64_t f, UnaryOp act, bool biases) {
    const int64_t d = x.back();
    const net::FeedForwardParams p{.act = act, .eps = 1e-5};
    Case c = make_case(std::move(name), p,
                       {in(t, x, uniform(-1, 1)), in(t, {f, d}, uniform(-1, 1)), biases ? in(t, {f}, uniform(-1, 1)) : absent(),
                        in(t, {d, f}, uniform(-0.5, 0.5)), biases ? in(t, {d}, uniform(-1, 1)) : absent(),
                        in(t, {d}, uniform(0.5, 1.5)), in(t, {d}, uniform(-0.5, 0.5))});
    c.rtol = t == F16 ? 4e-3 : 1.6e-2;
    c.atol = t == F16 ? 4e-3 : 3e-2;
    v.push_back(std::move(c));
  };
  // BERT's block scaled down (x [batch, seq, D], tanh GELU as the half-precision engine has it).
  make("f16_rank3_gelu_tanh", F16, {2, 9, 64}, 192, UnaryOp::kGeluTanh, true);
  make("bf16_no_biases_relu", BF16, {40, 136}, 200, UnaryOp::kRelu, false);
  // Without w1: a linear layer [K] -> [D] with its residual and the LayerNorm (BERT's attention
  // output); with a residual of its own (D != K), and without one (x, D = K).
  auto linear = [&](std::string name, DType t, Dims x, int64_t d, bool residual) {
    const int64_t k = x.back();
    Dims y = x;
    y.back() = d;
    std::vector<InputSpec> inputs{in(t, x, uniform(-1, 1)), absent(), absent(), in(t, {d, k}, uniform(-0.5, 0.5)),
                                  in(t, {d}, uniform(-1, 1)), in(t, {d}, uniform(0.5, 1.5)), in(t, {d}, uniform(-0.5, 0.5))};
    if (residual) inputs.push_back(in(t, y, uniform(-1, 1)));
    Case c = make_case(std::move(name), net::FeedForwardParams{.eps = 1e-6}, std::move(inputs));
    c.rtol = t == F16 ? 4e-3 : 1.6e-2;
    c.atol = t == F16 ? 4e-3 : 3e-2;
    v.push_back(std::move(c));
  };
  linear("f16_linear_residual", F16, {2, 9, 256}, 64, true);
  linear("bf16_linear_x_residual", BF16, {70, 136}, 136, false);
  return v;
}

INSTANTIATE_TEST_SUITE_P(FeedForward, FeedForwardLayerTest, ::testing::ValuesIn(layer_cases()), CaseName());

// Why it does not take operands: each reason named (no device needed: shapes, dtypes, addresses).
TEST(FfnFusedChoice, NamesWhatItCannotRun) {
  alignas(16) static char storage[1 << 12];
  auto t = [](DType d, Dims dims, int misalign = 0) { return DeviceTensor{storage + misalign, d, std::move(dims)}; };
  auto ops = [&](DType d, int64_t m, int64_t dm, int64_t f) {
    return FfnOperands{.x = t(d, {m, dm}), .w1 = t(d, {f, dm}), .b1 = t(d, {f}), .w2 = t(d, {dm, f}), .b2 = t(d, {dm}),
                       .gamma = t(d, {dm}), .beta = t(d, {dm}), .y = t(d, {m, dm})};
  };
  auto reason = [](const FfnOperands& o) { return ffn_fused_supported(o).message(); };
  auto has = [](const std::string& message, const char* part) { return message.find(part) != std::string::npos; };
  EXPECT_EQ(reason(ops(F16, 4, 64, 128)), "");
  EXPECT_TRUE(has(reason(ops(DType::kFloat32, 4, 64, 128)), "f32 (f16 / bf16 only)"));
  EXPECT_TRUE(has(reason(ops(F16, 4, 1032, 128)), "D <= 1024"));
  EXPECT_TRUE(has(reason(ops(F16, 4, 60, 128)), "multiples of 8"));
  FfnOperands o = ops(F16, 4, 64, 128);
  o.w2 = t(F16, {64, 120});
  EXPECT_TRUE(has(reason(o), "do not match"));
  o = ops(F16, 4, 64, 128);
  o.b1 = t(F16, {64});
  EXPECT_TRUE(has(reason(o), "must have F, D, D, D values"));
  o = ops(F16, 4, 64, 128);
  o.w1 = t(BF16, {128, 64});
  EXPECT_TRUE(has(reason(o), "mixed dtypes"));
  o = ops(F16, 4, 64, 128);
  o.x = t(F16, {4, 64}, 2);
  EXPECT_TRUE(has(reason(o), "16-byte aligned"));
  o = ops(F16, 4, 64, 128);
  o.act = UnaryOp::kLog;
  EXPECT_TRUE(has(reason(o), "activation"));
  o = ops(F16, 4, 64, 128);
  o.split = 3;
  EXPECT_TRUE(has(reason(o), "split 3"));
  o.split = 4;  // F = 128 in slices of 64: the last two empty
  EXPECT_TRUE(has(reason(o), "empty"));
  o = ops(F16, 4, 64, 128);
  o.eps = -1.0f;
  EXPECT_TRUE(has(reason(o), "eps"));
  o = ops(F16, 4, 64, 128);
  o.w1 = {};  // without w1: b1 and an activation refused, and w2 must be [D, K]
  EXPECT_TRUE(has(reason(o), "do not match"));
  o.w2 = t(F16, {64, 64});
  EXPECT_TRUE(has(reason(o), "without w1"));
  o.b1 = {};
  o.act = UnaryOp::kIdentity;
  EXPECT_EQ(reason(o), "");
  o.w2 = t(F16, {32, 64});  // D = 32 != K without a residual of its own
  o.gamma = o.beta = o.b2 = t(F16, {32});
  o.y = t(F16, {4, 32});
  EXPECT_TRUE(has(reason(o), "do not match"));
  o.residual = t(F16, {4, 32});
  EXPECT_EQ(reason(o), "");
  o = ops(F16, 4, 64, 128);
  EXPECT_TRUE(has(launch_ffn_fused(o, nullptr, nullptr).message(), "workspace"));
  // Sized from shapes alone (as a runner does before the activations have addresses): w1 with
  // dims but no data still counts, so h's bytes are in the workspace.
  FfnOperands shapes_only = ops(F16, 4, 64, 128);
  shapes_only.w1.data = nullptr;
  EXPECT_EQ(ffn_fused_workspace(shapes_only), ffn_fused_workspace(ops(F16, 4, 64, 128)));
  o.w1 = {};
  o.b1 = {};
  o.act = UnaryOp::kIdentity;
  o.w2 = t(F16, {64, 64});
  EXPECT_LT(ffn_fused_workspace(o), ffn_fused_workspace(ops(F16, 4, 64, 128)));  // no h without w1
}

TEST(GridBarriers, RunAndRefuseANegativeCount) {
  EXPECT_NE(launch_grid_barriers(-1, nullptr).message().find("< 0"), std::string::npos);
  INGOT_SKIP_WITHOUT_GPU();
  for (int n : {0, 1, 5}) {
    const Status s = launch_grid_barriers(n, nullptr);
    ASSERT_TRUE(s.is_ok()) << s.message();
  }
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

}  // namespace

}  // namespace ingot::kernels::cuda::testing
