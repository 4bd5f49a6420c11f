// Every CUDA layer kind against the CPU reference: one table per family, one row per case.
// A row names the case, the layer parameters and the inputs (dtype, dims, distribution); the
// output shapes come from the layer's shape function. Cases cover the fast paths (contiguous,
// vectorized, rows in registers) and the general ones (broadcast, strided, long rows, other
// axes), odd and empty sizes, and the engine dtypes.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "ir/symbolic.h"
#include "test_util.h"

namespace ingot::kernels::cuda::testing {

namespace {

using namespace net;  // NOLINT(google-build-using-namespace): parameter structs and enums

constexpr DType F32 = DType::kFloat32, F16 = DType::kFloat16, BF16 = DType::kBFloat16, I8 = DType::kInt8,
                U8 = DType::kUInt8, I32 = DType::kInt32, I64 = DType::kInt64, B = DType::kBool;
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string dt(DType t) { return std::string(ir::dtype_name(t)); }

int64_t product(const Dims& d) {
  int64_t n = 1;
  for (int64_t x : d) n *= x;
  return n;
}

class KernelTest : public ::testing::TestWithParam<Case> {};

TEST_P(KernelTest, MatchesCpuReference) {
  INGOT_SKIP_WITHOUT_GPU();
  run_case(GetParam());
}

// ---------------------------------------------------------------- elementwise and select

std::vector<Case> elementwise_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, BinaryOp op, InputSpec a, InputSpec b) {
    v.push_back(make_case(std::move(name), ElementwiseParams{.op = op}, {std::move(a), std::move(b)}));
  };
  // Paths: contiguous (vector + tail), broadcast rows, scalar broadcast, misaligned, empty.
  add("add_f32_1003", BinaryOp::kAdd, in(F32, {1003}), in(F32, {1003}));
  add("add_f32_1024", BinaryOp::kAdd, in(F32, {1024}), in(F32, {1024}));
  add("add_f16_1", BinaryOp::kAdd, in(F16, {1}), in(F16, {1}));
  add("add_f16_7", BinaryOp::kAdd, in(F16, {7}), in(F16, {7}));
  add("add_f16_4097", BinaryOp::kAdd, in(F16, {4097}), in(F16, {4097}));
  add("add_bf16_3x5x7", BinaryOp::kAdd, in(BF16, {3, 5, 7}), in(BF16, {3, 5, 7}));
  add("add_f16_bias_rows", BinaryOp::kAdd, in(F16, {4, 64, 96}), in(F16, {96}));
  add("add_f16_bias_lhs", BinaryOp::kAdd, in(F16, {96}), in(F16, {4, 64, 96}));
  add("add_f32_bias_odd", BinaryOp::kAdd, in(F32, {5, 33}), in(F32, {33}));
  add("mul_f32_outer", BinaryOp::kMul, in(F32, {8, 1, 5}), in(F32, {1, 6, 1}));
  add("sub_f32_col_row", BinaryOp::kSub, in(F32, {3, 1}), in(F32, {1, 4}));
  add("div_f32_scalar_rhs", BinaryOp::kDiv, in(F32, {5, 7}), in(F32, {}, nonzero()));
  add("add_f32_scalar_lhs", BinaryOp::kAdd, in(F32, {}), in(F32, {3, 4}));
  add("add_f16_channel_bias", BinaryOp::kAdd, in(F16, {2, 16, 7, 7}), in(F16, {1, 16, 1, 1}));
  add("mul_bf16_channel_bias_8", BinaryOp::kMul, in(BF16, {2, 16, 8, 8}), in(BF16, {16, 1, 1}));
  add("add_f16_misaligned", BinaryOp::kAdd, misaligned(in(F16, {1000})), in(F16, {1000}));
  add("add_f32_empty", BinaryOp::kAdd, in(F32, {0, 5}), in(F32, {5}));
  add("add_f32_rank8", BinaryOp::kAdd, in(F32, {2, 1, 2, 1, 2, 1, 2, 1}), in(F32, {1, 2, 1, 2, 1, 2, 1, 2}));
  add("add_f32_rank9_mergeable", BinaryOp::kAdd, in(F32, {2, 2, 2, 2, 2, 2, 2, 2, 3}), in(F32, {3}));
  add("eq_f16_bcast_bool_out", BinaryOp::kEq, in(F16, {6, 40}, uniform(-2, 2)), in(F16, {40}, uniform(-2, 2)));
  add("lt_f32_vector_bool_out", BinaryOp::kLt, in(F32, {2048}), in(F32, {2048}));
  Case out_mis = make_case("add_f32_out_misaligned", ElementwiseParams{.op = BinaryOp::kAdd}, {in(F32, {999}), in(F32, {999})});
  out_mis.out_misalign = 1;
  v.push_back(out_mis);

  // Every floating op, f32 and f16.
  const BinaryOp float_ops[] = {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv, BinaryOp::kFloorDiv,
                                BinaryOp::kRemainder, BinaryOp::kPow, BinaryOp::kMax, BinaryOp::kMin, BinaryOp::kEq,
                                BinaryOp::kNe, BinaryOp::kLt, BinaryOp::kLe, BinaryOp::kGt, BinaryOp::kGe,
                                BinaryOp::kLogicalAnd, BinaryOp::kLogicalOr, BinaryOp::kLogicalXor, BinaryOp::kTruncDiv,
                                BinaryOp::kAtan2};
  for (DType t : {F32, F16}) {
    for (BinaryOp op : float_ops) {
      Dist da = specials(), db = specials();
      if (op == BinaryOp::kPow) {
        da = uniform(0.05, 4.0);
        db = uniform(-3.0, 3.0);
      }
      if (op == BinaryOp::kEq || op == BinaryOp::kNe || op == BinaryOp::kLe || op == BinaryOp::kGe) {
        da = db = ints(-3, 3);  // equal values occur
      }
      if (op == BinaryOp::kFloorDiv || op == BinaryOp::kRemainder || op == BinaryOp::kTruncDiv) {
        da = uniform(-20, 20);
        db = nonzero();
      }
      add(dt(t) + "_" + enum_name(op), op, in(t, {257}, da), in(t, {257}, db));
    }
  }
  add("f32_floor_div_ints", BinaryOp::kFloorDiv, in(F32, {300}, ints(-50, 50)), in(F32, {300}, ints(1, 7)));
  add("f32_remainder_neg_divisor", BinaryOp::kRemainder, in(F32, {300}, ints(-50, 50)), in(F32, {300}, ints(-7, -1)));

  // Every integer op on the integer dtypes (exact, wrap-around).
  const BinaryOp int_ops[] = {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kFloorDiv, BinaryOp::kRemainder,
                              BinaryOp::kTruncDiv, BinaryOp::kPow, BinaryOp::kMax, BinaryOp::kMin, BinaryOp::kBitwiseAnd,
                              BinaryOp::kBitwiseOr, BinaryOp::kBitwiseXor, BinaryOp::kEq, BinaryOp::kLt,
                              BinaryOp::kGe, BinaryOp::kLogicalAnd, BinaryOp::kLogicalXor};
  for (DType t : {I64, I32, I8, U8}) {
    for (BinaryOp op : int_ops) {
      Dist da, db;
      if (op == BinaryOp::kFloorDiv || op == BinaryOp::kRemainder || op == BinaryOp::kTruncDiv) db = nonzero();
      if (op == BinaryOp::kPow) {
        da = ints(t == U8 ? 0 : -5, 5);
        db = ints(t == U8 ? 0 : -2, 9);
      }
      if (op == BinaryOp::kEq) da = db = ints(0, 3);
      add(dt(t) + "_" + enum_name(op), op, in(t, {131}, da), in(t, {131}, db));
    }
  }
  add("i64_add_bcast", BinaryOp::kAdd, in(I64, {7, 1, 3}), in(I64, {5, 1}));
  add("i64_floor_div_neg", BinaryOp::kFloorDiv, in(I64, {200}, ints(-100, 100)), in(I64, {200}, ints(-9, -1)));
  add("i64_remainder_neg", BinaryOp::kRemainder, in(I64, {200}, ints(-100, 100)), in(I64, {200}, ints(-9, -1)));
  add("i32_mul_wrap", BinaryOp::kMul, in(I32, {100}, ints(-2000000000, 2000000000)), in(I32, {100}, ints(-2000000000, 2000000000)));
  for (BinaryOp op : {BinaryOp::kLogicalAnd, BinaryOp::kLogicalOr, BinaryOp::kLogicalXor, BinaryOp::kBitwiseAnd,
                      BinaryOp::kBitwiseXor, BinaryOp::kAdd, BinaryOp::kMax, BinaryOp::kEq}) {
    add(std::string("bool_") + enum_name(op), op, in(B, {77}), in(B, {77}));
  }
  add("bool_or_bcast", BinaryOp::kLogicalOr, in(B, {9, 33}), in(B, {33}));
  return v;
}

std::vector<Case> select_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, InputSpec c, InputSpec a, InputSpec b) {
    v.push_back(make_case(std::move(name), SelectParams{}, {std::move(c), std::move(a), std::move(b)}));
  };
  add("f32_bcast_scalar", in(B, {4, 5}), in(F32, {3, 4, 5}), in(F32, {}));
  add("f16_same_1000", in(B, {1000}), in(F16, {1000}), in(F16, {1000}));
  add("f16_rows_4096", in(B, {16, 256}), in(F16, {16, 256}), in(F16, {16, 256}));
  add("f16_mask_rows", in(B, {8, 1, 128}), in(F16, {8, 4, 128}), in(F16, {}));
  add("i64_7x3", in(B, {7, 3}), in(I64, {7, 3}), in(I64, {7, 1}));
  add("bool_33", in(B, {33}), in(B, {33}), in(B, {33}));
  add("u8_bcast", in(B, {5, 1}), in(U8, {1, 9}), in(U8, {5, 9}));
  add("bf16_misaligned", misaligned(in(B, {500})), misaligned(in(BF16, {500})), in(BF16, {500}));
  add("f32_empty", in(B, {0}), in(F32, {0}), in(F32, {1}));
  return v;
}

