// CPU kernels: reductions, softmax and normalization. Expected values come from independent
// naive loops in double, or from hand reasoning.
#include <limits>

#include "cpu_kernels_util.h"
#include "net/layers.h"

namespace ingot::kernels::cpu::testing {
namespace {

using net::NormalizationParams;
using net::NormKind;
using net::ReduceOp;
using net::ReduceParams;
using net::SoftmaxParams;

const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

ReduceParams reduce(ReduceOp op, Dims axes, bool keepdim = false, double correction = 0.0) {
  ReduceParams p;
  p.op = op;
  p.axes = std::move(axes);
  p.keepdim = keepdim;
  p.correction = correction;
  return p;
}

std::vector<double> iota(int64_t n, double start = 0.0) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + static_cast<double>(i);
  return v;
}

// ---------------------------------------------------------------- reduce

TEST(CpuReduce, SumMeanOverAxesOfRank3) {
  // x[i][j][k] = 12i + 4j + k over [2, 3, 4].
  Tensor x = f32({2, 3, 4}, iota(24));
  // Over axes {0, 2}: out[j] = sum_i sum_k (12i + 4j + k) = 8 * 4j + (0 + 12) * 4 + 2 * 6 = 32j + 60.
  expect_exact(run1(reduce(ReduceOp::kSum, {0, 2}), {&x}, DType::kFloat32, {3}).values(), {60, 92, 124});
  expect_exact(run1(reduce(ReduceOp::kMean, {0, 2}, true), {&x}, DType::kFloat32, {1, 3, 1}).values(), {7.5, 11.5, 15.5});
  // Over axis 1: out[i][k] = 3 * (12i + k) + 12.
  expect_exact(run1(reduce(ReduceOp::kSum, {1}), {&x}, DType::kFloat32, {2, 4}).values(),
               {12, 15, 18, 21, 48, 51, 54, 57});
  expect_exact(run1(reduce(ReduceOp::kSum, {0, 1, 2}), {&x}, DType::kFloat32, {}).values(), {276});
  expect_exact(run1(reduce(ReduceOp::kMax, {2}), {&x}, DType::kFloat32, {2, 3}).values(), {3, 7, 11, 15, 19, 23});
  expect_exact(run1(reduce(ReduceOp::kMin, {0}), {&x}, DType::kFloat32, {3, 4}).values(), iota(12));
}

TEST(CpuReduce, VarianceWithCorrection) {
  Tensor x = f32({2, 4}, {1, 2, 3, 4, 2, 4, 4, 10});
  // Row 0: mean 2.5, squared deviations 5; row 1: mean 5, squared deviations 9+1+1+25 = 36.
  expect_near(run1(reduce(ReduceOp::kVar, {1}, false, 0.0), {&x}, DType::kFloat32, {2}).values(), {1.25, 9});
  expect_near(run1(reduce(ReduceOp::kVar, {1}, false, 1.0), {&x}, DType::kFloat32, {2}).values(), {5.0 / 3, 12});
  expect_near(run1(reduce(ReduceOp::kVar, {1}, true, 2.0), {&x}, DType::kFloat32, {2, 1}).values(), {2.5, 18});
  // Over axis 0 with Bessel's correction: pairs (1,2), (2,4), (3,4), (4,10).
  expect_near(run1(reduce(ReduceOp::kVar, {0}, false, 1.0), {&x}, DType::kFloat32, {4}).values(), {0.5, 2, 0.5, 18});
  // One element with correction 1: 0 / 0 = nan, as torch.var gives.
  Tensor one = f32({1}, {3});
  EXPECT_TRUE(std::isnan(run1(reduce(ReduceOp::kVar, {0}, false, 1.0), {&one}, DType::kFloat32, {}).get(0)));
}

TEST(CpuReduce, NanPropagatesThroughMaxMin) {
  Tensor x = f32({2, 3}, {1, kNan, 3, -1, -5, 2});
  expect_exact(run1(reduce(ReduceOp::kMax, {1}), {&x}, DType::kFloat32, {2}).values(), {kNan, 2});
  expect_exact(run1(reduce(ReduceOp::kMin, {1}), {&x}, DType::kFloat32, {2}).values(), {kNan, -5});
  expect_exact(run1(reduce(ReduceOp::kSum, {1}), {&x}, DType::kFloat32, {2}).values(), {kNan, -4});
}

TEST(CpuReduce, EmptyReductions) {
  Tensor x = empty(DType::kFloat32, {0, 3});
  expect_exact(run1(reduce(ReduceOp::kSum, {0}), {&x}, DType::kFloat32, {3}).values(), {0, 0, 0});
  expect_exact(run1(reduce(ReduceOp::kProd, {0}), {&x}, DType::kFloat32, {3}).values(), {1, 1, 1});
  expect_exact(run1(reduce(ReduceOp::kMean, {0}), {&x}, DType::kFloat32, {3}).values(), {kNan, kNan, kNan});
  expect_exact(run1(reduce(ReduceOp::kAny, {0}), {&x}, DType::kBool, {3}).values(), {0, 0, 0});
  expect_exact(run1(reduce(ReduceOp::kAll, {0}), {&x}, DType::kBool, {3}).values(), {1, 1, 1});
  for (ReduceOp op : {ReduceOp::kMax, ReduceOp::kMin}) {
    Status s = run_status(reduce(op, {0}), {&x}, DType::kFloat32, {3});
    EXPECT_FALSE(s.is_ok()) << net::enum_name(op);
    EXPECT_NE(s.message().find("empty"), std::string::npos) << s.message();
  }
  // Reducing the non-empty axis of an empty tensor gives an empty output: nothing to complain about.
  EXPECT_TRUE(run_status(reduce(ReduceOp::kMax, {1}), {&x}, DType::kFloat32, {0}).is_ok());
}

TEST(CpuReduce, IntegersAreExactAndKeepTheirDtype) {
  // torch.prod(tensor([100, 100], dtype=int8)) == 16 (wraps).
  Tensor p = make(DType::kInt8, {2}, {100, 100});
  EXPECT_EQ(run1(reduce(ReduceOp::kProd, {0}), {&p}, DType::kInt8, {}).ints(), (std::vector<int64_t>{16}));
  EXPECT_EQ(run1(reduce(ReduceOp::kSum, {0}), {&p}, DType::kInt8, {}).ints(), (std::vector<int64_t>{-56}));
  int64_t big = (int64_t{1} << 60) + 1;
  Tensor b = make_ints(DType::kInt64, {3}, {big, big, -1});
  EXPECT_EQ(run1(reduce(ReduceOp::kSum, {0}), {&b}, DType::kInt64, {}).ints(), (std::vector<int64_t>{2 * big - 1}));
  EXPECT_EQ(run1(reduce(ReduceOp::kMax, {0}), {&b}, DType::kInt64, {}).ints(), (std::vector<int64_t>{big}));
  EXPECT_EQ(run1(reduce(ReduceOp::kMin, {0}), {&b}, DType::kInt64, {}).ints(), (std::vector<int64_t>{-1}));
  Tensor i = make(DType::kInt32, {2, 2}, {0, 3, 0, 0});
  EXPECT_EQ(run1(reduce(ReduceOp::kAny, {1}), {&i}, DType::kBool, {2}).ints(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(run1(reduce(ReduceOp::kAll, {0}), {&i}, DType::kBool, {2}).ints(), (std::vector<int64_t>{0, 0}));
  Tensor bl = make(DType::kBool, {3}, {1, 0, 1});
  EXPECT_EQ(run1(reduce(ReduceOp::kAll, {0}), {&bl}, DType::kBool, {}).ints(), (std::vector<int64_t>{0}));
  // mean / var need floating inputs (the shape function says so).
  EXPECT_FALSE(run_status(reduce(ReduceOp::kMean, {0}), {&b}, DType::kInt64, {}).is_ok());
}

TEST(CpuReduce, AnyAllOnFloats) {
  Tensor x = f32({2, 2}, {0.0, kNan, -0.0, 0.0});
  EXPECT_EQ(run1(reduce(ReduceOp::kAny, {1}), {&x}, DType::kBool, {2}).ints(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(run1(reduce(ReduceOp::kAll, {0}), {&x}, DType::kBool, {2}).ints(), (std::vector<int64_t>{0, 0}));
}

TEST(CpuReduce, NoAxesCopiesAndScalarInput) {
  Tensor x = f32({2, 2}, {1, -2, 3, 4});
  expect_exact(run1(reduce(ReduceOp::kSum, {}), {&x}, DType::kFloat32, {2, 2}).values(), {1, -2, 3, 4});
  expect_exact(run1(reduce(ReduceOp::kMax, {}), {&x}, DType::kFloat32, {2, 2}).values(), {1, -2, 3, 4});
  Tensor s = f32({}, {5});
  expect_exact(run1(reduce(ReduceOp::kSum, {0}), {&s}, DType::kFloat32, {}).values(), {5});
  expect_exact(run1(reduce(ReduceOp::kMean, {0}, true), {&s}, DType::kFloat32, {}).values(), {5});
}

TEST(CpuReduce, ReducedPrecision) {
  // torch.tensor([1, 2, 3.3], dtype=bfloat16).sum() == 6.3125: 3.3 is stored as 3.296875 and the
  // sum 6.296875 rounds (ties to even) to 6.3125.
  Tensor x = make(DType::kBFloat16, {3}, {1, 2, 3.3});
  expect_exact(run1(reduce(ReduceOp::kSum, {0}), {&x}, DType::kBFloat16, {}).values(), {6.3125});
  Tensor r = random(DType::kFloat32, {3, 5, 4}, 21);
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMean, ReduceOp::kVar, ReduceOp::kProd, ReduceOp::kMax}) {
    auto p = reduce(op, {0, 2}, false, 1.0);
    Tensor y = run1(p, {&r}, DType::kFloat32, {5});
    for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
      Tensor rh = as(r, dt);
      expect_exact(run1(p, {&rh}, dt, {5}).values(), rounded(y.values(), dt), net::enum_name(op));
    }
  }
}

// ---------------------------------------------------------------- softmax

std::vector<double> softmax_reference(const Tensor& x, int64_t axis, bool log) {
  const Dims& d = x.dims;
  int64_t outer = 1, inner = 1, len = d[static_cast<size_t>(axis)];
  for (int64_t i = 0; i < axis; ++i) outer *= d[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < d.size(); ++i) inner *= d[i];
  std::vector<double> y(static_cast<size_t>(x.numel()));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      double mx = -kInf, sum = 0;
      for (int64_t l = 0; l < len; ++l) mx = std::max(mx, x.get((o * len + l) * inner + i));
      for (int64_t l = 0; l < len; ++l) sum += std::exp(x.get((o * len + l) * inner + i) - mx);
      for (int64_t l = 0; l < len; ++l) {
        double v = x.get((o * len + l) * inner + i) - mx;
        y[static_cast<size_t>((o * len + l) * inner + i)] = log ? v - std::log(sum) : std::exp(v) / sum;
      }
    }
  }
  return y;
}

