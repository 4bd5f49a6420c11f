// fold_attention_layouts and StridedView: the networks before and after the pass run on the
// CPU reference and must agree; the IR after it must have lost its copies.
#include <gtest/gtest.h>

#include <random>
#include <span>

#include "build/builder.h"
#include "build/passes.h"
#include "build/strided_view.h"
#include "plan/plan.h"
#include "runtime/engine.h"

#include "engine_test_util.h"
#include "plan_test_util.h"

using namespace ingot;
using ir::DType;
using ir::SymExpr;

namespace {

ir::ConstantData random_constant(std::vector<int64_t> dims, uint32_t seed) {
  return plan_test::random_f32(std::move(dims), seed);
}

ir::Shape strides_of(const build::StridedView& v) {
  ir::Shape s;
  EXPECT_TRUE(v.strides(&s));
  return s;
}

// ---------------------------------------------------------------- StridedView

TEST(StridedView, SplitPermuteMerge) {
  auto v = build::StridedView::packed(ir::shape_of({2, 16, 768}));
  ASSERT_TRUE(v.reshape(ir::shape_of({2, 16, 12, 64})));
  ASSERT_TRUE(v.permute({0, 2, 1, 3}));
  EXPECT_EQ(v.shape(), ir::shape_of({2, 12, 16, 64}));
  EXPECT_EQ(strides_of(v), ir::shape_of({12288, 64, 768, 1}));
  // Merging heads and sequence is not one stride any more.
  auto w = v;
  ASSERT_TRUE(w.reshape(ir::shape_of({2, 192, 64})));
  ir::Shape s;
  EXPECT_FALSE(w.strides(&s));
  // ...but splitting again restores a plain view.
  ASSERT_TRUE(w.reshape(ir::shape_of({2, 12, 16, 64})));
  EXPECT_EQ(strides_of(w), ir::shape_of({12288, 64, 768, 1}));
}

TEST(StridedView, MultiheadAttentionChain) {
  // torch's MultiheadAttention on a packed in-projection [S=5, B=2, 3E=96], H=4, D=8.
  auto v = build::StridedView::packed(ir::shape_of({5, 2, 96}));
  ASSERT_TRUE(v.reshape(ir::shape_of({5, 2, 3, 32})));
  ASSERT_TRUE(v.reshape(ir::shape_of({1, 5, 2, 3, 32})));
  ASSERT_TRUE(v.permute({3, 1, 2, 0, 4}));
  ASSERT_TRUE(v.reshape(ir::shape_of({3, 5, 2, 32})));
  ASSERT_TRUE(v.slice(0, 1, 2));  // k
  ASSERT_TRUE(v.reshape(ir::shape_of({5, 2, 32})));
  ASSERT_TRUE(v.reshape(ir::shape_of({5, 8, 8})));
  ASSERT_TRUE(v.permute({1, 0, 2}));
  ASSERT_TRUE(v.reshape(ir::shape_of({2, 4, 5, 8})));
  EXPECT_EQ(strides_of(v), ir::shape_of({96, 8, 192, 1}));
  EXPECT_EQ(v.offset(), SymExpr(32));
}

TEST(StridedView, SymbolicDims) {
  SymExpr b = SymExpr::symbol("s0"), s = SymExpr::symbol("s1");
  auto v = build::StridedView::packed({b, s, SymExpr(768)});
  ASSERT_TRUE(v.reshape({b, s, SymExpr(12), SymExpr(64)}));
  ASSERT_TRUE(v.permute({0, 2, 1, 3}));
  EXPECT_EQ(strides_of(v), ir::Shape({s * SymExpr(768), SymExpr(64), SymExpr(768), SymExpr(1)}));
  // A symbolic dim cannot be split.
  auto w = build::StridedView::packed({s * SymExpr(2)});
  EXPECT_FALSE(w.reshape({s, SymExpr(2)}));
}

TEST(StridedView, RejectsWhatIsNotAView) {
  auto v = build::StridedView::packed(ir::shape_of({6, 4}));
  EXPECT_FALSE(v.reshape(ir::shape_of({5, 5})));  // other element count
  EXPECT_FALSE(v.permute({0, 0}));
  EXPECT_FALSE(v.permute({0}));
  ASSERT_TRUE(v.permute({1, 0}));
  ASSERT_TRUE(v.reshape(ir::shape_of({24})));
  ir::Shape s;
  EXPECT_FALSE(v.strides(&s));
  EXPECT_FALSE(v.slice(0, 0, 3));  // a slice of a dim that is two strides
  EXPECT_EQ(build::inverse_permutation({2, 0, 1}), (std::vector<int64_t>{1, 2, 0}));
}

// ---------------------------------------------------------------- networks

constexpr int64_t kB = 2, kS = 5, kH = 4, kD = 8, kE = kH * kD;

int linear(net::Network& n, int x, int64_t out, int64_t in, uint32_t seed, const std::string& name) {
  net::MatMulParams m;
  m.transpose_b = true;
  int w = n.add_constant(name + ".w", random_constant({out, in}, seed));
  int b = n.add_constant(name + ".b", random_constant({out}, seed + 100));
  auto y = n.add(m, {x, w, b}, name);
  EXPECT_TRUE(y.has_value()) << y.status().message();
  return *y;
}

int reshape(net::Network& n, int x, std::vector<int64_t> shape, const std::string& name) {
  net::ReshapeParams r;
  r.shape = ir::shape_of(shape);
  auto y = n.add(r, {x}, name);
  EXPECT_TRUE(y.has_value()) << y.status().message();
  return *y;
}

int permute(net::Network& n, int x, std::vector<int64_t> perm, const std::string& name) {
  auto y = n.add(net::PermuteParams{std::move(perm)}, {x}, name);
  EXPECT_TRUE(y.has_value()) << y.status().message();
  return *y;
}

// transformers' BERT self-attention: three projections, head split, SDPA with a bool mask,
// head merge, output projection; `extra_reader` also makes q's permuted copy an output.
net::Network bert_like(bool extra_reader = false) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({kB, kS, kE})});
  int mask = n.add_input("mask", {DType::kBool, ir::shape_of({kB, 1, kS, kS})});
  int heads[3];
  for (int i = 0; i < 3; ++i) {
    std::string name = std::string(1, "qkv"[i]);
    int p = linear(n, x, kE, kE, 10 + i, name);
    heads[i] = permute(n, reshape(n, p, {kB, kS, kH, kD}, name + ".split"), {0, 2, 1, 3}, name + ".heads");
  }
  net::AttentionParams a;
  a.scale = 0.35;
  int o = *n.add(a, {heads[0], heads[1], heads[2], mask}, "attention");
  int merged = reshape(n, permute(n, o, {0, 2, 1, 3}, "merge"), {kB, kS, kE}, "merge.flat");
  n.mark_output(linear(n, merged, kE, kE, 20, "out"), "y");
  if (extra_reader) n.mark_output(heads[0], "q");
  return n;
}