// ---------------------------------------------------------------- unary and cast

// Inputs that stay inside each op's domain (most of the time).
Dist unary_dist(UnaryOp op) {
  switch (op) {
    case UnaryOp::kLog: case UnaryOp::kSqrt: case UnaryOp::kRsqrt: case UnaryOp::kLog2: case UnaryOp::kLog10:
      return uniform(0.01, 8.0);
    case UnaryOp::kLog1p: return uniform(-0.9, 8.0);
    case UnaryOp::kAcosh: return uniform(1.0, 8.0);
    case UnaryOp::kAsin: case UnaryOp::kAcos: case UnaryOp::kAtanh: return uniform(-0.999, 0.999);
    case UnaryOp::kReciprocal: return nonzero();
    case UnaryOp::kTan: return uniform(-1.5, 1.5);
    case UnaryOp::kExp: case UnaryOp::kExp2: case UnaryOp::kExpm1: case UnaryOp::kSinh: case UnaryOp::kCosh:
      return uniform(-10.0, 10.0);
    case UnaryOp::kSoftplus: case UnaryOp::kMish: return uniform(-30.0, 30.0);
    case UnaryOp::kRound: return uniform(-5.0, 5.0);
    case UnaryOp::kRelu: case UnaryOp::kAbs: case UnaryOp::kIsNan: case UnaryOp::kIsInf: case UnaryOp::kLogicalNot:
    case UnaryOp::kSign: case UnaryOp::kFloor: case UnaryOp::kClamp: case UnaryOp::kNeg:
      return specials();
    default: return {};
  }
}

UnaryParams unary(UnaryOp op) {
  UnaryParams p{.op = op};
  if (op == UnaryOp::kLeakyRelu) p.alpha = 0.01;
  if (op == UnaryOp::kElu) p.alpha = p.beta = 1.0;
  if (op == UnaryOp::kClamp) {
    p.alpha = -1.5;
    p.beta = 2.25;
  }
  if (op == UnaryOp::kSoftplus) {
    p.alpha = 1.0;
    p.beta = 20.0;
  }
  return p;
}

std::vector<Case> unary_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, UnaryParams p, InputSpec x) {
    v.push_back(make_case(std::move(name), p, {std::move(x)}));
  };
  for (int i = 0; i < static_cast<int>(UnaryOp::kCount); ++i) {
    auto op = static_cast<UnaryOp>(i);
    if (op == UnaryOp::kBitwiseNot) continue;  // integer only
    add(std::string("f32_") + enum_name(op), unary(op), in(F32, {1031}, unary_dist(op)));
  }
  const UnaryOp low_precision[] = {UnaryOp::kRelu, UnaryOp::kSigmoid, UnaryOp::kTanh, UnaryOp::kGeluErf,
                                   UnaryOp::kGeluTanh, UnaryOp::kSilu, UnaryOp::kExp, UnaryOp::kSqrt, UnaryOp::kRsqrt,
                                   UnaryOp::kHardSwish, UnaryOp::kHardSigmoid, UnaryOp::kLeakyRelu, UnaryOp::kElu,
                                   UnaryOp::kClamp, UnaryOp::kSoftplus, UnaryOp::kMish, UnaryOp::kErf, UnaryOp::kNeg,
                                   UnaryOp::kAbs, UnaryOp::kReciprocal, UnaryOp::kRound, UnaryOp::kIsNan,
                                   UnaryOp::kIsInf, UnaryOp::kLogicalNot, UnaryOp::kSin, UnaryOp::kLog};
  for (DType t : {F16, BF16}) {
    for (UnaryOp op : low_precision) add(dt(t) + "_" + enum_name(op), unary(op), in(t, {1031}, unary_dist(op)));
  }
  add("f16_gelu_7", unary(UnaryOp::kGeluErf), in(F16, {7}));
  add("f16_gelu_misaligned", unary(UnaryOp::kGeluErf), misaligned(in(F16, {4097})));
  add("f32_silu_empty", unary(UnaryOp::kSilu), in(F32, {3, 0}));
  add("f32_relu_scalar", unary(UnaryOp::kRelu), in(F32, {}));
  add("f32_clamp_inf_bound", UnaryParams{.op = UnaryOp::kClamp, .alpha = -kInf, .beta = 0.5}, in(F32, {100}, specials()));
  add("f32_clamp_nan_bound", UnaryParams{.op = UnaryOp::kClamp, .alpha = std::nan(""), .beta = 0.5}, in(F32, {10}));
  add("f32_selu", UnaryParams{.op = UnaryOp::kElu, .alpha = 1.6732632423543772, .beta = 1.0507009873554805}, in(F32, {300}));
  add("f32_softplus_beta2", UnaryParams{.op = UnaryOp::kSoftplus, .alpha = 2.0, .beta = 10.0}, in(F32, {300}, uniform(-20, 20)));

  const UnaryOp int_ops[] = {UnaryOp::kIdentity, UnaryOp::kFloor, UnaryOp::kCeil, UnaryOp::kRound, UnaryOp::kTrunc,
                             UnaryOp::kRelu, UnaryOp::kNeg, UnaryOp::kAbs, UnaryOp::kSquare, UnaryOp::kSign,
                             UnaryOp::kFrac, UnaryOp::kBitwiseNot, UnaryOp::kClamp, UnaryOp::kLogicalNot,
                             UnaryOp::kIsNan, UnaryOp::kIsInf};
  for (DType t : {I64, I32, I8, U8}) {
    for (UnaryOp op : int_ops) {
      UnaryParams p{.op = op};
      if (op == UnaryOp::kClamp) {
        p.alpha = -50.5;
        p.beta = 60.2;
      }
      add(dt(t) + "_" + enum_name(op), p, in(t, {133}));
    }
  }
  add("i64_clamp_inf", UnaryParams{.op = UnaryOp::kClamp, .alpha = -kInf, .beta = 7.0}, in(I64, {64}));
  for (UnaryOp op : {UnaryOp::kIdentity, UnaryOp::kBitwiseNot, UnaryOp::kLogicalNot, UnaryOp::kNeg, UnaryOp::kAbs,
                     UnaryOp::kIsNan}) {
    add(std::string("bool_") + enum_name(op), UnaryParams{.op = op}, in(B, {65}));
  }
  return v;
}

std::vector<Case> cast_cases() {
  std::vector<Case> v;
  const DType all[] = {F32, F16, BF16, I8, U8, I32, I64, B};
  for (DType from : all) {
    for (DType to : all) {
      Dist d = (from == F32 || from == F16 || from == BF16) ? specials(-300.0, 300.0) : Dist{};
      v.push_back(make_case(dt(from) + "_to_" + dt(to), CastParams{.to = to}, {in(from, {1001}, d)}));
    }
  }
  v.push_back(make_case("f32_to_f16_misaligned", CastParams{.to = F16}, {misaligned(in(F32, {515}))}));
  v.push_back(make_case("f32_to_i32_large", CastParams{.to = I32}, {in(F32, {300}, uniform(-4e9, 4e9))}));
  v.push_back(make_case("f32_to_i64_large", CastParams{.to = I64}, {in(F32, {300}, uniform(-1e19, 1e19))}));
  v.push_back(make_case("f16_to_f32_empty", CastParams{.to = F32}, {in(F16, {0})}));
  return v;
}

// ---------------------------------------------------------------- data movement and generators

