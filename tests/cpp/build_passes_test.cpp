// Builder passes, checked by running the network before and after on the CPU reference.
#include <gtest/gtest.h>

#include <random>

#include "build/builder.h"
#include "build/passes.h"
#include "runtime/engine.h"

using namespace ingot;
using ir::DType;

namespace {

ir::ConstantData random_constant(std::vector<int64_t> dims, uint32_t seed) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t i = 0; i < n; ++i) reinterpret_cast<float*>(bytes.data())[i] = u(rng);
  return ir::ConstantData::owned(DType::kFloat32, std::move(dims), std::move(bytes));
}

// conv(x) + bias[C,1,1] + shortcut(x) -> relu, then matmul + bias -> gelu, and a branch that
// reads the conv output twice (must not fuse).
net::Network resnet_like() {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  net::ConvolutionParams c;
  c.stride = c.dilation = {1, 1};
  c.padding = {1, 1};
  c.output_padding = {0, 0};
  int w1 = n.add_constant("w1", random_constant({4, 3, 3, 3}, 1));
  int conv = *n.add(c, {x, w1}, "conv");
  int b = n.add_constant("b", random_constant({4, 1, 1}, 2));
  int biased = *n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {conv, b}, "bias_add");
  net::ConvolutionParams sc = c;
  sc.padding = {0, 0};
  int w2 = n.add_constant("w2", random_constant({4, 3, 1, 1}, 3));
  int shortcut = *n.add(sc, {x, w2}, "shortcut");  // computed after the first conv
  int sum = *n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {shortcut, biased}, "residual_add");
  net::UnaryParams relu;
  relu.op = net::UnaryOp::kRelu;
  int act = *n.add(relu, {sum}, "relu");
  net::ReshapeParams r;
  r.shape = ir::shape_of({2, 144});
  int flat = *n.add(r, {act}, "flatten");
  int wm = n.add_constant("wm", random_constant({5, 144}, 4));
  net::MatMulParams m;
  m.transpose_b = true;
  int mm = *n.add(m, {flat, wm}, "fc");
  int bm = n.add_constant("bm", random_constant({5}, 5));
  int mmb = *n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {mm, bm}, "fc_bias");
  net::UnaryParams gelu;
  gelu.op = net::UnaryOp::kGeluErf;
  int out = *n.add(gelu, {mmb}, "gelu");
  int twice = *n.add(net::ElementwiseParams{net::BinaryOp::kMul}, {shortcut, shortcut}, "square");
  n.mark_output(out, "y");
  n.mark_output(twice, "z");
  return n;
}

std::vector<std::vector<float>> run(net::Network net) {
  auto plan = build::build_plan(std::move(net), {});
  EXPECT_TRUE(plan.has_value()) << plan.status().message();
  auto engine = runtime::Engine::from_plan(std::move(*plan));
  EXPECT_TRUE(engine.has_value()) << engine.status().message();
  auto ctx = (*engine)->create_context();
  std::vector<float> x(2 * 3 * 6 * 6);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& v : x) v = u(rng);
  EXPECT_TRUE(ctx->set_input_shapes({{2, 3, 6, 6}}).is_ok());
  std::vector<std::vector<float>> outs;
  std::vector<runtime::TensorArg> out_args;
  for (size_t i = 0; i < (*engine)->num_outputs(); ++i) {
    int64_t n = 1;
    for (int64_t d : ctx->output_dims(i)) n *= d;
    outs.emplace_back(static_cast<size_t>(n));
  }
  for (size_t i = 0; i < outs.size(); ++i) out_args.push_back({outs[i].data(), DType::kFloat32, ctx->output_dims(i)});
  Status s = ctx->execute({{x.data(), DType::kFloat32, {2, 3, 6, 6}}}, out_args);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return outs;
}

TEST(FuseEpilogues, FoldsBiasResidualAndActivation) {
  net::Network net = resnet_like();
  int absorbed = 0;
  auto fused = build::fuse_epilogues(net, &absorbed);
  ASSERT_TRUE(fused.has_value()) << fused.status().message();
  // conv absorbs bias_add, residual_add, relu; fc absorbs fc_bias and gelu.
  EXPECT_EQ(absorbed, 5);
  EXPECT_EQ(fused->layers().size(), net.layers().size() - 5);
  const auto& conv = std::get<net::ConvolutionParams>(fused->layers()[1].params);
  EXPECT_EQ(conv.activation, net::UnaryOp::kRelu);
  EXPECT_EQ(fused->layers()[1].inputs.size(), 4u);
  EXPECT_EQ(fused->layers()[1].origins.size(), 0u);  // network built by hand: no ATen origins
  auto a = run(std::move(net)), b = run(std::move(*fused));
  for (size_t o = 0; o < a.size(); ++o) {
    for (size_t i = 0; i < a[o].size(); ++i) EXPECT_NEAR(a[o][i], b[o][i], 1e-5) << "output " << o << " element " << i;
  }
}

TEST(LowerPrecision, HalfAndBFloat16AgreeWithFloat32) {
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    net::Network net = resnet_like();
    auto low = build::lower_precision(net, dt);
    ASSERT_TRUE(low.has_value()) << low.status().message();
    // The engine keeps its float32 interface.
    EXPECT_EQ(low->tensor(low->inputs()[0]).type.dtype, DType::kFloat32);
    EXPECT_EQ(low->tensor(low->outputs()[0]).type.dtype, DType::kFloat32);
    size_t low_layers = 0;
    for (const auto& t : low->tensors()) low_layers += t.type.dtype == dt;
    EXPECT_GT(low_layers, 8u);
    auto a = run(std::move(net)), b = run(std::move(*low));
    for (size_t o = 0; o < a.size(); ++o) {
      double num = 0, den = 0;
      for (size_t i = 0; i < a[o].size(); ++i) num += (a[o][i] - b[o][i]) * (a[o][i] - b[o][i]), den += a[o][i] * a[o][i];
      EXPECT_LT(std::sqrt(num / den), dt == DType::kFloat16 ? 2e-3 : 1e-2) << ir::dtype_name(dt) << " output " << o;
    }
  }
}

}  // namespace
