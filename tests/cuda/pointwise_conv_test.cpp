// The pointwise (1x1, few input channels) channels-last convolution kernel
// (kernels/cuda/pointwise_conv.cuh) against the CPU reference convolution: one row per case, as
// kernels_test.cpp. Rows cover both kernels: the tensor-core one (f16 / bf16, K and M multiples
// of 8: every slice count of K, a partial last 32-channel pass, pixels that leave a partial
// 16-pixel tile) and the CUDA-core one (f32, other K or M, misaligned pointers: vector and
// scalar loads of x, a partial group of 8 outputs), the fused bias, residual and activations,
// and pixel counts that walk the grid more than once; then what it must refuse.
#include "test_util.h"

namespace ingot::kernels::cuda::testing {

namespace {

using namespace net;  // NOLINT(google-build-using-namespace): parameter structs and enums

constexpr DType F32 = DType::kFloat32, F16 = DType::kFloat16, BF16 = DType::kBFloat16;

class PointwiseConvTest : public ::testing::TestWithParam<Case> {};

TEST_P(PointwiseConvTest, MatchesCpuReference) {
  INGOT_SKIP_WITHOUT_GPU();
  run_case(GetParam());
}

// One 1x1 convolution: x [N, H, W, K] -> [N, H, W, M]; bias and residual optional.
struct Pw {
  Dims x;
  int64_t m = 8;
  bool bias = false, residual = false;
  UnaryOp act = UnaryOp::kIdentity;
  int misalign = 0;  // of x, the residual and y
};

// Inputs in [-1, 1]: sums of up to 64 products stay small, so half-precision outputs differ from
// the reference by a few units of the last place.
Case pointwise_case(std::string name, DType t, const Pw& d) {
  ConvolutionParams p;
  p.stride = {1, 1};
  p.padding = {0, 0};
  p.dilation = {1, 1};
  p.output_padding = {0, 0};
  p.groups = 1;
  p.channels_last = true;
  p.activation = d.act;
  const Dist u = uniform(-1.0, 1.0);
  const Dims y{d.x[0], d.x[1], d.x[2], d.m};
  std::vector<InputSpec> inputs{misaligned(in(t, d.x, u), d.misalign), in(t, {d.m, 1, 1, d.x[3]}, u)};
  inputs.push_back(d.bias ? in(t, {d.m}, u) : absent());
  if (d.residual) inputs.push_back(misaligned(in(t, y, u), d.misalign));
  Case c = make_case(std::move(name), p, std::move(inputs));
  c.out_misalign = d.misalign;
  const double atol = t == F32 ? 1e-5 : t == F16 ? 8e-3 : 6e-2;
  return with_tol(std::move(c), 1e-5, atol);
}

std::vector<Case> pointwise_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, DType t, Pw d) { v.push_back(pointwise_case(std::move(name), t, d)); };
  // EfficientNet's expand convolutions (K 16, 24, 40 -> 6K, SiLU) on small images.
  add("expand_f16_k16_m96_silu", F16, {.x = {2, 9, 11, 16}, .m = 96, .bias = true, .act = UnaryOp::kSilu});
  add("expand_f16_k24_m144_silu", F16, {.x = {1, 7, 13, 24}, .m = 144, .bias = true, .act = UnaryOp::kSilu});
  add("expand_f32_k40_m240_silu", F32, {.x = {1, 5, 9, 40}, .m = 240, .bias = true, .act = UnaryOp::kSilu});
  add("expand_bf16_k16_m96", BF16, {.x = {2, 6, 6, 16}, .m = 96, .bias = true});
  // The largest K, a partial last group of outputs (M = 20, 3), scalar loads of x (K = 12, 5).
  add("f16_k64_m128", F16, {.x = {1, 4, 9, 64}, .m = 128, .bias = true});
  add("bf16_k8_m20_partial_group", BF16, {.x = {1, 5, 7, 8}, .m = 20, .bias = true, .act = UnaryOp::kRelu});
  add("f16_k12_scalar_x", F16, {.x = {2, 3, 5, 12}, .m = 32});
  add("f32_k5_m3_scalar", F32, {.x = {1, 7, 3, 5}, .m = 3, .bias = true, .act = UnaryOp::kSigmoid});
  // Misaligned pointers: scalar loads and stores; the residual.
  add("f16_misaligned_residual", F16, {.x = {1, 5, 6, 16}, .m = 48, .bias = true, .residual = true, .misalign = 1});
  add("f32_misaligned2_residual", F32, {.x = {1, 4, 6, 8}, .m = 16, .residual = true, .misalign = 2});
  add("f16_residual_silu", F16, {.x = {2, 5, 7, 24}, .m = 40, .bias = true, .residual = true, .act = UnaryOp::kSilu});
  // Many pixels: several runs a thread (the grid-stride loop), one pixel past a run of 4.
  add("f16_many_pixels", F16, {.x = {1, 41, 50, 16}, .m = 96, .bias = true, .act = UnaryOp::kSilu});
  add("f32_hardswish_one_pixel", F32, {.x = {1, 1, 1, 16}, .m = 8, .act = UnaryOp::kHardSwish});
  add("f16_empty_batch", F16, {.x = {0, 5, 5, 16}, .m = 32});
  // Tensor cores: 3 and 4 slices of K with the last one half empty (K = 40, 56), a last pass of
  // 16 channels (M = 240), one 8-channel tile, one pixel, bf16 with a residual.
  add("mma_f16_k40_m240_silu", F16, {.x = {2, 5, 9, 40}, .m = 240, .bias = true, .act = UnaryOp::kSilu});
  add("mma_bf16_k56_m64_residual_gelu", BF16, {.x = {1, 6, 7, 56}, .m = 64, .bias = true, .residual = true, .act = UnaryOp::kGeluErf});
  add("mma_f16_k48_m8_one_pixel", F16, {.x = {1, 1, 1, 48}, .m = 8, .bias = true});
  add("mma_f16_k32_m136_many_tiles", F16, {.x = {3, 17, 19, 32}, .m = 136, .residual = true, .act = UnaryOp::kRelu});
  return v;
}