TEST(CpuSoftmax, MatchesReferenceOnEveryAxis) {
  Tensor x = random(DType::kFloat32, {2, 3, 5}, 31, -4, 4);
  for (int64_t axis : {0, 1, 2, -1, -2}) {
    for (bool log : {false, true}) {
      SoftmaxParams p;
      p.axis = axis;
      p.log = log;
      int64_t a = axis < 0 ? axis + 3 : axis;
      Tensor y = run1(p, {&x}, DType::kFloat32, {2, 3, 5});
      expect_near(y.values(), softmax_reference(x, a, log), 1e-6);
      for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
        Tensor xh = as(x, dt);
        expect_exact(run1(p, {&xh}, dt, {2, 3, 5}).values(), rounded(y.values(), dt));
      }
    }
  }
}

TEST(CpuSoftmax, StableForLargeInputsAndInfinities) {
  SoftmaxParams p;
  Tensor x = f32({2, 3}, {1000, 1000, 1000, 0, -kInf, 0});
  expect_near(run1(p, {&x}, DType::kFloat32, {2, 3}).values(), {1.0 / 3, 1.0 / 3, 1.0 / 3, 0.5, 0, 0.5}, 1e-6);
  p.log = true;
  expect_near(run1(p, {&x}, DType::kFloat32, {2, 3}).values(),
              {-std::log(3.0), -std::log(3.0), -std::log(3.0), -std::log(2.0), -kInf, -std::log(2.0)}, 1e-6);
  // A row of -inf has no maximum to subtract: torch gives nan.
  Tensor m = f32({3}, {-kInf, -kInf, -kInf});
  p.log = false;
  expect_exact(run1(p, {&m}, DType::kFloat32, {3}).values(), {kNan, kNan, kNan});
}

