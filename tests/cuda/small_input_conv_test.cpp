// The small-input (image stem) channels-last convolution kernel (kernels/cuda/small_input_conv.cuh)
// against the CPU reference convolution: one row per case, as kernels_test.cpp. Rows cover
// EfficientNet's and ResNet's stems (3 channels, 3x3 stride 2 and 7x7 stride 2 with padding),
// 1, 2 and 4 channels, dilation, asymmetric kernels and strides, a partial group of 8 outputs,
// a partial run of 4 pixels at the row's end, misaligned pointers (scalar stores), the fused
// bias, residual and activations, and enough rows to walk the grid more than once; then what
// it must refuse.
#include "test_util.h"

namespace ingot::kernels::cuda::testing {

namespace {

using namespace net;  // NOLINT(google-build-using-namespace): parameter structs and enums

constexpr DType F32 = DType::kFloat32, F16 = DType::kFloat16, BF16 = DType::kBFloat16;

class SmallInputConvTest : public ::testing::TestWithParam<Case> {};

TEST_P(SmallInputConvTest, MatchesCpuReference) {
  INGOT_SKIP_WITHOUT_GPU();
  run_case(GetParam());
}

struct Stem {
  Dims x;                  // [N, H, W, C]
  int64_t m = 32;          // output channels
  Dims k = {3, 3};         // kernel
  Dims stride = {2, 2}, pad = {1, 1}, dil = {1, 1};
  bool bias = true, residual = false;
  UnaryOp act = UnaryOp::kSilu;
  int misalign = 0;  // of x, the residual and y
};

int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

// Inputs in [-1, 1]: sums of up to 64 products stay small, so half-precision outputs differ from
// the reference by a few units of the last place.
Case stem_case(std::string name, DType t, const Stem& d) {
  ConvolutionParams p;
  p.stride = d.stride;
  p.padding = d.pad;
  p.dilation = d.dil;
  p.output_padding = {0, 0};
  p.groups = 1;
  p.channels_last = true;
  p.activation = d.act;
  const Dist u = uniform(-1.0, 1.0);
  const Dims y{d.x[0], out_dim(d.x[1], d.k[0], d.stride[0], d.pad[0], d.dil[0]),
               out_dim(d.x[2], d.k[1], d.stride[1], d.pad[1], d.dil[1]), d.m};
  std::vector<InputSpec> inputs{misaligned(in(t, d.x, u), d.misalign), in(t, {d.m, d.k[0], d.k[1], d.x[3]}, u)};
  inputs.push_back(d.bias ? in(t, {d.m}, u) : absent());
  if (d.residual) inputs.push_back(misaligned(in(t, y, u), d.misalign));
  Case c = make_case(std::move(name), p, std::move(inputs));
  c.out_misalign = d.misalign;
  const double atol = t == F32 ? 1e-5 : t == F16 ? 8e-3 : 6e-2;
  return with_tol(std::move(c), 1e-5, atol);
}

std::vector<Case> stem_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, DType t, Stem d) { v.push_back(stem_case(std::move(name), t, d)); };
  // EfficientNet-B0's stem on a small image (3 -> 32, 3x3 / 2, SiLU); odd sizes leave a partial
  // last run of 4 output pixels and a bottom / right edge without padding.
  add("effnet_stem_f16", F16, {.x = {2, 17, 23, 3}});
  add("effnet_stem_bf16", BF16, {.x = {1, 16, 16, 3}});
  add("effnet_stem_f32", F32, {.x = {1, 15, 9, 3}});
  // ResNet's stem: 7x7 / 2, padding 3, 3 -> 64 (147 weights would be too many: 7x7 on 1 channel).
  add("resnet_like_7x7_one_channel_relu", F16, {.x = {1, 20, 21, 1}, .m = 64, .k = {7, 7}, .pad = {3, 3}, .act = UnaryOp::kRelu});
  // Other channel counts, kernels, strides, dilations.
  add("two_channels_5x5_stride1", F16, {.x = {1, 9, 10, 2}, .m = 16, .k = {5, 5}, .stride = {1, 1}, .pad = {2, 2}});
  add("four_channels_3x3_no_padding", BF16, {.x = {2, 8, 11, 4}, .m = 24, .pad = {0, 0}, .act = UnaryOp::kIdentity});
  add("asymmetric_kernel_stride", F32, {.x = {1, 11, 13, 3}, .m = 8, .k = {3, 1}, .stride = {1, 2}, .pad = {1, 0}});
  add("dilated", F16, {.x = {1, 12, 12, 3}, .m = 16, .stride = {1, 1}, .pad = {2, 2}, .dil = {2, 2}});
  add("one_by_one_stride2", F16, {.x = {1, 10, 10, 3}, .m = 16, .k = {1, 1}, .pad = {0, 0}});
  // A partial group of outputs (M = 20, 3: scalar stores), no bias, misaligned pointers.
  add("partial_group_m20", F16, {.x = {1, 7, 9, 3}, .m = 20, .bias = false, .act = UnaryOp::kHardSwish});
  add("f32_m3_sigmoid", F32, {.x = {1, 6, 7, 3}, .m = 3, .act = UnaryOp::kSigmoid});
  add("misaligned_residual", F16, {.x = {1, 9, 10, 3}, .m = 16, .residual = true, .misalign = 1});
  add("residual_gelu", BF16, {.x = {2, 8, 8, 3}, .m = 32, .residual = true, .act = UnaryOp::kGeluErf});
  // Many rows: several runs a thread (the grid-stride loop); an empty batch.
  add("many_rows", F16, {.x = {3, 41, 37, 3}, .m = 32});
  add("empty_batch", F16, {.x = {0, 8, 8, 3}, .m = 16});
  return v;
}

