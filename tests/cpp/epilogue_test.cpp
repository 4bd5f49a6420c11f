// Fused epilogues (convolution / matmul + bias + residual + activation) must equal the unfused
// sequence of layers on the CPU reference, which is what the CUDA fusions are checked against.
#include <gtest/gtest.h>

#include <random>

#include "kernels/cpu/kernels.h"
#include "net/network.h"

using namespace ingot;
using kernels::cpu::TensorView;

namespace {

std::vector<float> random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TensorView view(std::vector<float>& v, std::vector<int64_t> dims) { return {v.data(), ir::DType::kFloat32, dims}; }

void expect_fused_equals_unfused(const net::LayerParams& plain, const net::LayerParams& fused, net::UnaryOp act,
                                 std::vector<TensorView> ins, std::vector<int64_t> out_dims, TensorView residual) {
  size_t n = 1;
  for (int64_t d : out_dims) n *= static_cast<size_t>(d);
  std::vector<float> a(n), b(n);
  ASSERT_TRUE(kernels::cpu::run_layer(plain, ins, {view(a, out_dims)}).is_ok());
  ASSERT_TRUE(kernels::cpu::run_layer(net::ElementwiseParams{net::BinaryOp::kAdd}, {view(a, out_dims), residual},
                                      {view(a, out_dims)}).is_ok());
  net::UnaryParams u;
  u.op = act;
  ASSERT_TRUE(kernels::cpu::run_layer(u, {view(a, out_dims)}, {view(a, out_dims)}).is_ok());
  ins.push_back(residual);
  Status s = kernels::cpu::run_layer(fused, ins, {view(b, out_dims)});
  ASSERT_TRUE(s.is_ok()) << s.message();
  for (size_t i = 0; i < n; ++i) EXPECT_FLOAT_EQ(a[i], b[i]) << "element " << i;
}

TEST(FusedEpilogue, ConvolutionBiasResidualRelu) {
  auto x = random(2 * 3 * 5 * 5, 1), w = random(4 * 3 * 3 * 3, 2), bias = random(4, 3), res = random(2 * 4 * 5 * 5, 4);
  net::ConvolutionParams p;
  p.stride = p.dilation = {1, 1};
  p.padding = {1, 1};
  p.output_padding = {0, 0};
  net::ConvolutionParams f = p;
  f.activation = net::UnaryOp::kRelu;
  expect_fused_equals_unfused(p, f, net::UnaryOp::kRelu, {view(x, {2, 3, 5, 5}), view(w, {4, 3, 3, 3}), view(bias, {4})},
                              {2, 4, 5, 5}, view(res, {2, 4, 5, 5}));
}

TEST(FusedEpilogue, MatMulBiasResidualGelu) {
  auto a = random(3 * 4 * 8, 5), b = random(6 * 8, 6), bias = random(6, 7), res = random(3 * 4 * 6, 8);
  net::MatMulParams p;
  p.transpose_b = true;
  net::MatMulParams f = p;
  f.activation = net::UnaryOp::kGeluErf;
  expect_fused_equals_unfused(p, f, net::UnaryOp::kGeluErf, {view(a, {3, 4, 8}), view(b, {6, 8}), view(bias, {6})},
                              {3, 4, 6}, view(res, {3, 4, 6}));
}

TEST(FusedEpilogue, ShapeFunctionChecksResidual) {
  net::MatMulParams p;
  ir::TensorType a{ir::DType::kFloat32, ir::shape_of({2, 3})}, b{ir::DType::kFloat32, ir::shape_of({3, 4})};
  ir::TensorType bad{ir::DType::kFloat32, ir::shape_of({2, 5})};
  auto r = net::infer_types(p, {&a, &b, nullptr, &bad});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.status().message().find("residual"), std::string::npos);
  p.activation = net::UnaryOp::kIsNan;
  EXPECT_FALSE(net::infer_types(p, {&a, &b}).has_value());
}

}  // namespace