std::vector<Case> shuffle_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, LayerParams p, std::vector<InputSpec> inputs) {
    v.push_back(make_case(std::move(name), std::move(p), std::move(inputs)));
  };
  auto shape = [](Dims d) { return ir::shape_of(d); };
  add("reshape_f16", ReshapeParams{.shape = shape({15})}, {in(F16, {3, 5})});
  add("reshape_i64", ReshapeParams{.shape = shape({4, 6})}, {in(I64, {2, 3, 4})});
  add("reshape_empty", ReshapeParams{.shape = shape({0})}, {in(F32, {0, 3})});
  add("identity_bf16", IdentityParams{}, {in(BF16, {7, 9})});
  add("identity_bool", IdentityParams{}, {in(B, {5})});

  add("permute_f32_201", PermuteParams{.perm = {2, 0, 1}}, {in(F32, {2, 3, 4})});
  add("permute_f16_batched_transpose", PermuteParams{.perm = {0, 2, 1}}, {in(F16, {4, 64, 48})});
  add("permute_f16_transpose_odd", PermuteParams{.perm = {1, 0}}, {in(F16, {33, 70})});
  add("permute_f32_transpose_big", PermuteParams{.perm = {1, 0}}, {in(F32, {300, 257})});
  add("permute_i64_transpose", PermuteParams{.perm = {0, 2, 1}}, {in(I64, {3, 40, 17})});
  add("permute_u8_transpose", PermuteParams{.perm = {1, 0}}, {in(U8, {65, 129})});
  add("permute_f16_heads", PermuteParams{.perm = {0, 2, 1, 3}}, {in(F16, {2, 16, 12, 64})});
  add("permute_f32_nhwc", PermuteParams{.perm = {0, 2, 3, 1}}, {in(F32, {2, 3, 5, 7})});
  add("permute_bf16_nchw", PermuteParams{.perm = {0, 3, 1, 2}}, {in(BF16, {2, 5, 7, 32})});
  // An image's NCHW -> NHWC with 2-4 channels (planes_kernel): 16-byte pixels groups where the
  // pixel count allows, element by element otherwise, one sample or several.
  add("permute_f16_rgb_to_nhwc", PermuteParams{.perm = {0, 2, 3, 1}}, {in(F16, {2, 3, 8, 12})});
  add("permute_f16_rgb_to_nhwc_odd_pixels", PermuteParams{.perm = {0, 2, 3, 1}}, {in(F16, {1, 3, 7, 11})});
  add("permute_f32_rgba_to_nhwc", PermuteParams{.perm = {0, 2, 3, 1}}, {in(F32, {3, 4, 9, 9})});
  add("permute_bf16_two_planes_rank3", PermuteParams{.perm = {1, 0}}, {in(BF16, {2, 130})});
  add("permute_u8_rgb_to_nhwc", PermuteParams{.perm = {0, 2, 3, 1}}, {in(U8, {2, 3, 16, 16})});
  add("permute_f32_rank1", PermuteParams{.perm = {0}}, {in(F32, {9})});
  add("permute_f32_rank0", PermuteParams{.perm = {}}, {in(F32, {})});
  add("permute_f32_rank6", PermuteParams{.perm = {5, 3, 1, 0, 2, 4}}, {in(F32, {2, 3, 2, 3, 2, 3})});

  add("expand_f32_cols", ExpandParams{.shape = shape({2, 3, 5})}, {in(F32, {3, 1})});
  add("expand_f16_rows_odd", ExpandParams{.shape = shape({4, 5})}, {in(F16, {5})});
  add("expand_f16_rows_vec", ExpandParams{.shape = shape({8, 64})}, {in(F16, {1, 64})});
  add("expand_i64_scalar", ExpandParams{.shape = shape({7})}, {in(I64, {1})});
  add("expand_rank0", ExpandParams{.shape = shape({3, 4})}, {in(BF16, {})});
  add("expand_f16_inner", ExpandParams{.shape = shape({2, 8, 16})}, {in(F16, {2, 8, 1})});

  add("concat_f32_axis0", ConcatParams{.axis = 0}, {in(F32, {2, 3}), in(F32, {4, 3})});
  add("concat_f16_axis1", ConcatParams{.axis = 1}, {in(F16, {2, 3, 5}), in(F16, {2, 1, 5}), in(F16, {2, 4, 5})});
  add("concat_i8_last", ConcatParams{.axis = 1}, {in(I8, {3, 7}), in(I8, {3, 9})});
  add("concat_f16_vec", ConcatParams{.axis = 1}, {in(F16, {4, 64}), in(F16, {4, 128})});
  add("concat_with_empty", ConcatParams{.axis = 1}, {in(F32, {2, 0, 5}), in(F32, {2, 3, 5})});
  add("concat_i64_misaligned", ConcatParams{.axis = 0}, {misaligned(in(I64, {3, 2})), in(I64, {1, 2})});
  add("concat_bool", ConcatParams{.axis = 0}, {in(B, {3}), in(B, {4})});
  std::vector<InputSpec> many;
  for (int i = 0; i < 40; ++i) many.push_back(in(F32, {2, 1 + i % 3, 3}));
  add("concat_40_inputs", ConcatParams{.axis = 1}, many);

  auto slice = [&](std::vector<int64_t> axes, Dims starts, Dims ends, std::vector<int64_t> steps) {
    return SliceParams{.axes = std::move(axes), .starts = shape(starts), .ends = shape(ends), .steps = std::move(steps)};
  };
  add("slice_f32_step2", slice({1}, {1}, {6}, {2}), {in(F32, {3, 7, 4})});
  add("slice_i64_two_axes", slice({0, 2}, {1, 2}, {5, 7}, {3, 1}), {in(I64, {5, 6, 7})});
  add("slice_f16_rows", slice({0}, {2}, {6}, {1}), {in(F16, {8, 64})});
  add("slice_f16_inner", slice({1}, {3}, {67}, {1}), {in(F16, {5, 70})});
  add("slice_empty", slice({1}, {3}, {3}, {1}), {in(F32, {4, 5})});
  add("slice_big_step", slice({0}, {1}, {10}, {100}), {in(U8, {10, 3})});

  add("gather_f16_embedding", GatherParams{.axis = 0}, {in(F16, {100, 64}), in(I64, {2, 7}, ints(-100, 99))});
  add("gather_f32_axis1_i32", GatherParams{.axis = 1}, {in(F32, {3, 10, 5}), in(I32, {4}, ints(-10, 9))});
  add("gather_i64_scalar_index", GatherParams{.axis = 1}, {in(I64, {6, 4}), in(I64, {}, ints(-4, 3))});
  add("gather_bool", GatherParams{.axis = 0}, {in(B, {5, 3}), in(I64, {2, 2}, ints(0, 4))});
  add("gather_bf16_unit4", GatherParams{.axis = 1}, {in(BF16, {4, 3, 66}), in(I32, {5}, ints(-3, 2))});
  add("gather_u8_last", GatherParams{.axis = 1}, {in(U8, {10, 7}), in(I64, {3}, ints(0, 6))});
  add("gather_empty_indices", GatherParams{.axis = 0}, {in(F32, {4, 3}), in(I64, {0})});
  return v;
}

std::vector<Case> generator_cases() {
  std::vector<Case> v;
  auto shape = [](Dims d) { return ir::shape_of(d); };
  const DType all[] = {F32, F16, BF16, I8, U8, I32, I64, B};
  for (DType t : all) {
    v.push_back(make_case("fill_" + dt(t), FillParams{.shape = shape({1001}), .dtype = t, .value = 3.7}, {}));
    v.push_back(make_case("fill_neg_" + dt(t), FillParams{.shape = shape({2, 3, 4}), .dtype = t, .value = -1.5}, {}));
    v.push_back(make_case("iota_" + dt(t), IotaParams{.size = ir::SymExpr(int64_t{1000}), .start = -3.5, .step = 2.25, .dtype = t}, {}));
  }
  v.push_back(make_case("fill_f16_overflow", FillParams{.shape = shape({9}), .dtype = F16, .value = 1e5}, {}));
  v.push_back(make_case("fill_u8_wrap", FillParams{.shape = shape({9}), .dtype = U8, .value = 300}, {}));
  v.push_back(make_case("fill_i32_nan", FillParams{.shape = shape({9}), .dtype = I32, .value = std::nan("")}, {}));
  v.push_back(make_case("fill_empty", FillParams{.shape = shape({0}), .dtype = F32, .value = 1}, {}));
  v.push_back(make_case("fill_scalar", FillParams{.shape = shape({}), .dtype = I64, .value = 42}, {}));
  v.push_back(make_case("iota_f16_tenths", IotaParams{.size = ir::SymExpr(int64_t{1000}), .start = 0.0, .step = 0.1, .dtype = F16}, {}));
  v.push_back(make_case("iota_u8_wrap", IotaParams{.size = ir::SymExpr(int64_t{20}), .start = 250, .step = 1, .dtype = U8}, {}));
  v.push_back(make_case("iota_i64_down", IotaParams{.size = ir::SymExpr(int64_t{100}), .start = 5, .step = -3, .dtype = I64}, {}));
  v.push_back(make_case("iota_empty", IotaParams{.size = ir::SymExpr(int64_t{0}), .start = 0, .step = 1, .dtype = I32}, {}));
  return v;
}

// ---------------------------------------------------------------- reduce and softmax

std::vector<Case> reduce_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, ReduceOp op, std::vector<int64_t> axes, InputSpec x, bool keepdim = false,
                 double correction = 0.0) {
    v.push_back(make_case(std::move(name), ReduceParams{.op = op, .axes = std::move(axes), .keepdim = keepdim, .correction = correction},
                          {std::move(x)}));
  };
  // Rows (contiguous reduced run): warp per row, block per row, vector loads.
  add("sum_f32_rows_1000", ReduceOp::kSum, {1}, in(F32, {4, 1000}));
  add("mean_f16_hw", ReduceOp::kMean, {2, 3}, in(F16, {2, 3, 7, 7}), true);
  add("mean_f16_rows_768", ReduceOp::kMean, {2}, in(F16, {2, 64, 768}));
  add("var_f32_rows_4097", ReduceOp::kVar, {1}, in(F32, {5, 4097}), false, 1.0);
  add("var_bf16_rows", ReduceOp::kVar, {1}, in(BF16, {3, 64}));
  add("sum_f32_full_100000", ReduceOp::kSum, {0}, in(F32, {100000}));
  add("mean_f32_all_axes", ReduceOp::kMean, {0, 1, 2}, in(F32, {7, 9, 11}));
  add("sum_i64_all", ReduceOp::kSum, {0, 1}, in(I64, {7, 9}));
  add("sum_i8_wrap", ReduceOp::kSum, {1}, in(I8, {6, 300}));
  add("prod_f32_rows", ReduceOp::kProd, {1}, in(F32, {3, 10}, uniform(0.5, 1.5)));
  add("prod_i64_rows", ReduceOp::kProd, {1}, in(I64, {4, 9}, ints(-3, 3)));
  add("max_f32_specials", ReduceOp::kMax, {1}, in(F32, {6, 50}, specials()));
  add("min_f16_specials", ReduceOp::kMin, {1}, in(F16, {6, 50}, specials()));
  add("max_i32_rows", ReduceOp::kMax, {1}, in(I32, {5, 2000}));
  add("min_u8_rows", ReduceOp::kMin, {1}, in(U8, {5, 37}));
  add("any_f32_specials", ReduceOp::kAny, {1}, in(F32, {8, 5}, specials()));
  add("all_bool_rows", ReduceOp::kAll, {1}, in(B, {40, 3}));
  add("any_bool_rows", ReduceOp::kAny, {1}, in(B, {40, 3}));
  add("all_i64_cols", ReduceOp::kAll, {0}, in(I64, {4, 40}, ints(0, 5)));
  // Columns: [r, k1] and [k0, r, k1].
  add("sum_f32_batch_axis", ReduceOp::kSum, {0}, in(F32, {64, 3}));
  add("mean_f16_middle", ReduceOp::kMean, {1}, in(F16, {4, 100, 33}));
  add("var_f32_middle", ReduceOp::kVar, {1}, in(F32, {3, 50, 40}), true, 1.0);
  add("max_f32_cols_specials", ReduceOp::kMax, {0}, in(F32, {33, 70}, specials()));
  add("sum_i32_cols", ReduceOp::kSum, {0}, in(I32, {1000, 5}));
  // Columns split over blocks (the workspace): the mean over H * W of channels-last activations,
  // 16-byte loads, misaligned inputs (scalar loads), integers, bool, and the one-pass path.
  add("mean_f16_nhwc_hw_split", ReduceOp::kMean, {1, 2}, in(F16, {1, 40, 40, 32}), true);
  add("mean_bf16_nhwc_hw_batch", ReduceOp::kMean, {1, 2}, in(BF16, {3, 12, 12, 24}), true);
  add("mean_f32_nhwc_hw_split", ReduceOp::kMean, {1, 2}, in(F32, {2, 30, 30, 12}), true);
  add("sum_f16_cols_misaligned", ReduceOp::kSum, {1}, misaligned(in(F16, {2, 700, 16})));
  add("max_bf16_cols_split_specials", ReduceOp::kMax, {1}, in(BF16, {2, 600, 16}, specials()));
  add("min_f32_cols_wide", ReduceOp::kMin, {1}, in(F32, {2, 40, 1100}));
  add("sum_i32_cols_split", ReduceOp::kSum, {1}, in(I32, {1, 2000, 8}));
  add("prod_f32_cols_split", ReduceOp::kProd, {1}, in(F32, {2, 600, 4}, uniform(0.99, 1.01)));
  add("any_bool_cols_split", ReduceOp::kAny, {1}, in(B, {2, 900, 3}));
  add("all_i64_cols_split", ReduceOp::kAll, {1}, in(I64, {2, 900, 3}, ints(0, 30)));
  // Lanes that are no power of two (18 vectors of 8 halves; 84 in 3 tiles of 28; 5 floats): rows
  // folded by a tree over 14, 9 and 51 rows, idle threads past lanes x rows.
  add("mean_f16_nhwc_18_vectors", ReduceOp::kMean, {1, 2}, in(F16, {2, 30, 30, 144}), true);
  add("sum_f16_cols_3_tiles_of_28", ReduceOp::kSum, {1}, in(F16, {1, 300, 672}));
  add("max_f32_cols_5_lanes", ReduceOp::kMax, {1}, in(F32, {3, 500, 5}));
  add("mean_f16_nhwc_hw_one_pass", ReduceOp::kMean, {1, 2}, in(F16, {1, 40, 40, 32}), true);
  v.back().workspace = false;
  // General (several reduced runs).
  add("sum_f32_axes_0_2", ReduceOp::kSum, {0, 2}, in(F32, {4, 5, 6, 7}));
  add("mean_bf16_axes_1_3", ReduceOp::kMean, {1, 3}, in(BF16, {3, 4, 5, 6}), true);
  add("var_f32_axes_0_2", ReduceOp::kVar, {0, 2}, in(F32, {6, 3, 50}), false, 1.0);
  add("min_i64_axes_0_2", ReduceOp::kMin, {0, 2}, in(I64, {5, 3, 9}));
  // Degenerate: nothing reduced, size-1 axes, rank 0, empty.
  add("sum_f32_no_axes", ReduceOp::kSum, {}, in(F32, {3, 4}));
  add("var_f32_size1_axis", ReduceOp::kVar, {1}, in(F32, {3, 1}), false, 1.0);
  add("sum_f32_rank0", ReduceOp::kSum, {}, in(F32, {}));
  add("sum_f32_empty_reduced", ReduceOp::kSum, {0}, in(F32, {0, 5}));
  add("mean_f32_empty_reduced", ReduceOp::kMean, {0}, in(F32, {0, 5}));
  add("prod_f32_empty_reduced", ReduceOp::kProd, {1}, in(F32, {5, 0}));
  add("sum_f32_empty_output", ReduceOp::kSum, {1}, in(F32, {0, 5}));
  return v;
}

