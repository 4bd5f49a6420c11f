#include "lower_test_util.h"

namespace ingot::lower {
namespace {

using testing::expect_lowered;
using testing::expect_unchanged;
using testing::parse_ir;

// nn.Linear(8, 4) on a 2-D input, as torch.export + run_decompositions() writes it.
TEST(CanonicalizeLinear, LinearOn2DInput) {
  expect_lowered(canonicalize_linear, R"(graph {
  input %input : f32[2, 8]
  constant %weight : f32[4, 8] = external
  constant %bias : f32[4] = external
  %permute : f32[8, 4] = aten::permute(%weight, [1, 0])
  %addmm : f32[2, 4] = aten::addmm(%bias, %input, %permute, 1, 1)
  output %addmm
})",
                 R"(graph {
  input %input : f32[2, 8]
  constant %weight : f32[4, 8] = external
  constant %bias : f32[4] = external
  %y : f32[2, 4] = aten::linear(%input, %weight, %bias)
  output %y
})",
                 1);
}

// nn.Linear(8, 4) on a 3-D input: flatten, addmm, unflatten.
TEST(CanonicalizeLinear, LinearOn3DInputDropsTheViews) {
  expect_lowered(canonicalize_linear, R"(graph {
  input %input : f32[2, 3, 8]
  constant %weight : f32[4, 8] = external
  constant %bias : f32[4] = external
  %view : f32[6, 8] = aten::view(%input, [6, 8])
  %permute : f32[8, 4] = aten::permute(%weight, [1, 0])
  %addmm : f32[6, 4] = aten::addmm(%bias, %view, %permute, 1, 1)
  %view_1 : f32[2, 3, 4] = aten::view(%addmm, [2, 3, 4])
  output %view_1
})",
                 R"(graph {
  input %input : f32[2, 3, 8]
  constant %weight : f32[4, 8] = external
  constant %bias : f32[4] = external
  %y : f32[2, 3, 4] = aten::linear(%input, %weight, %bias)
  output %y
})",
                 2);  // addmm -> linear, then the view chain
}

// The same with dynamic batch and sequence dims, and bias=False (mm instead of addmm).
TEST(CanonicalizeLinear, DynamicShapesWithoutBias) {
  expect_lowered(canonicalize_linear, R"(graph {
  symbol s0 : [2, 64]
  symbol s1 : [2, 128]
  input %input : f32[s0, s1, 8]
  constant %weight : f32[4, 8] = external
  %permute : f32[8, 4] = aten::permute(%weight, [1, 0])
  %view : f32[s0*s1, 8] = aten::view(%input, [s0*s1, 8])
  %mm : f32[s0*s1, 4] = aten::mm(%view, %permute)
  %view_1 : f32[s0, s1, 4] = aten::view(%mm, [s0, s1, 4])
  output %view_1
})",
                 R"(graph {
  symbol s0 : [2, 64]
  symbol s1 : [2, 128]
  input %input : f32[s0, s1, 8]
  constant %weight : f32[4, 8] = external
  %y : f32[s0, s1, 4] = aten::linear(%input, %weight, None)
  output %y
})",
                 3);  // mm -> matmul -> linear, then the view chain
}

// MultiheadAttention's input projection after remove_noops: bmm of the (expanded) transposed
// in_proj_weight, then add of in_proj_bias.
TEST(CanonicalizeLinear, AttentionInputProjection) {
  expect_lowered(canonicalize_linear, R"(graph {
  symbol s0 : [2, 64]
  symbol s1 : [2, 128]
  input %src : f32[s0, s1, 64]
  constant %in_proj_weight : f32[192, 64] = external
  constant %in_proj_bias : f32[192] = external
  %permute : f32[s1, s0, 64] = aten::permute(%src, [1, 0, 2])
  %permute_1 : f32[64, 192] = aten::permute(%in_proj_weight, [1, 0])
  %expand_1 : f32[s1, 64, 192] = aten::expand(%permute_1, [s1, 64, 192], False)
  %bmm : f32[s1, s0, 192] = aten::bmm(%permute, %expand_1)
  %add : f32[s1, s0, 192] = aten::add.Tensor(%bmm, %in_proj_bias, 1)
  output %add
})",
                 R"(graph {
  symbol s0 : [2, 64]
  symbol s1 : [2, 128]
  input %src : f32[s0, s1, 64]
  constant %in_proj_weight : f32[192, 64] = external
  constant %in_proj_bias : f32[192] = external
  %permute : f32[s1, s0, 64] = aten::permute(%src, [1, 0, 2])
  %y : f32[s1, s0, 192] = aten::linear(%permute, %in_proj_weight, %in_proj_bias)
  output %y
})",
                 4);  // bmm -> matmul, drop expand, -> linear, join the bias
}

