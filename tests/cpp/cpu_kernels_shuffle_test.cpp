// CPU kernels: reshape, permute, expand, concat, slice, gather, identity, fill, iota.
#include <limits>

#include "cpu_kernels_util.h"
#include "net/layers.h"

namespace ingot::kernels::cpu::testing {
namespace {

using ir::SymExpr;

std::vector<double> iota(int64_t n, double start = 0.0) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + static_cast<double>(i);
  return v;
}

ir::Shape shape(const Dims& d) { return ir::shape_of(d); }

const DType kAllDtypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt8,
                            DType::kUInt8,   DType::kInt32,   DType::kInt64,    DType::kBool};

TEST(CpuShuffle, ReshapeAndIdentityCopy) {
  for (DType dt : kAllDtypes) {
    Tensor x = make(dt, {2, 3}, {1, 0, 1, 1, 0, 0});
    net::ReshapeParams r;
    r.shape = shape({3, 1, 2});
    expect_exact(run1(r, {&x}, dt, {3, 1, 2}).values(), {1, 0, 1, 1, 0, 0});
    expect_exact(run1(net::IdentityParams{}, {&x}, dt, {2, 3}).values(), {1, 0, 1, 1, 0, 0});
  }
  Tensor x = f32({2, 3}, iota(6));
  net::ReshapeParams bad;
  bad.shape = shape({4});
  EXPECT_FALSE(run_status(bad, {&x}, DType::kFloat32, {4}).is_ok());
}

TEST(CpuShuffle, ReshapeWithASymbolTakesTheOutputDim) {
  Tensor x = f32({2, 6}, iota(12));
  net::ReshapeParams r;
  r.shape = {SymExpr::symbol("s0"), SymExpr(4)};
  expect_exact(run1(r, {&x}, DType::kFloat32, {3, 4}).values(), iota(12));
  // The symbol's value must agree with the element count.
  EXPECT_FALSE(run_status(r, {&x}, DType::kFloat32, {2, 4}).is_ok());
}

TEST(CpuShuffle, Permute) {
  // x[i][j][k] = 100i + 10j + k over [2, 3, 4]; perm (2, 0, 1): y[k][i][j] = x[i][j][k].
  std::vector<double> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) v.push_back(100 * i + 10 * j + k);
  net::PermuteParams p;
  p.perm = {2, 0, 1};
  for (DType dt : {DType::kFloat32, DType::kInt64, DType::kUInt8}) {
    Tensor x = make(dt, {2, 3, 4}, v);
    Tensor y = run1(p, {&x}, dt, {4, 2, 3});
    std::vector<double> want;
    for (int k = 0; k < 4; ++k)
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) want.push_back(100 * i + 10 * j + k);
    expect_exact(y.values(), want);
  }
  Tensor h = make(DType::kFloat16, {2, 2}, {1, 2, 3, 4});
  net::PermuteParams t;
  t.perm = {1, 0};
  expect_exact(run1(t, {&h}, DType::kFloat16, {2, 2}).values(), {1, 3, 2, 4});
  Tensor e = empty(DType::kFloat32, {0, 3});
  EXPECT_EQ(run1(t, {&e}, DType::kFloat32, {3, 0}).numel(), 0);
}