// ---------------------------------------------------------------- normalization

NormalizationParams norm(NormKind kind, int64_t axis = -1, int64_t groups = 1, double eps = 1e-5) {
  NormalizationParams p;
  p.kind = kind;
  p.axis = axis;
  p.num_groups = groups;
  p.eps = eps;
  return p;
}

TEST(CpuNorm, LayerNormHandChecked) {
  // Row [1, 2, 3, 4]: mean 2.5, biased var 1.25.
  Tensor x = f32({1, 4}, {1, 2, 3, 4});
  Tensor w = f32({4}, {1, 2, 1, 1}), b = f32({4}, {0, 0, 0, 10});
  double r = 1.0 / std::sqrt(1.25 + 1e-5);
  Tensor y = run1(norm(NormKind::kLayer, 1), {&x, &w, &b}, DType::kFloat32, {1, 4});
  expect_near(y.values(), {-1.5 * r, -0.5 * r * 2, 0.5 * r, 1.5 * r + 10}, 1e-6);
  Tensor y2 = run1(norm(NormKind::kLayer, 1), {&x}, DType::kFloat32, {1, 4});
  expect_near(y2.values(), {-1.5 * r, -0.5 * r, 0.5 * r, 1.5 * r}, 1e-6);
}

TEST(CpuNorm, LayerAndRmsOverTrailingDims) {
  Tensor x = random(DType::kFloat32, {2, 3, 4}, 41);
  Tensor w = random(DType::kFloat32, {3, 4}, 42), b = random(DType::kFloat32, {3, 4}, 43);
  for (NormKind kind : {NormKind::kLayer, NormKind::kRms}) {
    auto p = norm(kind, 1, 1, 1e-3);
    Tensor y = run1(p, {&x, &w, kind == NormKind::kLayer ? &b : nullptr}, DType::kFloat32, {2, 3, 4});
    std::vector<double> want;
    for (int64_t s = 0; s < 2; ++s) {
      double mean = 0, sq = 0;
      for (int64_t i = 0; i < 12; ++i) mean += x.get(s * 12 + i) / 12;
      for (int64_t i = 0; i < 12; ++i) {
        double v = x.get(s * 12 + i);
        sq += kind == NormKind::kLayer ? (v - mean) * (v - mean) / 12 : v * v / 12;
      }
      for (int64_t i = 0; i < 12; ++i) {
        double v = x.get(s * 12 + i);
        want.push_back(kind == NormKind::kLayer ? (v - mean) / std::sqrt(sq + 1e-3) * w.get(i) + b.get(i)
                                                : v / std::sqrt(sq + 1e-3) * w.get(i));
      }
    }
    expect_near(y.values(), want, 1e-5, net::enum_name(kind));
    for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
      Tensor xh = as(x, dt), wh = as(w, dt), bh = as(b, dt);
      Tensor yh = run1(p, {&xh, &wh, kind == NormKind::kLayer ? &bh : nullptr}, dt, {2, 3, 4});
      expect_exact(yh.values(), rounded(y.values(), dt), net::enum_name(kind));
    }
  }
}

