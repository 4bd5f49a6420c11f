// squeeze_excite_sums: an MBConv-style block (a depthwise convolution, the squeeze_excite layer
// that fuse_squeeze_excite makes from its gate) before and after the pass, on the CPU
// reference: the convolution writes the channel sums, the gate pools them, the outputs match.
// Gates whose x no depthwise convolution writes stay as they are; the shape functions and the
// plan checks refuse the sums anywhere else.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "build/builder.h"
#include "build/passes.h"
#include "net/layers.h"
#include "plan/plan.h"
#include "runtime/engine.h"

#include "engine_test_util.h"
#include "plan_test_util.h"
#include "squeeze_excite_test_util.h"

using namespace ingot;
using ir::DType;
using se_test::channels_last_conv;
using se_test::fc;

namespace {

struct Block {
  int64_t n = 3, h = 9, w = 7, c = 24, r = 6;
  int64_t groups = 24;         // 24: depthwise; 1: a dense 3x3 convolution
  bool scale = true;           // the gate multiplies x (else the gate is the output)
  bool x_is_output = false;    // the convolution's output is also an engine output
  bool x_is_input = false;     // no convolution: x is the engine input
};

// a -> 3x3 convolution (bias, SiLU) = x -> mean -> fc (SiLU) -> fc (sigmoid) [-> x * gate].
net::Network block(const Block& b) {
  net::Network n;
  int a = n.add_input("a", {DType::kFloat32, ir::shape_of({b.n, b.h, b.w, b.c})});
  int x = a;
  if (!b.x_is_input) {
    int w = n.add_constant("dw.w", plan_test::random_f32({b.c, 3, 3, b.c / b.groups}, 5));
    int bias = n.add_constant("dw.b", plan_test::random_f32({b.c}, 6));
    auto y = n.add(channels_last_conv(3, b.groups, net::UnaryOp::kSilu), {a, w, bias}, "dw");
    EXPECT_TRUE(y.has_value()) << y.status().message();
    x = *y;
  }
  int pooled = se_test::mean_hw(n, x, "se.mean");
  int hidden = fc(n, pooled, b.r, b.c, net::UnaryOp::kSilu, 10, "se.reduce");
  int gate = fc(n, hidden, b.c, b.r, net::UnaryOp::kSigmoid, 20, "se.expand");
  int y = b.scale ? *n.add(net::ElementwiseParams{net::BinaryOp::kMul}, {x, gate}, "se.scale") : gate;
  n.mark_output(y, "y");
  if (b.x_is_output) n.mark_output(x, "x");
  return n;
}

std::vector<std::vector<float>> run(net::Network net, const Block& b) {
  auto plan = build::build_plan(std::move(net), {});
  EXPECT_TRUE(plan.has_value()) << plan.status().message();
  if (!plan) return {};
  // The plan survives its byte form (the f64 sums tensor and the flag included).
  auto bytes = plan::serialize(*plan);
  EXPECT_TRUE(bytes.has_value()) << bytes.status().message();
  if (!bytes) return {};
  auto copy = plan::deserialize(*bytes, nullptr);
  EXPECT_TRUE(copy.has_value()) << copy.status().message();
  if (!copy) return {};
  auto engine = runtime::Engine::from_plan(std::move(*copy));
  EXPECT_TRUE(engine.has_value()) << engine.status().message();
  auto ctx = (*engine)->create_context();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<float> a(static_cast<size_t>(b.n * b.h * b.w * b.c));
  for (auto& v : a) v = u(rng);
  EXPECT_TRUE(ctx->set_input_shapes({{b.n, b.h, b.w, b.c}}).is_ok());
  return engine_test::execute_f32(**engine, *ctx, {{a.data(), DType::kFloat32, {b.n, b.h, b.w, b.c}}});
}

// The network after fuse_squeeze_excite and then squeeze_excite_sums.
net::Network rewritten(const net::Network& net, int expected) {
  auto fused = build::fuse_squeeze_excite(net, nullptr);
  EXPECT_TRUE(fused.has_value()) << fused.status().message();
  int rewrites = -1;
  auto after = build::squeeze_excite_sums(*fused, true, &rewrites);
  EXPECT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(rewrites, expected);
  return std::move(*after);
}

TEST(SqueezeExciteSums, DepthwiseConvolutionWritesTheSumsTheGatePools) {
  for (bool scale : {true, false}) {
    for (bool x_is_output : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "scale " << scale << ", x an output " << x_is_output);
      Block b;
      b.scale = scale, b.x_is_output = x_is_output;
      net::Network net = block(b);
      net::Network after = rewritten(net, 1);
      int sums = -1;
      for (const auto& l : after.layers()) {
        if (const auto* c = std::get_if<net::ConvolutionParams>(&l.params); c && c->groups == b.c) {
          EXPECT_TRUE(c->channel_sums);
          ASSERT_EQ(l.outputs.size(), 2u);
          sums = l.outputs[1];
          EXPECT_EQ(after.tensor(sums).type.dtype, DType::kFloat64);
          EXPECT_EQ(after.tensor(sums).type.shape, ir::shape_of({b.n, b.c}));
        }
        if (l.kind() == net::LayerKind::kSqueezeExcite) {
          ASSERT_EQ(l.inputs.size(), 6u);
          EXPECT_EQ(l.inputs[5], sums);
        }
      }
      EXPECT_GE(sums, 0);
      se_test::expect_close(run(net, b), run(after, b), 1e-6);
    }
  }
}