// torchvision's ViT block attention (batch_first MultiheadAttention with a packed
// in-projection): [B, S, E] -> [S, B, E] -> in_proj -> unflatten / transpose / select -> heads.
net::Network vit_like() {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({kB, kS, kE})});
  int t = permute(n, x, {1, 0, 2}, "to_seq_first");
  int proj = linear(n, t, 3 * kE, kE, 30, "in_proj");
  int u = reshape(n, reshape(n, proj, {kS, kB, 3, kE}, "unflatten"), {1, kS, kB, 3, kE}, "unsqueeze");
  int packed = reshape(n, permute(n, u, {3, 1, 2, 0, 4}, "transpose"), {3, kS, kB, kE}, "squeeze");
  int ops[3];
  for (int i = 0; i < 3; ++i) {
    std::string name = std::string(1, "qkv"[i]);
    net::SliceParams s;
    s.axes = {0};
    s.starts = {SymExpr(i)};
    s.ends = {SymExpr(i + 1)};
    s.steps = {1};
    int sel = reshape(n, *n.add(s, {packed}, name + ".select"), {kS, kB, kE}, name + ".squeeze");
    int bh = permute(n, reshape(n, sel, {kS, kB * kH, kD}, name + ".view"), {1, 0, 2}, name + ".t");
    ops[i] = reshape(n, bh, {kB, kH, kS, kD}, name + ".heads");
  }
  net::AttentionParams a;
  a.scale = 0.35;
  int o = *n.add(a, {ops[0], ops[1], ops[2]}, "attention");
  int merged = reshape(n, permute(n, o, {2, 0, 1, 3}, "merge"), {kS, kB, kE}, "merge.flat");
  int back = permute(n, linear(n, merged, kE, kE, 40, "out_proj"), {1, 0, 2}, "to_batch_first");
  n.mark_output(*n.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {back, x}, "residual"), "y");
  return n;
}

