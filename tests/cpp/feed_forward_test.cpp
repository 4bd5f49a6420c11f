// fuse_feed_forward and the feed_forward layer: a transformer block's FC1 (bias, GELU), FC2
// (bias, residual) and LayerNorm before and after the pass, on the CPU reference; what the pass
// leaves alone; the layer's shape function.
#include <gtest/gtest.h>

#include "build/builder.h"
#include "build/passes.h"
#include "net/layers.h"
#include "runtime/engine.h"

#include "engine_test_util.h"
#include "plan_test_util.h"

using namespace ingot;
using ir::DType;

namespace {

constexpr int64_t kB = 2, kS = 5, kD = 16, kF = 24;

struct Options {
  bool second_bias = true;
  bool h_read_elsewhere = false;     // h is also an engine output
  bool other_residual = false;       // FC2's residual is not FC1's input
  bool norm_over_two_dims = false;   // the normalization starts at axis 1
  net::UnaryOp act = net::UnaryOp::kGeluErf;
};

// x [kB, kS, kD] -> FC1 [kF] + act -> FC2 [kD] + x -> LayerNorm -> y.
net::Network block(const Options& o = {}) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({kB, kS, kD})});
  int other = o.other_residual ? n.add_input("r", {DType::kFloat32, ir::shape_of({kB, kS, kD})}) : x;
  int w1 = n.add_constant("w1", plan_test::random_f32({kF, kD}, 1));
  int b1 = n.add_constant("b1", plan_test::random_f32({kF}, 2));
  int w2 = n.add_constant("w2", plan_test::random_f32({kD, kF}, 3));
  int b2 = o.second_bias ? n.add_constant("b2", plan_test::random_f32({kD}, 4)) : -1;
  int gamma = n.add_constant("gamma", plan_test::random_f32({kD}, 5));
  int beta = n.add_constant("beta", plan_test::random_f32({kD}, 6));
  auto h = n.add(net::MatMulParams{.transpose_b = true, .activation = o.act}, {x, w1, b1}, "fc1");
  EXPECT_TRUE(h.has_value()) << h.status().message();
  auto z = n.add(net::MatMulParams{.transpose_b = true}, {*h, w2, b2, other}, "fc2");
  EXPECT_TRUE(z.has_value()) << z.status().message();
  net::NormalizationParams ln{.kind = net::NormKind::kLayer, .axis = o.norm_over_two_dims ? 1 : 2, .eps = 1e-5};
  if (o.norm_over_two_dims) {  // weight and bias over [kS, kD]
    gamma = n.add_constant("gamma2", plan_test::random_f32({kS, kD}, 7));
    beta = n.add_constant("beta2", plan_test::random_f32({kS, kD}, 8));
  }
  auto y = n.add(ln, {*z, gamma, beta}, "ln");
  EXPECT_TRUE(y.has_value()) << y.status().message();
  n.mark_output(*y, "y");
  if (o.h_read_elsewhere) n.mark_output(*h, "h");
  return n;
}

size_t count(const net::Network& n, net::LayerKind kind) {
  size_t c = 0;
  for (const auto& l : n.layers()) c += l.kind() == kind;
  return c;
}

// Both networks' outputs on the same random inputs of `shapes`, within 1e-4.
void expect_same_outputs(const net::Network& before, const net::Network& after,
                         const std::vector<std::vector<int64_t>>& shapes = {{kB, kS, kD}}) {
  auto a = engine_test::run_random_f32(before, shapes, 9), b = engine_test::run_random_f32(after, shapes, 9);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(a[0].size(), b[0].size());
  for (size_t i = 0; i < a[0].size(); ++i) EXPECT_NEAR(a[0][i], b[0][i], 1e-4) << "element " << i;
}

// The pass on `net`, which must make exactly one layer and leave nothing else: that feed_forward
// layer, with `inputs` inputs, in the returned network.
net::Network fused_alone(const net::Network& net, size_t inputs) {
  int fused = 0;
  auto after = build::fuse_feed_forward(net, nullptr, &fused);
  EXPECT_TRUE(after.has_value()) << after.status().message();
  if (!after) return {};
  EXPECT_EQ(fused, 1);
  EXPECT_EQ(after->layers().size(), 1u);
  EXPECT_EQ(count(*after, net::LayerKind::kFeedForward), 1u);
  if (!after->layers().empty()) EXPECT_EQ(after->layers()[0].inputs.size(), inputs);
  return std::move(*after);
}

