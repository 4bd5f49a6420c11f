#include <cmath>

#include "lower_test_util.h"
#include "support/half.h"

namespace ingot::lower {
namespace {

using testing::count_ops;
using testing::expect_lowered;
using testing::expect_unchanged;
using testing::parse_ir;

// eps = 0 and variances 4 and 0.25 keep every number exact: scale = [1/2, 0.5/0.5] = [0.5, 1].
TEST(FoldBatchNorm, ConvolutionExactValues) {
  expect_lowered(fold_batch_norm, R"(graph {
  input %x : f32[1, 1, 3, 3]
  constant %w : f32[2, 1, 1, 1] = [1.0, 3.0]
  constant %b : f32[2] = [0.5, -1.0]
  constant %gamma : f32[2] = [1.0, 0.5]
  constant %beta : f32[2] = [0.25, 1.0]
  constant %mean : f32[2] = [0.5, 1.0]
  constant %var : f32[2] = [4.0, 0.25]
  %conv : f32[1, 2, 3, 3] = aten::convolution(%x, %w, %b, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %y : f32[1, 2, 3, 3], %save_mean : f32[0], %save_rstd : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mean, %var, 0.1, 0.0)
  %r : f32[1, 2, 3, 3] = aten::relu(%y)
  output %r
})",
                 R"(graph {
  input %x : f32[1, 1, 3, 3]
  constant %w_bn : f32[2, 1, 1, 1] = [0.5, 3.0]
  constant %b_bn : f32[2] = [0.25, -1.0]
  %conv : f32[1, 2, 3, 3] = aten::convolution(%x, %w_bn, %b_bn, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %r : f32[1, 2, 3, 3] = aten::relu(%conv)
  output %r
})",
                 1);
}

// Conv2d(2, 3, (1, 2), stride 2, groups 1) + BatchNorm2d(3), checked against values computed
// here independently of the pass.
const char* kConvBn = R"(graph {
  symbol s0 : [1, 32]
  input %x : f32[s0, 2, 4, 4]
  constant %w : f32[3, 2, 1, 2] = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, 0.8, 0.9, -1.0, 1.1, 1.2]
  constant %b : f32[3] = [0.05, -0.15, 0.25]
  constant %gamma : f32[3] = [1.5, 0.75, -2.0]
  constant %beta : f32[3] = [0.1, 0.2, -0.3]
  constant %mean : f32[3] = [0.3, -0.6, 0.9]
  constant %var : f32[3] = [0.5, 1.7, 2.9]
  %conv : f32[s0, 3, 4, 2] = aten::convolution(%x, %w, %b, [1, 2], [0, 0], [1, 1], False, [0, 0], 1)
  %y : f32[s0, 3, 4, 2], %save_mean : f32[0], %save_rstd : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mean, %var, 0.1, 1e-05)
  output %y
})";

