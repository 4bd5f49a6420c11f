// Builder passes, checked by running the network before and after on the CPU reference.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include "build/builder.h"
#include "build/passes.h"
#include "net/pointwise.h"
#include "runtime/engine.h"

#include "engine_test_util.h"
#include "plan_test_util.h"

using namespace ingot;
using ir::DType;

namespace {

ir::ConstantData random_constant(std::vector<int64_t> dims, uint32_t seed) {
  return plan_test::random_f32(std::move(dims), seed);
}

// conv(x) + bias[C,1,1] + shortcut(x) -> relu, then matmul + bias -> gelu, and a branch that
// reads the conv output twice (must not fuse).
net::ConvolutionParams conv3x3_same() {
  net::ConvolutionParams c;
  c.stride = c.dilation = {1, 1};
  c.padding = {1, 1};
  c.output_padding = {0, 0};
  return c;
}

// conv3x3_same(x, w) + b as two layers, w [out, in, 3, 3] and b [out, 1, 1] random (seeds
// `seed` and seed + 1).
int biased_conv(net::Network& n, int x, int64_t out, int64_t in, uint32_t seed) {
  int w = n.add_constant("w" + std::to_string(seed), random_constant({out, in, 3, 3}, seed));
  int conv = *n.add(conv3x3_same(), {x, w}, "conv" + std::to_string(seed));
  int b = n.add_constant("b" + std::to_string(seed), random_constant({out, 1, 1}, seed + 1));
  return *n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {conv, b}, "bias_add" + std::to_string(seed));
}

net::Network resnet_like() {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  int biased = biased_conv(n, x, 4, 3, 1);
  net::ConvolutionParams sc = conv3x3_same();
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
  return engine_test::execute_f32(**engine, *ctx, {{x.data(), DType::kFloat32, {2, 3, 6, 6}}});
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

// x + relu(conv(x) + b) and f + relu(fc(f) + c): the add after the activation is no residual
// (the epilogue adds the residual before the activation). The CUDA backend runs the pass twice;
// on the second run the fused layers already carry their activation, which must stay, and the
// add must stay a layer of its own (it once became the residual and dropped the ReLU: outputs
// of x + relu(linear(x)) were x + linear(x) on the GPU).
TEST(FuseEpilogues, AnAddAfterTheActivationStaysOutsideEvenOnASecondRun) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  int biased = biased_conv(n, x, 3, 3, 11);
  net::UnaryParams relu;
  relu.op = net::UnaryOp::kRelu;
  int act = *n.add(relu, {biased}, "relu");
  int y = *n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {x, act}, "skip_add");
  net::ReshapeParams r;
  r.shape = ir::shape_of({2, 108});
  int flat = *n.add(r, {y}, "flatten");
  int wm = n.add_constant("wm", random_constant({108, 108}, 13));
  net::MatMulParams m;
  m.transpose_b = true;
  int mm = *n.add(m, {flat, wm}, "fc");
  int bm = n.add_constant("bm", random_constant({108}, 14));
  int mmb = *n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {mm, bm}, "fc_bias");
  int fact = *n.add(relu, {mmb}, "fc_relu");
  int z = *n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {fact, flat}, "fc_skip_add");
  n.mark_output(z, "z");

  int absorbed = 0;
  auto once = build::fuse_epilogues(n, &absorbed);
  ASSERT_TRUE(once.has_value()) << once.status().message();
  EXPECT_EQ(absorbed, 4);  // the biases and the ReLUs
  auto twice = build::fuse_epilogues(*once, &absorbed);
  ASSERT_TRUE(twice.has_value()) << twice.status().message();
  EXPECT_EQ(absorbed, 0);
  size_t adds = 0;
  for (const net::Layer& layer : twice->layers()) {
    if (const auto* cp = std::get_if<net::ConvolutionParams>(&layer.params)) {
      EXPECT_EQ(cp->activation, net::UnaryOp::kRelu);
      EXPECT_TRUE(layer.inputs.size() < 4 || layer.inputs[3] < 0) << "the skip add became the residual";
    }
    if (const auto* mp = std::get_if<net::MatMulParams>(&layer.params)) {
      EXPECT_EQ(mp->activation, net::UnaryOp::kRelu);
      EXPECT_TRUE(layer.inputs.size() < 4 || layer.inputs[3] < 0) << "the skip add became the residual";
    }
    adds += layer.kind() == net::LayerKind::kElementwise;
  }
  EXPECT_EQ(adds, 2u);
  auto a = run(std::move(n)), got = run(std::move(*twice));
  for (size_t i = 0; i < a[0].size(); ++i) EXPECT_NEAR(a[0][i], got[0][i], 1e-4) << "element " << i;
}