TEST(FuseFeedForward, TwoMatmulsAndTheLayerNormBecomeOneLayer) {
  for (bool second_bias : {true, false}) {
    for (net::UnaryOp act : {net::UnaryOp::kGeluErf, net::UnaryOp::kRelu}) {
      net::Network net = block({.second_bias = second_bias, .act = act});
      const net::Network after = fused_alone(net, 7);
      ASSERT_EQ(count(after, net::LayerKind::kFeedForward), 1u);
      const net::Layer& ff = after.layers()[0];
      EXPECT_EQ(ff.inputs[4] >= 0, second_bias);
      const auto& p = std::get<net::FeedForwardParams>(ff.params);
      EXPECT_EQ(p.act, act);
      EXPECT_DOUBLE_EQ(p.eps, 1e-5);
      EXPECT_EQ(after.tensor(ff.outputs[0]).type, net.tensor(net.outputs()[0]).type);
      expect_same_outputs(net, after);
    }
  }
}

TEST(FuseFeedForward, LeavesWhatDoesNotMatchOrFit) {
  // h read elsewhere, or FC2's residual not FC1's input: no feed-forward match, but FC2 with its
  // residual and the LayerNorm still make a layer without w1 (FC1 stays a matmul).
  for (const Options& o : {Options{.h_read_elsewhere = true}, Options{.other_residual = true}}) {
    net::Network net = block(o);
    int fused = -1;
    auto after = build::fuse_feed_forward(net, nullptr, &fused);
    ASSERT_TRUE(after.has_value()) << after.status().message();
    EXPECT_EQ(fused, 1);
    ASSERT_EQ(after->layers().size(), 2u);
    EXPECT_EQ(after->layers()[0].kind(), net::LayerKind::kMatMul);
    const net::Layer& ff = after->layers()[1];
    ASSERT_EQ(ff.kind(), net::LayerKind::kFeedForward);
    ASSERT_EQ(ff.inputs.size(), 8u);
    EXPECT_LT(ff.inputs[1], 0);
    EXPECT_EQ(std::get<net::FeedForwardParams>(ff.params).act, net::UnaryOp::kIdentity);
  }
  {  // a normalization over the last two dims: nothing
    net::Network net = block({.norm_over_two_dims = true});
    int fused = -1;
    auto after = build::fuse_feed_forward(net, nullptr, &fused);
    ASSERT_TRUE(after.has_value()) << after.status().message();
    EXPECT_EQ(fused, 0);
    EXPECT_EQ(after->layers().size(), net.layers().size());
  }
  net::Network net = block();
  int64_t seen_rows = 0, seen_d = 0, seen_f = 0;
  int fused = -1;
  auto refused = build::fuse_feed_forward(
      net,
      [&](int64_t rows, int64_t d, int64_t f, DType) {
        seen_rows = rows, seen_d = d, seen_f = f;
        return false;
      },
      &fused);
  ASSERT_TRUE(refused.has_value()) << refused.status().message();
  EXPECT_EQ(fused, 0);
  EXPECT_EQ(seen_rows, kB * kS);
  EXPECT_EQ(seen_d, kD);
  EXPECT_EQ(seen_f, kF);
}

// a [kB, kS, kF] -> matmul [kD] + bias + r -> LayerNorm: BERT's attention output, r its block input.
net::Network linear_norm(bool r_is_also_read = false) {
  net::Network n;
  int a = n.add_input("a", {DType::kFloat32, ir::shape_of({kB, kS, kF})});
  int r = n.add_input("r", {DType::kFloat32, ir::shape_of({kB, kS, kD})});
  int w = n.add_constant("w", plan_test::random_f32({kD, kF}, 11));
  int b = n.add_constant("b", plan_test::random_f32({kD}, 12));
  int gamma = n.add_constant("gamma", plan_test::random_f32({kD}, 13));
  int beta = n.add_constant("beta", plan_test::random_f32({kD}, 14));
  auto z = n.add(net::MatMulParams{.transpose_b = true}, {a, w, b, r}, "out");
  EXPECT_TRUE(z.has_value()) << z.status().message();
  auto y = n.add(net::NormalizationParams{.kind = net::NormKind::kLayer, .axis = 2, .eps = 1e-6}, {*z, gamma, beta}, "ln");
  EXPECT_TRUE(y.has_value()) << y.status().message();
  n.mark_output(*y, "y");
  if (r_is_also_read) n.mark_output(*z, "z");
  return n;
}