std::vector<std::vector<float>> run(net::Network net) {
  auto plan = build::build_plan(std::move(net), {});
  EXPECT_TRUE(plan.has_value()) << plan.status().message();
  if (!plan) return {};
  // The strided parameters survive serialization.
  auto bytes = plan::serialize(*plan);
  EXPECT_TRUE(bytes.has_value()) << bytes.status().message();
  auto again = plan::deserialize(std::span<const uint8_t>(*bytes), nullptr);
  EXPECT_TRUE(again.has_value()) << again.status().message();
  if (!again) return {};
  auto engine = runtime::Engine::from_plan(std::move(*again));
  EXPECT_TRUE(engine.has_value()) << engine.status().message();
  auto ctx = (*engine)->create_context();
  std::vector<float> x(static_cast<size_t>(kB * kS * kE));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& v : x) v = u(rng);
  std::vector<uint8_t> mask(static_cast<size_t>(kB * kS * kS));
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = (i * 7) % 5 != 0;
  std::vector<runtime::TensorArg> in{{x.data(), DType::kFloat32, {kB, kS, kE}}};
  std::vector<std::vector<int64_t>> shapes{{kB, kS, kE}};
  if ((*engine)->num_inputs() == 2) {
    in.push_back({mask.data(), DType::kBool, {kB, 1, kS, kS}});
    shapes.push_back({kB, 1, kS, kS});
  }
  EXPECT_TRUE(ctx->set_input_shapes(shapes).is_ok());
  return engine_test::execute_f32(**engine, *ctx, in);
}

void expect_same(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t o = 0; o < a.size(); ++o) {
    ASSERT_EQ(a[o].size(), b[o].size());
    for (size_t i = 0; i < a[o].size(); ++i) EXPECT_NEAR(a[o][i], b[o][i], 1e-4) << "output " << o << " element " << i;
  }
}

size_t count(const net::Network& n, net::LayerKind kind) {
  size_t c = 0;
  for (const auto& l : n.layers()) c += l.kind() == kind;
  return c;
}

const build::AttentionFilter kAll = [](const net::Layer&, const net::Network&) { return true; };