TEST(LowerPrecision, CastsToTheLoweredTypeDisappear) {
  // x -> relu -> cast(f32) -> relu -> cast(f16) -> relu -> y: after lowering to f16 both inner
  // casts are casts to the type their input has; only the entry and exit casts remain.
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  net::UnaryParams relu;
  relu.op = net::UnaryOp::kRelu;
  int a = *n.add(relu, {x}, "a");
  int c32 = *n.add(net::CastParams{DType::kFloat32}, {a}, "to_f32");
  int b = *n.add(relu, {c32}, "b");
  int c16 = *n.add(net::CastParams{DType::kFloat16}, {b}, "to_f16");
  int c = *n.add(relu, {c16}, "c");
  int y = *n.add(net::CastParams{DType::kFloat32}, {c}, "to_out");
  n.mark_output(y, "y");
  auto low = build::lower_precision(n, DType::kFloat16);
  ASSERT_TRUE(low.has_value()) << low.status().message();
  size_t casts = 0;
  for (const auto& layer : low->layers()) casts += layer.kind() == net::LayerKind::kCast;
  EXPECT_EQ(casts, 2u);  // f32 input -> f16, f16 -> f32 output
  EXPECT_EQ(low->tensor(low->outputs()[0]).type.dtype, DType::kFloat32);
  auto ref = run(std::move(n)), got = run(std::move(*low));
  for (size_t i = 0; i < ref[0].size(); ++i) EXPECT_NEAR(ref[0][i], got[0][i], 2e-3 + 2e-3 * std::abs(ref[0][i]));
}

