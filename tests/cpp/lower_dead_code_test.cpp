#include "lower_test_util.h"

namespace ingot::lower {
namespace {

using testing::expect_lowered;
using testing::expect_unchanged;

TEST(EliminateDeadCode, RemovesUnusedChainsAndConstantsKeepsInputs) {
  expect_lowered(eliminate_dead_code, R"(graph {
  input %x : f32[4]
  input %unused : f32[4]
  constant %w : f32[4] = [1.0, 2.0, 3.0, 4.0]
  constant %dead_w : f32[4] = [5.0, 6.0, 7.0, 8.0]
  %a : f32[4] = aten::mul.Tensor(%x, %dead_w)
  %b : f32[4] = aten::relu(%a)
  %y : f32[4] = aten::add.Tensor(%x, %w, 1)
  output %y
})",
                 R"(graph {
  input %x : f32[4]
  input %unused : f32[4]
  constant %w : f32[4] = [1.0, 2.0, 3.0, 4.0]
  %y : f32[4] = aten::add.Tensor(%x, %w, 1)
  output %y
})",
                 /*rewrites=*/3);  // two nodes, one constant
}

TEST(EliminateDeadCode, KeepsMultiOutputNodeWithOneOutputUsed) {
  expect_unchanged(eliminate_dead_code, R"(graph {
  input %x : f32[2, 4]
  constant %g : f32[4] = [1.0, 1.0, 1.0, 1.0]
  %y : f32[2, 4], %mean : f32[2, 1], %rstd : f32[2, 1] = aten::native_layer_norm(%x, [4], %g, None, 1e-05)
  output %y
})");
}

TEST(EliminateDeadCode, KeepsSideEffectsAndConstantOutputs) {
  expect_unchanged(eliminate_dead_code, R"(graph {
  input %x : f32[4]
  input %buf : f32[4]
  constant %c : f32[1] = [3.0]
  aten::_assert_async.msg(%x, "x must be nonzero")
  %copied : f32[4] = aten::copy_(%buf, %x, False)
  output %x, %c
})");
}

TEST(EliminateDeadCode, RemovesNodeWhoseOnlyUserIsDead) {
  // The user is visited first (backwards), which frees the producer in the same sweep.
  expect_lowered(eliminate_dead_code, R"(graph {
  input %x : f32[4]
  %a : f32[4] = aten::relu(%x)
  %b : f32[4] = aten::neg(%a)
  %c : f32[4] = aten::neg(%b)
  output %x
})",
                 R"(graph {
  input %x : f32[4]
  output %x
})",
                 3);
}

}  // namespace
}  // namespace ingot::lower
