// Pointwise programs as generated CUDA kernels (runtime/cuda/pointwise_kernel.h).
// NVRTC compiles every op's code on any machine with the CUDA toolkit, GPU or not; on a GPU the
// kernels run against the CPU reference (kernels/cpu/pointwise.cpp) through run_case().
#include <gtest/gtest.h>

#include "net/pointwise.h"
#include "runtime/cuda/pointwise_kernel.h"
#include "test_util.h"

namespace ingot::kernels::cuda::testing {
namespace {

using net::BinaryOp;
using net::PointwiseOp;
using net::PointwiseStep;
using net::UnaryOp;

int step(net::PointwiseParams& p, PointwiseStep kind, int64_t op, DType t, int x = -1, int y = -1, int z = -1,
         double alpha = 0.0, double beta = 0.0) {
  PointwiseOp s;
  s.kind = kind, s.op = op, s.dtype = t, s.x = x, s.y = y, s.z = z, s.alpha = alpha, s.beta = beta;
  return net::append_pointwise_step(p, s);
}

// Every op a program may hold, on inputs x (f32), h (f16), b (bf16) and m (bool), summed into
// one f16 output: the programs the fusion pass can make, in one kernel.
net::PointwiseParams every_op() {
  net::PointwiseParams p;
  p.shape = ir::shape_of({4, 64});
  const int x = step(p, PointwiseStep::kInput, 0, DType::kFloat32);
  const int h = step(p, PointwiseStep::kCast, static_cast<int64_t>(DType::kFloat32), DType::kFloat32,
                     step(p, PointwiseStep::kInput, 1, DType::kFloat16));
  (void)h;
  const int m = step(p, PointwiseStep::kInput, 3, DType::kBool);
  step(p, PointwiseStep::kInput, 2, DType::kBFloat16);
  int sum = step(p, PointwiseStep::kConstant, 0, DType::kFloat32);
  for (int op = 0; op < static_cast<int>(UnaryOp::kCount); ++op) {
    const auto u = static_cast<UnaryOp>(op);
    if (!net::pointwise_unary_ok(u, DType::kFloat32)) continue;
    const DType t = net::unary_result_is_bool(u) ? DType::kBool : DType::kFloat32;
    int v = step(p, PointwiseStep::kUnary, op, t, x, -1, -1, u == UnaryOp::kClamp ? -1.0 : 0.5, 2.0);
    if (t == DType::kBool) v = step(p, PointwiseStep::kCast, static_cast<int64_t>(DType::kFloat32), DType::kFloat32, v);
    sum = step(p, PointwiseStep::kBinary, static_cast<int64_t>(BinaryOp::kAdd), DType::kFloat32, sum, v);
  }
  for (int op = 0; op < static_cast<int>(BinaryOp::kCount); ++op) {
    const auto o = static_cast<BinaryOp>(op);
    if (!net::pointwise_binary_ok(o, DType::kFloat32)) continue;
    const DType t = net::is_comparison(o) ? DType::kBool : DType::kFloat32;
    int v = step(p, PointwiseStep::kBinary, op, t, x, sum);
    if (t == DType::kBool) v = step(p, PointwiseStep::kSelect, 0, DType::kFloat32, v, x, sum);
    sum = step(p, PointwiseStep::kBinary, static_cast<int64_t>(BinaryOp::kAdd), DType::kFloat32, sum, v);
  }
  const int not_m = step(p, PointwiseStep::kUnary, static_cast<int64_t>(UnaryOp::kLogicalNot), DType::kBool, m);
  const int both = step(p, PointwiseStep::kBinary, static_cast<int64_t>(BinaryOp::kLogicalXor), DType::kBool, m, not_m);
  sum = step(p, PointwiseStep::kSelect, 0, DType::kFloat32, both, sum, x);
  const int rounded = step(p, PointwiseStep::kCast, static_cast<int64_t>(DType::kBFloat16), DType::kBFloat16,
                           step(p, PointwiseStep::kCast, static_cast<int64_t>(DType::kBFloat16), DType::kBFloat16, sum));
  step(p, PointwiseStep::kCast, static_cast<int64_t>(DType::kFloat16), DType::kFloat16, rounded);
  return p;
}

TEST(PointwiseKernel, EveryOpCompilesWithNvrtc) {
  const net::PointwiseParams p = every_op();
  auto source = runtime::cuda::pointwise_kernel_source(
      p, {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kBool}, DType::kFloat16, "every_op");
  ASSERT_TRUE(source.has_value()) << source.status().message();
  auto cubin = runtime::cuda::compile_pointwise_kernel(*source, "every_op", 90);
  ASSERT_TRUE(cubin.has_value()) << cubin.status().message() << "\n" << *source;
  EXPECT_GT(cubin->size(), 1000u);
}

TEST(PointwiseKernel, AMalformedProgramIsAnErrorNotASource) {
  net::PointwiseParams p;
  p.shape = ir::shape_of({4});
  step(p, PointwiseStep::kBinary, static_cast<int64_t>(BinaryOp::kAdd), DType::kFloat32, 0, 0);  // reads itself
  auto source = runtime::cuda::pointwise_kernel_source(p, {}, DType::kFloat32, "bad");
  ASSERT_FALSE(source.has_value());
  EXPECT_NE(source.status().message().find("step 0"), std::string::npos) << source.status().message();
}

Case pointwise_case(std::string name, net::PointwiseParams p, std::vector<InputSpec> inputs) {
  Case c = make_case(std::move(name), p, std::move(inputs));
  c.launcher = [p](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t s, void*) {
    return runtime::cuda::launch_pointwise(p, in, out, s);
  };
  return c;
}

// GPT-2's gelu_new on a [2, 5, 48] f16 tensor plus a broadcast [48] bias first.
net::PointwiseParams gelu_new() {
  net::PointwiseParams p;
  p.shape = ir::shape_of({2, 5, 48});
  const DType f = DType::kFloat16;
  auto c = [&](double v) { return step(p, PointwiseStep::kConstant, 0, f, -1, -1, -1, v); };
  auto bin = [&](BinaryOp op, int a, int b) { return step(p, PointwiseStep::kBinary, static_cast<int64_t>(op), f, a, b); };
  const int x = bin(BinaryOp::kAdd, step(p, PointwiseStep::kInput, 0, f), step(p, PointwiseStep::kInput, 1, f));
  const int inner = bin(BinaryOp::kAdd, x, bin(BinaryOp::kMul, bin(BinaryOp::kMul, bin(BinaryOp::kMul, x, x), x), c(0.044715)));
  const int t = step(p, PointwiseStep::kUnary, static_cast<int64_t>(UnaryOp::kTanh), f,
                     bin(BinaryOp::kMul, inner, c(0.7978845608)));
  bin(BinaryOp::kMul, bin(BinaryOp::kMul, x, c(0.5)), bin(BinaryOp::kAdd, t, c(1.0)));
  return p;
}

class PointwiseKernelGpu : public ::testing::TestWithParam<Case> {};

TEST_P(PointwiseKernelGpu, MatchesTheCpuReference) {
  INGOT_SKIP_WITHOUT_GPU();
  run_case(GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Programs, PointwiseKernelGpu,
    ::testing::Values(
        with_tol(pointwise_case("gelu_new_f16", gelu_new(),
                                {in(DType::kFloat16, {2, 5, 48}), in(DType::kFloat16, {48})}), 1e-5, 1e-6),
        with_tol(pointwise_case("every_op", every_op(),
                                {in(DType::kFloat32, {4, 64}, uniform(-0.9, 0.9)), in(DType::kFloat16, {4, 1}),
                                 in(DType::kBFloat16, {64}), in(DType::kBool, {1, 64})}), 1e-5, 1e-2)),
    CaseName());

}  // namespace
}  // namespace ingot::kernels::cuda::testing