TEST(LowerPrecision, HalfAndBFloat16AgreeWithFloat32) {
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    net::Network net = resnet_like();
    for (size_t l = 0; l < net.layers().size(); ++l) {
      std::string node = "node" + std::to_string(l);
      net.mutable_layers()[l].origins = {node};
      net.set_origin_info(node, net::OriginInfo{"aten::op", "module." + node});
    }
    auto low = build::lower_precision(net, dt);
    ASSERT_TRUE(low.has_value()) << low.status().message();
    // Reports still find each origin node's op and module.
    size_t with_origin = 0;
    for (const auto& layer : low->layers()) {
      for (const auto& o : layer.origins) {
        const net::OriginInfo* info = low->find_origin(o);
        ASSERT_NE(info, nullptr) << "origin " << o << " lost its op and module";
        EXPECT_EQ(info->module, "module." + o);
        ++with_origin;
      }
    }
    EXPECT_GT(with_origin, 0u);
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

TEST(ChannelsLast, ConvolutionsRunNhwcWithFewPermutes) {
  for (DType dt : {DType::kFloat16, DType::kFloat32}) {
    auto low = dt == DType::kFloat16 ? build::lower_precision(resnet_like(), dt) : Expected<net::Network>(resnet_like());
    ASSERT_TRUE(low.has_value());
    int permutes = 0;
    auto nhwc = build::channels_last(*low, {dt}, &permutes);
    ASSERT_TRUE(nhwc.has_value()) << nhwc.status().message();
    int convs = 0;
    for (const auto& layer : nhwc->layers()) {
      if (const auto* c = std::get_if<net::ConvolutionParams>(&layer.params)) convs += c->channels_last;
    }
    EXPECT_EQ(convs, 2);
    // One permute into NHWC for the input, one back before the flatten, one back for the
    // second output (the square of the shortcut).
    EXPECT_EQ(permutes, 3);
    auto a = run(*low), b = run(std::move(*nhwc));
    for (size_t o = 0; o < a.size(); ++o) {
      for (size_t i = 0; i < a[o].size(); ++i) EXPECT_NEAR(a[o][i], b[o][i], 1e-5 + 1e-3 * std::abs(a[o][i])) << o << " " << i;
    }
  }
}

TEST(ChannelsLast, KeepsOriginOpsAndModules) {
  net::Network net = resnet_like();
  for (size_t l = 0; l < net.layers().size(); ++l) {
    std::string node = "node" + std::to_string(l);
    net.mutable_layers()[l].origins = {node};
    net.set_origin_info(node, net::OriginInfo{"aten::op", "module." + node});
  }
  auto nhwc = build::channels_last(net, {DType::kFloat32}, nullptr);
  ASSERT_TRUE(nhwc.has_value()) << nhwc.status().message();
  size_t checked = 0;
  for (const auto& layer : nhwc->layers()) {
    for (const auto& o : layer.origins) {
      const net::OriginInfo* info = nhwc->find_origin(o);
      ASSERT_NE(info, nullptr) << "origin " << o << " of layer " << layer.name << " lost its op and module";
      EXPECT_EQ(info->module, "module." + o);
      ++checked;
    }
  }
  EXPECT_GT(checked, 5u);
}

TEST(ChannelsLast, SqueezeExcitationStaysNhwc) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 4, 5, 5})});
  net::ConvolutionParams c;
  c.stride = c.dilation = {1, 1};
  c.padding = {0, 0};
  c.output_padding = {0, 0};
  int y = *n.add(c, {x, n.add_constant("w", random_constant({6, 4, 1, 1}, 9))}, "conv");
  net::ReduceParams mean;
  mean.op = net::ReduceOp::kMean;
  mean.axes = {2, 3};
  mean.keepdim = true;
  int m = *n.add(mean, {y}, "squeeze");
  int e = *n.add(c, {m, n.add_constant("we", random_constant({6, 6, 1, 1}, 10))}, "excite");
  net::UnaryParams sig;
  sig.op = net::UnaryOp::kSigmoid;
  int s = *n.add(sig, {e}, "sigmoid");
  int scaled = *n.add(net::ElementwiseParams{net::BinaryOp::kMul}, {y, s}, "scale");
  int bias = *n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {scaled, n.add_constant("b", random_constant({6, 1, 1}, 11))}, "bias");
  mean.keepdim = false;
  int pooled = *n.add(mean, {bias}, "pool");  // [2, 6]: the same order in both layouts
  n.mark_output(pooled, "y");
  int permutes = 0;
  auto nhwc = build::channels_last(n, {DType::kFloat32}, &permutes);
  ASSERT_TRUE(nhwc.has_value()) << nhwc.status().message();
  EXPECT_EQ(permutes, 1);  // only the input
  auto plan_a = build::build_plan(n, {}), plan_b = build::build_plan(std::move(*nhwc), {});
  ASSERT_TRUE(plan_a.has_value() && plan_b.has_value());
  auto ea = runtime::Engine::from_plan(std::move(*plan_a)), eb = runtime::Engine::from_plan(std::move(*plan_b));
  std::vector<float> in(2 * 4 * 5 * 5), oa(12), ob(12);
  for (size_t i = 0; i < in.size(); ++i) in[i] = std::sin(float(i));
  for (auto* e : {&ea, &eb}) {
    auto ctx = (**e)->create_context();
    ASSERT_TRUE(ctx->run({{in.data(), DType::kFloat32, {2, 4, 5, 5}}}, {{(e == &ea ? oa : ob).data(), DType::kFloat32, {2, 6}}}).is_ok());
  }
  for (size_t i = 0; i < oa.size(); ++i) EXPECT_NEAR(oa[i], ob[i], 1e-5) << i;
}