TEST(FoldBatchNorm, ConvolutionMatchesIndependentComputation) {
  auto g = parse_ir(kConvBn);
  g->find_value("conv")->producer()->set_source("features.0");
  Expected<int> n = fold_batch_norm(*g, {});
  ASSERT_TRUE(n.has_value()) << n.status().message();
  EXPECT_EQ(*n, 1);
  ASSERT_TRUE(eliminate_dead_code(*g, {}).has_value());
  ASSERT_TRUE(g->verify().is_ok());
  ASSERT_EQ(g->nodes().size(), 1u);
  const ir::Node* conv = g->nodes()[0];
  EXPECT_EQ(conv->op(), "aten::convolution");
  EXPECT_EQ(conv->schema(),
            "aten::convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, SymInt[] padding, "
            "SymInt[] dilation, bool transposed, SymInt[] output_padding, SymInt groups) -> Tensor");
  EXPECT_EQ(conv->source(), "features.0");
  EXPECT_EQ(g->outputs()[0], conv->output(0));
  EXPECT_EQ(conv->output(0)->type().str(), "f32[s0, 3, 4, 2]");
  EXPECT_EQ(conv->arg(0).tensor(), g->inputs()[0]);
  EXPECT_EQ(conv->arg(3).str(), "[1, 2]");
  EXPECT_EQ(conv->arg(8).str(), "1");

  const float w[12] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, 0.8f, 0.9f, -1.0f, 1.1f, 1.2f};
  const float b[3] = {0.05f, -0.15f, 0.25f};
  const float gamma[3] = {1.5f, 0.75f, -2.0f}, beta[3] = {0.1f, 0.2f, -0.3f};
  const float mean[3] = {0.3f, -0.6f, 0.9f}, var[3] = {0.5f, 1.7f, 2.9f};
  const ir::ConstantData& folded_w = conv->arg(1).tensor()->constant();
  const ir::ConstantData& folded_b = conv->arg(2).tensor()->constant();
  ASSERT_EQ(folded_w.dtype, ir::DType::kFloat32);
  ASSERT_EQ(folded_w.dims, (std::vector<int64_t>{3, 2, 1, 2}));
  ASSERT_EQ(folded_b.dims, (std::vector<int64_t>{3}));
  for (int c = 0; c < 3; ++c) {
    double s = gamma[c] / std::sqrt(static_cast<double>(var[c]) + 1e-5);
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(folded_w.get_double(c * 4 + k), w[c * 4 + k] * s, 1e-6) << c << "," << k;
    EXPECT_NEAR(folded_b.get_double(c), (b[c] - mean[c]) * s + beta[c], 1e-6) << c;
  }
}

TEST(FoldBatchNorm, NoConvBiasNoAffine) {
  auto g = parse_ir(R"(graph {
  input %x : f32[1, 4, 3, 3]
  constant %w : f32[2, 2, 1, 1] = [1.0, 2.0, 3.0, 4.0]
  constant %mean : f32[2] = [0.5, -2.0]
  constant %var : f32[2] = [0.09, 1.0]
  %conv : f32[1, 2, 3, 3] = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 2)
  %y : f32[1, 2, 3, 3], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, None, None, %mean, %var, 0.1, 0.001)
  output %y
})");
  ASSERT_EQ(*fold_batch_norm(*g, {}), 1);
  const ir::Node* conv = g->outputs()[0]->producer();
  ASSERT_EQ(conv->op(), "aten::convolution");
  EXPECT_EQ(conv->arg(8).str(), "2");  // groups kept: scaling is per output channel either way
  const ir::ConstantData& w = conv->arg(1).tensor()->constant();
  const ir::ConstantData& b = conv->arg(2).tensor()->constant();
  double s0 = 1.0 / std::sqrt(0.09 + 0.001), s1 = 1.0 / std::sqrt(1.0 + 0.001);
  EXPECT_NEAR(w.get_double(0), 1.0 * s0, 1e-6);
  EXPECT_NEAR(w.get_double(1), 2.0 * s0, 1e-6);
  EXPECT_NEAR(w.get_double(2), 3.0 * s1, 1e-6);
  EXPECT_NEAR(w.get_double(3), 4.0 * s1, 1e-6);
  EXPECT_NEAR(b.get_double(0), -0.5 * s0, 1e-6);
  EXPECT_NEAR(b.get_double(1), 2.0 * s1, 1e-6);
}

