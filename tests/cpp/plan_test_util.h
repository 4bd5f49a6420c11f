// Helpers for the plan tests: small networks, a simple memory plan, round trips and plan
// equality, and byte patching by field path.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ir/symbolic.h"
#include "net/network.h"
#include "plan/format.h"
#include "plan/plan.h"

namespace plan_test {

using namespace ingot;
using ingot::ir::ConstantData;
using ingot::ir::DType;
using ingot::ir::Shape;
using ingot::ir::SymExpr;
using ingot::ir::TensorType;
using ingot::net::Network;
using ingot::plan::Plan;

inline SymExpr S(const char* text) {
  auto e = ir::parse_sym_expr(text);
  EXPECT_TRUE(e.has_value()) << e.status().message();
  return e.has_value() ? *e : SymExpr();
}

// f32 constant with deterministic pseudo-random values.
inline ConstantData random_f32(std::vector<int64_t> dims, uint32_t seed) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i) {
    float v = dist(rng);
    std::memcpy(bytes.data() + i * 4, &v, 4);
  }
  return ConstantData::owned(DType::kFloat32, std::move(dims), std::move(bytes));
}

inline int add(Network& net, net::LayerParams p, std::vector<int> inputs, const std::string& name,
               const std::string& origin = "") {
  auto id = net.add(std::move(p), std::move(inputs), name, origin);
  EXPECT_TRUE(id.has_value()) << id.status().message();
  return id.has_value() ? *id : -1;
}

// Every activation in its own 64-byte aligned slot, sized for the largest shape.
inline plan::MemoryPlan simple_memory_plan(const Network& net) {
  plan::MemoryPlan m;
  std::vector<bool> is_output(net.tensors().size(), false);
  for (int id : net.outputs()) is_output[static_cast<size_t>(id)] = true;
  for (const auto& t : net.tensors()) {
    if (t.producer < 0 || is_output[static_cast<size_t>(t.id)]) {
      m.offsets.push_back(-1);
      m.sizes.push_back(0);
      continue;
    }
    auto bytes = plan::max_tensor_bytes(net, t.id);
    EXPECT_TRUE(bytes.has_value()) << bytes.status().message();
    uint64_t size = bytes.has_value() ? *bytes : 0;
    m.arena_bytes = (m.arena_bytes + 63) / 64 * 64;
    m.offsets.push_back(static_cast<int64_t>(m.arena_bytes));
    m.sizes.push_back(size);
    m.arena_bytes += size;
  }
  return m;
}

inline Plan finish(Network net, const std::string& name) {
  Plan p;
  p.backend = plan::Backend::kCpu;
  p.device = "cpu";
  p.producer = "ingot 0.1.0";
  p.name = name;
  p.memory = simple_memory_plan(net);
  p.network = std::move(net);
  return p;
}

// x f32[s0, 3, 4, 4] -> conv(3x3, pad 1) -> relu -> reshape [s0, 64] -> matmul [64, 5] -> + bias
// -> softmax. s0 in [1, 64].
inline Plan small_plan() {
  Network net;
  net.add_symbol("s0", {1, 64});
  int x = net.add_input("x", TensorType{DType::kFloat32, {S("s0"), 3, 4, 4}});
  int w = net.add_constant("conv.weight", random_f32({4, 3, 3, 3}, 1));
  int b = net.add_constant("conv.bias", random_f32({4}, 2));
  int fc = net.add_constant("fc.weight", random_f32({64, 5}, 3));
  int fb = net.add_constant("fc.bias", random_f32({5}, 4));
  net::ConvolutionParams conv;
  conv.stride = {1, 1};
  conv.padding = {1, 1};
  conv.dilation = {1, 1};
  int c = add(net, conv, {x, w, b}, "conv1", "aten::convolution");
  int r = add(net, net::UnaryParams{net::UnaryOp::kRelu}, {c}, "relu1", "aten::relu");
  int f = add(net, net::ReshapeParams{{S("s0"), 64}}, {r}, "flatten", "aten::view");
  int m = add(net, net::MatMulParams{}, {f, fc}, "fc", "aten::mm");
  int a = add(net, net::ElementwiseParams{net::BinaryOp::kAdd}, {m, fb}, "fc.add", "aten::add.Tensor");
  int s = add(net, net::SoftmaxParams{1, false}, {a}, "probs", "aten::softmax.int");
  net.mark_output(s, "probs");
  return finish(std::move(net), "small");
}