// MultiheadAttention's output projection: the flatten merges heads into features, so one
// reshape stays in front of the linear and the unflatten goes.
TEST(CanonicalizeLinear, AttentionOutputProjectionKeepsOneReshape) {
  expect_lowered(canonicalize_linear, R"(graph {
  symbol s0 : [2, 64]
  symbol s1 : [2, 128]
  input %heads : f32[s1, s0, 4, 16]
  constant %out_proj_weight : f32[64, 64] = external
  constant %out_proj_bias : f32[64] = external
  %view_16 : f32[s0*s1, 64] = aten::view(%heads, [s0*s1, 64])
  %permute_10 : f32[64, 64] = aten::permute(%out_proj_weight, [1, 0])
  %addmm : f32[s0*s1, 64] = aten::addmm(%out_proj_bias, %view_16, %permute_10, 1, 1)
  %view_17 : f32[s1, s0, 64] = aten::view(%addmm, [s1, s0, 64])
  output %view_17
})",
                 R"(graph {
  symbol s0 : [2, 64]
  symbol s1 : [2, 128]
  input %heads : f32[s1, s0, 4, 16]
  constant %out_proj_weight : f32[64, 64] = external
  constant %out_proj_bias : f32[64] = external
  %merged : f32[s1, s0, 64] = aten::reshape(%heads, [s1, s0, 64])
  %y : f32[s1, s0, 64] = aten::linear(%merged, %out_proj_weight, %out_proj_bias)
  output %y
})",
                 2);
}

// A constant right operand that is not a permute: the linear reads a transposed copy, shared
// by every matmul of that constant.
TEST(CanonicalizeLinear, ConstantOperandIsTransposedOnce) {
  expect_lowered(canonicalize_linear, R"(graph {
  input %x : f32[5, 2]
  input %z : f32[2]
  constant %c : f32[2, 3] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
  constant %b : f32[3] = [0.5, 0.25, 0.125]
  %m : f32[5, 3] = aten::matmul(%x, %c)
  %a : f32[5, 3] = aten::addmm(%b, %x, %c, 1, 1.0)
  %v : f32[5, 3] = aten::mm(%x, %c)
  %s : f32[3] = aten::matmul(%z, %c)
  output %m, %a, %s
})",
                 R"(graph {
  input %x : f32[5, 2]
  input %z : f32[2]
  constant %b : f32[3] = [0.5, 0.25, 0.125]
  constant %c_t : f32[3, 2] = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
  %m : f32[5, 3] = aten::linear(%x, %c_t, None)
  %a : f32[5, 3] = aten::linear(%x, %c_t, %b)
  %s : f32[3] = aten::linear(%z, %c_t, None)
  output %m, %a, %s
})",
                 5);  // the dead mm still becomes matmul and linear (dead code removes it)
}

TEST(CanonicalizeLinear, BiasAddJoinsInEitherOrder) {
  expect_lowered(canonicalize_linear, R"(graph {
  input %x : f32[2, 8]
  constant %w : f32[4, 8] = external
  constant %b : f32[4] = external
  %l : f32[2, 4] = aten::linear(%x, %w, None)
  %y : f32[2, 4] = aten::add.Tensor(%b, %l, 1.0)
  output %y
})",
                 R"(graph {
  input %x : f32[2, 8]
  constant %w : f32[4, 8] = external
  constant %b : f32[4] = external
  %y : f32[2, 4] = aten::linear(%x, %w, %b)
  output %y
})",
                 1);
}

TEST(CanonicalizeLinear, NewNodesCarrySchemaAndSource) {
  auto g = parse_ir(R"(graph {
  input %x : f32[2, 8]
  constant %w : f32[4, 8] = external
  %p : f32[8, 4] = aten::permute(%w, [1, 0])
  %mm : f32[2, 4] = aten::mm(%x, %p)
  output %mm
})");
  g->find_value("mm")->producer()->set_source("encoder.fc");
  ASSERT_TRUE(canonicalize_linear(*g, {}).has_value());
  const ir::Node* linear = g->outputs()[0]->producer();
  EXPECT_EQ(linear->op(), "aten::linear");
  EXPECT_EQ(linear->schema(), "aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor");
  EXPECT_EQ(linear->source(), "encoder.fc");
}