TEST(CpuNorm, GroupNorm) {
  Tensor x = random(DType::kFloat32, {2, 6, 3, 2}, 51);
  Tensor w = random(DType::kFloat32, {6}, 52), b = random(DType::kFloat32, {6}, 53);
  Tensor y = run1(norm(NormKind::kGroup, -1, 3, 1e-5), {&x, &w, &b}, DType::kFloat32, {2, 6, 3, 2});
  // Groups of 2 channels x 6 positions = 12 contiguous values.
  std::vector<double> want;
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t g = 0; g < 3; ++g) {
      int64_t base = (n * 6 + 2 * g) * 6;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < 12; ++i) mean += x.get(base + i) / 12;
      for (int64_t i = 0; i < 12; ++i) var += (x.get(base + i) - mean) * (x.get(base + i) - mean) / 12;
      for (int64_t i = 0; i < 12; ++i) {
        int64_t c = 2 * g + i / 6;
        want.push_back((x.get(base + i) - mean) / std::sqrt(var + 1e-5) * w.get(c) + b.get(c));
      }
    }
  }
  expect_near(y.values(), want, 1e-5);
  // Without affine parameters.
  Tensor y2 = run1(norm(NormKind::kGroup, -1, 6), {&x}, DType::kFloat32, {2, 6, 3, 2});
  double mean = 0, var = 0;
  for (int64_t i = 0; i < 6; ++i) mean += x.get(i) / 6;
  for (int64_t i = 0; i < 6; ++i) var += (x.get(i) - mean) * (x.get(i) - mean) / 6;
  EXPECT_NEAR(y2.get(0), (x.get(0) - mean) / std::sqrt(var + 1e-5), 1e-5);
}

