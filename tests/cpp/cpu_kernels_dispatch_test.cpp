// CPU kernels: run_layer's checks. Bad tensors give an error Status, never a crash.
#include "cpu_kernels_util.h"
#include "net/layers.h"

namespace ingot::kernels::cpu::testing {
namespace {

net::ElementwiseParams add() { return net::ElementwiseParams{}; }

TEST(CpuDispatch, ChecksInputCount) {
  Tensor a = f32({2}, {1, 2});
  Status s = run_status(add(), {&a}, DType::kFloat32, {2});
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(run_status(add(), {&a, &a, &a}, DType::kFloat32, {2}).is_ok());
  // A required input that is absent.
  EXPECT_FALSE(run_status(add(), {&a, nullptr}, DType::kFloat32, {2}).is_ok());
}

TEST(CpuDispatch, ChecksOutputCountDtypeAndDims) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<TensorView> in{a.view(), a.view()};
  Tensor out = empty(DType::kFloat32, {2, 3}), extra = empty(DType::kFloat32, {2, 3});
  EXPECT_TRUE(run_layer(add(), in, {out.view()}).is_ok());
  EXPECT_FALSE(run_layer(add(), in, {}).is_ok());
  EXPECT_FALSE(run_layer(add(), in, {out.view(), extra.view()}).is_ok());
  Tensor wrong_dtype = empty(DType::kFloat16, {2, 3});
  Status s = run_layer(add(), in, {wrong_dtype.view()});
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("f32[2, 3]"), std::string::npos) << s.message();
  Tensor wrong_rank = empty(DType::kFloat32, {6});
  EXPECT_FALSE(run_layer(add(), in, {wrong_rank.view()}).is_ok());
  Tensor wrong_dim = empty(DType::kFloat32, {2, 4});
  EXPECT_FALSE(run_layer(add(), in, {wrong_dim.view()}).is_ok());
  TensorView no_data{nullptr, DType::kFloat32, {2, 3}};
  EXPECT_FALSE(run_layer(add(), in, {no_data}).is_ok());
  TensorView negative{a.data(), DType::kFloat32, {-1, 3}};
  EXPECT_FALSE(run_layer(add(), {negative, a.view()}, {out.view()}).is_ok());
}

TEST(CpuDispatch, OptionalInputsMayBeAbsentOrOmitted) {
  Tensor x = f32({1, 1, 2}, {1, 2}), w = f32({1, 1, 1}, {3});
  net::ConvolutionParams p;
  p.stride = {1};
  p.padding = {0};
  p.dilation = {1};
  p.output_padding = {0};
  expect_exact(run1(p, {&x, &w}, DType::kFloat32, {1, 1, 2}).values(), {3, 6});
  expect_exact(run1(p, {&x, &w, nullptr}, DType::kFloat32, {1, 1, 2}).values(), {3, 6});
}

TEST(CpuDispatch, RejectsNonEngineDtypes) {
  Tensor a = f32({1}, {1});
  TensorView f64{a.data(), DType::kFloat64, {1}};
  Tensor out = empty(DType::kFloat32, {1});
  EXPECT_FALSE(run_layer(net::IdentityParams{}, {f64}, {out.view()}).is_ok());
}