TEST(FoldAttentionLayouts, BertHeadsBecomeStridesOfOneProjection) {
  net::Network net = bert_like();
  build::AttentionLayoutStats st;
  auto folded = build::fold_attention_layouts(net, kAll, &st);
  ASSERT_TRUE(folded.has_value()) << folded.status().message();
  EXPECT_EQ(st.operands_folded, 3);
  EXPECT_EQ(st.outputs_folded, 1);
  EXPECT_EQ(st.projections_merged, 1);
  // Left: the merged projection, the attention and the output projection.
  EXPECT_EQ(count(*folded, net::LayerKind::kPermute), 0u) << folded->str();
  EXPECT_EQ(count(*folded, net::LayerKind::kReshape), 0u) << folded->str();
  EXPECT_EQ(count(*folded, net::LayerKind::kMatMul), 2u) << folded->str();
  const net::Layer* att = nullptr;
  for (const auto& l : folded->layers()) {
    if (l.kind() == net::LayerKind::kAttention) att = &l;
  }
  ASSERT_NE(att, nullptr);
  const auto& p = std::get<net::AttentionParams>(att->params);
  EXPECT_EQ(p.q_strides, ir::shape_of({kS * 3 * kE, kD, 3 * kE, 1}));
  EXPECT_EQ(p.k_offset, SymExpr(kE));
  EXPECT_EQ(p.v_offset, SymExpr(2 * kE));
  EXPECT_EQ(p.out_strides, ir::shape_of({kS * kE, kD, kE, 1}));
  EXPECT_EQ(att->inputs[0], att->inputs[1]);
  expect_same(run(std::move(net)), run(std::move(*folded)));
}

TEST(FoldAttentionLayouts, VitMultiheadAttentionLosesEveryCopy) {
  net::Network net = vit_like();
  build::AttentionLayoutStats st;
  auto folded = build::fold_attention_layouts(net, kAll, &st);
  ASSERT_TRUE(folded.has_value()) << folded.status().message();
  EXPECT_EQ(st.permutes_moved, 2);
  EXPECT_EQ(st.operands_folded, 3);
  EXPECT_EQ(st.outputs_folded, 1);
  EXPECT_EQ(count(*folded, net::LayerKind::kPermute), 0u) << folded->str();
  EXPECT_EQ(count(*folded, net::LayerKind::kSlice), 0u) << folded->str();
  // The residual add now reads the output projection directly (fuse_epilogues can fold it).
  const net::Layer& last = folded->layers().back();
  EXPECT_EQ(last.kind(), net::LayerKind::kElementwise);
  EXPECT_EQ(folded->layers()[static_cast<size_t>(folded->tensor(last.inputs[0]).producer)].kind(), net::LayerKind::kMatMul);
  expect_same(run(std::move(net)), run(std::move(*folded)));
}

TEST(FoldAttentionLayouts, CopiesWithOtherReadersStay) {
  net::Network net = bert_like(/*extra_reader=*/true);
  build::AttentionLayoutStats st;
  auto folded = build::fold_attention_layouts(net, kAll, &st);
  ASSERT_TRUE(folded.has_value()) << folded.status().message();
  EXPECT_EQ(st.operands_folded, 3);
  EXPECT_EQ(st.projections_merged, 0);  // q's projection has another reader
  EXPECT_EQ(count(*folded, net::LayerKind::kPermute), 1u) << folded->str();
  expect_same(run(std::move(net)), run(std::move(*folded)));
}

TEST(FoldAttentionLayouts, IneligibleAttentionIsLeftAlone) {
  net::Network net = vit_like();
  build::AttentionLayoutStats st;
  auto none = [](const net::Layer&, const net::Network&) { return false; };
  auto folded = build::fold_attention_layouts(net, none, &st);
  ASSERT_TRUE(folded.has_value()) << folded.status().message();
  EXPECT_EQ(st.permutes_moved + st.operands_folded + st.outputs_folded + st.projections_merged, 0);
  EXPECT_EQ(folded->layers().size(), net.layers().size());
}

// ---------------------------------------------------------------- bool_masks_as_bias