// Linear(3, 2) + BatchNorm1d(2) on a 2-D input.
TEST(FoldBatchNorm, Linear) {
  auto g = parse_ir(R"(graph {
  input %x : f32[5, 3]
  constant %w : f32[2, 3] = [1.0, 2.0, 3.0, -1.0, -2.0, -3.0]
  constant %b : f32[2] = [0.5, 1.5]
  constant %gamma : f32[2] = [2.0, 3.0]
  constant %beta : f32[2] = [-1.0, 1.0]
  constant %mean : f32[2] = [1.0, 2.0]
  constant %var : f32[2] = [3.0, 8.0]
  %l : f32[5, 2] = aten::linear(%x, %w, %b)
  %y : f32[5, 2], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%l, %gamma, %beta, %mean, %var, 0.1, 1e-05)
  output %y
})");
  ASSERT_EQ(*fold_batch_norm(*g, {}), 1);
  ASSERT_TRUE(eliminate_dead_code(*g, {}).has_value());
  ASSERT_EQ(g->nodes().size(), 1u);
  const ir::Node* linear = g->nodes()[0];
  EXPECT_EQ(linear->op(), "aten::linear");
  EXPECT_EQ(linear->schema(), "aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor");
  const ir::ConstantData& w = linear->arg(1).tensor()->constant();
  const ir::ConstantData& b = linear->arg(2).tensor()->constant();
  const double wv[6] = {1, 2, 3, -1, -2, -3}, bv[2] = {0.5, 1.5}, gv[2] = {2, 3}, betav[2] = {-1, 1};
  const double mv[2] = {1, 2}, vv[2] = {3, 8};
  for (int o = 0; o < 2; ++o) {
    double s = gv[o] / std::sqrt(vv[o] + 1e-5);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(w.get_double(o * 3 + k), wv[o * 3 + k] * s, 1e-5);
    EXPECT_NEAR(b.get_double(o), (bv[o] - mv[o]) * s + betav[o], 1e-5);
  }
}

// f16 weights: computed in double, stored rounded to f16; the batch norm itself is f32.
TEST(FoldBatchNorm, HalfWeightsKeepTheirDtype) {
  auto g = parse_ir(R"(graph {
  input %x : f16[1, 1, 2, 2]
  constant %w : f16[2, 1, 1, 1] = [0.3, -1.7]
  constant %gamma : f32[2] = [1.1, 0.9]
  constant %beta : f32[2] = [0.2, -0.4]
  constant %mean : f32[2] = [0.7, 0.1]
  constant %var : f32[2] = [1.3, 0.6]
  %conv : f16[1, 2, 2, 2] = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %y : f16[1, 2, 2, 2], %m : f16[0], %r : f16[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mean, %var, 0.1, 1e-05)
  output %y
})");
  ASSERT_EQ(*fold_batch_norm(*g, {}), 1);
  const ir::Node* conv = g->outputs()[0]->producer();
  const ir::ConstantData& w = conv->arg(1).tensor()->constant();
  const ir::ConstantData& b = conv->arg(2).tensor()->constant();
  ASSERT_EQ(w.dtype, ir::DType::kFloat16);
  ASSERT_EQ(b.dtype, ir::DType::kFloat16);
  const float wv[2] = {static_cast<float>(Half(0.3f)), static_cast<float>(Half(-1.7f))};
  const float gv[2] = {1.1f, 0.9f}, bv[2] = {0.2f, -0.4f}, mv[2] = {0.7f, 0.1f}, vv[2] = {1.3f, 0.6f};
  for (int c = 0; c < 2; ++c) {
    double s = gv[c] / std::sqrt(static_cast<double>(vv[c]) + 1e-5);
    EXPECT_EQ(w.as<Half>()[c].bits, Half(static_cast<float>(wv[c] * s)).bits) << c;
    EXPECT_EQ(b.as<Half>()[c].bits, Half(static_cast<float>(-mv[c] * s + bv[c])).bits) << c;
  }
}

