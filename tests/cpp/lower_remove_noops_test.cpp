#include "lower_test_util.h"

namespace ingot::lower {
namespace {

using testing::expect_lowered;
using testing::expect_unchanged;

// Each row is the body of a graph over `%x : f32[s0, 8]` (and `%i : i64[s0, 8]`) whose last
// line defines %y, the graph output. A removed no-op leaves the graph returning `passes`.
struct NoopCase {
  const char* name;
  const char* body;
  const char* passes;  // the value %y becomes, or nullptr when the node must stay
};

std::string graph_with(const std::string& body, const std::string& output) {
  return "graph {\n  symbol s0 : [1, 64]\n  input %x : f32[s0, 8]\n  input %i : i64[s0, 8]\n" + body +
         "\n  output %" + output + "\n}\n";
}

const NoopCase kCases[] = {
    // Copies and aliases.
    {"clone", "%y : f32[s0, 8] = aten::clone(%x, torch.contiguous_format)", "x"},
    {"alias", "%y : f32[s0, 8] = aten::alias(%x)", "x"},
    {"detach", "%y : f32[s0, 8] = aten::detach(%x)", "x"},
    {"lift_fresh_copy", "%y : f32[s0, 8] = aten::lift_fresh_copy(%x)", "x"},
    {"contiguous", "%y : f32[s0, 8] = aten::contiguous(%x, torch.contiguous_format)", "x"},
    // Dropout in eval mode.
    {"dropout_eval", "%y : f32[s0, 8] = aten::dropout(%x, 0.1, False)", "x"},
    {"feature_dropout_eval", "%y : f32[s0, 8] = aten::feature_dropout(%x, 0.1, False)", "x"},
    {"alpha_dropout_eval", "%y : f32[s0, 8] = aten::alpha_dropout(%x, 0.1, False)", "x"},
    {"dropout_train", "%y : f32[s0, 8] = aten::dropout(%x, 0.1, True)", nullptr},
    // Shape ops to the same shape (symbolic dims compare as expressions).
    {"view_same", "%y : f32[s0, 8] = aten::view(%x, [s0, 8])", "x"},
    {"view_minus_one", "%y : f32[s0, 8] = aten::view(%x, [-1, 8])", "x"},
    {"reshape_same", "%y : f32[s0, 8] = aten::reshape(%x, [s0, 8])", "x"},
    {"unsafe_view_same", "%y : f32[s0, 8] = aten::_unsafe_view(%x, [s0, 8])", "x"},
    {"expand_same", "%y : f32[s0, 8] = aten::expand(%x, [s0, 8], False)", "x"},
    {"view_other_shape", "%y : f32[8, s0] = aten::view(%x, [8, s0])", nullptr},
    {"expand_grows", "%y : f32[2, s0, 8] = aten::expand(%x, [2, s0, 8], False)", nullptr},
    {"permute_identity", "%y : f32[s0, 8] = aten::permute(%x, [0, 1])", "x"},
    {"permute_identity_negative", "%y : f32[s0, 8] = aten::permute(%x, [0, -1])", "x"},
    {"permute_swap", "%y : f32[8, s0] = aten::permute(%x, [1, 0])", nullptr},
    // Casts to the same dtype.
    {"to_copy_same_dtype",
     "%y : f32[s0, 8] = aten::_to_copy(%x, torch.float32, None, None, None, False, torch.preserve_format)", "x"},
    {"to_copy_no_dtype", "%y : f32[s0, 8] = aten::_to_copy(%x, None, None, None, None, False, None)", "x"},
    {"to_copy_other_dtype", "%y : f16[s0, 8] = aten::_to_copy(%x, torch.float16, None, None, None, False, None)",
     nullptr},
    {"to_copy_device", "%y : f32[s0, 8] = aten::_to_copy(%x, None, None, device(\"cpu\"), None, False, None)",
     nullptr},
    {"to_dtype_same", "%y : f32[s0, 8] = aten::to.dtype(%x, torch.float32, False, False, None)", "x"},
    {"to_dtype_other", "%y : i64[s0, 8] = aten::to.dtype(%x, torch.int64, False, False, None)", nullptr},
    // Full slices.
    {"slice_to_max", "%y : f32[s0, 8] = aten::slice.Tensor(%x, 0, 0, 9223372036854775807, 1)", "x"},
    {"slice_to_size", "%y : f32[s0, 8] = aten::slice.Tensor(%x, 0, None, s0, 1)", "x"},
    {"slice_none", "%y : f32[s0, 8] = aten::slice.Tensor(%x, -1, None, None, 1)", "x"},
    {"slice_static_end", "%y : f32[s0, 8] = aten::slice.Tensor(%x, 1, 0, 8, 1)", "x"},
    {"slice_from_one", "%y : f32[s0, 7] = aten::slice.Tensor(%x, 1, 1, 8, 1)", nullptr},
    {"slice_step_two", "%y : f32[s0, 4] = aten::slice.Tensor(%x, 1, 0, 8, 2)", nullptr},
    {"slice_end_below_max", "%y : f32[s0, 8] = aten::slice.Tensor(%x, 0, 0, 32, 1)", nullptr},
    // Single-input cat.
    {"cat_one", "%y : f32[s0, 8] = aten::cat([%x], 1)", "x"},
    {"cat_two", "%y : f32[s0, 16] = aten::cat([%x, %x], 1)", nullptr},
    // Arithmetic identities; 1 may be an int or a float.
    {"mul_scalar_int_one", "%y : f32[s0, 8] = aten::mul.Scalar(%x, 1)", "x"},
    {"mul_scalar_float_one", "%y : f32[s0, 8] = aten::mul.Scalar(%x, 1.0)", "x"},
    {"mul_scalar_two", "%y : f32[s0, 8] = aten::mul.Scalar(%x, 2.0)", nullptr},
    {"mul_scalar_promotes", "%y : f32[s0, 8] = aten::mul.Scalar(%i, 1.0)", nullptr},
    {"div_scalar_one", "%y : f32[s0, 8] = aten::div.Scalar(%x, 1)", "x"},
    {"add_scalar_zero", "%y : f32[s0, 8] = aten::add.Scalar(%x, 0, 1)", "x"},
    {"sub_scalar_zero", "%y : f32[s0, 8] = aten::sub.Scalar(%x, 0.0, 1)", "x"},
    {"add_scalar_zero_promotes", "%y : f32[s0, 8] = aten::add.Scalar(%i, 0.0, 1)", nullptr},
    {"add_scalar_one", "%y : f32[s0, 8] = aten::add.Scalar(%x, 1, 1)", nullptr},
    {"mul_tensor_ones", "constant %one : f32[] = [1.0]\n  %y : f32[s0, 8] = aten::mul.Tensor(%x, %one)", "x"},
    {"mul_tensor_ones_first", "constant %one : f32[1] = [1.0]\n  %y : f32[s0, 8] = aten::mul.Tensor(%one, %x)", "x"},
    {"mul_tensor_twos", "constant %two : f32[] = [2.0]\n  %y : f32[s0, 8] = aten::mul.Tensor(%x, %two)", nullptr},
    {"mul_tensor_ones_broadcast",
     "constant %ones : f32[2, 1, 1] = [1.0, 1.0]\n  %y : f32[2, s0, 8] = aten::mul.Tensor(%x, %ones)", nullptr},
};

TEST(RemoveNoops, Table) {
  for (const NoopCase& c : kCases) {
    SCOPED_TRACE(c.name);
    std::string before = graph_with(std::string("  ") + c.body, "y");
    if (c.passes) {
      expect_lowered(remove_noops, before, graph_with("", c.passes), 1);
    } else {
      expect_unchanged(remove_noops, before);
    }
  }
}

TEST(RemoveNoops, UsersReadTheInputAndChainsCollapse) {
  expect_lowered(remove_noops, R"(graph {
  input %x : f32[2, 8]
  %a : f32[2, 8] = aten::clone(%x, None)
  %b : f32[2, 8] = aten::view(%a, [2, 8])
  %c : f32[2, 8] = aten::relu(%b)
  %d : f32[2, 8] = aten::detach(%c)
  %e : f32[2, 8] = aten::add.Tensor(%d, %b, 1)
  output %e, %d
})",
                 R"(graph {
  input %x : f32[2, 8]
  %c : f32[2, 8] = aten::relu(%x)
  %e : f32[2, 8] = aten::add.Tensor(%c, %x, 1)
  output %e, %c
})",
                 3);
}