std::vector<Case> softmax_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, int64_t axis, bool log, InputSpec x, double atol = 1e-6) {
    v.push_back(with_tol(make_case(std::move(name), SoftmaxParams{.axis = axis, .log = log}, {std::move(x)}), 1e-5, atol));
  };
  add("f32_128", -1, false, in(F32, {4, 128}));
  add("f16_197_scalar_rows", -1, false, in(F16, {3, 197}));
  add("bf16_768", -1, false, in(BF16, {2, 768}));
  add("f32_1000", -1, false, in(F32, {2, 1000}));
  add("f32_1024", -1, false, in(F32, {3, 1024}));
  add("f16_1", -1, false, in(F16, {5, 1}));
  add("f16_33", -1, false, in(F16, {33}));
  add("f16_4097_block", -1, false, in(F16, {2, 4097}));
  add("f32_20000_uncached", -1, false, in(F32, {2, 20000}));
  add("f32_axis1", 1, false, in(F32, {2, 5, 7}));
  add("f16_axis0", 0, false, in(F16, {9, 3, 4}));
  add("f32_specials", -1, false, in(F32, {16, 40}, specials()));
  add("f16_many_rows", -1, false, in(F16, {12 * 64, 64}));
  add("f16_misaligned", -1, false, misaligned(in(F16, {4, 128})));
  add("log_f32_128", -1, true, in(F32, {4, 128}), 1e-5);
  add("log_f16_197", -1, true, in(F16, {3, 197}), 1e-5);
  add("log_f32_5000_block", -1, true, in(F32, {2, 5000}), 1e-5);
  add("log_f32_axis0", 0, true, in(F32, {6, 10}), 1e-5);
  add("f32_empty", -1, false, in(F32, {0, 10}));
  add("f32_rank0", 0, false, in(F32, {}));
  return v;
}

// ---------------------------------------------------------------- normalization and pooling

std::vector<Case> norm_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, NormalizationParams p, std::vector<InputSpec> inputs) {
    v.push_back(with_tol(make_case(std::move(name), p, std::move(inputs)), 1e-5, 1e-5));
  };
  auto layer = [](int64_t axis) { return NormalizationParams{.kind = NormKind::kLayer, .axis = axis, .eps = 1e-5}; };
  auto rms = [](int64_t axis) { return NormalizationParams{.kind = NormKind::kRms, .axis = axis, .eps = 1e-6}; };
  add("layer_f32_768", layer(1), {in(F32, {4, 768}), in(F32, {768}), in(F32, {768})});
  add("layer_f16_64", layer(2), {in(F16, {3, 197, 64}), in(F16, {64}), in(F16, {64})});
  add("layer_f16_768_f32_params", layer(1), {in(F16, {5, 768}), in(F32, {768}), in(F32, {768})});
  add("layer_bf16_1024", layer(1), {in(BF16, {3, 1024}), in(BF16, {1024}), in(F32, {1024})});
  add("layer_f32_700", layer(1), {in(F32, {3, 700}), in(F32, {700}), in(F32, {700})});
  add("layer_f16_520", layer(1), {in(F16, {3, 520}), in(F16, {520}), in(F16, {520})});
  add("layer_f32_no_params", layer(1), {in(F32, {6, 100})});
  add("layer_f32_bias_only", layer(1), {in(F32, {6, 100}), absent(), in(F32, {100})});
  add("layer_f16_odd_197", layer(1), {in(F16, {4, 197}), in(F16, {197}), in(F16, {197})});
  add("layer_f32_two_axes", layer(1), {in(F32, {2, 3, 8}), in(F32, {3, 8}), in(F32, {3, 8})});
  add("layer_f32_4097_block", layer(1), {in(F32, {2, 4097}), in(F32, {4097}), in(F32, {4097})});
  add("layer_f16_20000_uncached", layer(1), {in(F16, {2, 20000}), in(F16, {20000}), in(F16, {20000})});
  add("layer_f16_misaligned", layer(1), {misaligned(in(F16, {8, 64})), in(F16, {64}), in(F16, {64})});
  add("layer_f32_len1", layer(1), {in(F32, {5, 1}), in(F32, {1}), in(F32, {1})});
  add("layer_f32_offset_data", layer(1), {in(F32, {3, 256}, uniform(100, 104)), in(F32, {256}), in(F32, {256})});
  add("rms_f16_1000", rms(1), {in(F16, {5, 1000}), in(F16, {1000})});
  add("rms_f32_4096", rms(1), {in(F32, {3, 4096}), in(F32, {4096})});
  add("rms_bf16_block", rms(1), {in(BF16, {2, 3000}), in(BF16, {3000})});
  add("rms_f32_no_weight", rms(1), {in(F32, {7, 33})});
  auto group = [](int64_t g) { return NormalizationParams{.kind = NormKind::kGroup, .num_groups = g, .eps = 1e-5}; };
  add("group_f32", group(3), {in(F32, {2, 6, 5, 5}), in(F32, {6}), in(F32, {6})});
  add("group_f16_no_params", group(8), {in(F16, {1, 32, 7, 7})});
  add("group_f32_big", group(2), {in(F32, {2, 4, 64, 64}), in(F32, {4}), in(F32, {4})});
  add("group_bf16_rank2", group(4), {in(BF16, {3, 8}), in(BF16, {8}), in(BF16, {8})});
  auto batch = NormalizationParams{.kind = NormKind::kBatch, .eps = 1e-5};
  add("batch_f32", batch, {in(F32, {2, 3, 4, 4}), in(F32, {3}), in(F32, {3}), in(F32, {3}), in(F32, {3}, uniform(0.5, 2))});
  add("batch_f16_f32_stats", batch,
      {in(F16, {2, 16, 8, 8}), in(F32, {16}), in(F32, {16}), in(F32, {16}), in(F32, {16}, uniform(0.5, 2))});
  add("batch_f32_no_weight", batch, {in(F32, {3, 5, 7}), absent(), absent(), in(F32, {5}), in(F32, {5}, uniform(0.5, 2))});
  add("batch_bf16_rank2", batch, {in(BF16, {4, 9}), in(BF16, {9}), in(BF16, {9}), in(BF16, {9}), in(BF16, {9}, uniform(0.5, 2))});
  add("batch_f16_misaligned", batch,
      {misaligned(in(F16, {2, 4, 16})), in(F16, {4}), in(F16, {4}), in(F16, {4}), in(F16, {4}, uniform(0.5, 2))});
  return v;
}

// ---------------------------------------------------------------- attention (own kernel)