net::PoolingParams pooling(net::PoolKind kind, std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> pad,
                           bool ceil_mode = false, bool count_include_pad = true, std::vector<int64_t> dil = {1, 1}) {
  net::PoolingParams p;
  p.kind = kind;
  p.kernel = std::move(k);
  p.stride = std::move(s);
  p.padding = std::move(pad);
  p.dilation = std::move(dil);
  p.ceil_mode = ceil_mode;
  p.count_include_pad = count_include_pad;
  return p;
}

// x -> avg pool (plain: nothing before it is NHWC) -> conv -> relu -> `pool` -> conv -> y.
net::Network conv_pool_conv(const net::PoolingParams& pool) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  int pre = *n.add(pooling(net::PoolKind::kAvg, {3, 3}, {1, 1}, {1, 1}), {x}, "pre_pool");
  net::ConvolutionParams c;
  c.stride = c.dilation = {1, 1};
  c.padding = {1, 1};
  c.output_padding = {0, 0};
  int y = *n.add(c, {pre, n.add_constant("w1", random_constant({4, 3, 3, 3}, 21))}, "conv1");
  net::UnaryParams relu;
  relu.op = net::UnaryOp::kRelu;
  y = *n.add(relu, {y}, "relu");
  y = *n.add(pool, {y}, "pool");
  c.padding = {0, 0};
  y = *n.add(c, {y, n.add_constant("w2", random_constant({5, 4, 1, 1}, 22))}, "conv2");
  n.mark_output(y, "y");
  return n;
}

TEST(ChannelsLast, PoolingBetweenConvolutionsStaysNhwc) {
  using net::PoolKind;
  const std::vector<net::PoolingParams> pools{
      pooling(PoolKind::kMax, {3, 3}, {2, 2}, {1, 1}),
      pooling(PoolKind::kMax, {3, 3}, {2, 2}, {1, 1}, true),
      pooling(PoolKind::kMax, {2, 3}, {1, 2}, {1, 1}, false, true, {2, 1}),
      pooling(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}),
      pooling(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, false, false),
      pooling(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, true, false),
      pooling(PoolKind::kAvg, {2, 2}, {2, 2}, {1, 0}, true, true),
  };
  for (DType dt : {DType::kFloat32, DType::kFloat16}) {
    for (size_t i = 0; i < pools.size(); ++i) {
      SCOPED_TRACE(str_cat(ir::dtype_name(dt), " pool #", i, " ", net::enum_name(pools[i].kind)));
      auto low = dt == DType::kFloat16 ? build::lower_precision(conv_pool_conv(pools[i]), dt)
                                       : Expected<net::Network>(conv_pool_conv(pools[i]));
      ASSERT_TRUE(low.has_value()) << low.status().message();
      int permutes = 0;
      auto nhwc = build::channels_last(*low, {dt}, &permutes);
      ASSERT_TRUE(nhwc.has_value()) << nhwc.status().message();
      // One permute into NHWC after the plain pre-pool, one back for the output: none around
      // the pooling between the convolutions.
      EXPECT_EQ(permutes, 2);
      std::vector<bool> pools_nhwc;
      for (const auto& layer : nhwc->layers()) {
        if (const auto* p = std::get_if<net::PoolingParams>(&layer.params)) pools_nhwc.push_back(p->channels_last);
      }
      EXPECT_EQ(pools_nhwc, (std::vector<bool>{false, true}));
      auto a = run(*low), b = run(std::move(*nhwc));
      ASSERT_EQ(a.size(), 1u);
      ASSERT_EQ(a[0].size(), b[0].size());
      for (size_t k = 0; k < a[0].size(); ++k) EXPECT_NEAR(a[0][k], b[0][k], 1e-5 + 1e-3 * std::abs(a[0][k])) << k;
    }
  }
}