INSTANTIATE_TEST_SUITE_P(SmallInputConv, SmallInputConvTest, ::testing::ValuesIn(stem_cases()), CaseName());

// Convolutions the kernel does not run get an error naming why (the runner then keeps cuDNN).
TEST(SmallInputConv, RefusesWhatItDoesNotRun) {
  ConvolutionParams p;
  p.stride = {2, 2};
  p.dilation = {1, 1};
  p.padding = {1, 1};
  p.output_padding = {0, 0};
  p.groups = 1;
  p.channels_last = true;
  auto t = [](DType dt, Dims d) { return DeviceTensor{nullptr, dt, std::move(d)}; };
  const std::vector<DeviceTensor> ok_in{t(F16, {1, 16, 16, 3}), t(F16, {32, 3, 3, 3}), t(F16, {}), t(F16, {})};
  const std::vector<DeviceTensor> ok_out{t(F16, {1, 8, 8, 32})};
  EXPECT_TRUE(small_input_conv_supported(p, ok_in, ok_out).is_ok()) << small_input_conv_supported(p, ok_in, ok_out).message();

  using Bad = ConvRefusal;
  ConvRefusals r{p, ok_in, ok_out, {}};
  r.with("5 input channels", [&](Bad& b) { b.in[0] = t(F16, {1, 16, 16, 5}); b.in[1] = t(F16, {32, 3, 3, 5}); });
  r.with("65 weights an output", [&](Bad& b) { b.in[0] = t(F16, {1, 16, 16, 2}); b.in[1] = t(F16, {32, 5, 7, 2}); b.p.padding = {2, 3}; });
  r.with("two groups", [&](Bad& b) { b.p.groups = 2; });
  r.with("NCHW", [](Bad& b) { b.p.channels_last = false; });
  r.with("transposed", [](Bad& b) { b.p.transposed = true; });
  r.with("1x1 stride 1 (the pointwise kernel's)", [&](Bad& b) {
    b.in[1] = t(F16, {32, 1, 1, 3}); b.p.stride = {1, 1}; b.p.padding = {0, 0}; b.out[0] = t(F16, {1, 16, 16, 32});
  });
  r.with("int8", [&](Bad& b) { for (auto& x : b.in) x.dtype = DType::kInt8; b.out[0].dtype = DType::kInt8; });
  r.with("mixed dtypes", [&](Bad& b) { b.in[1].dtype = F32; });
  r.with("weight channels do not match x", [&](Bad& b) { b.in[1] = t(F16, {32, 3, 3, 2}); });
  r.with("wrong output channels", [&](Bad& b) { b.out[0] = t(F16, {1, 8, 8, 31}); });
  r.with("wrong output size", [&](Bad& b) { b.out[0] = t(F16, {1, 7, 8, 32}); });
  r.with("zero stride", [](Bad& b) { b.p.stride = {0, 2}; });
  void* present = &p;
  r.with("bias of the wrong length", [&](Bad& b) { b.in[2] = DeviceTensor{present, F16, {31}}; });
  r.with("residual of another shape", [&](Bad& b) { b.in[3] = DeviceTensor{present, F16, {1, 8, 7, 32}}; });
  r.with("activation without an epilogue", [](Bad& b) { b.p.activation = UnaryOp::kExp; });
  r.with("no output", [](Bad& b) { b.out.clear(); });
  for (const Bad& b : r.cases) {
    Status s = small_input_conv_supported(b.p, b.in, b.out);
    EXPECT_FALSE(s.is_ok()) << b.what;
    EXPECT_NE(s.message().find("small-input convolution"), std::string::npos) << b.what << ": " << s.message();
  }
}

}  // namespace

}  // namespace ingot::kernels::cuda::testing
