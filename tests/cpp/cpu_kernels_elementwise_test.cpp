// CPU kernels: binary elementwise ops, unary ops, select and cast. Expected values are what
// eager PyTorch 2.11 gives for the same inputs (float32 values printed exactly).
#include <limits>

#include "cpu_kernels_util.h"
#include "net/layers.h"

namespace ingot::kernels::cpu::testing {
namespace {

using net::BinaryOp;
using net::CastParams;
using net::ElementwiseParams;
using net::SelectParams;
using net::UnaryOp;
using net::UnaryParams;

const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

ElementwiseParams binary(BinaryOp op) {
  ElementwiseParams p;
  p.op = op;
  return p;
}

UnaryParams unary(UnaryOp op, double alpha = 0.0, double beta = 0.0) {
  UnaryParams p;
  p.op = op;
  p.alpha = alpha;
  p.beta = beta;
  return p;
}

bool is_transcendental(BinaryOp op) { return op == BinaryOp::kPow || op == BinaryOp::kAtan2; }

// ---------------------------------------------------------------- binary, floating

struct BinaryRow {
  BinaryOp op;
  std::vector<double> want;
};

TEST(CpuElementwise, FloatOpsMatchTorch) {
  std::vector<double> a = {5.5, -5.5, 5.5, -5.5, 0.0, 3.0, -7.0, 2.0, kNan, 1.0};
  std::vector<double> b = {2.0, 2.0, -2.0, -2.0, -3.0, 0.0, 2.0, 0.5, 1.0, kInf};
  std::vector<BinaryRow> rows = {
      {BinaryOp::kAdd, {7.5, -3.5, 3.5, -7.5, -3.0, 3.0, -5.0, 2.5, kNan, kInf}},
      {BinaryOp::kSub, {3.5, -7.5, 7.5, -3.5, 3.0, 3.0, -9.0, 1.5, kNan, -kInf}},
      {BinaryOp::kMul, {11.0, -11.0, -11.0, 11.0, -0.0, 0.0, -14.0, 1.0, kNan, kInf}},
      {BinaryOp::kDiv, {2.75, -2.75, -2.75, 2.75, -0.0, kInf, -3.5, 4.0, kNan, 0.0}},
      {BinaryOp::kFloorDiv, {2.0, -3.0, -3.0, 2.0, -0.0, kInf, -4.0, 4.0, kNan, 0.0}},
      {BinaryOp::kRemainder, {1.5, 0.5, -0.5, -1.5, 0.0, kNan, 1.0, 0.0, kNan, 1.0}},
      {BinaryOp::kPow, {30.25, 30.25, 0.03305784985423088, 0.03305784985423088, kInf, 1.0, 49.0, 1.4142135381698608, kNan, 1.0}},
      {BinaryOp::kMax, {5.5, 2.0, 5.5, -2.0, 0.0, 3.0, 2.0, 2.0, kNan, kInf}},
      {BinaryOp::kMin, {2.0, -5.5, -2.0, -5.5, -3.0, 0.0, -7.0, 0.5, kNan, 1.0}},
      {BinaryOp::kTruncDiv, {2.0, -2.0, -2.0, 2.0, -0.0, kInf, -3.0, 4.0, kNan, 0.0}},
      {BinaryOp::kAtan2, {1.2220252752304077, -1.2220252752304077, 1.919567346572876, -1.919567346572876, 3.1415927410125732,
                          1.5707963705062866, -1.292496681213379, 1.3258177042007446, kNan, 0.0}},
      {BinaryOp::kEq, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
      {BinaryOp::kNe, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
      {BinaryOp::kLt, {0, 1, 0, 1, 0, 0, 1, 0, 0, 1}},
      {BinaryOp::kLe, {0, 1, 0, 1, 0, 0, 1, 0, 0, 1}},
      {BinaryOp::kGt, {1, 0, 1, 0, 1, 1, 0, 1, 0, 0}},
      {BinaryOp::kGe, {1, 0, 1, 0, 1, 1, 0, 1, 0, 0}},
      {BinaryOp::kLogicalAnd, {1, 1, 1, 1, 0, 0, 1, 1, 1, 1}},
      {BinaryOp::kLogicalOr, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
      {BinaryOp::kLogicalXor, {0, 0, 0, 0, 1, 1, 0, 0, 0, 0}},
  };
  Tensor ta = f32({10}, a), tb = f32({10}, b);
  for (const BinaryRow& r : rows) {
    SCOPED_TRACE(net::enum_name(r.op));
    bool cmp = net::is_comparison(r.op);
    Tensor y = run1(binary(r.op), {&ta, &tb}, cmp ? DType::kBool : DType::kFloat32, {10});
    if (is_transcendental(r.op)) expect_near(y.values(), r.want, 1e-6);
    else expect_exact(y.values(), r.want);
    // f16 / bf16 hold these inputs exactly, compute in float, and round once.
    for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
      Tensor ha = as(ta, dt), hb = as(tb, dt);
      Tensor yh = run1(binary(r.op), {&ha, &hb}, cmp ? DType::kBool : dt, {10});
      if (cmp) expect_exact(yh.values(), r.want);
      else expect_exact(yh.values(), rounded(y.values(), dt));
    }
  }
}

TEST(CpuElementwise, SignedZerosMatchTorch) {
  // torch: maximum(-0., 0.) = -0., minimum(0., -0.) = 0., remainder(-4., 2.) = -0.,
  // floor_divide(-0., 2.) = -0., floor_divide(0., -2.) = -0.
  Tensor a = f32({2}, {-0.0, 0.0}), b = f32({2}, {0.0, -0.0});
  expect_exact(run1(binary(BinaryOp::kMax), {&a, &b}, DType::kFloat32, {2}).values(), {-0.0, 0.0});
  expect_exact(run1(binary(BinaryOp::kMin), {&b, &a}, DType::kFloat32, {2}).values(), {0.0, -0.0});
  Tensor c = f32({3}, {-4.0, -0.0, 0.0}), d = f32({3}, {2.0, 2.0, -2.0});
  expect_exact(run1(binary(BinaryOp::kRemainder), {&c, &d}, DType::kFloat32, {3}).values(), {-0.0, -0.0, 0.0});
  expect_exact(run1(binary(BinaryOp::kFloorDiv), {&c, &d}, DType::kFloat32, {3}).values(), {-2.0, -0.0, -0.0});
}

TEST(CpuElementwise, FloatRoundsOnceOnStore) {
  // The float sums 1 + 2^-11 and 1 + 3 * 2^-11 lie halfway between f16 neighbours: rounding
  // once to nearest even gives 1 and 1 + 2^-9.
  Tensor a = make(DType::kFloat16, {2}, {1.0, 1.0});
  Tensor b = make(DType::kFloat16, {2}, {std::ldexp(1.0, -11), 3 * std::ldexp(1.0, -11)});
  Tensor y = run1(binary(BinaryOp::kAdd), {&a, &b}, DType::kFloat16, {2});
  expect_exact(y.values(), {1.0, 1.0 + std::ldexp(1.0, -9)});
}

// ---------------------------------------------------------------- binary, integers

struct IntCase {
  DType dtype;
  std::vector<std::pair<BinaryOp, std::vector<int64_t>>> rows;
};

TEST(CpuElementwise, IntegerOpsMatchTorch) {
  std::vector<int64_t> a = {7, -7, 7, -7, 0, 5, -128, 100, 3, -2};
  std::vector<int64_t> b = {2, 2, -2, -2, -3, 1, -1, 3, -1, 5};
  std::vector<std::pair<BinaryOp, std::vector<int64_t>>> common = {
      {BinaryOp::kSub, {5, -9, 9, -5, 3, 4, -127, 97, 4, -7}},
      {BinaryOp::kRemainder, {1, 1, -1, -1, 0, 0, 0, 1, 0, 3}},
      {BinaryOp::kMax, {7, 2, 7, -2, 0, 5, -1, 100, 3, 5}},
      {BinaryOp::kMin, {2, -7, -2, -7, -3, 1, -128, 3, -1, -2}},
      {BinaryOp::kBitwiseAnd, {2, 0, 6, -8, 0, 1, -128, 0, 3, 4}},
      {BinaryOp::kBitwiseOr, {7, -5, -1, -1, -3, 5, -1, 103, -1, -1}},
      {BinaryOp::kBitwiseXor, {5, -5, -7, 7, -3, 4, 127, 103, -4, -5}},
      {BinaryOp::kLt, {0, 1, 0, 1, 0, 0, 1, 0, 0, 1}},
      {BinaryOp::kLogicalAnd, {1, 1, 1, 1, 0, 1, 1, 1, 1, 1}},
  };
  std::vector<IntCase> cases = {
      {DType::kInt8,
       {{BinaryOp::kAdd, {9, -5, 5, -9, -3, 6, 127, 103, 2, 3}},
        {BinaryOp::kMul, {14, -14, -14, 14, 0, 5, -128, 44, -3, -10}},
        {BinaryOp::kFloorDiv, {3, -4, -4, 3, 0, 5, -128, 33, -3, -1}},
        {BinaryOp::kTruncDiv, {3, -3, -3, 3, 0, 5, -128, 33, -3, 0}},
        {BinaryOp::kPow, {49, 49, 0, 0, 0, 5, 0, 64, 0, -32}}}},
      {DType::kInt32,
       {{BinaryOp::kAdd, {9, -5, 5, -9, -3, 6, -129, 103, 2, 3}},
        {BinaryOp::kMul, {14, -14, -14, 14, 0, 5, 128, 300, -3, -10}},
        {BinaryOp::kFloorDiv, {3, -4, -4, 3, 0, 5, 128, 33, -3, -1}},
        {BinaryOp::kTruncDiv, {3, -3, -3, 3, 0, 5, 128, 33, -3, 0}},
        {BinaryOp::kPow, {49, 49, 0, 0, 0, 5, 0, 1000000, 0, -32}}}},
      {DType::kInt64,
       {{BinaryOp::kAdd, {9, -5, 5, -9, -3, 6, -129, 103, 2, 3}},
        {BinaryOp::kMul, {14, -14, -14, 14, 0, 5, 128, 300, -3, -10}},
        {BinaryOp::kFloorDiv, {3, -4, -4, 3, 0, 5, 128, 33, -3, -1}},
        {BinaryOp::kTruncDiv, {3, -3, -3, 3, 0, 5, 128, 33, -3, 0}},
        {BinaryOp::kPow, {49, 49, 0, 0, 0, 5, 0, 1000000, 0, -32}}}},
  };
  for (IntCase& c : cases) {
    c.rows.insert(c.rows.end(), common.begin(), common.end());
    Tensor ta = make_ints(c.dtype, {10}, a), tb = make_ints(c.dtype, {10}, b);
    for (const auto& [op, want] : c.rows) {
      SCOPED_TRACE(::testing::Message() << ir::dtype_name(c.dtype) << " " << net::enum_name(op));
      bool cmp = net::is_comparison(op);
      Tensor y = run1(binary(op), {&ta, &tb}, cmp ? DType::kBool : c.dtype, {10});
      EXPECT_EQ(y.ints(), want);
    }
  }
}

TEST(CpuElementwise, Int64IsExact) {
  // Values above 2^53 would lose their low bits through double.
  int64_t big = (int64_t{1} << 62) + 1;
  Tensor a = make_ints(DType::kInt64, {3}, {big, INT64_MAX, INT64_MIN});
  Tensor b = make_ints(DType::kInt64, {3}, {2, 1, -1});
  EXPECT_EQ(run1(binary(BinaryOp::kAdd), {&a, &b}, DType::kInt64, {3}).ints(),
            (std::vector<int64_t>{big + 2, INT64_MIN, INT64_MAX}));  // wraps
  EXPECT_EQ(run1(binary(BinaryOp::kFloorDiv), {&a, &b}, DType::kInt64, {3}).ints(),
            (std::vector<int64_t>{big / 2, INT64_MAX, INT64_MIN}));
  EXPECT_EQ(run1(binary(BinaryOp::kRemainder), {&a, &b}, DType::kInt64, {3}).ints(), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(run1(binary(BinaryOp::kEq), {&a, &a}, DType::kBool, {3}).ints(), (std::vector<int64_t>{1, 1, 1}));
  Tensor c = make_ints(DType::kInt64, {3}, {big + 1, INT64_MAX, INT64_MIN});
  EXPECT_EQ(run1(binary(BinaryOp::kLt), {&a, &c}, DType::kBool, {3}).ints(), (std::vector<int64_t>{1, 0, 0}));
}

TEST(CpuElementwise, UnsignedBytesWrap) {
  // torch uint8: 3 - 5 = 254, 200 + 100 = 44, 16 * 17 = 16, 250 // 7 = 35, max(3, 250) = 250.
  Tensor a = make(DType::kUInt8, {5}, {3, 200, 16, 250, 3}), b = make(DType::kUInt8, {5}, {5, 100, 17, 7, 250});
  EXPECT_EQ(run1(binary(BinaryOp::kSub), {&a, &b}, DType::kUInt8, {5}).ints(), (std::vector<int64_t>{254, 100, 255, 243, 9}));
  EXPECT_EQ(run1(binary(BinaryOp::kAdd), {&a, &b}, DType::kUInt8, {5}).ints(), (std::vector<int64_t>{8, 44, 33, 1, 253}));
  EXPECT_EQ(run1(binary(BinaryOp::kMul), {&a, &b}, DType::kUInt8, {5}).ints(), (std::vector<int64_t>{15, 32, 16, 214, 238}));
  EXPECT_EQ(run1(binary(BinaryOp::kFloorDiv), {&a, &b}, DType::kUInt8, {5}).ints(), (std::vector<int64_t>{0, 2, 0, 35, 0}));
  EXPECT_EQ(run1(binary(BinaryOp::kMax), {&a, &b}, DType::kUInt8, {5}).ints(), (std::vector<int64_t>{5, 200, 17, 250, 250}));
}

TEST(CpuElementwise, IntegerDivisionByZeroIsAnError) {
  Tensor a = make(DType::kInt32, {2}, {1, 2}), b = make(DType::kInt32, {2}, {1, 0});
  for (BinaryOp op : {BinaryOp::kFloorDiv, BinaryOp::kRemainder, BinaryOp::kTruncDiv}) {
    Status s = run_status(binary(op), {&a, &b}, DType::kInt32, {2});
    EXPECT_FALSE(s.is_ok()) << net::enum_name(op);
    EXPECT_NE(s.message().find("division by zero"), std::string::npos) << s.message();
  }
}

TEST(CpuElementwise, UnsupportedDtypeCombinationsAreErrors) {
  Tensor f = f32({2}, {1, 2});
  EXPECT_FALSE(run_status(binary(BinaryOp::kBitwiseAnd), {&f, &f}, DType::kFloat32, {2}).is_ok());
  Tensor i = make(DType::kInt64, {2}, {1, 2});
  EXPECT_FALSE(run_status(binary(BinaryOp::kDiv), {&i, &i}, DType::kInt64, {2}).is_ok());
  EXPECT_FALSE(run_status(binary(BinaryOp::kAtan2), {&i, &i}, DType::kInt64, {2}).is_ok());
  // Mixed dtypes are rejected by the shape function.
  EXPECT_FALSE(run_status(binary(BinaryOp::kAdd), {&f, &i}, DType::kFloat32, {2}).is_ok());
}

TEST(CpuElementwise, BoolInputs) {
  Tensor a = make(DType::kBool, {4}, {0, 0, 1, 1}), b = make(DType::kBool, {4}, {0, 1, 0, 1});
  EXPECT_EQ(run1(binary(BinaryOp::kAdd), {&a, &b}, DType::kBool, {4}).ints(), (std::vector<int64_t>{0, 1, 1, 1}));
  EXPECT_EQ(run1(binary(BinaryOp::kMul), {&a, &b}, DType::kBool, {4}).ints(), (std::vector<int64_t>{0, 0, 0, 1}));
  EXPECT_EQ(run1(binary(BinaryOp::kBitwiseXor), {&a, &b}, DType::kBool, {4}).ints(), (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_EQ(run1(binary(BinaryOp::kLogicalOr), {&a, &b}, DType::kBool, {4}).ints(), (std::vector<int64_t>{0, 1, 1, 1}));
}

// ---------------------------------------------------------------- broadcasting

TEST(CpuElementwise, BroadcastsSizeOneAndMissingDims) {
  // a [2, 1, 3] + b [4, 1]: out [2, 4, 3], out[i][j][k] = a[i][0][k] + b[j][0].
  Tensor a = f32({2, 1, 3}, {1, 2, 3, 4, 5, 6}), b = f32({4, 1}, {10, 20, 30, 40});
  Tensor y = run1(binary(BinaryOp::kSub), {&a, &b}, DType::kFloat32, {2, 4, 3});
  std::vector<double> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) want.push_back((i * 3 + k + 1) - 10.0 * (j + 1));
  expect_exact(y.values(), want);
  // Scalar (rank 0) against a matrix, both orders.
  Tensor s = f32({}, {2});
  Tensor m = f32({2, 2}, {1, 2, 3, 4});
  expect_exact(run1(binary(BinaryOp::kPow), {&m, &s}, DType::kFloat32, {2, 2}).values(), {1, 4, 9, 16});
  expect_exact(run1(binary(BinaryOp::kPow), {&s, &m}, DType::kFloat32, {2, 2}).values(), {2, 4, 8, 16});
  // Middle broadcast axis with integer data.
  Tensor ia = make(DType::kInt32, {2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor ib = make(DType::kInt32, {2, 1, 2}, {100, 200, 300, 400});
  EXPECT_EQ(run1(binary(BinaryOp::kAdd), {&ia, &ib}, DType::kInt32, {2, 3, 2}).ints(),
            (std::vector<int64_t>{100, 201, 102, 203, 104, 205, 306, 407, 308, 409, 310, 411}));
}

TEST(CpuElementwise, EmptyTensors) {
  Tensor a = empty(DType::kFloat32, {0, 3}), b = f32({1, 3}, {1, 2, 3});
  Tensor y = run1(binary(BinaryOp::kAdd), {&a, &b}, DType::kFloat32, {0, 3});
  EXPECT_EQ(y.numel(), 0);
  Tensor i = empty(DType::kInt32, {0}), z = make(DType::kInt32, {1}, {0});
  EXPECT_TRUE(run_status(binary(BinaryOp::kFloorDiv), {&i, &z}, DType::kInt32, {0}).is_ok());
}

TEST(CpuElementwise, RejectsIncompatibleShapes) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6}), b = f32({2}, {1, 2});
  EXPECT_FALSE(run_status(binary(BinaryOp::kAdd), {&a, &b}, DType::kFloat32, {2, 3}).is_ok());
}

// ---------------------------------------------------------------- unary

struct UnaryRow {
  UnaryOp op;
  double alpha, beta;
  std::vector<double> want;
};

bool unary_is_exact(UnaryOp op) {
  switch (op) {
    case UnaryOp::kRelu: case UnaryOp::kNeg: case UnaryOp::kAbs: case UnaryOp::kFloor: case UnaryOp::kCeil:
    case UnaryOp::kRound: case UnaryOp::kSign: case UnaryOp::kClamp: case UnaryOp::kTrunc: case UnaryOp::kFrac:
    case UnaryOp::kSquare: case UnaryOp::kReciprocal: case UnaryOp::kLeakyRelu:
      return true;
    default:
      return false;
  }
}

void check_unary_rows(const std::vector<double>& x, const std::vector<UnaryRow>& rows) {
  int64_t n = static_cast<int64_t>(x.size());
  Tensor tx = f32({n}, x);
  for (const UnaryRow& r : rows) {
    SCOPED_TRACE(::testing::Message() << net::enum_name(r.op) << " alpha " << r.alpha << " beta " << r.beta);
    Tensor y = run1(unary(r.op, r.alpha, r.beta), {&tx}, DType::kFloat32, {n});
    if (unary_is_exact(r.op)) expect_exact(y.values(), r.want);
    else expect_near(y.values(), r.want, 2e-6);
    for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
      Tensor xh = as(tx, dt);
      Tensor yh = run1(unary(r.op, r.alpha, r.beta), {&xh}, dt, {n});
      // Inputs that the dtype rounds (0.3) give a different float; compare the others exactly.
      std::vector<double> got = yh.values(), want = rounded(y.values(), dt);
      for (size_t i = 0; i < x.size(); ++i) {
        if (static_cast<double>(xh.get(static_cast<int64_t>(i))) != x[i]) continue;
        if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i]));
        else EXPECT_EQ(got[i], want[i]) << ir::dtype_name(dt) << " element " << i;
      }
    }
  }
}

TEST(CpuUnary, FloatOpsMatchTorch) {
  std::vector<double> x = {-2.5, -1.0, -0.5, -0.0, 0.0, 0.30000001192092896, 0.5, 1.5, 2.5, 4.0};
  check_unary_rows(x, {
      {UnaryOp::kIdentity, 0, 0, x},
      {UnaryOp::kRelu, 0, 0, {0.0, 0.0, 0.0, -0.0, 0.0, 0.30000001192092896, 0.5, 1.5, 2.5, 4.0}},
      {UnaryOp::kSigmoid, 0, 0, {0.07585817575454712, 0.2689414322376251, 0.3775406777858734, 0.5, 0.5, 0.5744425058364868, 0.622459352016449, 0.8175744414329529, 0.9241418242454529, 0.9820137619972229}},
      {UnaryOp::kTanh, 0, 0, {-0.9866142868995667, -0.7615941762924194, -0.46211716532707214, -0.0, 0.0, 0.29131263494491577, 0.46211716532707214, 0.9051482677459717, 0.9866142868995667, 0.9993293285369873}},
      {UnaryOp::kGeluErf, 0, 0, {-0.015524178743362427, -0.15865525603294373, -0.1542687714099884, -0.0, 0.0, 0.1853734403848648, 0.3457312285900116, 1.3997890949249268, 2.48447585105896, 3.999873638153076}},
      {UnaryOp::kGeluTanh, 0, 0, {-0.015084296464920044, -0.15880799293518066, -0.1542859971523285, -0.0, 0.0, 0.18537093698978424, 0.3457140028476715, 1.3995715379714966, 2.4849157333374023, 3.999929904937744}},
      {UnaryOp::kSilu, 0, 0, {-0.189645454287529, -0.2689414322376251, -0.1887703388929367, -0.0, 0.0, 0.172332763671875, 0.3112296760082245, 1.226361632347107, 2.310354471206665, 3.9280550479888916}},
      {UnaryOp::kExp, 0, 0, {0.08208499848842621, 0.3678794503211975, 0.6065306663513184, 1.0, 1.0, 1.3498588800430298, 1.6487212181091309, 4.481688976287842, 12.182494163513184, 54.598148345947266}},
      {UnaryOp::kNeg, 0, 0, {2.5, 1.0, 0.5, 0.0, -0.0, -0.30000001192092896, -0.5, -1.5, -2.5, -4.0}},
      {UnaryOp::kAbs, 0, 0, {2.5, 1.0, 0.5, 0.0, 0.0, 0.30000001192092896, 0.5, 1.5, 2.5, 4.0}},
      {UnaryOp::kErf, 0, 0, {-0.9995930194854736, -0.8427007794380188, -0.5204998850822449, -0.0, 0.0, 0.3286267817020416, 0.5204998850822449, 0.9661051630973816, 0.9995930194854736, 1.0}},
      {UnaryOp::kSin, 0, 0, {-0.5984721183776855, -0.8414709568023682, -0.4794255495071411, -0.0, 0.0, 0.29552021622657776, 0.4794255495071411, 0.9974949955940247, 0.5984721183776855, -0.756802499294281}},
      {UnaryOp::kCos, 0, 0, {-0.8011435866355896, 0.5403023362159729, 0.8775825500488281, 1.0, 1.0, 0.9553365111351013, 0.8775825500488281, 0.07073719799518585, -0.8011435866355896, -0.6536436080932617}},
      {UnaryOp::kReciprocal, 0, 0, {-0.4000000059604645, -1.0, -2.0, -kInf, kInf, 3.3333332538604736, 2.0, 0.6666666865348816, 0.4000000059604645, 0.25}},
      {UnaryOp::kFloor, 0, 0, {-3.0, -1.0, -1.0, -0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 4.0}},
      {UnaryOp::kCeil, 0, 0, {-2.0, -1.0, -0.0, -0.0, 0.0, 1.0, 1.0, 2.0, 3.0, 4.0}},
      {UnaryOp::kRound, 0, 0, {-2.0, -1.0, -0.0, -0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 4.0}},
      {UnaryOp::kSign, 0, 0, {-1.0, -1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0}},
      {UnaryOp::kLeakyRelu, 0.1, 0, {-0.25, -0.10000000149011612, -0.05000000074505806, -0.0, 0.0, 0.30000001192092896, 0.5, 1.5, 2.5, 4.0}},
      {UnaryOp::kElu, 1.6732632423543772, 1.0507009873554805, {-1.613785743713379, -1.1113307476043701, -0.6917581558227539, -0.0, 0.0, 0.3152103126049042, 0.5253505110740662, 1.5760514736175537, 2.6267526149749756, 4.202804088592529}},
      {UnaryOp::kElu, 2.0, 1.0, {-1.8358299732208252, -1.264241099357605, -0.7869386672973633, -0.0, 0.0, 0.30000001192092896, 0.5, 1.5, 2.5, 4.0}},
      {UnaryOp::kClamp, -1.0, 2.0, {-1.0, -1.0, -0.5, -0.0, 0.0, 0.30000001192092896, 0.5, 1.5, 2.0, 2.0}},
      {UnaryOp::kClamp, -kInf, 0.4, {-2.5, -1.0, -0.5, -0.0, 0.0, 0.30000001192092896, 0.4000000059604645, 0.4000000059604645, 0.4000000059604645, 0.4000000059604645}},
      {UnaryOp::kHardSigmoid, 0, 0, {0.0833333358168602, 0.3333333432674408, 0.4166666567325592, 0.5, 0.5, 0.550000011920929, 0.5833333134651184, 0.75, 0.9166666865348816, 1.0}},
      {UnaryOp::kHardSwish, 0, 0, {-0.2083333283662796, -0.3333333432674408, -0.2083333283662796, -0.0, 0.0, 0.16500000655651093, 0.2916666567325592, 1.125, 2.2916667461395264, 4.0}},
      {UnaryOp::kSoftplus, 2.0, 3.0, {0.003357674228027463, 0.06346400082111359, 0.15663084387779236, 0.3465735912322998, 0.3465735912322998, 0.5187439918518066, 0.65663081407547, 1.5242936611175537, 2.5, 4.0}},
      {UnaryOp::kMish, 0, 0, {-0.19681619107723236, -0.3034014403820038, -0.22074376046657562, -0.0, 0.0, 0.20800139009952545, 0.37524524331092834, 1.4033782482147217, 2.4713923931121826, 3.997412919998169}},
      {UnaryOp::kExpm1, 0, 0, {-0.9179149866104126, -0.6321205496788025, -0.39346933364868164, -0.0, 0.0, 0.349858820438385, 0.6487212777137756, 3.481688976287842, 11.182494163513184, 53.598148345947266}},
      {UnaryOp::kTan, 0, 0, {0.747022271156311, -1.5574077367782593, -0.5463024973869324, -0.0, 0.0, 0.30933627486228943, 0.5463024973869324, 14.101420402526855, -0.747022271156311, 1.1578212976455688}},
      {UnaryOp::kAtan, 0, 0, {-1.1902899742126465, -0.7853981852531433, -0.46364760398864746, -0.0, 0.0, 0.29145681858062744, 0.46364760398864746, 0.9827937483787537, 1.1902899742126465, 1.3258177042007446}},
      {UnaryOp::kSinh, 0, 0, {-6.050204753875732, -1.175201177597046, -0.5210952758789062, -0.0, 0.0, 0.30452030897140503, 0.5210952758789062, 2.129279375076294, 6.050204753875732, 27.289918899536133}},
      {UnaryOp::kCosh, 0, 0, {6.132289409637451, 1.5430805683135986, 1.1276259422302246, 1.0, 1.0, 1.04533851146698, 1.1276259422302246, 2.352409601211548, 6.132289409637451, 27.308231353759766}},
      {UnaryOp::kAsinh, 0, 0, {-1.6472312211990356, -0.8813735842704773, -0.4812118411064148, -0.0, 0.0, 0.29567307233810425, 0.4812118411064148, 1.19476318359375, 1.6472312211990356, 2.094712495803833}},
      {UnaryOp::kExp2, 0, 0, {0.1767766922712326, 0.5, 0.7071067690849304, 1.0, 1.0, 1.2311444282531738, 1.4142135381698608, 2.8284270763397217, 5.656854152679443, 16.0}},
      {UnaryOp::kTrunc, 0, 0, {-2.0, -1.0, -0.0, -0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 4.0}},
      {UnaryOp::kFrac, 0, 0, {-0.5, 0.0, -0.5, 0.0, 0.0, 0.30000001192092896, 0.5, 0.5, 0.5, 0.0}},
      {UnaryOp::kSquare, 0, 0, {6.25, 1.0, 0.25, 0.0, 0.0, 0.09000000357627869, 0.25, 2.25, 6.25, 16.0}},
  });
}

TEST(CpuUnary, FloatOpsOnRestrictedDomains) {
  check_unary_rows({0.25, 0.5, 1.0, 2.0, 3.0, 10.0}, {
      {UnaryOp::kLog, 0, 0, {-1.3862943649291992, -0.6931471824645996, 0.0, 0.6931471824645996, 1.0986123085021973, 2.3025851249694824}},
      {UnaryOp::kSqrt, 0, 0, {0.5, 0.7071067690849304, 1.0, 1.4142135381698608, 1.7320507764816284, 3.1622776985168457}},
      {UnaryOp::kRsqrt, 0, 0, {2.0, 1.4142135381698608, 1.0, 0.7071067690849304, 0.5773502588272095, 0.3162277638912201}},
      {UnaryOp::kLog1p, 0, 0, {0.2231435477733612, 0.40546509623527527, 0.6931471824645996, 1.0986123085021973, 1.3862943649291992, 2.397895336151123}},
      {UnaryOp::kLog2, 0, 0, {-2.0, -1.0, 0.0, 1.0, 1.5849624872207642, 3.321928024291992}},
      {UnaryOp::kLog10, 0, 0, {-0.6020600199699402, -0.3010300099849701, 0.0, 0.3010300099849701, 0.4771212637424469, 1.0}},
  });
  check_unary_rows({1.25, 1.5, 2.0, 3.0, 4.0, 11.0}, {
      {UnaryOp::kAcosh, 0, 0, {0.6931471824645996, 0.9624236822128296, 1.316957950592041, 1.7627471685409546, 2.063436985015869, 3.0889699459075928}},
  });
  check_unary_rows({-0.875, -0.5, 0.0, 0.25, 0.75}, {
      {UnaryOp::kAsin, 0, 0, {std::asin(-0.875), -0.5235987901687622, 0.0, 0.252680242061615, 0.8480620980262756}},
      {UnaryOp::kAcos, 0, 0, {std::acos(-0.875), 2.094395160675049, 1.5707963705062866, 1.3181160688400269, 0.722734272480011}},
      {UnaryOp::kAtanh, 0, 0, {std::atanh(-0.875), -0.5493061542510986, 0.0, 0.2554128170013428, 0.9729551076889038}},
  });
}

TEST(CpuUnary, NanHandling) {
  Tensor x = f32({1}, {kNan});
  for (UnaryOp op : {UnaryOp::kRelu, UnaryOp::kClamp, UnaryOp::kHardSigmoid, UnaryOp::kLeakyRelu, UnaryOp::kAbs}) {
    Tensor y = run1(unary(op, -1.0, 1.0), {&x}, DType::kFloat32, {1});
    EXPECT_TRUE(std::isnan(y.get(0))) << net::enum_name(op);
  }
  // sign(nan) is 0 in torch.
  EXPECT_EQ(run1(unary(UnaryOp::kSign), {&x}, DType::kFloat32, {1}).get(0), 0.0);
  // Clamp with min > max gives max, as torch.clamp does.
  Tensor v = f32({2}, {1, 2});
  expect_exact(run1(unary(UnaryOp::kClamp, 3.0, 1.0), {&v}, DType::kFloat32, {2}).values(), {1, 1});
}

TEST(CpuUnary, RoundHalfToEven) {
  Tensor x = f32({7}, {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5});
  expect_exact(run1(unary(UnaryOp::kRound), {&x}, DType::kFloat32, {7}).values(), {0, 2, 2, -0.0, -2, -2, 4});
}

TEST(CpuUnary, IntegerOps) {
  Tensor x = make_ints(DType::kInt8, {5}, {-128, -3, 0, 5, 127});
  auto run_i8 = [&](UnaryParams p) { return run1(p, {&x}, DType::kInt8, {5}).ints(); };
  EXPECT_EQ(run_i8(unary(UnaryOp::kAbs)), (std::vector<int64_t>{-128, 3, 0, 5, 127}));  // abs(-128) wraps
  EXPECT_EQ(run_i8(unary(UnaryOp::kNeg)), (std::vector<int64_t>{-128, 3, 0, -5, -127}));
  EXPECT_EQ(run_i8(unary(UnaryOp::kRelu)), (std::vector<int64_t>{0, 0, 0, 5, 127}));
  EXPECT_EQ(run_i8(unary(UnaryOp::kSign)), (std::vector<int64_t>{-1, -1, 0, 1, 1}));
  EXPECT_EQ(run_i8(unary(UnaryOp::kSquare)), (std::vector<int64_t>{0, 9, 0, 25, 1}));
  EXPECT_EQ(run_i8(unary(UnaryOp::kBitwiseNot)), (std::vector<int64_t>{127, 2, -1, -6, -128}));
  EXPECT_EQ(run_i8(unary(UnaryOp::kFloor)), (std::vector<int64_t>{-128, -3, 0, 5, 127}));
  EXPECT_EQ(run_i8(unary(UnaryOp::kRound)), (std::vector<int64_t>{-128, -3, 0, 5, 127}));
  EXPECT_EQ(run_i8(unary(UnaryOp::kClamp, -4.0, 6.0)), (std::vector<int64_t>{-4, -3, 0, 5, 6}));
  EXPECT_EQ(run_i8(unary(UnaryOp::kClamp, -kInf, 2.0)), (std::vector<int64_t>{-128, -3, 0, 2, 2}));
  // Float-only functions are errors on integers.
  EXPECT_FALSE(run_status(unary(UnaryOp::kExp), {&x}, DType::kInt8, {5}).is_ok());
  // int64 beyond 2^53 stays exact.
  Tensor big = make_ints(DType::kInt64, {2}, {(int64_t{1} << 60) + 1, -((int64_t{1} << 60) + 1)});
  EXPECT_EQ(run1(unary(UnaryOp::kAbs), {&big}, DType::kInt64, {2}).ints(),
            (std::vector<int64_t>{(int64_t{1} << 60) + 1, (int64_t{1} << 60) + 1}));
  Tensor b = make(DType::kBool, {2}, {0, 1});
  EXPECT_EQ(run1(unary(UnaryOp::kBitwiseNot), {&b}, DType::kBool, {2}).ints(), (std::vector<int64_t>{1, 0}));
  Tensor f = f32({1}, {1});
  EXPECT_FALSE(run_status(unary(UnaryOp::kBitwiseNot), {&f}, DType::kFloat32, {1}).is_ok());
}

TEST(CpuUnary, PredicatesGiveBool) {
  Tensor x = f32({5}, {0.0, -0.0, kNan, -kInf, 2.0});
  EXPECT_EQ(run1(unary(UnaryOp::kLogicalNot), {&x}, DType::kBool, {5}).ints(), (std::vector<int64_t>{1, 1, 0, 0, 0}));
  EXPECT_EQ(run1(unary(UnaryOp::kIsNan), {&x}, DType::kBool, {5}).ints(), (std::vector<int64_t>{0, 0, 1, 0, 0}));
  EXPECT_EQ(run1(unary(UnaryOp::kIsInf), {&x}, DType::kBool, {5}).ints(), (std::vector<int64_t>{0, 0, 0, 1, 0}));
  Tensor i = make(DType::kInt32, {3}, {0, 7, -1});
  EXPECT_EQ(run1(unary(UnaryOp::kLogicalNot), {&i}, DType::kBool, {3}).ints(), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(run1(unary(UnaryOp::kIsNan), {&i}, DType::kBool, {3}).ints(), (std::vector<int64_t>{0, 0, 0}));
}

// ---------------------------------------------------------------- select

TEST(CpuSelect, BroadcastsAllThree) {
  // torch.where([[True], [False]], [1, 2, 3], [7]) = [[1, 2, 3], [7, 7, 7]]
  Tensor c = make(DType::kBool, {2, 1}, {1, 0});
  Tensor a = make(DType::kInt64, {3}, {1, 2, 3}), b = make(DType::kInt64, {1}, {7});
  EXPECT_EQ(run1(SelectParams{}, {&c, &a, &b}, DType::kInt64, {2, 3}).ints(), (std::vector<int64_t>{1, 2, 3, 7, 7, 7}));
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt8, DType::kInt32, DType::kBool}) {
    Tensor c2 = make(DType::kBool, {3}, {1, 0, 1});
    Tensor a2 = make(dt, {2, 3}, {1, 1, 1, 0, 0, 0}), b2 = make(dt, {}, {0});
    expect_exact(run1(SelectParams{}, {&c2, &a2, &b2}, dt, {2, 3}).values(), {1, 0, 1, 0, 0, 0}, ir::dtype_name(dt).data());
  }
  Tensor nb = f32({1}, {1});
  Tensor bad = make(DType::kInt32, {1}, {1});
  EXPECT_FALSE(run_status(SelectParams{}, {&bad, &nb, &nb}, DType::kFloat32, {1}).is_ok());  // condition must be bool
}