// Every layer kind, most with non-default parameters, two symbols, several outputs.
inline Plan all_kinds_plan() {
  Network net;
  net.add_symbol("s0", {1, 8});
  net.add_symbol("s1", {2, 16});
  int x = net.add_input("x", TensorType{DType::kFloat32, {S("s0"), 4, 6, 6}});
  int idx = net.add_input("idx", TensorType{DType::kInt64, {2}});
  int q = net.add_input("q", TensorType{DType::kFloat32, {2, S("s1"), 8}});
  int k = net.add_input("k", TensorType{DType::kFloat32, {2, S("s1"), 8}});
  int v = net.add_input("v", TensorType{DType::kFloat32, {2, S("s1"), 8}});

  net::ConvolutionParams conv;  // grouped, strided: [s0, 8, 3, 3]
  conv.stride = {2, 2};
  conv.padding = {1, 1};
  conv.dilation = {1, 1};
  conv.groups = 2;
  int w1 = net.add_constant("conv.weight", random_f32({8, 2, 3, 3}, 11));
  int c1 = add(net, conv, {x, w1, -1}, "conv", "aten::convolution");

  net::ConvolutionParams deconv;  // transposed: [s0, 4, 7, 7]
  deconv.stride = {2, 2};
  deconv.padding = {0, 0};
  deconv.dilation = {1, 1};
  deconv.output_padding = {1, 1};
  deconv.groups = 2;
  deconv.transposed = true;
  int w2 = net.add_constant("deconv.weight", random_f32({8, 2, 2, 2}, 12));
  int c2 = add(net, deconv, {c1, w2}, "deconv", "aten::convolution");

  net::PoolingParams pool;  // [s0, 4, 4, 4]
  pool.kind = net::PoolKind::kAvg;
  pool.kernel = {3, 3};
  pool.stride = {2, 2};
  pool.padding = {1, 1};
  pool.dilation = {1, 1};
  pool.ceil_mode = true;
  pool.count_include_pad = false;
  pool.divisor_override = 5;
  int p1 = add(net, pool, {c2}, "pool", "aten::avg_pool2d");

  int bn_w = net.add_constant("bn.weight", random_f32({4}, 13));
  int bn_b = net.add_constant("bn.bias", random_f32({4}, 14));
  int bn_m = net.add_constant("bn.mean", random_f32({4}, 15));
  int bn_v = net.add_constant("bn.var", ConstantData::zeros(DType::kFloat32, {4}));
  int bn = add(net, net::NormalizationParams{net::NormKind::kBatch, 1, 1, 1e-3}, {p1, bn_w, bn_b, bn_m, bn_v}, "bn");
  int act = add(net, net::UnaryParams{net::UnaryOp::kLeakyRelu, 0.1, 0.0}, {bn}, "leaky");
  int flat = add(net, net::ReshapeParams{{S("s0"), 64}}, {act}, "flat");

  int fc_w = net.add_constant("fc.weight", random_f32({16, 64}, 16));
  int fc_b = net.add_constant("fc.bias", random_f32({16}, 17));
  int fc = add(net, net::MatMulParams{false, true}, {flat, fc_w, fc_b}, "fc", "aten::addmm");
  int ln_w = net.add_constant("ln.weight", random_f32({16}, 18));
  int ln = add(net, net::NormalizationParams{net::NormKind::kLayer, 1, 1, 1e-6}, {fc, ln_w, -1}, "ln");
  int sm = add(net, net::SoftmaxParams{1, true}, {ln}, "log_softmax");
  int var = add(net, net::ReduceParams{net::ReduceOp::kVar, {1}, true, 1.0}, {sm}, "var");
  int ex = add(net, net::ExpandParams{{S("s0"), 16}}, {var}, "expand");
  int sub = add(net, net::ElementwiseParams{net::BinaryOp::kSub}, {sm, ex}, "sub");
  int tr = add(net, net::PermuteParams{{1, 0}}, {sub}, "transpose");
  int sl1 = add(net, net::SliceParams{{0}, {2}, {10}, {3}}, {tr}, "slice1");
  int sl2 = add(net, net::SliceParams{{0}, {0}, {3}, {1}}, {tr}, "slice2");
  int cat = add(net, net::ConcatParams{0}, {sl1, sl2}, "cat");
  int g = add(net, net::GatherParams{0}, {cat, idx}, "gather");
  int h = add(net, net::CastParams{DType::kFloat16}, {g}, "half");
  int fill = add(net, net::FillParams{{2, S("s0")}, DType::kFloat16, 0.5}, {}, "fill");
  int gt = add(net, net::ElementwiseParams{net::BinaryOp::kGt}, {h, fill}, "gt");
  int sel = add(net, net::SelectParams{}, {gt, h, fill}, "select", "aten::where.self");

  int att = add(net, net::AttentionParams{0.35, true}, {q, k, v, -1}, "attention",
                "aten::scaled_dot_product_attention");
  int io = add(net, net::IotaParams{S("s1"), 1.5, 0.5, DType::kFloat32}, {}, "iota");
  int id = add(net, net::IdentityParams{}, {io}, "copy");
  // squeeze_excite over the pooled [s0, 4, 4, 4] activations read as [N, H, W, C]: [s0, 1, 1, 4].
  int se_w1 = net.add_constant("se.w1", random_f32({2, 4}, 19));
  int se_w2 = net.add_constant("se.w2", random_f32({4, 2}, 20));
  int se = add(net, net::SqueezeExciteParams{net::UnaryOp::kSilu, 0.0, 0.0, net::UnaryOp::kClamp, 0.0, 6.0},
               {p1, se_w1, -1, se_w2, -1}, "se");
  // pointwise: select(h > 0.25, h * -1.5, fill) over [2, s0], a program with scalars and a symbolic shape.
  net::PointwiseParams pw;
  pw.shape = {ir::SymExpr(2), S("s0")};
  pw.code = {0, 0, -1, -1, -1, 1,  0, 1, -1, -1, -1, 1,  1, 0, -1, -1, -1, 1,  3, 11, 0, 2, -1, 7,
             1, 0, -1, -1, -1, 1,  3, 2, 0, 4, -1, 1,  4, 0, 3, 5, 1, 1};
  pw.scalars = {0, 0,  0, 0,  0.25, 0,  0, 0,  -1.5, 0,  0, 0,  0, 0};
  int pointwise = add(net, pw, {h, fill}, "pointwise");
  // feed_forward over the layer norm's [s0, 16] rows: F = 8, no second bias.
  int ff_w1 = net.add_constant("ff.w1", random_f32({8, 16}, 21));
  int ff_b1 = net.add_constant("ff.b1", random_f32({8}, 22));
  int ff_w2 = net.add_constant("ff.w2", random_f32({16, 8}, 23));
  int ff_g = net.add_constant("ff.gamma", random_f32({16}, 24));
  int ff_b = net.add_constant("ff.beta", random_f32({16}, 25));
  int ff = add(net, net::FeedForwardParams{net::UnaryOp::kGeluTanh, 0.5, 0.25, 1e-6},
               {ln, ff_w1, ff_b1, ff_w2, -1, ff_g, ff_b}, "ffn");
  int w3 = net.add_constant("mask", ConstantData::owned(DType::kBool, {3}, {1, 0, 1}));
  int copy_mask = add(net, net::IdentityParams{}, {w3}, "mask_copy");

  net.mark_output(sel, "selected");
  net.mark_output(att, "attention");
  net.mark_output(id, "positions");
  net.mark_output(copy_mask, "mask");
  net.mark_output(se, "gate");
  net.mark_output(pointwise, "pointwise");
  net.mark_output(ff, "feed_forward");
  return finish(std::move(net), "all kinds");
}

