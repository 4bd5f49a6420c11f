// fuse_squeeze_excite and the squeeze_excite layer: an EfficientNet-style block (channels-last
// activations, a mean over H and W, two 1x1 convolutions with SiLU and sigmoid, the gate
// multiply) before and after the pass, on the CPU reference.
#include <gtest/gtest.h>


#include "build/builder.h"
#include "build/passes.h"
#include "net/layers.h"
#include "runtime/engine.h"

#include "engine_test_util.h"
#include "plan_test_util.h"
#include "squeeze_excite_test_util.h"

using namespace ingot;
using ir::DType;
using se_test::fc;

namespace {

constexpr int64_t kN = 2, kH = 5, kW = 6, kC = 12, kR = 3;

// `pooled_reader`: the pooled means are also an engine output (the pass must leave them).
// `gate_reader`: so is the gate (the pass fuses it but leaves the multiply).
net::Network se_block(bool pooled_reader = false, bool gate_reader = false) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({kN, kH, kW, kC})});
  int pooled = se_test::mean_hw(n, x, "se.mean");
  int hidden = fc(n, pooled, kR, kC, net::UnaryOp::kSilu, 10, "se.reduce");
  int gate = fc(n, hidden, kC, kR, net::UnaryOp::kSigmoid, 20, "se.expand");
  n.mark_output(*n.add(net::ElementwiseParams{net::BinaryOp::kMul}, {x, gate}, "se.scale"), "y");
  if (pooled_reader) n.mark_output(pooled, "pooled");
  if (gate_reader) n.mark_output(gate, "gate");
  return n;
}

std::vector<std::vector<float>> run(net::Network net) {
  return engine_test::run_random_f32(std::move(net), {{kN, kH, kW, kC}}, 3);
}

size_t count(const net::Network& n, net::LayerKind kind) {
  size_t c = 0;
  for (const auto& l : n.layers()) c += l.kind() == kind;
  return c;
}

void expect_same_outputs(const net::Network& before, const net::Network& after, size_t outputs) {
  auto a = run(before), b = run(after);
  ASSERT_EQ(a.size(), outputs);
  ASSERT_EQ(b.size(), outputs);
  for (size_t o = 0; o < outputs; ++o) {
    ASSERT_EQ(a[o].size(), b[o].size());
    for (size_t i = 0; i < a[o].size(); ++i) EXPECT_NEAR(a[o][i], b[o][i], 1e-5) << "output " << o << " element " << i;
  }
}

TEST(FuseSqueezeExcite, MeanConvolutionsAndMultiplyBecomeOneLayer) {
  net::Network net = se_block();
  int fused = 0;
  auto after = build::fuse_squeeze_excite(net, nullptr, &fused);
  ASSERT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(fused, 1);
  ASSERT_EQ(after->layers().size(), 1u);
  const net::Layer& se = after->layers()[0];
  ASSERT_EQ(se.kind(), net::LayerKind::kSqueezeExcite);
  EXPECT_EQ(after->tensor(se.inputs[1]).type.shape, ir::shape_of({kR, kC}));
  EXPECT_EQ(after->tensor(se.inputs[3]).type.shape, ir::shape_of({kC, kR}));
  const auto& p = std::get<net::SqueezeExciteParams>(se.params);
  EXPECT_EQ(p.act1, net::UnaryOp::kSilu);
  EXPECT_EQ(p.act2, net::UnaryOp::kSigmoid);
  EXPECT_TRUE(p.scale_input);
  EXPECT_EQ(after->tensor(se.outputs[0]).type, net.tensor(net.outputs()[0]).type);
  expect_same_outputs(net, *after, 1);
}

TEST(FuseSqueezeExcite, AGateReadElsewhereKeepsItsMultiply) {
  net::Network net = se_block(/*pooled_reader=*/false, /*gate_reader=*/true);
  int fused = 0;
  auto after = build::fuse_squeeze_excite(net, nullptr, &fused);
  ASSERT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(fused, 1);
  EXPECT_EQ(count(*after, net::LayerKind::kSqueezeExcite), 1u);
  EXPECT_EQ(count(*after, net::LayerKind::kConvolution), 0u);
  EXPECT_EQ(count(*after, net::LayerKind::kReduce), 0u);
  EXPECT_EQ(count(*after, net::LayerKind::kElementwise), 1u);
  EXPECT_FALSE(std::get<net::SqueezeExciteParams>(after->layers()[0].params).scale_input);
  expect_same_outputs(net, *after, 2);
}

TEST(FuseSqueezeExcite, LeavesMeansWithOtherReadersAndWhatDoesNotFit) {
  net::Network shared = se_block(/*pooled_reader=*/true);
  int fused = -1;
  auto after = build::fuse_squeeze_excite(shared, nullptr, &fused);
  ASSERT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(fused, 0);
  EXPECT_EQ(after->layers().size(), shared.layers().size());

  net::Network net = se_block();
  auto too_big = build::fuse_squeeze_excite(net, [](int64_t c, int64_t r) { return c + r < kC + kR; }, &fused);
  ASSERT_TRUE(too_big.has_value()) << too_big.status().message();
  EXPECT_EQ(fused, 0);
  EXPECT_EQ(count(*too_big, net::LayerKind::kSqueezeExcite), 0u);
}

TEST(SqueezeExciteLayer, ShapeFunctionChecksItsInputs) {
  ir::TensorType x{DType::kFloat32, ir::shape_of({2, 4, 4, 8})}, w1{DType::kFloat32, ir::shape_of({2, 8})},
      w2{DType::kFloat32, ir::shape_of({8, 2})}, b1{DType::kFloat32, ir::shape_of({2})}, bad{DType::kFloat32, ir::shape_of({3, 8})};
  auto ok = net::infer_types(net::SqueezeExciteParams{}, {&x, &w1, &b1, &w2, nullptr});
  ASSERT_TRUE(ok.has_value()) << ok.status().message();
  EXPECT_EQ((*ok)[0].shape, ir::shape_of({2, 1, 1, 8}));
  EXPECT_FALSE(net::infer_types(net::SqueezeExciteParams{}, {&x, &bad, nullptr, &w2, nullptr}).has_value());
  EXPECT_FALSE(net::infer_types(net::SqueezeExciteParams{}, {&x, &w1, nullptr, &w1, nullptr}).has_value());
  EXPECT_FALSE(net::infer_types(net::SqueezeExciteParams{}, {&x, &w1, nullptr, &w2}).has_value());
  auto scaled = net::infer_types(net::SqueezeExciteParams{.scale_input = true}, {&x, &w1, &b1, &w2, nullptr});
  ASSERT_TRUE(scaled.has_value()) << scaled.status().message();
  EXPECT_EQ((*scaled)[0], x);
}

}  // namespace