// ---------------------------------------------------------------- recognize_silu

// x -> conv -> a; y = a * sigmoid(a); z = sigmoid(y) * y (the other operand order).
struct SiluNet {
  net::Network n;
  int a = -1, y = -1, z = -1;
};

SiluNet silu_net() {
  SiluNet s;
  net::Network& n = s.n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  net::ConvolutionParams c;
  c.stride = c.dilation = {1, 1};
  c.padding = {1, 1};
  c.output_padding = {0, 0};
  s.a = *n.add(c, {x, n.add_constant("w", random_constant({4, 3, 3, 3}, 31))}, "conv");
  net::UnaryParams sig;
  sig.op = net::UnaryOp::kSigmoid;
  const net::ElementwiseParams mul{net::BinaryOp::kMul};
  s.y = *n.add(mul, {s.a, *n.add(sig, {s.a}, "sig1")}, "mul1");
  s.z = *n.add(mul, {*n.add(sig, {s.y}, "sig2"), s.y}, "mul2");
  return s;
}

void expect_same_outputs(net::Network before, net::Network after) {
  auto a = run(std::move(before)), b = run(std::move(after));
  ASSERT_EQ(a.size(), b.size());
  for (size_t o = 0; o < a.size(); ++o) {
    ASSERT_EQ(a[o].size(), b[o].size());
    for (size_t i = 0; i < a[o].size(); ++i) EXPECT_NEAR(a[o][i], b[o][i], 1e-6 + 1e-6 * std::abs(a[o][i])) << o << " " << i;
  }
}

TEST(RecognizeSilu, MulBySigmoidOfItselfBecomesSiluAndFusesIntoTheConvolution) {
  SiluNet s = silu_net();
  s.n.mark_output(s.z, "z");
  EXPECT_EQ(s.n.str(),
            "input x : f32[2, 3, 6, 6]\n"
            "conv : f32[2, 4, 6, 6] = convolution(x, w) stride=[1, 1] padding=[1, 1] dilation=[1, 1] output_padding=[0, 0] "
            "groups=1 transposed=false activation=identity act_alpha=0.0 act_beta=0.0 channels_last=false channel_sums=false\n"
            "sig1 : f32[2, 4, 6, 6] = unary(conv) op=sigmoid alpha=0.0 beta=0.0\n"
            "mul1 : f32[2, 4, 6, 6] = elementwise(conv, sig1) op=mul\n"
            "sig2 : f32[2, 4, 6, 6] = unary(mul1) op=sigmoid alpha=0.0 beta=0.0\n"
            "mul2 : f32[2, 4, 6, 6] = elementwise(sig2, mul1) op=mul\n"
            "output z = mul2\n");
  int recognized = 0;
  auto silu = build::recognize_silu(s.n, &recognized);
  ASSERT_TRUE(silu.has_value()) << silu.status().message();
  EXPECT_EQ(recognized, 2);
  EXPECT_EQ(silu->str(),
            "input x : f32[2, 3, 6, 6]\n"
            "conv : f32[2, 4, 6, 6] = convolution(x, w) stride=[1, 1] padding=[1, 1] dilation=[1, 1] output_padding=[0, 0] "
            "groups=1 transposed=false activation=identity act_alpha=0.0 act_beta=0.0 channels_last=false channel_sums=false\n"
            "mul1 : f32[2, 4, 6, 6] = unary(conv) op=silu alpha=0.0 beta=0.0\n"
            "mul2 : f32[2, 4, 6, 6] = unary(mul1) op=silu alpha=0.0 beta=0.0\n"
            "output z = mul2\n");
  // The first silu now is the convolution's only reader: the epilogue takes it.
  int absorbed = 0;
  auto fused = build::fuse_epilogues(*silu, &absorbed);
  ASSERT_TRUE(fused.has_value()) << fused.status().message();
  EXPECT_EQ(absorbed, 1);
  ASSERT_EQ(fused->layers().size(), 2u);
  EXPECT_EQ(std::get<net::ConvolutionParams>(fused->layers()[0].params).activation, net::UnaryOp::kSilu);
  expect_same_outputs(s.n, *silu);
  expect_same_outputs(std::move(s.n), std::move(*fused));
}