// ---------------------------------------------------------------- cast

CastParams cast_to(DType t) {
  CastParams p;
  p.to = t;
  return p;
}

TEST(CpuCast, FloatToEveryDtypeMatchesTorch) {
  Tensor x = f32({9}, {1e20, 70000., -3.7, kNan, kInf, 0.5, -0.0, 255.9, 128.5});
  auto got = [&](DType t) { return run1(cast_to(t), {&x}, t, {9}); };
  EXPECT_EQ(got(DType::kInt8).ints(), (std::vector<int64_t>{0, 112, -3, 0, 0, 0, 0, -1, -128}));
  EXPECT_EQ(got(DType::kUInt8).ints(), (std::vector<int64_t>{0, 112, 253, 0, 0, 0, 0, 255, 128}));
  EXPECT_EQ(got(DType::kInt32).ints(), (std::vector<int64_t>{INT32_MIN, 70000, -3, INT32_MIN, INT32_MIN, 0, 0, 255, 128}));
  EXPECT_EQ(got(DType::kInt64).ints(), (std::vector<int64_t>{INT64_MIN, 70000, -3, INT64_MIN, INT64_MIN, 0, 0, 255, 128}));
  EXPECT_EQ(got(DType::kBool).ints(), (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 0, 1, 1}));
  expect_exact(got(DType::kFloat16).values(), {kInf, kInf, -3.69921875, kNan, kInf, 0.5, -0.0, 255.875, 128.5});
  expect_exact(got(DType::kBFloat16).values(), {9.972771014849226e+19, 70144.0, -3.703125, kNan, kInf, 0.5, -0.0, 256.0, 128.0});
  expect_exact(got(DType::kFloat32).values(), x.values());
}