TEST(SqueezeExciteSums, LeavesGatesNoDepthwiseConvolutionWrites) {
  Block dense;  // a 3x3 convolution of one group: not depthwise
  dense.groups = 1;
  net::Network net = block(dense);
  net::Network after = rewritten(net, 0);
  for (const auto& l : after.layers()) {
    if (const auto* c = std::get_if<net::ConvolutionParams>(&l.params)) EXPECT_FALSE(c->channel_sums);
  }
  se_test::expect_close(run(net, dense), run(after, dense), 1e-6);
  Block input;  // x is the engine input
  input.x_is_input = true;
  rewritten(block(input), 0);
  // Run twice, the pass finds nothing more to do.
  net::Network once = rewritten(block(Block{}), 1);
  int again = -1;
  ASSERT_TRUE(build::squeeze_excite_sums(once, true, &again).has_value());
  EXPECT_EQ(again, 0);
  // `scaled` false: the gate that multiplies x stays, the one that does not is taken.
  auto fused = build::fuse_squeeze_excite(block(Block{}), nullptr);
  ASSERT_TRUE(fused.has_value());
  ASSERT_TRUE(build::squeeze_excite_sums(*fused, false, &again).has_value());
  EXPECT_EQ(again, 0);
  Block gates;
  gates.scale = false;
  fused = build::fuse_squeeze_excite(block(gates), nullptr);
  ASSERT_TRUE(fused.has_value());
  ASSERT_TRUE(build::squeeze_excite_sums(*fused, false, &again).has_value());
  EXPECT_EQ(again, 1);
}

TEST(SqueezeExciteSums, ShapeFunctionsAndPlanChecksKeepTheSumsInTheirPlace) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 5, 5, 8})});
  int w = n.add_constant("w", plan_test::random_f32({8, 3, 3, 1}, 1));
  net::ConvolutionParams p = channels_last_conv(3, 8);
  p.channel_sums = true;
  p.channels_last = false;  // NCHW has no channel sums
  auto nchw = n.add(p, {x, w}, "nchw");
  ASSERT_FALSE(nchw.has_value());
  EXPECT_NE(nchw.status().message().find("channel_sums needs channels_last"), std::string::npos) << nchw.status().message();
  p.channels_last = true;
  auto outs = n.add_layer(p, {x, w}, "dw");
  ASSERT_TRUE(outs.has_value()) << outs.status().message();
  ASSERT_EQ(outs->size(), 2u);
  EXPECT_EQ(n.tensor((*outs)[1]).type, (ir::TensorType{DType::kFloat64, ir::shape_of({2, 8})}));
  // The gate takes f64 [N, C] sums, nothing else.
  int w1 = n.add_constant("w1", plan_test::random_f32({2, 8}, 2));
  int w2 = n.add_constant("w2", plan_test::random_f32({8, 2}, 3));
  auto bad = n.add(net::SqueezeExciteParams{}, {(*outs)[0], w1, -1, w2, -1, (*outs)[0]}, "se.bad");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.status().message().find("sums must be f64[2, 8]"), std::string::npos) << bad.status().message();
  EXPECT_TRUE(n.add(net::SqueezeExciteParams{}, {(*outs)[0], w1, -1, w2, -1, (*outs)[1]}, "se").has_value());
}

}  // namespace
