// squeeze_excite_into_projections: an EfficientNet-style block (the scaled squeeze_excite layer
// that fuse_squeeze_excite makes, then a 1x1 projection with bias and residual) before and after
// the pass, on the CPU reference; blocks too small to pay, and projections that are not 1x1 or
// share the scaled activations, stay as they are.
#include <gtest/gtest.h>

#include <cmath>

#include "build/builder.h"
#include "build/passes.h"
#include "net/layers.h"
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
  int64_t n = 4, h = 32, w = 32, c = 288, r = 12, o = 16;  // f32: 9.3 MB saved, above the 8 MiB floor
  bool residual = true;
  bool bias = true;
  int64_t kernel = 1;          // the projection's kernel size
  bool scaled_output = false;  // the scaled activations are also an engine output
};

// x -> mean -> fc (SiLU) -> fc (sigmoid) -> x * gate -> projection (+ bias, + residual input).
net::Network block(const Block& b) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({b.n, b.h, b.w, b.c})});
  int res = b.residual ? n.add_input("res", {DType::kFloat32, ir::shape_of({b.n, b.h, b.w, b.o})}) : -1;
  int pooled = se_test::mean_hw(n, x, "se.mean");
  int hidden = fc(n, pooled, b.r, b.c, net::UnaryOp::kSilu, 10, "se.reduce");
  int gate = fc(n, hidden, b.c, b.r, net::UnaryOp::kSigmoid, 20, "se.expand");
  int xs = *n.add(net::ElementwiseParams{net::BinaryOp::kMul}, {x, gate}, "se.scale");
  std::vector<int> in{xs, n.add_constant("project.w", plan_test::random_f32({b.o, b.kernel, b.kernel, b.c}, 30))};
  in.push_back(b.bias ? n.add_constant("project.b", plan_test::random_f32({b.o}, 31)) : -1);
  if (b.residual) in.push_back(res);
  auto y = n.add(channels_last_conv(b.kernel), in, "project");
  EXPECT_TRUE(y.has_value()) << y.status().message();
  n.mark_output(*y, "y");
  if (b.scaled_output) n.mark_output(xs, "xs");
  return n;
}

std::vector<std::vector<float>> run(net::Network net, const Block& b) {
  std::vector<std::vector<int64_t>> shapes{{b.n, b.h, b.w, b.c}};
  if (b.residual) shapes.push_back({b.n, b.h, b.w, b.o});
  return engine_test::run_random_f32(std::move(net), shapes, 3);
}

size_t count(const net::Network& n, net::LayerKind kind) {
  size_t c = 0;
  for (const auto& l : n.layers()) c += l.kind() == kind;
  return c;
}

// The network after fuse_squeeze_excite and then squeeze_excite_into_projections.
net::Network rewritten(const net::Network& net, int expected) {
  auto fused = build::fuse_squeeze_excite(net, nullptr);
  EXPECT_TRUE(fused.has_value()) << fused.status().message();
  int rewrites = -1;
  auto after = build::squeeze_excite_into_projections(*fused, &rewrites);
  EXPECT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(rewrites, expected);
  return std::move(*after);
}

TEST(SqueezeExciteIntoProjections, GatesScaleTheWeightsOfABatchedProduct) {
  for (bool residual : {true, false}) {
    for (bool bias : {true, false}) {
      Block b;
      b.residual = residual, b.bias = bias;
      net::Network net = block(b);
      net::Network after = rewritten(net, 1);
      EXPECT_EQ(count(after, net::LayerKind::kConvolution), 0u);
      EXPECT_EQ(count(after, net::LayerKind::kMatMul), 1u);
      ASSERT_EQ(count(after, net::LayerKind::kSqueezeExcite), 1u);
      for (const auto& l : after.layers()) {
        if (const auto* se = std::get_if<net::SqueezeExciteParams>(&l.params)) {
          EXPECT_FALSE(se->scale_input);  // gates only, [N, 1, 1, C]
          EXPECT_EQ(after.tensor(l.outputs[0]).type.shape, ir::shape_of({b.n, 1, 1, b.c}));
        }
        if (const auto* mm = std::get_if<net::MatMulParams>(&l.params)) {
          EXPECT_TRUE(mm->transpose_b);
          EXPECT_EQ(after.tensor(l.inputs[0]).type.shape, ir::shape_of({b.n, b.h * b.w, b.c}));
          EXPECT_EQ(after.tensor(l.inputs[1]).type.shape, ir::shape_of({b.n, b.o, b.c}));  // per-sample weights
          EXPECT_EQ(l.inputs.size(), residual ? 4u : bias ? 3u : 2u);
        }
      }
      EXPECT_EQ(after.tensor(after.outputs()[0]).type, net.tensor(net.outputs()[0]).type);
      se_test::expect_close(run(net, b), run(after, b), 1e-5);
    }
  }
}

TEST(SqueezeExciteIntoProjections, LeavesBlocksWhereTheWeightsWouldCostMore) {
  Block small;  // batch 1: 2.3 MB of x traffic saved, under the floor
  small.n = 1;
  rewritten(block(small), 0);
  Block wide;  // more output channels than pixels: the weights outweigh x
  wide.h = wide.w = 4, wide.o = 64, wide.n = 64;
  rewritten(block(wide), 0);
}

TEST(SqueezeExciteIntoProjections, LeavesOtherProjectionsAndSharedActivations) {
  Block three;  // a 3x3 projection is not a product of the pixels
  three.kernel = 3;
  rewritten(block(three), 0);
  Block shared;  // the scaled activations are also an engine output
  shared.scaled_output = true;
  net::Network net = block(shared);
  net::Network after = rewritten(net, 0);
  EXPECT_EQ(count(after, net::LayerKind::kConvolution), 1u);
  se_test::expect_close(run(net, shared), run(after, shared), 1e-5);
}

}  // namespace