TEST(CpuDispatch, EveryLayerKindRuns) {
  // One smoke run per kind through run_layer, so that a kind missing from the dispatch fails.
  Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor w = f32({1, 1, 1, 1}, {2});
  net::ConvolutionParams conv;
  conv.stride = conv.dilation = {1, 1};
  conv.padding = conv.output_padding = {0, 0};
  expect_exact(run1(conv, {&x, &w}, DType::kFloat32, {1, 1, 2, 2}).values(), {2, 4, 6, 8});
  expect_exact(run1(net::MatMulParams{}, {&x, &x}, DType::kFloat32, {1, 1, 2, 2}).values(), {7, 10, 15, 22});
  expect_exact(run1(net::ElementwiseParams{}, {&x, &x}, DType::kFloat32, {1, 1, 2, 2}).values(), {2, 4, 6, 8});
  net::UnaryParams neg;
  neg.op = net::UnaryOp::kNeg;
  expect_exact(run1(neg, {&x}, DType::kFloat32, {1, 1, 2, 2}).values(), {-1, -2, -3, -4});
  Tensor c = make(DType::kBool, {2}, {1, 0});
  expect_exact(run1(net::SelectParams{}, {&c, &x, &w}, DType::kFloat32, {1, 1, 2, 2}).values(), {1, 2, 3, 2});
  net::ReduceParams sum;
  sum.axes = {3};
  expect_exact(run1(sum, {&x}, DType::kFloat32, {1, 1, 2}).values(), {3, 7});
  net::SoftmaxParams sm;
  EXPECT_NEAR(run1(sm, {&x}, DType::kFloat32, {1, 1, 2, 2}).get(0), 1.0 / (1.0 + std::exp(1.0)), 1e-6);
  net::NormalizationParams ln;
  ln.axis = 3;
  ln.eps = 0.0;
  expect_near(run1(ln, {&x}, DType::kFloat32, {1, 1, 2, 2}).values(), {-1, 1, -1, 1});
  net::ReshapeParams rs;
  rs.shape = ir::shape_of({4});
  expect_exact(run1(rs, {&x}, DType::kFloat32, {4}).values(), {1, 2, 3, 4});
  net::PermuteParams pm;
  pm.perm = {0, 1, 3, 2};
  expect_exact(run1(pm, {&x}, DType::kFloat32, {1, 1, 2, 2}).values(), {1, 3, 2, 4});
  net::ExpandParams ex;
  ex.shape = ir::shape_of({2, 1, 2, 2});
  expect_exact(run1(ex, {&x}, DType::kFloat32, {2, 1, 2, 2}).values(), {1, 2, 3, 4, 1, 2, 3, 4});
  net::ConcatParams cc;
  cc.axis = 3;
  expect_exact(run1(cc, {&x, &x}, DType::kFloat32, {1, 1, 2, 4}).values(), {1, 2, 1, 2, 3, 4, 3, 4});
  net::SliceParams sl;
  sl.axes = {2};
  sl.starts = {ir::SymExpr(1)};
  sl.ends = {ir::SymExpr(2)};
  sl.steps = {1};
  expect_exact(run1(sl, {&x}, DType::kFloat32, {1, 1, 1, 2}).values(), {3, 4});
  net::GatherParams ga;
  ga.axis = 3;
  Tensor idx = make(DType::kInt32, {1}, {-1});
  expect_exact(run1(ga, {&x, &idx}, DType::kFloat32, {1, 1, 2, 1}).values(), {2, 4});
  net::PoolingParams mp;
  mp.kernel = {2, 2};
  mp.stride = {2, 2};
  mp.padding = {0, 0};
  mp.dilation = {1, 1};
  expect_exact(run1(mp, {&x}, DType::kFloat32, {1, 1, 1, 1}).values(), {4});
  net::CastParams ca;
  ca.to = DType::kInt32;
  EXPECT_EQ(run1(ca, {&x}, DType::kInt32, {1, 1, 2, 2}).ints(), (std::vector<int64_t>{1, 2, 3, 4}));
  net::AttentionParams at;
  Tensor q = f32({1, 2}, {1, 1}), k = f32({1, 2}, {0, 0}), v = f32({1, 1}, {5});
  expect_exact(run1(at, {&q, &k, &v}, DType::kFloat32, {1, 1}).values(), {5});
  net::FillParams fi;
  fi.shape = ir::shape_of({2});
  fi.value = 1.5;
  expect_exact(run1(fi, {}, DType::kFloat32, {2}).values(), {1.5, 1.5});
  expect_exact(run1(net::IdentityParams{}, {&x}, DType::kFloat32, {1, 1, 2, 2}).values(), {1, 2, 3, 4});
  net::IotaParams io;
  io.size = ir::SymExpr(3);
  EXPECT_EQ(run1(io, {}, DType::kInt64, {3}).ints(), (std::vector<int64_t>{0, 1, 2}));
}

}  // namespace
}  // namespace ingot::kernels::cpu::testing
