#include "lower_test_util.h"

namespace ingot::lower {
namespace {

using testing::expect_lowered;
using testing::expect_unchanged;

TEST(EliminateCommonSubexpressions, MergesIdenticalNodesAndTheirUsers) {
  expect_lowered(eliminate_common_subexpressions, R"(graph {
  input %x : f32[2, 4]
  constant %c : f32[4] = [1.0, 2.0, 3.0, 4.0]
  %a : f32[2, 4] = aten::relu(%x)
  %b : f32[2, 4] = aten::relu(%x)
  %a2 : f32[2, 4] = aten::add.Tensor(%a, %c, 1)
  %b2 : f32[2, 4] = aten::add.Tensor(%b, %c, 1)
  %y : f32[2, 4] = aten::mul.Tensor(%a2, %b2)
  output %y, %b2
})",
                 R"(graph {
  input %x : f32[2, 4]
  constant %c : f32[4] = [1.0, 2.0, 3.0, 4.0]
  %a : f32[2, 4] = aten::relu(%x)
  %a2 : f32[2, 4] = aten::add.Tensor(%a, %c, 1)
  %y : f32[2, 4] = aten::mul.Tensor(%a2, %a2)
  output %y, %a2
})",
                 2);
}

TEST(EliminateCommonSubexpressions, MergesMultiOutputNodes) {
  expect_lowered(eliminate_common_subexpressions, R"(graph {
  symbol s0 : [1, 16]
  input %x : f32[s0, 4]
  %y : f32[s0, 4], %m : f32[s0, 1], %r : f32[s0, 1] = aten::native_layer_norm(%x, [4], None, None, 1e-05)
  %y2 : f32[s0, 4], %m2 : f32[s0, 1], %r2 : f32[s0, 1] = aten::native_layer_norm(%x, [4], None, None, 1e-05)
  %v : f32[s0, 4] = aten::view(%x, [s0, 4])
  %v2 : f32[s0, 4] = aten::view(%x, [s0, 4])
  output %y, %r2, %v, %v2
})",
                 R"(graph {
  symbol s0 : [1, 16]
  input %x : f32[s0, 4]
  %y : f32[s0, 4], %m : f32[s0, 1], %r : f32[s0, 1] = aten::native_layer_norm(%x, [4], None, None, 1e-05)
  %v : f32[s0, 4] = aten::view(%x, [s0, 4])
  output %y, %r, %v, %v
})",
                 2);
}

TEST(EliminateCommonSubexpressions, KeepsNodesThatDiffer) {
  expect_unchanged(eliminate_common_subexpressions, R"(graph {
  input %x : f32[2, 4]
  input %z : f32[2, 4]
  %a : f32[2, 4] = aten::mul.Scalar(%x, 2.0)
  %b : f32[2, 4] = aten::mul.Scalar(%x, 3.0)
  %c : f32[2, 4] = aten::mul.Scalar(%z, 2.0)
  %d : f32[2, 4] = aten::add.Tensor(%x, %z, 1)
  %e : f32[2, 4] = aten::add.Tensor(%z, %x, 1)
  %f : f32[2, 4] = aten::add.Tensor(%x, %z, 2)
  output %a, %b, %c, %d, %e, %f
})");
}

TEST(EliminateCommonSubexpressions, NeverMergesRandomOrInPlaceOps) {
  expect_unchanged(eliminate_common_subexpressions, R"(graph {
  input %x : f32[2, 4]
  %r1 : f32[2, 4] = aten::rand_like(%x, None, None, None, None, None)
  %r2 : f32[2, 4] = aten::rand_like(%x, None, None, None, None, None)
  %d1 : f32[2, 4] = aten::dropout(%x, 0.5, True)
  %d2 : f32[2, 4] = aten::dropout(%x, 0.5, True)
  %m1 : f32[2, 4], %k1 : bool[2, 4] = aten::native_dropout(%x, 0.5, None)
  %m2 : f32[2, 4], %k2 : bool[2, 4] = aten::native_dropout(%x, 0.5, None)
  %e1 : f32[2, 4] = aten::empty_like(%x, None, None, None, None, None)
  %e2 : f32[2, 4] = aten::empty_like(%x, None, None, None, None, None)
  %b1 : f32[2, 4] = aten::bernoulli.p(%x, 0.5, None)
  %b2 : f32[2, 4] = aten::bernoulli.p(%x, 0.5, None)
  %i1 : f32[2, 4] = aten::relu_(%x)
  %i2 : f32[2, 4] = aten::relu_(%x)
  output %r1, %r2, %d1, %d2, %m1, %m2, %e1, %e2, %b1, %b2, %i1, %i2
})");
  // Dropout in eval mode is deterministic.
  expect_lowered(eliminate_common_subexpressions, R"(graph {
  input %x : f32[2, 4]
  %d1 : f32[2, 4] = aten::dropout(%x, 0.5, False)
  %d2 : f32[2, 4] = aten::dropout(%x, 0.5, False)
  output %d1, %d2
})",
                 R"(graph {
  input %x : f32[2, 4]
  %d1 : f32[2, 4] = aten::dropout(%x, 0.5, False)
  output %d1, %d1
})",
                 1);
}

}  // namespace
}  // namespace ingot::lower