TEST(RemoveNoops, NativeDropoutOnlyWhenMaskUnused) {
  expect_lowered(remove_noops, R"(graph {
  input %x : f32[2, 8]
  %y : f32[2, 8], %mask : bool[2, 8] = aten::native_dropout(%x, 0.1, False)
  %z : f32[2, 8] = aten::relu(%y)
  output %z
})",
                 R"(graph {
  input %x : f32[2, 8]
  %z : f32[2, 8] = aten::relu(%x)
  output %z
})",
                 1);
  expect_unchanged(remove_noops, R"(graph {
  input %x : f32[2, 8]
  %y : f32[2, 8], %mask : bool[2, 8] = aten::native_dropout(%x, 0.1, False)
  output %y, %mask
})");
  // train=None means training.
  expect_unchanged(remove_noops, R"(graph {
  input %x : f32[2, 8]
  %y : f32[2, 8], %mask : bool[2, 8] = aten::native_dropout(%x, 0.1, None)
  output %y
})");
}

TEST(RemoveNoops, SymbolicSliceEndAtLeastTheRangeMax) {
  // s0 <= 64, so an end of 64 covers the whole dim.
  expect_lowered(remove_noops, graph_with("  %y : f32[s0, 8] = aten::slice.Tensor(%x, 0, 0, 64, 1)", "y"),
                 graph_with("", "x"), 1);
}

}  // namespace
}  // namespace ingot::lower