std::vector<Case> attention_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, AttentionParams p, std::vector<InputSpec> inputs, DType t) {
    Case k = make_case(std::move(name), std::move(p), std::move(inputs));
    k.rtol = 1e-4;
    k.atol = t == DType::kFloat32 ? 1e-5 : t == DType::kFloat16 ? 1e-3 : 4e-3;
    v.push_back(std::move(k));
  };
  auto shape = [](std::vector<int64_t> d) { return ir::shape_of(d); };
  add("f16_bert_heads", AttentionParams{.scale = 0.125},
      {in(F16, {1, 2, 40, 64}), in(F16, {1, 2, 40, 64}), in(F16, {1, 2, 40, 64})}, F16);
  add("f16_bool_mask_broadcast", AttentionParams{.scale = 0.2},
      {in(F16, {2, 2, 37, 32}), in(F16, {2, 2, 37, 32}), in(F16, {2, 2, 37, 32}), in(B, {2, 1, 1, 37})}, F16);
  add("bf16_causal_float_mask", AttentionParams{.scale = 0.3, .causal = true},
      {in(BF16, {1, 2, 20, 16}), in(BF16, {1, 2, 20, 16}), in(BF16, {1, 2, 20, 16}), in(BF16, {20, 20})}, BF16);
  add("f32_rank3_long_keys", AttentionParams{.scale = 0.35},
      {in(F32, {2, 33, 8}), in(F32, {2, 40, 8}), in(F32, {2, 40, 12})}, F32);
  add("f16_wide_heads", AttentionParams{.scale = 0.1},
      {in(F16, {1, 2, 17, 96}), in(F16, {1, 2, 17, 96}), in(F16, {1, 2, 17, 96})}, F16);
  add("f16_all_masked_rows_are_zero", AttentionParams{.scale = 0.5},
      {in(F16, {1, 1, 9, 8}), in(F16, {1, 1, 9, 8}), in(F16, {1, 1, 9, 8}), in(B, {1, 1, 9, 9}, ints(0, 0))}, F16);
  // A fused projection [B, S, 3E] read as q / k / v views (E = 32: 4 heads of 8), the output
  // written through strides into [B, S, E].
  AttentionParams views{.scale = 0.35};
  views.q_shape = views.k_shape = views.v_shape = shape({2, 4, 20, 8});
  views.q_strides = views.k_strides = views.v_strides = shape({20 * 96, 8, 96, 1});
  views.q_offset = ir::SymExpr(0), views.k_offset = ir::SymExpr(32), views.v_offset = ir::SymExpr(64);
  views.out_shape = shape({2, 20, 32});
  views.out_strides = shape({640, 8, 32, 1});
  add("f16_strided_qkv_and_output", views,
      {in(F16, {2, 20, 96}), in(F16, {2, 20, 96}), in(F16, {2, 20, 96}), in(B, {2, 1, 1, 20})}, F16);

  // The tensor-core kernel (AttentionKernel{.tensor_cores = true}, the SDPA runner's
  // "ingot:attention-mma-w<warps>"): several 64-key tiles and a partial last one, row tiles
  // of 16 x warps with a partial last one, 1 / 2 / 4 warps, head dims 16 to 128 with v's apart
  // from q's, masks, causal, the BERT-style strided views of one fused projection, bf16.
  // Probabilities are rounded to f16 / bf16 before p . v: tolerances for that.
  auto mma = [&](std::string name, int warps, AttentionParams p, std::vector<InputSpec> inputs, DType t) {
    add(name + "_mma_w" + std::to_string(warps), std::move(p), std::move(inputs), t);
    Case& k = v.back();
    k.atol = t == F16 ? 1e-2 : 4e-2;
    k.launcher = [p = std::get<AttentionParams>(k.params), warps](const std::vector<DeviceTensor>& in,
                                                                  const std::vector<DeviceTensor>& out, cudaStream_t s,
                                                                  void*) -> Status {
      AttentionKernel kernel{.tensor_cores = true, .warps = warps};
      INGOT_RETURN_IF_ERROR(attention_supported(p, in, out, kernel));  // must apply: a case that does not fails
      return launch_attention(p, in, out, s, kernel);
    };
  };
  const Dist unit = uniform(-1, 1);
  for (int w : {1, 2, 4}) {
    mma("f16_bert_heads", w, AttentionParams{.scale = 0.125},
        {in(F16, {1, 3, 150, 64}, unit), in(F16, {1, 3, 150, 64}, unit), in(F16, {1, 3, 150, 64})}, F16);
  }
  mma("f16_float_mask_long_keys", 2, AttentionParams{.scale = 0.25},
      {in(F16, {2, 2, 37, 32}, unit), in(F16, {2, 2, 200, 32}, unit), in(F16, {2, 2, 200, 32}), in(F16, {2, 1, 1, 200})},
      F16);
  mma("f16_bool_mask_rows_all_masked", 4, AttentionParams{.scale = 0.5},
      {in(F16, {1, 2, 70, 16}), in(F16, {1, 2, 70, 16}), in(F16, {1, 2, 70, 16}), in(B, {1, 1, 70, 70}, ints(0, 0))}, F16);
  mma("f16_bool_mask_random", 1, AttentionParams{.scale = 0.3},
      {in(F16, {1, 2, 33, 48}, unit), in(F16, {1, 2, 90, 48}, unit), in(F16, {1, 2, 90, 48}), in(B, {1, 2, 33, 90})}, F16);
  // Masks broadcast over the query rows: per head and key (f16), per key (bool).
  mma("f16_mask_per_head_and_key", 1, AttentionParams{.scale = 0.3},
      {in(F16, {2, 2, 20, 32}, unit), in(F16, {2, 2, 90, 32}, unit), in(F16, {2, 2, 90, 32}), in(F16, {1, 2, 1, 90})}, F16);
  mma("f16_bool_mask_per_key", 4, AttentionParams{.scale = 0.4},
      {in(F16, {2, 1, 70, 16}, unit), in(F16, {2, 1, 100, 16}, unit), in(F16, {2, 1, 100, 16}), in(B, {2, 1, 1, 100})}, F16);
  mma("bf16_causal", 2, AttentionParams{.scale = 0.3, .causal = true},
      {in(BF16, {1, 2, 100, 32}, unit), in(BF16, {1, 2, 100, 32}, unit), in(BF16, {1, 2, 100, 32})}, BF16);
  mma("f16_causal_more_keys_than_rows", 4, AttentionParams{.scale = 0.2, .causal = true},
      {in(F16, {1, 1, 40, 64}, unit), in(F16, {1, 1, 130, 64}, unit), in(F16, {1, 1, 130, 64})}, F16);
  mma("f16_wide_heads_v_apart", 2, AttentionParams{.scale = 0.1},
      {in(F16, {1, 2, 50, 128}, unit), in(F16, {1, 2, 80, 128}, unit), in(F16, {1, 2, 80, 40})}, F16);
  mma("bf16_rank3_wide_v", 1, AttentionParams{.scale = 0.35},
      {in(BF16, {3, 20, 16}, unit), in(BF16, {3, 65, 16}, unit), in(BF16, {3, 65, 96})}, BF16);
  // q / k / v as views of one [B, S, 3E] projection (E = 128: 2 heads of 64), output through
  // strides into [B, S, E], a [B, 1, 1, S] float mask: BERT's layout.
  AttentionParams bert{.scale = 0.125};
  bert.q_shape = bert.k_shape = bert.v_shape = shape({2, 2, 70, 64});
  bert.q_strides = bert.k_strides = bert.v_strides = shape({70 * 384, 64, 384, 1});
  bert.q_offset = ir::SymExpr(0), bert.k_offset = ir::SymExpr(128), bert.v_offset = ir::SymExpr(256);
  bert.out_shape = shape({2, 70, 128});
  bert.out_strides = shape({70 * 128, 64, 128, 1});
  mma("f16_strided_qkv_and_output", 2, bert,
      {in(F16, {2, 70, 384}, unit), in(F16, {2, 70, 384}, unit), in(F16, {2, 70, 384}), in(F16, {2, 1, 1, 70})}, F16);
  return v;
}

// ---------------------------------------------------------------- squeeze-excite

