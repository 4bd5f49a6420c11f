#include "lower_test_util.h"

namespace ingot::lower {
namespace {

using testing::expect_lowered;
using testing::expect_unchanged;

TEST(ReassociateConstants, TwoConstantAddsBecomeOneAddOfTheirSum) {
  // BERT's embeddings: word + token type + position, the last two constants.
  expect_lowered(reassociate_constants, R"(graph {
  input %x : f16[1, 4, 8]
  constant %t : f16[1, 4, 8] = external
  constant %p : f16[1, 4, 8] = external
  %a : f16[1, 4, 8] = aten::add.Tensor(%x, %t, 1)
  %y : f16[1, 4, 8] = aten::add.Tensor(%p, %a, 1)
  output %y
})",
                 R"(graph {
  input %x : f16[1, 4, 8]
  constant %t : f16[1, 4, 8] = external
  constant %p : f16[1, 4, 8] = external
  %s : f16[1, 4, 8] = aten::add.Tensor(%t, %p, 1)
  %y : f16[1, 4, 8] = aten::add.Tensor(%s, %x, 1)
  output %y
})",
                 1);
}

TEST(ReassociateConstants, MultipliesToo_AndASmallerConstantBroadcastsIntoTheLarger) {
  expect_lowered(reassociate_constants, R"(graph {
  symbol s0 : [1, 64]
  input %x : f32[s0, 8]
  constant %g : f32[8] = external
  constant %h : f32[1, 8] = external
  %a : f32[s0, 8] = aten::mul.Tensor(%g, %x)
  %y : f32[s0, 8] = aten::mul.Tensor(%a, %h)
  output %y
})",
                 R"(graph {
  symbol s0 : [1, 64]
  input %x : f32[s0, 8]
  constant %g : f32[8] = external
  constant %h : f32[1, 8] = external
  %s : f32[1, 8] = aten::mul.Tensor(%g, %h)
  %y : f32[s0, 8] = aten::mul.Tensor(%x, %s)
  output %y
})",
                 1);
}

TEST(ReassociateConstants, LeavesWhatItCannotMerge) {
  const char* header = "graph {\n  input %x : f32[4, 8]\n  constant %c : f32[4, 8] = external\n"
                       "  constant %r : f32[4, 1] = external\n  constant %k : f32[1, 8] = external\n";
  // The inner sum has another reader.
  expect_unchanged(reassociate_constants, std::string(header) +
                                              "  %a : f32[4, 8] = aten::add.Tensor(%x, %c, 1)\n"
                                              "  %y : f32[4, 8] = aten::add.Tensor(%a, %c, 1)\n"
                                              "  %z : f32[4, 8] = aten::mul.Tensor(%a, %y)\n  output %z\n}\n");
  // An alpha other than 1.
  expect_unchanged(reassociate_constants, std::string(header) +
                                              "  %a : f32[4, 8] = aten::add.Tensor(%x, %c, 2)\n"
                                              "  %y : f32[4, 8] = aten::add.Tensor(%a, %c, 1)\n  output %y\n}\n");
  // An add after a multiply.
  expect_unchanged(reassociate_constants, std::string(header) +
                                              "  %a : f32[4, 8] = aten::mul.Tensor(%x, %c)\n"
                                              "  %y : f32[4, 8] = aten::add.Tensor(%a, %c, 1)\n  output %y\n}\n");
  // [4, 1] and [1, 8] would make a constant larger than both.
  expect_unchanged(reassociate_constants, std::string(header) +
                                              "  %a : f32[4, 8] = aten::add.Tensor(%x, %r, 1)\n"
                                              "  %y : f32[4, 8] = aten::add.Tensor(%a, %k, 1)\n  output %y\n}\n");
}

}  // namespace
}  // namespace ingot::lower