TEST(CpuNorm, BatchNormInference) {
  Tensor x = f32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor w = f32({2}, {2, 1}), b = f32({2}, {1, -1}), mean = f32({2}, {1, 4}), var = f32({2}, {4, 0.25});
  Tensor y = run1(norm(NormKind::kBatch, -1, 1, 0.0), {&x, &w, &b, &mean, &var}, DType::kFloat32, {2, 2, 2});
  // Channel 0: (x - 1) / 2 * 2 + 1 = x; channel 1: (x - 4) / 0.5 - 1 = 2x - 9.
  expect_near(y.values(), {1, 2, -3, -1, 5, 6, 5, 7}, 1e-6);
  Tensor xh = as(x, DType::kBFloat16);
  Tensor yh = run1(norm(NormKind::kBatch, -1, 1, 0.0), {&xh, &w, &b, &mean, &var}, DType::kBFloat16, {2, 2, 2});
  expect_exact(yh.values(), rounded(y.values(), DType::kBFloat16));
}

TEST(CpuNorm, RejectsMisshapedParameters) {
  Tensor x = f32({1, 4}, {1, 2, 3, 4}), w = f32({3}, {1, 1, 1});
  EXPECT_FALSE(run_status(norm(NormKind::kLayer, 1), {&x, &w}, DType::kFloat32, {1, 4}).is_ok());
  Tensor xi = make(DType::kInt32, {1, 4}, {1, 2, 3, 4});
  EXPECT_FALSE(run_status(norm(NormKind::kLayer, 1), {&xi}, DType::kInt32, {1, 4}).is_ok());
}

}  // namespace
}  // namespace ingot::kernels::cpu::testing