std::vector<Case> squeeze_excite_cases() {
  std::vector<Case> v;
  using U = UnaryOp;
  // x [N, H, W, C], w1 [R, C], b1 [R], w2 [C, R], b2 [C]; `bias` false leaves both out.
  auto make = [&](std::string name, DType t, std::vector<int64_t> x, int64_t r, U act1, U act2, double a1 = 0,
                  double b1 = 0, bool bias = true, bool scale = false) {
    int64_t c = x[3];
    SqueezeExciteParams p{.act1 = act1, .act1_alpha = a1, .act1_beta = b1, .act2 = act2, .scale_input = scale};
    Case k = make_case(std::move(name), p,
                       {in(t, std::move(x)), in(t, {r, c}, uniform(-0.3, 0.3)), bias ? in(t, {r}) : absent(),
                        in(t, {c, r}, uniform(-0.5, 0.5)), bias ? in(t, {c}) : absent()});
    k.rtol = 1e-4;
    k.atol = t == DType::kFloat32 ? 1e-5 : t == DType::kFloat16 ? 1e-3 : 4e-3;
    return k;
  };
  v.push_back(make("f16_effnet_block", F16, {1, 14, 14, 96}, 4, U::kSilu, U::kSigmoid));
  v.push_back(make("f16_split_hw", F16, {1, 40, 40, 32}, 8, U::kSilu, U::kSigmoid));
  v.push_back(make("bf16_batch_no_bias_mobilenet", BF16, {3, 7, 7, 40}, 10, U::kRelu, U::kHardSigmoid, 0, 0, false));
  v.push_back(make("f32_clamp", F32, {2, 9, 9, 12}, 3, U::kClamp, U::kSigmoid, 0.0, 6.0));
  v.push_back(make("f16_odd_channels", F16, {2, 16, 16, 20}, 5, U::kSilu, U::kSigmoid));
  v.push_back(make("f16_wide", F16, {2, 3, 3, 600}, 24, U::kSilu, U::kSigmoid));
  v.push_back(make("f32_hidden_wider_than_a_warp", F32, {1, 2, 2, 200}, 40, U::kSilu, U::kSigmoid));
  // Gate blocks that would together redo too much of the hidden layer (over 4M multiply-adds):
  // it goes through the workspace.
  v.push_back(make("f16_many_samples_two_kernels", F16, {2, 1, 2, 2000}, 40, U::kRelu, U::kSigmoid));
  // scale_input: x * gate, in 16-byte accesses (C a multiple of 8 / 4), element by element
  // otherwise or where the output is misaligned; pixels split over blocks.
  v.push_back(make("f16_scaled_vector", F16, {2, 20, 20, 72}, 8, U::kSilu, U::kSigmoid, 0, 0, true, true));
  v.push_back(make("bf16_scaled_odd_channels", BF16, {1, 9, 9, 30}, 6, U::kSilu, U::kSigmoid, 0, 0, true, true));
  v.push_back(make("f32_scaled_vector", F32, {1, 6, 6, 136}, 5, U::kRelu, U::kHardSigmoid, 0, 0, false, true));
  v.push_back(make("f16_scaled_wide_two_kernels", F16, {2, 2, 2, 2000}, 40, U::kSilu, U::kSigmoid, 0, 0, true, true));
  // More vectors of x per block than a thread loads ahead (4 x 256): the rest in a loop (16
  // chunks of 64 channels in 17 tiles of 257 pixels: 4112 vectors of 4 floats a block).
  v.push_back(make("f32_scaled_long_tiles", F32, {1, 66, 66, 1024}, 16, U::kSilu, U::kSigmoid, 0, 0, true, true));
  // w2's rows of a block too big for shared memory (65 x 176 floats): read from global memory.
  v.push_back(make("f32_w2_rows_from_global", F32, {1, 3, 3, 96}, 176, U::kSilu, U::kSigmoid));
  v.push_back(make("f16_scaled_w2_rows_from_global", F16, {2, 4, 4, 96}, 176, U::kSilu, U::kSigmoid, 0, 0, true, true));
  // The pool of the split sums (up to 64 splits): pairs of channels by 16-byte loads with groups
  // of threads over the splits (c 144: 3 groups), channel by channel for odd C (21: 12 groups),
  // one group of threads walking 2 pairs each for wide C (600 channels, 64 splits).
  v.push_back(make("f16_scaled_pool_pairs_in_groups", F16, {1, 56, 56, 144}, 6, U::kSilu, U::kSigmoid, 0, 0, true, true));
  v.push_back(make("f16_pool_odd_channels_in_groups", F16, {1, 40, 40, 21}, 3, U::kSilu, U::kSigmoid));
  v.push_back(make("f16_pool_wide_many_splits", F16, {1, 40, 40, 600}, 24, U::kSilu, U::kSigmoid));
  // The separate multiply (SqueezeExciteMultiply::kSeparate, the runner's "ingot:se-separate"):
  // the gates to the workspace, then a streaming kernel; 16-byte groups, odd C element by
  // element, the hidden layer through the workspace, a misaligned output, more groups than
  // the grid's threads load at once (1056 blocks x 256 threads x 4 loads of 8 halves).
  auto separate = [](Case k) {
    k.name += "_separate";
    k.launcher = [p = std::get<SqueezeExciteParams>(k.params)](const std::vector<DeviceTensor>& in,
                                                               const std::vector<DeviceTensor>& out, cudaStream_t s,
                                                               void* ws) {
      return launch_squeeze_excite(p, in, out, s, ws, SqueezeExciteMultiply::kSeparate);
    };
    return k;
  };
  v.push_back(separate(make("f16_scaled", F16, {2, 20, 20, 72}, 8, U::kSilu, U::kSigmoid, 0, 0, true, true)));
  v.push_back(separate(make("bf16_scaled_odd_channels", BF16, {1, 9, 9, 30}, 6, U::kSilu, U::kSigmoid, 0, 0, true, true)));
  v.push_back(separate(make("f32_scaled", F32, {3, 6, 6, 136}, 5, U::kRelu, U::kHardSigmoid, 0, 0, false, true)));
  v.push_back(separate(make("f16_scaled_wide_two_kernels", F16, {2, 2, 2, 2000}, 40, U::kSilu, U::kSigmoid, 0, 0, true, true)));
  v.push_back(separate(make("f16_scaled_many_groups", F16, {2, 96, 96, 512}, 16, U::kSilu, U::kSigmoid, 0, 0, true, true)));
  v.push_back(separate(make("f16_gates_only", F16, {2, 5, 5, 48}, 4, U::kSilu, U::kSigmoid)));
  Case misplaced_separate = separate(make("f16_scaled_misaligned_output", F16, {1, 5, 5, 16}, 4, U::kSilu, U::kSigmoid, 0, 0, true, true));
  misplaced_separate.out_misalign = 1;
  v.push_back(std::move(misplaced_separate));
  Case misplaced = make("f16_scaled_misaligned_output", F16, {1, 5, 5, 16}, 4, U::kSilu, U::kSigmoid, 0, 0, true, true);
  misplaced.out_misalign = 1;
  v.push_back(std::move(misplaced));
  // The fused launch (SqueezeExciteMultiply::kFused, "ingot:se-fused"): one cooperative grid
  // that sums its tiles, meets at the grid barrier, then gates and multiplies. Emulated, the
  // grid holds 8 blocks; on the GPU, what the device holds at once. `fuses`: whether
  // squeeze_excite_fuses() must answer true (else the launch runs the in-gate path).
  auto fused = [](Case k, bool fuses) {
    k.name += "_fused";
    k.launcher = [p = std::get<SqueezeExciteParams>(k.params), fuses](const std::vector<DeviceTensor>& in,
                                                                      const std::vector<DeviceTensor>& out,
                                                                      cudaStream_t s, void* ws) -> Status {
      if (squeeze_excite_fuses(p, in, out) != fuses) {
        return error(ErrorCode::kInternal, "squeeze_excite_fuses() answered ", !fuses, " for this case");
      }
      return launch_squeeze_excite(p, in, out, s, ws, SqueezeExciteMultiply::kFused);
    };
    return k;
  };
  // Two chunks of channels (64 + 8), a thread's vectors all prefetched.
  v.push_back(fused(make("f16_two_chunks", F16, {1, 20, 20, 72}, 8, U::kSilu, U::kSigmoid, 0, 0, true, true), true));
  // Tiles of more vectors than a thread keeps (4 x 256): the rest summed and multiplied in loops.
  // x in [0, 1], so that the means are far from zero and a missed part of a tile shows.
  Case long_tiles = fused(make("f16_long_tiles", F16, {1, 200, 200, 64}, 4, U::kSilu, U::kSigmoid, 0, 0, true, true), true);
  long_tiles.inputs[0].dist = uniform(0, 1);
  v.push_back(std::move(long_tiles));
  // 5 vectors a row (40 bf16 channels): 255 threads of the block take vectors.
  v.push_back(fused(make("bf16_five_lanes_batch", BF16, {2, 12, 12, 40}, 10, U::kRelu, U::kHardSigmoid, 0, 0, false, true), true));
  // f32 (4 channels a vector), a last chunk of 8 channels, several samples with two tiles each.
  v.push_back(fused(make("f32_batch", F32, {2, 7, 7, 136}, 5, U::kSilu, U::kSigmoid, 0, 0, true, true), true));
  // w2's rows of a block from global memory (65 x 176 floats do not fit in shared memory).
  v.push_back(fused(make("f16_w2_rows_from_global", F16, {2, 4, 4, 96}, 176, U::kSilu, U::kSigmoid, 0, 0, true, true), true));
  // Odd channels (no 16-byte accesses) and a misaligned output: the in-gate path runs instead.
  v.push_back(fused(make("bf16_odd_channels_falls_back", BF16, {1, 9, 9, 30}, 6, U::kSilu, U::kSigmoid, 0, 0, true, true), false));
  Case misplaced_fused = fused(make("f16_misaligned_output_falls_back", F16, {1, 5, 5, 16}, 4, U::kSilu, U::kSigmoid, 0, 0, true, true), false);
  misplaced_fused.out_misalign = 1;
  v.push_back(std::move(misplaced_fused));
  // Gates only (no scale_input): nothing to fuse.
  v.push_back(fused(make("f16_gates_only", F16, {2, 5, 5, 48}, 4, U::kSilu, U::kSigmoid), false));
  // The sums over H and W given (a sixth input, f64 [N, C], from the convolution that wrote x:
  // ConvolutionParams::channel_sums): the gate pools them instead of x in the in-gate and
  // separate modes. The sums are random (not x's), so that pooling x instead would show; the
  // fused launch ignores them and sums x itself (the runner times it against the other modes),
  // so it has no case here.
  auto with_sums = [](Case k) {
    k.name += "_given_sums";
    const Dims x = k.inputs[0].dims;  // a copy: the push below may move the inputs
    k.inputs.push_back(in(DType::kFloat64, {x[0], x[3]}, uniform(-40, 40)));
    return k;
  };
  v.push_back(with_sums(make("f16_gates_only", F16, {2, 5, 5, 48}, 4, U::kSilu, U::kSigmoid)));
  v.push_back(with_sums(make("bf16_scaled_odd_channels", BF16, {3, 9, 9, 30}, 6, U::kSilu, U::kSigmoid, 0, 0, true, true)));
  v.push_back(with_sums(make("f16_many_samples_two_kernels", F16, {2, 1, 2, 2000}, 40, U::kRelu, U::kSigmoid)));
  v.push_back(with_sums(separate(make("f16_scaled", F16, {2, 20, 20, 72}, 8, U::kSilu, U::kSigmoid, 0, 0, true, true))));
  return v;
}