// Two BERT-style self-attention layers reading one bool mask.
net::Network two_layers_one_mask() {
  net::Network n;
  int h = n.add_input("x", {DType::kFloat32, ir::shape_of({kB, kS, kE})});
  int mask = n.add_input("mask", {DType::kBool, ir::shape_of({kB, 1, kS, kS})});
  for (int layer = 0; layer < 2; ++layer) {
    std::string pre = "l" + std::to_string(layer) + ".";
    int heads[3];
    for (int i = 0; i < 3; ++i) {
      std::string name = pre + std::string(1, "qkv"[i]);
      int p = linear(n, h, kE, kE, 50 + 10 * layer + i, name);
      heads[i] = permute(n, reshape(n, p, {kB, kS, kH, kD}, name + ".split"), {0, 2, 1, 3}, name + ".heads");
    }
    net::AttentionParams a;
    a.scale = 0.35;
    int o = *n.add(a, {heads[0], heads[1], heads[2], mask}, pre + "attention");
    h = linear(n, reshape(n, permute(n, o, {0, 2, 1, 3}, pre + "merge"), {kB, kS, kE}, pre + "merge.flat"), kE, kE,
               90 + layer, pre + "out");
  }
  n.mark_output(h, "y");
  return n;
}

TEST(BoolMasksAsBias, LayersSharingAMaskShareOneBias) {
  for (bool half : {false, true}) {
    net::Network net = two_layers_one_mask();
    if (half) {
      auto lowered = build::lower_precision(net, DType::kFloat16);
      ASSERT_TRUE(lowered.has_value()) << lowered.status().message();
      net = std::move(*lowered);
    }
    int converted = 0;
    auto after = build::bool_masks_as_bias(net, kAll, &converted);
    ASSERT_TRUE(after.has_value()) << after.status().message();
    EXPECT_EQ(converted, 1);
    EXPECT_EQ(count(*after, net::LayerKind::kSelect), 1u);
    for (const net::Layer& l : after->layers()) {
      if (l.kind() != net::LayerKind::kAttention) continue;
      EXPECT_EQ(after->tensor(l.inputs[3]).type.dtype, half ? DType::kFloat16 : DType::kFloat32) << l.name;
    }
    expect_same(run(net), run(*after));
  }
}

TEST(BoolMasksAsBias, IneligibleLayersKeepTheirBoolMask) {
  net::Network net = two_layers_one_mask();
  auto none = [](const net::Layer&, const net::Network&) { return false; };
  int converted = -1;
  auto after = build::bool_masks_as_bias(net, none, &converted);
  ASSERT_TRUE(after.has_value()) << after.status().message();
  EXPECT_EQ(converted, 0);
  EXPECT_EQ(count(*after, net::LayerKind::kSelect), 0u);
  EXPECT_EQ(after->layers().size(), net.layers().size());
}

TEST(AttentionViews, ShapeFunctionRejectsBadViews) {
  net::Network n;
  int x = n.add_input("x", {DType::kFloat32, ir::shape_of({2, 4, 96})});
  net::AttentionParams p;
  p.q_shape = p.k_shape = p.v_shape = ir::shape_of({2, 4, 4, 8});
  p.q_strides = p.k_strides = p.v_strides = ir::shape_of({384, 8, 96, 1});
  p.k_offset = SymExpr(32);
  p.v_offset = SymExpr(64);
  auto ok = n.add(p, {x, x, x}, "fine");
  ASSERT_TRUE(ok.has_value()) << ok.status().message();
  net::AttentionParams far = p;
  far.v_offset = SymExpr(96);  // reads past the end
  auto e = n.add(far, {x, x, x}, "far");
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.status().message().find("view reads element"), std::string::npos) << e.status().message();
  net::AttentionParams overlap = p;
  overlap.out_shape = ir::shape_of({2, 4, 32});
  overlap.out_strides = ir::shape_of({128, 8, 8, 1});  // heads and rows collide
  auto o = n.add(overlap, {x, x, x}, "overlap");
  ASSERT_FALSE(o.has_value());
  EXPECT_NE(o.status().message().find("do not tile"), std::string::npos) << o.status().message();
  net::AttentionParams ranks = p;
  ranks.q_strides = ir::shape_of({8, 1});
  EXPECT_FALSE(n.add(ranks, {x, x, x}, "ranks").has_value());
}

}  // namespace