INSTANTIATE_TEST_SUITE_P(PointwiseConv, PointwiseConvTest, ::testing::ValuesIn(pointwise_cases()), CaseName());

// Convolutions the kernel does not run get an error naming why (the runner then keeps cuDNN or
// cuBLASLt), and launch() refuses those that no kernel of ours runs.
TEST(PointwiseConv, RefusesWhatItDoesNotRun) {
  ConvolutionParams p;
  p.stride = p.dilation = {1, 1};
  p.padding = {0, 0};
  p.output_padding = {0, 0};
  p.groups = 1;
  p.channels_last = true;
  auto t = [](DType dt, Dims d) { return DeviceTensor{nullptr, dt, std::move(d)}; };
  const std::vector<DeviceTensor> ok_in{t(F16, {1, 5, 5, 16}), t(F16, {96, 1, 1, 16}), t(F16, {}), t(F16, {})};
  const std::vector<DeviceTensor> ok_out{t(F16, {1, 5, 5, 96})};
  EXPECT_TRUE(pointwise_conv_supported(p, ok_in, ok_out).is_ok()) << pointwise_conv_supported(p, ok_in, ok_out).message();

  using Bad = ConvRefusal;
  ConvRefusals r{p, ok_in, ok_out, {}};
  r.with("3x3 kernel", [&](Bad& b) { b.in[1] = t(F16, {96, 3, 3, 16}); b.p.padding = {1, 1}; });
  r.with("stride 2", [&](Bad& b) { b.p.stride = {2, 2}; b.out[0] = t(F16, {1, 3, 3, 96}); });
  r.with("padding", [&](Bad& b) { b.p.padding = {1, 1}; b.out[0] = t(F16, {1, 7, 7, 96}); });
  r.with("two groups", [&](Bad& b) { b.p.groups = 2; b.in[1] = t(F16, {96, 1, 1, 8}); });
  r.with("NCHW", [](Bad& b) { b.p.channels_last = false; });
  r.with("transposed", [](Bad& b) { b.p.transposed = true; });
  r.with("65 input channels", [&](Bad& b) { b.in[0] = t(F16, {1, 5, 5, 65}); b.in[1] = t(F16, {96, 1, 1, 65}); });
  r.with("weights over 40 KiB as float", [&](Bad& b) { b.in[0] = t(F16, {1, 5, 5, 64}); b.in[1] = t(F16, {1152, 1, 1, 64}); b.out[0] = t(F16, {1, 5, 5, 1152}); });
  r.with("int8", [&](Bad& b) { for (auto& x : b.in) x.dtype = DType::kInt8; b.out[0].dtype = DType::kInt8; });
  r.with("mixed dtypes", [&](Bad& b) { b.in[1].dtype = F32; });
  r.with("weight inputs do not match x", [&](Bad& b) { b.in[1] = t(F16, {96, 1, 1, 8}); });
  r.with("wrong output channels", [&](Bad& b) { b.out[0] = t(F16, {1, 5, 5, 95}); });
  r.with("wrong output size", [&](Bad& b) { b.out[0] = t(F16, {1, 4, 5, 96}); });
  void* present = &p;
  r.with("bias of the wrong length", [&](Bad& b) { b.in[2] = DeviceTensor{present, F16, {95}}; });
  r.with("residual of another shape", [&](Bad& b) { b.in[3] = DeviceTensor{present, F16, {1, 5, 4, 96}}; });
  r.with("activation without an epilogue", [](Bad& b) { b.p.activation = UnaryOp::kExp; });
  r.with("no output", [](Bad& b) { b.out.clear(); });
  for (const Bad& b : r.cases) {
    Status s = pointwise_conv_supported(b.p, b.in, b.out);
    EXPECT_FALSE(s.is_ok()) << b.what;
    EXPECT_NE(s.message().find("pointwise convolution"), std::string::npos) << b.what << ": " << s.message();
  }

  // launch() refuses them too (the depthwise kernel does not take them either), before any
  // kernel reads the (large enough) buffer.
  expect_launch_refuses(r.cases);
}

}  // namespace

}  // namespace ingot::kernels::cuda::testing