TEST(FuseFeedForward, ALinearLayerWithItsResidualAndLayerNormBecomesOneLayerWithoutW1) {
  net::Network net = linear_norm();
  const net::Network after = fused_alone(net, 8);
  ASSERT_EQ(count(after, net::LayerKind::kFeedForward), 1u);
  const net::Layer& ff = after.layers()[0];
  EXPECT_LT(ff.inputs[1], 0);
  EXPECT_LT(ff.inputs[2], 0);
  EXPECT_EQ(after.tensor(ff.inputs[7]).name, "r");
  EXPECT_EQ(std::get<net::FeedForwardParams>(ff.params).act, net::UnaryOp::kIdentity);
  expect_same_outputs(net, after, {{kB, kS, kF}, {kB, kS, kD}});

  net::Network shared = linear_norm(/*r_is_also_read=*/true);  // z read elsewhere: left alone
  int fused = -1;
  auto left = build::fuse_feed_forward(shared, nullptr, &fused);
  ASSERT_TRUE(left.has_value()) << left.status().message();
  EXPECT_EQ(fused, 0);
}

TEST(FeedForwardLayer, ShapeFunctionChecksItsInputs) {
  const auto t = [](std::vector<int64_t> d, DType dt = DType::kFloat16) { return ir::TensorType{dt, ir::shape_of(d)}; };
  const ir::TensorType x = t({2, 3, 8}), w1 = t({32, 8}), b1 = t({32}), w2 = t({8, 32}), v = t({8});
  auto ok = net::infer_types(net::FeedForwardParams{}, {&x, &w1, &b1, &w2, nullptr, &v, &v});
  ASSERT_TRUE(ok.has_value()) << ok.status().message();
  EXPECT_EQ((*ok)[0], x);
  const auto message = [](const Expected<std::vector<ir::TensorType>>& r) { return r ? std::string() : r.status().message(); };
  const ir::TensorType w2_bad = t({8, 16}), v_bad = t({16}), x_f32 = t({2, 3, 8}, DType::kFloat32);
  EXPECT_NE(message(net::infer_types(net::FeedForwardParams{}, {&x, &w1, &b1, &w2_bad, nullptr, &v, &v})).find("w2"),
            std::string::npos);
  EXPECT_NE(message(net::infer_types(net::FeedForwardParams{}, {&x, &w1, &b1, &w2, nullptr, &v_bad, &v})).find("gamma"),
            std::string::npos);
  EXPECT_NE(message(net::infer_types(net::FeedForwardParams{}, {&x_f32, &w1, &b1, &w2, nullptr, &v, &v})).find("w1"),
            std::string::npos);
  EXPECT_NE(message(net::infer_types(net::FeedForwardParams{}, {&x, &w1, &b1, &w2, nullptr, &v})).find("7 or 8 inputs"),
            std::string::npos);
  EXPECT_NE(message(net::infer_types(net::FeedForwardParams{.eps = -1.0}, {&x, &w1, &b1, &w2, nullptr, &v, &v})).find("eps"),
            std::string::npos);
  // Without w1: x [2, 3, 32] . w2'^T [8, 32] + the residual [2, 3, 8].
  const ir::TensorType a = t({2, 3, 32}), w = t({8, 32}), r = t({2, 3, 8}), r_bad = t({2, 3, 16});
  auto linear = net::infer_types(net::FeedForwardParams{}, {&a, nullptr, nullptr, &w, nullptr, &v, &v, &r});
  ASSERT_TRUE(linear.has_value()) << linear.status().message();
  EXPECT_EQ((*linear)[0], r);
  EXPECT_NE(message(net::infer_types(net::FeedForwardParams{}, {&a, nullptr, nullptr, &w, nullptr, &v, &v})).find("D (8) must equal K (32)"),
            std::string::npos);
  EXPECT_NE(message(net::infer_types(net::FeedForwardParams{}, {&a, nullptr, nullptr, &w, nullptr, &v, &v, &r_bad})).find("residual"),
            std::string::npos);
  EXPECT_NE(message(net::infer_types(net::FeedForwardParams{.act = net::UnaryOp::kRelu}, {&a, nullptr, nullptr, &w, nullptr, &v, &v, &r}))
                .find("need w1"),
            std::string::npos);
}

}  // namespace