TEST(RecognizeSilu, KeepsSigmoidsThatOthersReadAndProductsOfOtherTensors) {
  // sig1 gets a second reader, sig2 is an engine output, and a third sigmoid multiplies
  // another tensor (a squeeze-excite gate): none of the three products is a silu.
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  net::UnaryParams sig, relu;
  sig.op = net::UnaryOp::kSigmoid;
  relu.op = net::UnaryOp::kRelu;
  const net::ElementwiseParams mul{net::BinaryOp::kMul}, add{net::BinaryOp::kAdd};
  int a = *n.add(relu, {x}, "a");
  int s1 = *n.add(sig, {a}, "sig1");
  int y1 = *n.add(mul, {a, s1}, "mul1");
  int other = *n.add(add, {y1, s1}, "other_reader");
  int s2 = *n.add(sig, {a}, "sig2");
  int y2 = *n.add(mul, {s2, a}, "mul2");
  int s3 = *n.add(sig, {x}, "sig3");
  int y3 = *n.add(mul, {a, s3}, "gate");
  int sq = *n.add(mul, {s3, s3}, "sig3_squared");
  n.mark_output(other, "other");
  n.mark_output(y2, "y2");
  n.mark_output(s2, "s2");
  n.mark_output(y3, "y3");
  n.mark_output(sq, "sq");
  int recognized = -1;
  auto out = build::recognize_silu(n, &recognized);
  ASSERT_TRUE(out.has_value()) << out.status().message();
  EXPECT_EQ(recognized, 0);
  EXPECT_EQ(out->str(), n.str());
}

TEST(RecognizeSilu, ASigmoidSharedByTwoProductsStays) {
  // y = a * sigmoid(a) and w = a * sigmoid(a) through the same sigmoid: it has two readers,
  // so both stay products; a separate sigmoid per product is rewritten.
  net::Network n;
  int x = n.add_input("x", {DType::kFloat16, ir::shape_of({2, 8})});
  net::UnaryParams sig;
  sig.op = net::UnaryOp::kSigmoid;
  const net::ElementwiseParams mul{net::BinaryOp::kMul};
  int s = *n.add(sig, {x}, "shared");
  n.mark_output(*n.add(mul, {x, s}, "p1"), "p1");
  n.mark_output(*n.add(mul, {s, x}, "p2"), "p2");
  n.mark_output(*n.add(mul, {x, *n.add(sig, {x}, "own")}, "p3"), "p3");
  int recognized = 0;
  auto out = build::recognize_silu(n, &recognized);
  ASSERT_TRUE(out.has_value()) << out.status().message();
  EXPECT_EQ(recognized, 1);
  size_t silus = 0, sigmoids = 0;
  for (const auto& layer : out->layers()) {
    if (const auto* u = std::get_if<net::UnaryParams>(&layer.params)) {
      silus += u->op == net::UnaryOp::kSilu;
      sigmoids += u->op == net::UnaryOp::kSigmoid;
    }
  }
  EXPECT_EQ(silus, 1u);
  EXPECT_EQ(sigmoids, 1u);
  EXPECT_EQ(out->layers().back().name, "p3");
}

}  // namespace