inline void expect_plans_equal(const Plan& a, const Plan& b) {
  EXPECT_EQ(a.allow_tf32, b.allow_tf32);
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.producer, b.producer);
  EXPECT_EQ(a.name, b.name);
  const Network &na = a.network, &nb = b.network;
  EXPECT_EQ(na.str(), nb.str());
  EXPECT_EQ(na.symbols(), nb.symbols());
  EXPECT_EQ(na.inputs(), nb.inputs());
  EXPECT_EQ(na.outputs(), nb.outputs());
  EXPECT_EQ(na.output_names(), nb.output_names());
  ASSERT_EQ(na.tensors().size(), nb.tensors().size());
  for (size_t i = 0; i < na.tensors().size(); ++i) {
    const auto &ta = na.tensors()[i], &tb = nb.tensors()[i];
    SCOPED_TRACE("tensor " + ta.name);
    EXPECT_EQ(ta.id, tb.id);
    EXPECT_EQ(ta.name, tb.name);
    EXPECT_EQ(ta.type, tb.type);
    EXPECT_EQ(ta.producer, tb.producer);
    EXPECT_EQ(ta.is_input, tb.is_input);
    ASSERT_EQ(ta.constant.has_value(), tb.constant.has_value());
    if (!ta.constant) continue;
    EXPECT_EQ(ta.constant->dtype, tb.constant->dtype);
    EXPECT_EQ(ta.constant->dims, tb.constant->dims);
    ASSERT_EQ(ta.constant->nbytes, tb.constant->nbytes);
    EXPECT_EQ(0, std::memcmp(ta.constant->data, tb.constant->data, ta.constant->nbytes));
  }
  ASSERT_EQ(na.layers().size(), nb.layers().size());
  for (size_t i = 0; i < na.layers().size(); ++i) {
    const auto &la = na.layers()[i], &lb = nb.layers()[i];
    SCOPED_TRACE("layer " + la.name);
    EXPECT_EQ(la.name, lb.name);
    EXPECT_EQ(la.kind(), lb.kind());
    EXPECT_TRUE(net::params_equal(la.params, lb.params))
        << net::params_str(la.params) << " vs " << net::params_str(lb.params);
    EXPECT_EQ(la.inputs, lb.inputs);
    EXPECT_EQ(la.outputs, lb.outputs);
    EXPECT_EQ(la.origins, lb.origins);
    EXPECT_EQ(la.tactic, lb.tactic);
    ASSERT_EQ(la.timed.size(), lb.timed.size());
    for (size_t k = 0; k < la.timed.size(); ++k) {
      EXPECT_EQ(la.timed[k].tactic, lb.timed[k].tactic);
      EXPECT_EQ(la.timed[k].ms, lb.timed[k].ms);
    }
  }
  ASSERT_EQ(na.origin_info().size(), nb.origin_info().size());
  for (const auto& [node, info] : na.origin_info()) {
    const net::OriginInfo* other = nb.find_origin(node);
    ASSERT_NE(other, nullptr) << node;
    EXPECT_EQ(info.op, other->op);
    EXPECT_EQ(info.module, other->module);
  }
  EXPECT_EQ(a.memory.arena_bytes, b.memory.arena_bytes);
  EXPECT_EQ(a.memory.offsets, b.memory.offsets);
  EXPECT_EQ(a.memory.sizes, b.memory.sizes);
}