TEST(FoldBatchNorm, NegativeCases) {
  const char* header = R"(graph {
  input %x : f32[1, 2, 3, 3]
  input %wi : f32[2, 2, 1, 1]
  input %mi : f32[2]
  constant %w : f32[2, 2, 1, 1] = [1.0, 2.0, 3.0, 4.0]
  constant %gamma : f32[2] = [1.0, 2.0]
  constant %beta : f32[2] = [0.0, 1.0]
  constant %mean : f32[2] = [0.5, 0.25]
  constant %var : f32[2] = [1.0, 2.0]
)";
  const char* bodies[] = {
      // The conv output is read twice.
      R"(  %conv : f32[1, 2, 3, 3] = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %y : f32[1, 2, 3, 3], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mean, %var, 0.1, 1e-05)
  %z : f32[1, 2, 3, 3] = aten::add.Tensor(%y, %conv, 1)
  output %z)",
      // The conv output is also a graph output.
      R"(  %conv : f32[1, 2, 3, 3] = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %y : f32[1, 2, 3, 3], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mean, %var, 0.1, 1e-05)
  output %y, %conv)",
      // The conv weight is not a constant.
      R"(  %conv : f32[1, 2, 3, 3] = aten::convolution(%x, %wi, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %y : f32[1, 2, 3, 3], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mean, %var, 0.1, 1e-05)
  output %y)",
      // The running mean is not a constant.
      R"(  %conv : f32[1, 2, 3, 3] = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %y : f32[1, 2, 3, 3], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mi, %var, 0.1, 1e-05)
  output %y)",
      // A transposed convolution scales another weight dim.
      R"(  %conv : f32[1, 2, 3, 3] = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], True, [0, 0], 1)
  %y : f32[1, 2, 3, 3], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mean, %var, 0.1, 1e-05)
  output %y)",
      // The saved statistics are read.
      R"(  %conv : f32[1, 2, 3, 3] = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %y : f32[1, 2, 3, 3], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mean, %var, 0.1, 1e-05)
  output %y, %m)",
      // Batch norm after a non-foldable op.
      R"(  %a : f32[1, 2, 3, 3] = aten::relu(%x)
  %y : f32[1, 2, 3, 3], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%a, %gamma, %beta, %mean, %var, 0.1, 1e-05)
  output %y)",
  };
  for (const char* body : bodies) {
    SCOPED_TRACE(body);
    expect_unchanged(fold_batch_norm, std::string(header) + body + "\n}\n");
  }
  // A 3-D linear output: batch norm's dim 1 is not the feature dim.
  expect_unchanged(fold_batch_norm, R"(graph {
  input %x : f32[4, 2, 3]
  constant %w : f32[2, 3] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
  constant %mean : f32[2] = [0.5, 0.25]
  constant %var : f32[2] = [1.0, 2.0]
  %l : f32[4, 2, 2] = aten::linear(%x, %w, None)
  %y : f32[4, 2, 2], %m : f32[0], %r : f32[0] = aten::_native_batch_norm_legit_no_training(%l, None, None, %mean, %var, 0.1, 1e-05)
  output %y
})");
}

TEST(FoldBatchNorm, EachBatchNormOfAChainFolds) {
  auto g = parse_ir(R"(graph {
  input %x : f32[1, 2, 4, 4]
  constant %w1 : f32[2, 2, 1, 1] = external
  constant %w2 : f32[2, 2, 1, 1] = external
  constant %mean : f32[2] = [0.5, 0.25]
  constant %var : f32[2] = [1.0, 2.0]
  %c1 : f32[1, 2, 4, 4] = aten::convolution(%x, %w1, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %y1 : f32[1, 2, 4, 4], %m1 : f32[0], %r1 : f32[0] = aten::_native_batch_norm_legit_no_training(%c1, None, None, %mean, %var, 0.1, 1e-05)
  %a : f32[1, 2, 4, 4] = aten::relu(%y1)
  %c2 : f32[1, 2, 4, 4] = aten::convolution(%a, %w2, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %y2 : f32[1, 2, 4, 4], %m2 : f32[0], %r2 : f32[0] = aten::_native_batch_norm_legit_no_training(%c2, None, None, %mean, %var, 0.1, 1e-05)
  output %y2
})");
  ASSERT_EQ(*fold_batch_norm(*g, {}), 2);
  ASSERT_TRUE(g->verify().is_ok());
  EXPECT_EQ(count_ops(*g, "aten::_native_batch_norm_legit_no_training"), 0);
  EXPECT_EQ(count_ops(*g, "aten::convolution"), 2);
}

}  // namespace
}  // namespace ingot::lower