namespace {

// x [2, 3, 6, 6] -> convolution(kernel `k`, stride `s`, bias [4], ReLU fused) -> y.
net::Network strided_stem(std::vector<int64_t> k, std::vector<int64_t> s) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  int w = n.add_constant("w", random_constant({4, 3, k[0], k[1]}, 11));
  int b = n.add_constant("b", random_constant({4}, 12));
  net::ConvolutionParams c;
  c.stride = s;
  c.padding = {0, 0};
  c.dilation = {1, 1};
  c.output_padding = {0, 0};
  c.activation = net::UnaryOp::kRelu;
  n.mark_output(*n.add(c, {x, w, b}, "stem"), "y");
  return n;
}

}  // namespace

TEST(PatchConvolutions, AKernelEqualToItsStrideBecomesAPermuteAndAGemm) {
  net::Network before = strided_stem({2, 3}, {2, 3});
  int rewritten = 0;
  auto after = build::patch_convolutions_as_matmuls(before, &rewritten);
  ASSERT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(rewritten, 1);
  EXPECT_EQ(after->str(),
            "input x : f32[2, 3, 6, 6]\n"
            "stem.tiles : f32[2, 3, 3, 2, 2, 3] = reshape(x) shape=[2, 3, 3, 2, 2, 3]\n"
            "stem.patches : f32[2, 3, 2, 3, 2, 3] = permute(stem.tiles) perm=[0, 2, 4, 1, 3, 5]\n"
            "stem.rows : f32[12, 18] = reshape(stem.patches) shape=[12, 18]\n"
            "stem.matmul : f32[12, 4] = matmul(stem.rows, w.patches, b) transpose_a=false transpose_b=true "
            "activation=relu act_alpha=0.0 act_beta=0.0\n"
            "stem.nhwc : f32[2, 3, 2, 4] = reshape(stem.matmul) shape=[2, 3, 2, 4]\n"
            "stem : f32[2, 4, 3, 2] = permute(stem.nhwc) perm=[0, 3, 1, 2]\n"
            "output y = stem\n");
  expect_same_outputs(std::move(before), std::move(*after));
}

TEST(PatchConvolutions, OverlappingOrPartialTilesStayConvolutions) {
  for (auto [k, s] : {std::pair<std::vector<int64_t>, std::vector<int64_t>>{{2, 2}, {1, 1}},  // overlapping
                      {{4, 4}, {4, 4}},                                                      // 6 is not a multiple of 4
                      {{1, 1}, {1, 1}}}) {                                                   // no patch at all
    int rewritten = -1;
    auto after = build::patch_convolutions_as_matmuls(strided_stem(k, s), &rewritten);
    ASSERT_TRUE(after.has_value()) << after.status().message();
    EXPECT_EQ(rewritten, 0) << k[0] << "x" << k[1];
    EXPECT_EQ(after->layers().size(), 1u);
  }
}

namespace {

// GPT-2's gelu_new written out: 0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x^3))),
// then `x_keep` also read by an add after the chain (so x stays a tensor input), and a
// bool chain: (x > 0) & ~(x > 1) selecting between the gelu and -x.
struct ChainNet {
  net::Network n;
  int gelu = -1, picked = -1;
};

ChainNet chain_net() {
  ChainNet c;
  net::Network& n = c.n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  auto scalar = [&](const char* name, float v) {
    std::vector<uint8_t> bytes(4);
    std::memcpy(bytes.data(), &v, 4);
    return n.add_constant(name, ir::ConstantData::owned(DType::kFloat32, {}, bytes));
  };
  auto bin = [&](net::BinaryOp op, int a, int b, const std::string& name) { return *n.add(net::ElementwiseParams{op}, {a, b}, name); };
  int cube = bin(net::BinaryOp::kMul, bin(net::BinaryOp::kMul, x, x, "x2"), x, "x3");
  int inner = bin(net::BinaryOp::kAdd, x, bin(net::BinaryOp::kMul, cube, scalar("c1", 0.044715f), "x3c"), "inner");
  net::UnaryParams tanh;
  tanh.op = net::UnaryOp::kTanh;
  int t = *n.add(tanh, {bin(net::BinaryOp::kMul, inner, scalar("c2", 0.7978845608f), "scaled")}, "tanh");
  int half_x = bin(net::BinaryOp::kMul, x, scalar("c3", 0.5f), "half_x");
  c.gelu = bin(net::BinaryOp::kMul, half_x, bin(net::BinaryOp::kAdd, t, scalar("c4", 1.0f), "one_plus"), "gelu");
  int pos = bin(net::BinaryOp::kGt, x, scalar("zero", 0.0f), "pos");
  net::UnaryParams bnot;
  bnot.op = net::UnaryOp::kBitwiseNot;
  int small = *n.add(bnot, {bin(net::BinaryOp::kGt, x, scalar("one", 1.0f), "big")}, "small");
  int keep = bin(net::BinaryOp::kBitwiseAnd, pos, small, "keep");
  net::UnaryParams neg;
  neg.op = net::UnaryOp::kNeg;
  c.picked = *n.add(net::SelectParams{}, {keep, c.gelu, *n.add(neg, {x}, "neg")}, "picked");
  n.mark_output(c.picked, "y");
  return c;
}

}  // namespace