TEST(CpuShuffle, Expand) {
  Tensor x = make(DType::kInt8, {3, 1}, {1, 2, 3});
  net::ExpandParams p;
  p.shape = shape({2, 3, 2});
  EXPECT_EQ(run1(p, {&x}, DType::kInt8, {2, 3, 2}).ints(), (std::vector<int64_t>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
  Tensor s = f32({}, {7});
  net::ExpandParams q;
  q.shape = shape({2, 2});
  expect_exact(run1(q, {&s}, DType::kFloat32, {2, 2}).values(), {7, 7, 7, 7});
  net::ExpandParams wide;
  wide.shape = shape({3, 4});
  EXPECT_EQ(run1(wide, {&x}, DType::kInt8, {3, 4}).ints(), (std::vector<int64_t>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
  Tensor y = f32({2}, {1, 2});
  EXPECT_FALSE(run_status(wide, {&y}, DType::kFloat32, {3, 4}).is_ok());  // 2 does not broadcast to 4
}

TEST(CpuShuffle, Concat) {
  Tensor a = f32({2, 1, 2}, {1, 2, 3, 4}), b = f32({2, 2, 2}, {5, 6, 7, 8, 9, 10, 11, 12});
  Tensor e = empty(DType::kFloat32, {2, 0, 2});
  net::ConcatParams p;
  p.axis = 1;
  expect_exact(run1(p, {&a, &e, &b}, DType::kFloat32, {2, 3, 2}).values(), {1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12});
  p.axis = 0;
  Tensor c = make(DType::kInt64, {1, 2}, {1, 2}), d = make(DType::kInt64, {2, 2}, {3, 4, 5, 6});
  EXPECT_EQ(run1(p, {&c, &d}, DType::kInt64, {3, 2}).ints(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  p.axis = 1;
  EXPECT_FALSE(run_status(p, {&c, &a}, DType::kInt64, {1, 3}).is_ok());  // dtype and rank mismatch
}

TEST(CpuShuffle, Slice) {
  // x = 0..23 over [4, 6]; rows 1..4 step 2, columns 0..6 step 3 -> rows 1, 3; columns 0, 3.
  Tensor x = make(DType::kInt32, {4, 6}, iota(24));
  net::SliceParams p;
  p.axes = {0, 1};
  p.starts = {SymExpr(1), SymExpr(0)};
  p.ends = {SymExpr(4), SymExpr(6)};
  p.steps = {2, 3};
  EXPECT_EQ(run1(p, {&x}, DType::kInt32, {2, 2}).ints(), (std::vector<int64_t>{6, 9, 18, 21}));
  net::SliceParams q;
  q.axes = {1};
  q.starts = {SymExpr(4)};
  q.ends = {SymExpr(6)};
  q.steps = {1};
  EXPECT_EQ(run1(q, {&x}, DType::kInt32, {4, 2}).ints(), (std::vector<int64_t>{4, 5, 10, 11, 16, 17, 22, 23}));
  net::SliceParams empty_slice = q;
  empty_slice.starts = {SymExpr(6)};
  EXPECT_EQ(run1(empty_slice, {&x}, DType::kInt32, {4, 0}).numel(), 0);
  // Symbolic bounds must be resolved by the caller.
  net::SliceParams sym = q;
  sym.ends = {SymExpr::symbol("s0")};
  Status s = run_status(sym, {&x}, DType::kInt32, {4, 2});
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("symbolic"), std::string::npos) << s.message();
}

TEST(CpuShuffle, GatherWithNegativeIndices) {
  Tensor data = f32({2, 3, 2}, iota(12));
  net::GatherParams p;
  p.axis = 1;
  Tensor idx = make(DType::kInt64, {2, 2}, {2, -3, -1, 0});
  // out[i][a][b][k] = data[i][wrap(idx[a][b])][k], with -3 -> 0 and -1 -> 2.
  Tensor y = run1(p, {&data, &idx}, DType::kFloat32, {2, 2, 2, 2});
  expect_exact(y.values(), {4, 5, 0, 1, 4, 5, 0, 1, 10, 11, 6, 7, 10, 11, 6, 7});
  p.axis = 0;
  Tensor i32 = make(DType::kInt32, {}, {-1});
  expect_exact(run1(p, {&data, &i32}, DType::kFloat32, {3, 2}).values(), {6, 7, 8, 9, 10, 11});
  Tensor none = empty(DType::kInt64, {0});
  EXPECT_EQ(run1(p, {&data, &none}, DType::kFloat32, {0, 3, 2}).numel(), 0);
  Tensor bi = make(DType::kBool, {3}, {1, 0, 1});
  Tensor bidx = make(DType::kInt64, {2}, {1, 1});
  EXPECT_EQ(run1(p, {&bi, &bidx}, DType::kBool, {2}).ints(), (std::vector<int64_t>{0, 0}));
}

TEST(CpuShuffle, GatherOutOfRangeNamesTheIndex) {
  Tensor data = f32({2, 3}, iota(6));
  net::GatherParams p;
  p.axis = 1;
  for (int64_t bad : {3, -4, 1000}) {
    Tensor idx = make(DType::kInt64, {2}, {0, static_cast<double>(bad)});
    Status s = run_status(p, {&data, &idx}, DType::kFloat32, {2, 2});
    EXPECT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("index " + std::to_string(bad)), std::string::npos) << s.message();
  }
  Tensor fidx = f32({1}, {0});
  EXPECT_FALSE(run_status(p, {&data, &fidx}, DType::kFloat32, {2, 1}).is_ok());  // indices must be integers
}

TEST(CpuShuffle, Fill) {
  net::FillParams p;
  p.shape = shape({2, 2});
  p.value = -2.75;
  for (DType dt : kAllDtypes) {
    p.dtype = dt;
    Tensor y = run1(p, {}, dt, {2, 2});
    double want = dt == DType::kBool ? 1.0 : ir::is_floating(dt) ? -2.75 : dt == DType::kUInt8 ? 254.0 : -2.0;
    expect_exact(y.values(), std::vector<double>(4, want), ir::dtype_name(dt).data());
  }
  p.dtype = DType::kFloat16;
  p.value = 1.0 / 3;
  EXPECT_EQ(run1(p, {}, DType::kFloat16, {2, 2}).get(0), static_cast<float>(Half(1.0f / 3)));
  p.shape = {SymExpr::symbol("n")};
  p.dtype = DType::kInt32;
  p.value = 5;
  EXPECT_EQ(run1(p, {}, DType::kInt32, {3}).ints(), (std::vector<int64_t>{5, 5, 5}));
}

TEST(CpuShuffle, Iota) {
  net::IotaParams p;
  p.size = SymExpr(4);
  p.start = -3;
  p.step = 2;
  p.dtype = DType::kInt64;
  EXPECT_EQ(run1(p, {}, DType::kInt64, {4}).ints(), (std::vector<int64_t>{-3, -1, 1, 3}));
  p.dtype = DType::kFloat32;
  p.start = 0.5;
  p.step = 0.25;
  expect_exact(run1(p, {}, DType::kFloat32, {4}).values(), {0.5, 0.75, 1.0, 1.25});
  // As torch.arange(0.5, 5, 1.5, dtype=int64) over 5 elements: start and step become 0 and 1.
  p.dtype = DType::kInt64;
  p.size = SymExpr(5);
  p.step = 1.5;
  EXPECT_EQ(run1(p, {}, DType::kInt64, {5}).ints(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  p.size = SymExpr::symbol("s1");
  p.start = 10;
  p.step = 1;
  p.dtype = DType::kInt32;
  EXPECT_EQ(run1(p, {}, DType::kInt32, {3}).ints(), (std::vector<int64_t>{10, 11, 12}));
}

}  // namespace
}  // namespace ingot::kernels::cpu::testing