inline Plan round_trip(const Plan& p, bool borrow) {
  auto bytes = plan::serialize(p);
  EXPECT_TRUE(bytes.has_value()) << bytes.status().message();
  if (!bytes) return Plan{};
  auto owner = std::make_shared<std::vector<uint8_t>>(std::move(*bytes));
  auto back = plan::deserialize(*owner, borrow ? std::shared_ptr<const void>(owner) : nullptr);
  EXPECT_TRUE(back.has_value()) << back.status().message();
  if (!back) return Plan{};
  return std::move(*back);
}

inline const plan::detail::FieldSpan& field(const std::vector<plan::detail::FieldSpan>& layout,
                                             const std::string& path) {
  for (const auto& f : layout) {
    if (f.path == path) return f;
  }
  ADD_FAILURE() << "no field " << path << " in the layout";
  static const plan::detail::FieldSpan kNone{"", 0, 0, ""};
  return kNone;
}

inline void store_le(std::vector<uint8_t>& bytes, size_t offset, uint64_t v, size_t size) {
  for (size_t i = 0; i < size; ++i) bytes.at(offset + i) = static_cast<uint8_t>(v >> (8 * i));
}

inline void expect_error(const std::vector<uint8_t>& bytes, ErrorCode code, const std::string& needle) {
  auto r = plan::deserialize(bytes, nullptr);
  ASSERT_FALSE(r.has_value()) << "expected an error containing '" << needle << "'";
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << "message '" << r.status().message() << "' does not contain '" << needle << "'";
}

}  // namespace plan_test