TEST(FusePointwise, AGeluChainAndABoolMaskBecomeOneLayer) {
  ChainNet c = chain_net();
  int fused = 0;
  auto after = build::fuse_pointwise(c.n, &fused);
  ASSERT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(fused, 1);
  ASSERT_EQ(after->layers().size(), 1u) << after->str();
  const net::Layer& layer = after->layers()[0];
  const auto& p = std::get<net::PointwiseParams>(layer.params);
  EXPECT_EQ(layer.name, "picked");
  EXPECT_EQ(layer.inputs.size(), 1u);  // x; the six scalars are constant steps
  int constants = 0;
  for (size_t i = 0; i < p.steps(); ++i) {
    const net::PointwiseOp s = net::pointwise_step(p, i);
    constants += s.kind == net::PointwiseStep::kConstant;
    if (s.kind == net::PointwiseStep::kBinary) EXPECT_NE(s.op, static_cast<int64_t>(net::BinaryOp::kBitwiseAnd));
    if (s.kind == net::PointwiseStep::kUnary) EXPECT_NE(s.op, static_cast<int64_t>(net::UnaryOp::kBitwiseNot));
  }
  EXPECT_EQ(constants, 6);
  expect_same_outputs(std::move(c.n), std::move(*after));
}

TEST(FusePointwise, ValuesReadOutsideTheChainStayTensors) {
  ChainNet c = chain_net();
  c.n.mark_output(c.gelu, "gelu");  // the gelu is now an output too: two groups, gelu and the select
  int fused = 0;
  auto after = build::fuse_pointwise(c.n, &fused);
  ASSERT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(fused, 2);
  ASSERT_EQ(after->layers().size(), 2u) << after->str();
  EXPECT_EQ(after->layers()[0].name, "gelu");
  EXPECT_EQ(after->layers()[1].name, "picked");
  EXPECT_EQ(after->layers()[1].inputs.size(), 2u);  // x and the gelu
  expect_same_outputs(std::move(c.n), std::move(*after));
}

TEST(FusePointwise, LonelyLayersAndIntegerMathStay) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 3, 6, 6})});
  net::UnaryParams relu;
  relu.op = net::UnaryOp::kRelu;
  int r = *n.add(relu, {x}, "relu");  // alone: nothing to fuse with
  net::CastParams to_int;
  to_int.to = DType::kInt32;
  int i = *n.add(to_int, {r}, "to_int");
  int j = *n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {i, i}, "int_add");  // integer: not a candidate
  net::CastParams back;
  back.to = DType::kFloat32;
  n.mark_output(*n.add(back, {j}, "back"), "y");
  int fused = -1;
  auto after = build::fuse_pointwise(n, &fused);
  ASSERT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(fused, 0);
  EXPECT_EQ(after->layers().size(), 4u);
}