TEST(CpuCast, IntegersToEveryDtypeMatchTorch) {
  int64_t big = (int64_t{1} << 62) + 1, neg = -(int64_t{1} << 40) - 1;
  Tensor x = make_ints(DType::kInt64, {7}, {big, neg, 300, -1, 0, 65505, 16777217});
  auto got = [&](DType t) { return run1(cast_to(t), {&x}, t, {7}); };
  EXPECT_EQ(got(DType::kInt8).ints(), (std::vector<int64_t>{1, -1, 44, -1, 0, -31, 1}));
  EXPECT_EQ(got(DType::kUInt8).ints(), (std::vector<int64_t>{1, 255, 44, 255, 0, 225, 1}));
  EXPECT_EQ(got(DType::kInt32).ints(), (std::vector<int64_t>{1, -1, 300, -1, 0, 65505, 16777217}));
  EXPECT_EQ(got(DType::kBool).ints(), (std::vector<int64_t>{1, 1, 1, 1, 0, 1, 1}));
  expect_exact(got(DType::kFloat32).values(), {4.611686018427388e+18, -1099511627776.0, 300, -1, 0, 65505, 16777216});
  expect_exact(got(DType::kFloat16).values(), {kInf, -kInf, 300, -1, 0, 65504, kInf});
  expect_exact(got(DType::kBFloat16).values(), {4.611686018427388e+18, -1099511627776.0, 300, -1, 0, 65536, 16777216});
  EXPECT_EQ(got(DType::kInt64).ints(), x.ints());
  Tensor b = make(DType::kBool, {2}, {1, 0});
  expect_exact(run1(cast_to(DType::kFloat32), {&b}, DType::kFloat32, {2}).values(), {1, 0});
  Tensor u = make(DType::kUInt8, {1}, {255});
  EXPECT_EQ(run1(cast_to(DType::kInt8), {&u}, DType::kInt8, {1}).ints(), (std::vector<int64_t>{-1}));
}

TEST(CpuCast, HalfAndBFloatRoundToNearestEven) {
  Tensor x = f32({4}, {65520., 65519., 1e-8, 3e-5});
  expect_exact(run1(cast_to(DType::kFloat16), {&x}, DType::kFloat16, {4}).values(), {kInf, 65504.0, 0.0, 2.9981136322021484e-05});
  // bf16 -> f16 goes through float: 1/3 in bf16 is 0.333984375, which f16 holds exactly.
  Tensor h = make(DType::kBFloat16, {1}, {1.0 / 3});
  expect_exact(run1(cast_to(DType::kFloat16), {&h}, DType::kFloat16, {1}).values(), {0.333984375});
}

}  // namespace
}  // namespace ingot::kernels::cpu::testing