// Patterns that almost match.
TEST(CanonicalizeLinear, NegativeCases) {
  const char* cases[] = {
      // addmm with alpha 2 or beta 0.5.
      R"(graph {
  input %x : f32[2, 8]
  constant %w : f32[4, 8] = external
  constant %b : f32[4] = external
  %p : f32[8, 4] = aten::permute(%w, [1, 0])
  %y : f32[2, 4] = aten::addmm(%b, %x, %p, 1, 2)
  %z : f32[2, 4] = aten::addmm(%b, %x, %p, 0.5, 1)
  output %y, %z
})",
      // addmm whose bias is 2-D.
      R"(graph {
  input %x : f32[2, 8]
  constant %w : f32[4, 8] = external
  constant %b : f32[2, 4] = external
  %p : f32[8, 4] = aten::permute(%w, [1, 0])
  %y : f32[2, 4] = aten::addmm(%b, %x, %p, 1, 1)
  output %y
})",
      // The weight is not a constant.
      R"(graph {
  input %x : f32[2, 8]
  input %w : f32[4, 8]
  %p : f32[8, 4] = aten::permute(%w, [1, 0])
  %y : f32[2, 4] = aten::matmul(%x, %p)
  output %y
})",
      // A 3-D constant operand is not a linear weight.
      R"(graph {
  input %x : f32[3, 2, 8]
  constant %w : f32[3, 8, 4] = external
  %y : f32[3, 2, 4] = aten::matmul(%x, %w)
  output %y
})",
      // Bias add with alpha 2, with a 2-D constant, and with a second user of the linear.
      R"(graph {
  input %x : f32[2, 8]
  constant %w : f32[4, 8] = external
  constant %b : f32[4] = external
  constant %b2 : f32[2, 4] = external
  %l : f32[2, 4] = aten::linear(%x, %w, None)
  %y : f32[2, 4] = aten::add.Tensor(%l, %b, 2)
  %l2 : f32[2, 4] = aten::linear(%x, %w, None)
  %y2 : f32[2, 4] = aten::add.Tensor(%l2, %b2, 1)
  %l3 : f32[2, 4] = aten::linear(%x, %w, None)
  %y3 : f32[2, 4] = aten::add.Tensor(%l3, %b, 1)
  output %y, %y2, %y3, %l3
})",
      // A bias of another dtype would promote the sum.
      R"(graph {
  input %x : f16[2, 8]
  constant %w : f16[4, 8] = external
  constant %b : f32[4] = external
  %l : f16[2, 4] = aten::linear(%x, %w, None)
  %y : f32[2, 4] = aten::add.Tensor(%l, %b, 1)
  output %y
})",
      // View chain whose linear output is read twice, and one that unflattens differently.
      R"(graph {
  input %x : f32[2, 3, 8]
  constant %w : f32[4, 8] = external
  %v : f32[6, 8] = aten::view(%x, [6, 8])
  %l : f32[6, 4] = aten::linear(%v, %w, None)
  %u : f32[2, 3, 4] = aten::view(%l, [2, 3, 4])
  %v2 : f32[6, 8] = aten::view(%x, [6, 8])
  %l2 : f32[6, 4] = aten::linear(%v2, %w, None)
  %u2 : f32[3, 2, 4] = aten::view(%l2, [3, 2, 4])
  output %u, %l, %u2
})",
      // An expand that broadcasts matrix dims is not a batch broadcast.
      R"(graph {
  input %a : f32[3, 5, 8]
  input %c : f32[1, 4]
  %e : f32[3, 8, 4] = aten::expand(%c, [3, 8, 4], False)
  %y : f32[3, 5, 4] = aten::matmul(%a, %e)
  output %y
})",
      // A constant that an embedding also reads is not copied transposed.
      R"(graph {
  input %x : f32[5, 2]
  input %ids : i64[7]
  constant %c : f32[2, 3] = external
  %m : f32[5, 3] = aten::matmul(%x, %c)
  %e : f32[7, 3] = aten::embedding(%c, %ids, -1, False, False)
  output %m, %e
})",
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    expect_unchanged(canonicalize_linear, text, {});
  }
}

TEST(CanonicalizeLinear, BmmOfActivationsOnlyBecomesMatmul) {
  expect_lowered(canonicalize_linear, R"(graph {
  input %q : f32[8, 10, 16]
  input %k : f32[8, 16, 10]
  %s : f32[8, 10, 10] = aten::bmm(%q, %k)
  output %s
})",
                 R"(graph {
  input %q : f32[8, 10, 16]
  input %k : f32[8, 16, 10]
  %s : f32[8, 10, 10] = aten::matmul(%q, %k)
  output %s
})",
                 1);
}

}  // namespace
}  // namespace ingot::lower