std::vector<Case> pooling_cases() {
  std::vector<Case> v;
  auto pool = [](PoolKind kind, std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> pad,
                 std::vector<int64_t> dil, bool ceil_mode = false, bool include_pad = true, int64_t divisor = 0) {
    return PoolingParams{.kind = kind, .kernel = std::move(k), .stride = std::move(s), .padding = std::move(pad),
                         .dilation = std::move(dil), .ceil_mode = ceil_mode, .count_include_pad = include_pad,
                         .divisor_override = divisor};
  };
  auto add = [&](std::string name, PoolingParams p, InputSpec x) { v.push_back(make_case(std::move(name), p, {std::move(x)})); };
  add("max2d_f32_k3s2p1", pool(PoolKind::kMax, {3, 3}, {2, 2}, {1, 1}, {1, 1}), in(F32, {2, 3, 9, 9}));
  add("max2d_f16_specials", pool(PoolKind::kMax, {2, 2}, {2, 2}, {0, 0}, {1, 1}), in(F16, {2, 3, 8, 8}, specials()));
  add("max2d_f32_dilation", pool(PoolKind::kMax, {3, 3}, {1, 1}, {1, 1}, {2, 2}), in(F32, {1, 2, 10, 10}));
  add("max2d_f32_ceil", pool(PoolKind::kMax, {3, 3}, {2, 2}, {0, 0}, {1, 1}, true), in(F32, {1, 2, 10, 10}));
  add("max2d_i8", pool(PoolKind::kMax, {2, 2}, {2, 2}, {0, 0}, {1, 1}), in(I8, {1, 3, 6, 6}));
  add("avg2d_f32_include_pad", pool(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true), in(F32, {2, 3, 9, 9}));
  add("avg2d_f32_exclude_pad", pool(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false), in(F32, {2, 3, 9, 9}));
  add("avg2d_f32_ceil_include", pool(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true), in(F32, {1, 2, 10, 10}));
  add("avg2d_f16_ceil_exclude", pool(PoolKind::kAvg, {2, 2}, {2, 2}, {1, 1}, {1, 1}, true, false), in(F16, {1, 2, 7, 7}));
  add("avg2d_f32_divisor", pool(PoolKind::kAvg, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false, true, 3), in(F32, {1, 2, 6, 6}));
  add("avg2d_f16_global", pool(PoolKind::kAvg, {7, 7}, {7, 7}, {0, 0}, {1, 1}), in(F16, {2, 64, 7, 7}));
  add("avg2d_i32", pool(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, {1, 1}), in(I32, {1, 2, 8, 8}));
  add("avg1d_bf16", pool(PoolKind::kAvg, {3}, {1}, {1}, {1}), in(BF16, {2, 3, 10}));
  add("max1d_f32", pool(PoolKind::kMax, {3}, {2}, {0}, {1}), in(F32, {2, 3, 11}));
  add("max3d_f32", pool(PoolKind::kMax, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}), in(F32, {1, 2, 5, 6, 7}));
  add("avg3d_f32_pad", pool(PoolKind::kAvg, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, false, false), in(F32, {1, 2, 5, 6, 7}));

  // Channels-last (x [N, H, W, C]): vector widths 8 / 4 / 2 / 1 by channel count and alignment.
  auto nhwc = [](PoolingParams p) {
    p.channels_last = true;
    return p;
  };
  const PoolingParams max3s2p1 = pool(PoolKind::kMax, {3, 3}, {2, 2}, {1, 1}, {1, 1});
  add("nhwc_max_f16_stem", nhwc(max3s2p1), in(F16, {1, 112, 112, 64}));
  add("nhwc_max_f16_c64", nhwc(max3s2p1), in(F16, {2, 9, 9, 64}));
  add("nhwc_max_bf16_c12", nhwc(max3s2p1), in(BF16, {2, 9, 9, 12}));
  add("nhwc_max_f16_c6", nhwc(max3s2p1), in(F16, {1, 8, 7, 6}));
  add("nhwc_max_f16_c5", nhwc(max3s2p1), in(F16, {2, 7, 8, 5}));
  add("nhwc_max_f16_misaligned2", nhwc(max3s2p1), misaligned(in(F16, {1, 9, 9, 64}), 2));
  add("nhwc_max_f16_misaligned1", nhwc(max3s2p1), misaligned(in(F16, {1, 9, 9, 64}), 1));
  Case out_mis = make_case("nhwc_max_f16_out_misaligned", nhwc(max3s2p1), {in(F16, {1, 9, 9, 32})});
  out_mis.out_misalign = 4;
  v.push_back(out_mis);
  add("nhwc_max_f16_specials", nhwc(pool(PoolKind::kMax, {2, 2}, {2, 2}, {0, 0}, {1, 1})), in(F16, {2, 8, 8, 16}, specials()));
  add("nhwc_max_f32_specials", nhwc(max3s2p1), in(F32, {2, 8, 8, 8}, specials()));
  add("nhwc_max_f32_dilation", nhwc(pool(PoolKind::kMax, {3, 3}, {1, 1}, {1, 1}, {2, 2})), in(F32, {1, 10, 10, 8}));
  add("nhwc_max_f32_ceil", nhwc(pool(PoolKind::kMax, {3, 3}, {2, 2}, {0, 0}, {1, 1}, true)), in(F32, {1, 10, 10, 3}));
  add("nhwc_max_f16_rect", nhwc(pool(PoolKind::kMax, {2, 3}, {1, 2}, {1, 0}, {1, 1})), in(F16, {2, 5, 9, 24}));
  add("nhwc_max_i8", nhwc(pool(PoolKind::kMax, {2, 2}, {2, 2}, {0, 0}, {1, 1})), in(I8, {1, 6, 6, 3}));
  add("nhwc_max_i64", nhwc(max3s2p1), in(I64, {1, 6, 6, 4}));
  add("nhwc_avg_f16_include_pad", nhwc(pool(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true)), in(F16, {2, 9, 9, 32}));
  add("nhwc_avg_f16_exclude_pad", nhwc(pool(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false)), in(F16, {2, 9, 9, 32}));
  add("nhwc_avg_f32_ceil_include", nhwc(pool(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true)), in(F32, {1, 10, 10, 4}));
  add("nhwc_avg_bf16_ceil_exclude", nhwc(pool(PoolKind::kAvg, {2, 2}, {2, 2}, {1, 1}, {1, 1}, true, false)), in(BF16, {1, 7, 7, 10}));
  add("nhwc_avg_f32_divisor", nhwc(pool(PoolKind::kAvg, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false, true, 3)), in(F32, {1, 6, 6, 2}));
  add("nhwc_avg_f16_global", nhwc(pool(PoolKind::kAvg, {7, 7}, {7, 7}, {0, 0}, {1, 1})), in(F16, {2, 7, 7, 64}));
  add("nhwc_avg_i32", nhwc(pool(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, {1, 1})), in(I32, {1, 8, 8, 2}));
  add("nhwc_avg_u8_exclude_pad", nhwc(pool(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false)), in(U8, {2, 7, 7, 3}));
  add("nhwc_max_f16_empty", nhwc(max3s2p1), in(F16, {0, 9, 9, 8}));
  // No input rows, but padding makes an output row (every window is in the padding).
  add("nhwc_max_f16_no_rows", nhwc(pool(PoolKind::kMax, {2, 2}, {1, 1}, {1, 1}, {1, 1})), in(F16, {1, 0, 3, 8}));
  add("nhwc_avg_f32_no_rows", nhwc(pool(PoolKind::kAvg, {2, 2}, {1, 1}, {1, 1}, {1, 1}, false, false)), in(F32, {1, 0, 3, 4}));
  return v;
}

// ---------------------------------------------------------------- randomized rows

// Seeded random shapes and parameters for every family (same rows on every run): broadcast
// patterns, permutations, slices, axis sets and windows that the hand-written rows miss.
std::vector<Case> random_cases() {
  std::vector<Case> v;
  std::mt19937 rng(20240611);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  // Random dims in [1, hi], shrunk until the tensor has at most 100k elements.
  auto dims = [&](int rank, int hi) {
    Dims d;
    for (int i = 0; i < rank; ++i) d.push_back(pick(1, hi));
    for (size_t i = 0; product(d) > 100000; i = (i + 1) % d.size()) d[i] = (d[i] + 1) / 2;
    return d;
  };
  // `d` with some dims set to 1 and some leading dims dropped (still broadcasts to d).
  auto broadcastable = [&](const Dims& d) {
    Dims b(d.begin() + pick(0, static_cast<int>(d.size())), d.end());
    for (int64_t& x : b) {
      if (pick(0, 2) == 0) x = 1;
    }
    return b;
  };
  const DType all[] = {F32, F16, BF16, I8, U8, I32, I64, B};
  auto name = [&](const char* kind, int i) { return std::string("random_") + kind + "_" + std::to_string(i); };

  for (int i = 0; i < 40; ++i) {
    DType t = all[pick(0, 7)];
    Dims out = dims(pick(0, 5), 6);
    std::vector<BinaryOp> ops;
    for (int k = 0; k < static_cast<int>(BinaryOp::kCount); ++k) {
      auto op = static_cast<BinaryOp>(k);
      bool is_float = t == F32 || t == F16 || t == BF16;
      bool int_only = op == BinaryOp::kBitwiseAnd || op == BinaryOp::kBitwiseOr || op == BinaryOp::kBitwiseXor;
      bool float_only = op == BinaryOp::kDiv || op == BinaryOp::kAtan2;
      if ((is_float && int_only) || (!is_float && float_only)) continue;
      if (!is_float && op == BinaryOp::kPow) continue;  // huge exponents: slow, covered above
      ops.push_back(op);
    }
    BinaryOp op = ops[static_cast<size_t>(pick(0, static_cast<int>(ops.size()) - 1))];
    bool divides = op == BinaryOp::kFloorDiv || op == BinaryOp::kRemainder || op == BinaryOp::kTruncDiv;
    v.push_back(make_case(name("elementwise", i), ElementwiseParams{.op = op},
                          {in(t, broadcastable(out)), in(t, pick(0, 1) ? out : broadcastable(out), divides ? nonzero() : Dist{})}));
  }
  for (int i = 0; i < 15; ++i) {
    DType t = all[pick(0, 7)];
    Dims out = dims(pick(1, 5), 5);
    v.push_back(make_case(name("select", i), SelectParams{}, {in(B, broadcastable(out)), in(t, out), in(t, broadcastable(out))}));
  }
  for (int i = 0; i < 25; ++i) {
    DType t = all[pick(0, 7)];
    int rank = pick(1, 6);
    Dims x = dims(rank, i % 3 == 0 ? 40 : 7);
    std::vector<int64_t> perm(static_cast<size_t>(rank));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    v.push_back(make_case(name("permute", i), PermuteParams{.perm = perm}, {in(t, x)}));
  }
  for (int i = 0; i < 15; ++i) {
    Dims out = dims(pick(1, 5), 6);
    v.push_back(make_case(name("expand", i), ExpandParams{.shape = ir::shape_of(out)}, {in(all[pick(0, 7)], broadcastable(out))}));
  }
  for (int i = 0; i < 20; ++i) {
    int rank = pick(1, 4);
    Dims x = dims(rank, 9);
    SliceParams p;
    for (int a = 0; a < rank; ++a) {
      if (pick(0, 1) == 0) continue;
      int64_t d = x[static_cast<size_t>(a)];
      int64_t start = pick(0, static_cast<int>(d)), end = pick(static_cast<int>(start), static_cast<int>(d));
      p.axes.push_back(a);
      p.starts.push_back(ir::SymExpr(start));
      p.ends.push_back(ir::SymExpr(end));
      p.steps.push_back(pick(1, 3));
    }
    v.push_back(make_case(name("slice", i), p, {in(all[pick(0, 7)], x)}));
  }
  for (int i = 0; i < 30; ++i) {
    DType t = all[pick(0, 7)];
    int rank = pick(1, 5);
    Dims x = dims(rank, i % 4 == 0 ? 300 : 9);
    std::vector<int64_t> axes;
    for (int a = 0; a < rank; ++a) {
      if (pick(0, 1)) axes.push_back(a);
    }
    std::vector<ReduceOp> ops{ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin, ReduceOp::kAny, ReduceOp::kAll};
    if (t == F32 || t == F16 || t == BF16) ops.insert(ops.end(), {ReduceOp::kMean, ReduceOp::kVar, ReduceOp::kProd});
    ReduceOp op = ops[static_cast<size_t>(pick(0, static_cast<int>(ops.size()) - 1))];
    Dist d = op == ReduceOp::kProd ? uniform(0.7, 1.3) : Dist{};
    v.push_back(make_case(name("reduce", i), ReduceParams{.op = op, .axes = axes, .keepdim = pick(0, 1) == 1, .correction = pick(0, 1) * 1.0},
                          {in(t, x, d)}));
  }
  for (int i = 0; i < 15; ++i) {
    DType t = std::array<DType, 3>{F32, F16, BF16}[static_cast<size_t>(pick(0, 2))];
    int rank = pick(1, 4);
    Dims x = dims(rank, i % 3 == 0 ? 1500 : 40);
    v.push_back(with_tol(make_case(name("softmax", i), SoftmaxParams{.axis = pick(-rank, rank - 1), .log = pick(0, 1) == 1}, {in(t, x)}),
                         1e-5, 1e-5));
  }
  for (int i = 0; i < 15; ++i) {
    DType t = all[pick(0, 7)];
    int rank = pick(1, 4);
    int64_t axis = pick(0, rank - 1);
    Dims base = dims(rank, 6);
    std::vector<InputSpec> inputs;
    for (int k = pick(1, 5); k > 0; --k) {
      Dims d = base;
      d[static_cast<size_t>(axis)] = pick(0, 4);
      inputs.push_back(in(t, d));
    }
    v.push_back(make_case(name("concat", i), ConcatParams{.axis = axis}, inputs));
  }
  for (int i = 0; i < 15; ++i) {
    int rank = pick(1, 4);
    Dims data = dims(rank, 8);
    int64_t axis = pick(0, rank - 1);
    int64_t size = data[static_cast<size_t>(axis)];
    DType it = pick(0, 1) ? I64 : I32;
    v.push_back(make_case(name("gather", i), GatherParams{.axis = axis},
                          {in(all[pick(0, 7)], data), in(it, dims(pick(0, 2), 4), ints(static_cast<double>(-size), static_cast<double>(size - 1)))}));
  }
  for (int i = 0; i < 15; ++i) {
    DType t = std::array<DType, 3>{F32, F16, BF16}[static_cast<size_t>(pick(0, 2))];
    int rank = pick(2, 4);
    Dims x = dims(rank, i % 3 == 0 ? 70 : 12);
    int64_t axis = pick(1, rank - 1);
    Dims norm(x.begin() + axis, x.end());
    NormKind kind = pick(0, 1) ? NormKind::kLayer : NormKind::kRms;
    std::vector<InputSpec> inputs{in(t, x)};
    if (pick(0, 2)) inputs.push_back(in(pick(0, 1) ? t : F32, norm));
    if (inputs.size() == 2 && pick(0, 1)) inputs.push_back(in(t, norm));
    v.push_back(with_tol(make_case(name("norm", i), NormalizationParams{.kind = kind, .axis = axis, .eps = 1e-5}, inputs), 1e-5, 1e-5));
  }
  for (int i = 0; i < 20; ++i) {
    DType t = all[pick(0, 6)];  // no bool
    int nsp = pick(1, 3);
    PoolingParams p;
    p.kind = pick(0, 1) ? PoolKind::kMax : PoolKind::kAvg;
    Dims x{pick(1, 2), pick(1, 3)};
    for (int d = 0; d < nsp; ++d) {
      int64_t k = pick(1, 3), dil = p.kind == PoolKind::kMax ? pick(1, 2) : 1;
      p.kernel.push_back(k);
      p.stride.push_back(pick(1, 3));
      p.dilation.push_back(dil);
      p.padding.push_back(pick(0, static_cast<int>(k * dil / 2)));
      x.push_back(k * dil + pick(0, 6));
    }
    p.ceil_mode = pick(0, 1) == 1;
    p.count_include_pad = pick(0, 1) == 1;
    v.push_back(make_case(name("pooling", i), p, {in(t, x)}));
  }
  for (int i = 0; i < 20; ++i) {
    DType t = all[pick(0, 6)];  // no bool
    PoolingParams p;
    p.kind = pick(0, 1) ? PoolKind::kMax : PoolKind::kAvg;
    p.channels_last = true;
    Dims x{pick(1, 2)};
    for (int d = 0; d < 2; ++d) {
      int64_t k = pick(1, 3), dil = p.kind == PoolKind::kMax ? pick(1, 2) : 1;
      p.kernel.push_back(k);
      p.stride.push_back(pick(1, 3));
      p.dilation.push_back(dil);
      p.padding.push_back(pick(0, static_cast<int>(k * dil / 2)));
      x.push_back(k * dil + pick(0, 6));
    }
    x.push_back(std::array<int64_t, 6>{1, 2, 3, 4, 8, 24}[static_cast<size_t>(pick(0, 5))]);  // every vector width
    p.ceil_mode = pick(0, 1) == 1;
    p.count_include_pad = pick(0, 1) == 1;
    v.push_back(make_case(name("pooling_nhwc", i), p, {in(t, x)}));
  }
  return v;
}

// Why the tensor-core attention kernel does not take a layer: each reason named (no device
// needed: only shapes, dtypes and addresses are looked at).
TEST(AttentionKernelChoice, TensorCoreKernelNamesWhatItCannotRun) {
  alignas(16) static char storage[4096];
  auto t = [](DType d, Dims dims, int misalign = 0) { return DeviceTensor{storage + misalign, d, std::move(dims)}; };
  const AttentionParams p{.scale = 0.125};
  const AttentionKernel tc{.tensor_cores = true, .warps = 2};
  auto reason = [&](std::vector<DeviceTensor> in, DType out_dtype, Dims out_dims, AttentionKernel k) {
    return attention_supported(p, in, {DeviceTensor{storage, out_dtype, std::move(out_dims)}}, k).message();
  };
  EXPECT_EQ(reason({t(F16, {1, 2, 8, 64}), t(F16, {1, 2, 8, 64}), t(F16, {1, 2, 8, 64})}, F16, {1, 2, 8, 64}, tc), "");
  EXPECT_NE(reason({t(F32, {1, 2, 8, 64}), t(F32, {1, 2, 8, 64}), t(F32, {1, 2, 8, 64})}, F32, {1, 2, 8, 64}, tc)
                .find("f32 (f16 / bf16 only)"),
            std::string::npos);
  EXPECT_NE(reason({t(F16, {1, 2, 8, 24}), t(F16, {1, 2, 8, 24}), t(F16, {1, 2, 8, 24})}, F16, {1, 2, 8, 24}, tc)
                .find("head dims 24 / 24"),
            std::string::npos);
  EXPECT_NE(reason({t(F16, {1, 2, 8, 64}), t(F16, {1, 2, 8, 64}, 1), t(F16, {1, 2, 8, 64})}, F16, {1, 2, 8, 64}, tc)
                .find("k rows not 16-byte aligned"),
            std::string::npos);
  EXPECT_NE(reason({t(F16, {1, 2, 8, 64}), t(F16, {1, 2, 8, 64}), t(F16, {1, 2, 8, 64})}, F16, {1, 2, 8, 64},
                   AttentionKernel{.tensor_cores = true, .warps = 3})
                .find("3 warps a block"),
            std::string::npos);
  // The CUDA-core kernel takes all of these but the mismatched ones.
  EXPECT_EQ(reason({t(F32, {1, 2, 8, 24}), t(F32, {1, 2, 8, 24}), t(F32, {1, 2, 8, 24})}, F32, {1, 2, 8, 24}, {}), "");
}

INSTANTIATE_TEST_SUITE_P(Elementwise, KernelTest, ::testing::ValuesIn(elementwise_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Select, KernelTest, ::testing::ValuesIn(select_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Unary, KernelTest, ::testing::ValuesIn(unary_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Cast, KernelTest, ::testing::ValuesIn(cast_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Shuffle, KernelTest, ::testing::ValuesIn(shuffle_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Generators, KernelTest, ::testing::ValuesIn(generator_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Reduce, KernelTest, ::testing::ValuesIn(reduce_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Softmax, KernelTest, ::testing::ValuesIn(softmax_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Normalization, KernelTest, ::testing::ValuesIn(norm_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Pooling, KernelTest, ::testing::ValuesIn(pooling_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Attention, KernelTest, ::testing::ValuesIn(attention_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(SqueezeExcite, KernelTest, ::testing::ValuesIn(squeeze_excite_cases()), CaseName());
INSTANTIATE_TEST_SUITE_P(Random, KernelTest, ::testing::ValuesIn(random_cases()), CaseName());

}  // namespace

}  // namespace ingot::kernels::cuda::testing
