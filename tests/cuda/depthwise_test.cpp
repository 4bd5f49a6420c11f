// The depthwise channels-last convolution kernel (kernels/cuda/depthwise.cuh) against the CPU
// reference convolution: one row per case, as kernels_test.cpp. Rows cover the compiled-in 3x3
// and 5x5 geometries at stride 1 and 2 (output widths that leave a partial pixel tile), the
// general path (dilation, rectangular and larger kernels, other strides), every vector width
// (channel counts and misaligned pointers), several channel tiles, the fused bias, residual
// and activations, and the three floating dtypes; then what it must refuse.
#include <array>
#include <random>

#include "test_util.h"

namespace ingot::kernels::cuda::testing {

namespace {

using namespace net;  // NOLINT(google-build-using-namespace): parameter structs and enums

constexpr DType F32 = DType::kFloat32, F16 = DType::kFloat16, BF16 = DType::kBFloat16;

class DepthwiseTest : public ::testing::TestWithParam<Case> {};

TEST_P(DepthwiseTest, MatchesCpuReference) {
  INGOT_SKIP_WITHOUT_GPU();
  run_case(GetParam());
}

// One depthwise convolution: x [N, H, W, C], a kh x kw kernel; bias and residual optional.
struct Dw {
  Dims x;
  int64_t kh = 3, kw = 3;
  std::vector<int64_t> stride{1, 1}, pad{1, 1}, dil{1, 1};
  bool bias = false, residual = false;
  UnaryOp act = UnaryOp::kIdentity;
  double alpha = 0.0, beta = 0.0;
  int misalign = 0;  // of x, the residual and y
};

Dims output_dims(const Dw& d) {
  Dims y{d.x[0]};
  const int64_t k[2] = {d.kh, d.kw};
  for (size_t i = 0; i < 2; ++i) {
    y.push_back((d.x[1 + i] + 2 * d.pad[i] - d.dil[i] * (k[i] - 1) - 1) / d.stride[i] + 1);
  }
  y.push_back(d.x[3]);
  return y;
}

// Inputs in [-1, 1], so that sums of up to 49 taps stay small: half-precision outputs then
// differ from the reference (which rounds the convolution before adding the residual) by at
// most a few units of the last place of small values.
Case depthwise_case(std::string name, DType t, const Dw& d) {
  ConvolutionParams p;
  p.stride = d.stride;
  p.padding = d.pad;
  p.dilation = d.dil;
  p.output_padding = {0, 0};
  p.groups = d.x[3];
  p.channels_last = true;
  p.activation = d.act;
  p.act_alpha = d.alpha;
  p.act_beta = d.beta;
  const Dist u = uniform(-1.0, 1.0);
  std::vector<InputSpec> inputs{misaligned(in(t, d.x, u), d.misalign), in(t, {d.x[3], d.kh, d.kw, 1}, u)};
  inputs.push_back(d.bias ? in(t, {d.x[3]}, u) : absent());
  if (d.residual) inputs.push_back(misaligned(in(t, output_dims(d), u), d.misalign));
  Case c = make_case(std::move(name), p, std::move(inputs));
  c.out_misalign = d.misalign;
  const double atol = t == F32 ? 1e-5 : t == F16 ? 4e-3 : 3e-2;
  return with_tol(std::move(c), 1e-5, atol);
}

std::vector<Case> depthwise_cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, DType t, Dw d) { v.push_back(depthwise_case(std::move(name), t, d)); };
  // The compiled-in geometries; widths 9, 6 and 13 leave partial tiles of 4 (stride 1) or 2.
  add("k3s1_f16_c32", F16, {.x = {2, 9, 9, 32}});
  add("k3s2_f16_c24", F16, {.x = {2, 11, 11, 24}, .stride = {2, 2}});
  add("k5s1_f16_c16_odd", F16, {.x = {1, 7, 13, 16}, .kh = 5, .kw = 5, .pad = {2, 2}});
  add("k5s2_f16_c40", F16, {.x = {2, 10, 10, 40}, .kh = 5, .kw = 5, .stride = {2, 2}, .pad = {2, 2}});
  add("k3s1_f32_c12", F32, {.x = {2, 6, 7, 12}});
  add("k5s2_f32_c8_rows_stride1", F32, {.x = {1, 9, 11, 8}, .kh = 5, .kw = 5, .stride = {1, 2}, .pad = {2, 2}});
  add("k3s2_bf16_c16", BF16, {.x = {1, 8, 8, 16}, .stride = {2, 2}, .bias = true});
  add("k3s1_f16_no_pad", F16, {.x = {1, 6, 10, 8}, .pad = {0, 0}});
  add("k3s1_f16_pad2", F16, {.x = {1, 5, 5, 8}, .pad = {2, 2}});
  add("k3s1_f16_1x1_input", F16, {.x = {2, 1, 1, 16}});
  // Vector widths: C = 6 (2 halves), 5 (scalar), 3 (scalar); misaligned pointers fall back.
  add("k3s1_f16_c6", F16, {.x = {2, 5, 9, 6}, .bias = true});
  add("k3s1_f16_c5", F16, {.x = {1, 7, 6, 5}});
  add("k5s2_f32_c3", F32, {.x = {2, 9, 9, 3}, .kh = 5, .kw = 5, .stride = {2, 2}, .pad = {2, 2}});
  add("k3s1_f16_misaligned", F16, {.x = {1, 5, 6, 16}, .bias = true, .residual = true, .misalign = 1});
  add("k3s1_f32_misaligned2", F32, {.x = {1, 5, 6, 8}, .residual = true, .misalign = 2});
  // Several channel tiles (at most 256 channels each), with the bias.
  add("k3s1_f16_c1152_tiles", F16, {.x = {1, 3, 4, 1152}, .bias = true});
  add("k5s1_f16_c257_scalar_tiles", F16, {.x = {1, 3, 3, 257}, .kh = 5, .kw = 5, .pad = {2, 2}, .bias = true});
  // Fused epilogues: bias + residual + activation.
  add("k3s1_f16_bias_residual_silu", F16, {.x = {2, 7, 9, 32}, .bias = true, .residual = true, .act = UnaryOp::kSilu});
  add("k5s2_f32_bias_residual_silu", F32,
      {.x = {2, 9, 9, 8}, .kh = 5, .kw = 5, .stride = {2, 2}, .pad = {2, 2}, .bias = true, .residual = true,
       .act = UnaryOp::kSilu});
  add("k3s1_bf16_bias_residual_silu", BF16, {.x = {1, 6, 6, 24}, .bias = true, .residual = true, .act = UnaryOp::kSilu});
  add("k3s1_f16_relu", F16, {.x = {1, 6, 6, 16}, .bias = true, .act = UnaryOp::kRelu});
  add("k3s2_f16_relu6", F16, {.x = {1, 7, 7, 16}, .stride = {2, 2}, .bias = true, .act = UnaryOp::kClamp, .alpha = 0, .beta = 6});
  add("k3s1_f32_sigmoid", F32, {.x = {1, 5, 5, 4}, .bias = true, .act = UnaryOp::kSigmoid});
  add("k5s1_f16_hardswish", F16, {.x = {1, 6, 6, 8}, .kh = 5, .kw = 5, .pad = {2, 2}, .act = UnaryOp::kHardSwish});
  add("k3s1_f32_gelu", F32, {.x = {1, 5, 6, 4}, .residual = true, .act = UnaryOp::kGeluErf});
  add("k3s1_f16_gelu_tanh", F16, {.x = {1, 5, 6, 8}, .act = UnaryOp::kGeluTanh});
  add("k3s1_f32_leaky", F32, {.x = {1, 4, 4, 2}, .act = UnaryOp::kLeakyRelu, .alpha = 0.1});
  // Larger inputs: many pixel tiles and channel tiles, partial ones at the ends, scalar loads
  // (C = 12, 18) and 4-channel groups (C = 20).
  add("large_k3s1_f16_c40_tiles", F16, {.x = {2, 37, 70, 40}, .bias = true, .residual = true, .act = UnaryOp::kSilu});
  add("large_k5s2_f32_c20_tiles", F32, {.x = {1, 35, 41, 20}, .kh = 5, .kw = 5, .stride = {2, 2}, .pad = {2, 2}, .bias = true});
  add("large_k5s1_bf16_c24_narrow", BF16, {.x = {2, 20, 14, 24}, .kh = 5, .kw = 5, .pad = {2, 2}, .residual = true});
  add("large_k3s2_f16_c12_scalar_loads", F16, {.x = {1, 33, 33, 12}, .stride = {2, 2}, .act = UnaryOp::kRelu});
  add("large_k3s1_f16_c18_scalar", F16, {.x = {1, 17, 35, 18}, .pad = {0, 0}, .bias = true});
  // The general path: dilation, rectangular and large kernels, strides the fast ones lack.
  add("k3s1_f16_dilation2", F16, {.x = {1, 9, 9, 16}, .pad = {2, 2}, .dil = {2, 2}});
  add("k3x5_f32_rect", F32, {.x = {2, 6, 9, 4}, .kh = 3, .kw = 5, .stride = {2, 1}, .pad = {1, 2}});
  add("k7s1_f16_c24", F16, {.x = {1, 9, 9, 24}, .kh = 7, .kw = 7, .pad = {3, 3}, .bias = true});
  add("k3s3_f32", F32, {.x = {1, 10, 10, 4}, .stride = {3, 3}});
  add("k1s1_f16", F16, {.x = {2, 4, 5, 8}, .kh = 1, .kw = 1, .pad = {0, 0}, .bias = true});
  add("k2s2_bf16_dilation_rows", BF16, {.x = {1, 8, 8, 8}, .kh = 2, .kw = 2, .stride = {2, 2}, .pad = {0, 0}, .dil = {2, 1}});
  add("k3s1_f16_empty_batch", F16, {.x = {0, 5, 5, 8}});
  add("k3s1_f16_no_input_rows", F16, {.x = {1, 0, 4, 8}, .pad = {2, 1}, .bias = true});  // the padding alone: bias
  // Random geometries and epilogues.
  std::mt19937 rng(2026);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const UnaryOp acts[] = {UnaryOp::kIdentity, UnaryOp::kRelu, UnaryOp::kSilu, UnaryOp::kSigmoid, UnaryOp::kHardSwish};
  for (int i = 0; i < 24; ++i) {
    Dw d;
    d.kh = pick(1, 5);
    d.kw = pick(0, 3) ? d.kh : pick(1, 5);
    for (int a = 0; a < 2; ++a) {
      d.stride[a] = pick(1, 3);
      d.dil[a] = pick(0, 3) ? 1 : 2;
      d.pad[a] = pick(0, static_cast<int>((a ? d.kw : d.kh) * d.dil[a] / 2));
    }
    const int64_t kh = (d.kh - 1) * d.dil[0] + 1, kw = (d.kw - 1) * d.dil[1] + 1;
    d.x = {pick(1, 2), kh + pick(0, 7), kw + pick(0, 9), std::array<int64_t, 7>{1, 2, 3, 4, 8, 24, 32}[static_cast<size_t>(pick(0, 6))]};
    d.bias = pick(0, 1) == 1;
    d.residual = pick(0, 2) == 0;
    d.act = acts[pick(0, 4)];
    const DType t = std::array<DType, 3>{F32, F16, BF16}[static_cast<size_t>(pick(0, 2))];
    v.push_back(depthwise_case("random_" + std::to_string(i), t, d));
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(Depthwise, DepthwiseTest, ::testing::ValuesIn(depthwise_cases()), CaseName());

// The many-small-blocks kernel (depthwise_direct.cuh) with 1, 2 and 4 pixels a thread, each
// row launched as the runner's "ingot:depthwise-direct<P>" tactic does: both dtypes, 3x3 and
// 5x5 at width stride 1 and 2 (height strides 1-3), output widths that leave partial runs,
// several channel tiles (and a partial one: C = 72 is 9 vectors), padding wider than the
// kernel's reach, empty rows, and the fused bias, residual and activations.
std::vector<Case> depthwise_direct_cases() {
  std::vector<Case> v;
  // Each geometry with 1, 2 and 4 pixels a thread; the weights staged after the wait (and once
  // before it, at 2 pixels); the dense variants (capped registers) at 2 and 4 pixels.
  auto add = [&](const std::string& name, DType t, Dw d) {
    for (int pixels : {1, 2, 4}) {
      for (int mode = 0; mode < 3; ++mode) {
        const bool constant_weights = mode == 1, dense = mode == 2;
        if ((constant_weights && pixels != 2) || (dense && pixels == 1)) continue;
        Case c = depthwise_case(name + "_p" + std::to_string(pixels) + (constant_weights ? "_constw" : dense ? "_dense" : ""),
                                t, d);
        c.launcher = [p = std::get<ConvolutionParams>(c.params), pixels, constant_weights, dense](
                         const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t s,
                         void*) { return launch_depthwise_direct_conv(p, in, out, pixels, constant_weights, s, dense); };
        v.push_back(std::move(c));
      }
    }
  };
  add("k3s1_f16_c32", F16, {.x = {2, 9, 11, 32}});
  add("k3s2_f16_c24", F16, {.x = {2, 11, 13, 24}, .stride = {2, 2}});
  add("k5s1_bf16_c16", BF16, {.x = {1, 7, 13, 16}, .kh = 5, .kw = 5, .pad = {2, 2}});
  add("k5s2_f16_c40", F16, {.x = {2, 10, 10, 40}, .kh = 5, .kw = 5, .stride = {2, 2}, .pad = {2, 2}});
  add("k5_rows_stride3_f16", F16, {.x = {1, 12, 9, 8}, .kh = 5, .kw = 5, .stride = {3, 1}, .pad = {2, 2}});
  add("k3s1_f16_no_pad", F16, {.x = {1, 6, 10, 8}, .pad = {0, 0}});
  add("k3s1_bf16_pad2", BF16, {.x = {1, 5, 5, 8}, .pad = {2, 2}, .bias = true});
  add("k3s1_f16_1x1_input", F16, {.x = {2, 1, 1, 16}, .bias = true});
  add("k3s1_f16_c72_partial_tile", F16, {.x = {1, 4, 6, 72}, .bias = true, .residual = true, .act = UnaryOp::kSilu});
  add("k5s1_f16_c1152_tiles", F16, {.x = {1, 3, 4, 1152}, .kh = 5, .kw = 5, .pad = {2, 2}, .bias = true});
  add("k3s1_bf16_bias_residual_silu", BF16, {.x = {2, 7, 9, 32}, .bias = true, .residual = true, .act = UnaryOp::kSilu});
  add("k5s2_f16_bias_residual_relu6", F16,
      {.x = {2, 9, 9, 16}, .kh = 5, .kw = 5, .stride = {2, 2}, .pad = {2, 2}, .bias = true, .residual = true,
       .act = UnaryOp::kClamp, .alpha = 0, .beta = 6});
  add("k3s1_f16_hardswish", F16, {.x = {1, 6, 6, 8}, .bias = true, .act = UnaryOp::kHardSwish});
  add("large_k3s1_f16_c40", F16, {.x = {2, 37, 70, 40}, .bias = true, .residual = true, .act = UnaryOp::kSilu});
  add("large_k5s1_bf16_c24", BF16, {.x = {2, 20, 14, 24}, .kh = 5, .kw = 5, .pad = {2, 2}, .residual = true});
  add("k3s1_f16_empty_batch", F16, {.x = {0, 5, 5, 8}});
  add("k3s1_f16_no_input_rows", F16, {.x = {1, 0, 4, 8}, .pad = {2, 1}, .bias = true});  // the padding alone: bias
  return v;
}

INSTANTIATE_TEST_SUITE_P(DepthwiseDirect, DepthwiseTest, ::testing::ValuesIn(depthwise_direct_cases()), CaseName());

// The convolution's channel sums (ConvolutionParams::channel_sums: f64 [N, C], y's sums over
// H x W as stored), zeroed and then added as the convolution runner does: by the direct kernel
// as it stores y (P = 1, 2, 4), or by the column-sum launch after another kernel (note 24's
// depthwise kernel here). Blocks whose pixel runs span two or more samples (small images),
// partial channel tiles, several tiles, and an empty image.
std::vector<Case> depthwise_sums_cases() {
  std::vector<Case> v;
  auto zero = [](const DeviceTensor& sums, cudaStream_t s) -> Status {
    if (cudaMemsetAsync(sums.data, 0, static_cast<size_t>(sums.numel()) * sizeof(double), s) != cudaSuccess) {
      return error(ErrorCode::kInternal, "memset failed");
    }
    return Status::ok();
  };
  auto add = [&](const std::string& name, DType t, Dw d) {
    Case base = depthwise_case(name, t, d);
    std::get<ConvolutionParams>(base.params).channel_sums = true;
    // The sums of y as this launch stored it (the y comparison allows an ulp an element).
    base.sums_atol = 1e-3;
    base.derive_reference = [](const std::vector<HostTensor>& got, std::vector<HostTensor>& ref) {
      const HostTensor& y = got[0];
      const int64_t n = y.dims[0], hw = y.dims[1] * y.dims[2], ch = y.dims[3];
      for (int64_t b = 0; b < n; ++b) {
        for (int64_t k = 0; k < ch; ++k) {
          double s = 0;
          for (int64_t i = 0; i < hw; ++i) s += y.get((b * hw + i) * ch + k);
          ref[1].set(b * ch + k, s);
        }
      }
    };
    for (int pixels : {1, 2, 4}) {
      Case c = base;
      c.name += "_direct" + std::to_string(pixels);
      c.launcher = [p = std::get<ConvolutionParams>(c.params), pixels, zero](
                       const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t s,
                       void*) -> Status {
        INGOT_RETURN_IF_ERROR(zero(out[1], s));
        return launch_depthwise_direct_conv(p, in, out, pixels, true, s);
      };
      v.push_back(std::move(c));
    }
    Case c = base;
    c.name += "_column_sums";
    c.launcher = [p = std::get<ConvolutionParams>(c.params), zero](const std::vector<DeviceTensor>& in,
                                                                   const std::vector<DeviceTensor>& out, cudaStream_t s,
                                                                   void*) -> Status {
      INGOT_RETURN_IF_ERROR(zero(out[1], s));
      ConvolutionParams q = p;
      q.channel_sums = false;
      INGOT_RETURN_IF_ERROR(launch(q, in, {out[0]}, s));
      return launch_channel_sums(out[0], out[1], s);
    };
    v.push_back(std::move(c));
  };
  add("k3s1_f16_c32_batch", F16, {.x = {3, 9, 11, 32}, .bias = true, .act = UnaryOp::kSilu});
  add("k5s2_bf16_c40", BF16, {.x = {2, 10, 10, 40}, .kh = 5, .kw = 5, .stride = {2, 2}, .pad = {2, 2}, .bias = true});
  add("k3s1_f16_small_images_span_samples", F16, {.x = {7, 2, 3, 16}, .bias = true, .residual = true});
  add("k5s1_f16_7x7_c72_partial_tile", F16, {.x = {5, 7, 7, 72}, .kh = 5, .kw = 5, .pad = {2, 2}, .act = UnaryOp::kSilu});
  add("k3s1_f16_c1152_tiles", F16, {.x = {2, 3, 4, 1152}, .bias = true});
  add("large_k3s2_f16_c24", F16, {.x = {2, 40, 38, 24}, .stride = {2, 2}, .bias = true, .act = UnaryOp::kSilu});
  add("k3s1_f16_no_input_rows", F16, {.x = {2, 0, 4, 8}, .pad = {2, 1}, .bias = true});  // bias alone over 2 x 4 pixels
  return v;
}

INSTANTIATE_TEST_SUITE_P(DepthwiseSums, DepthwiseTest, ::testing::ValuesIn(depthwise_sums_cases()), CaseName());

// The refusal tests' starting point: a channels-last 3x3 depthwise convolution of `channels`
// channels, stride 1, padding 1; and a tensor of a shape and dtype without data.
ConvolutionParams refusal_params(int64_t channels) {
  ConvolutionParams p;
  p.stride = p.dilation = {1, 1};
  p.padding = {1, 1};
  p.output_padding = {0, 0};
  p.groups = channels;
  p.channels_last = true;
  return p;
}

DeviceTensor t(DType dt, Dims d) { return DeviceTensor{nullptr, dt, std::move(d)}; }

// The sums' refusals: the wrong outputs, and the dense variants.
TEST(DepthwiseSums, RefusesWrongSums) {
  ConvolutionParams p = refusal_params(16);
  p.channel_sums = true;
  const std::vector<DeviceTensor> in{t(F16, {2, 5, 5, 16}), t(F16, {16, 3, 3, 1}), t(F16, {}), t(F16, {})};
  const DeviceTensor y = t(F16, {2, 5, 5, 16});
  EXPECT_TRUE(depthwise_direct_conv_supported(p, in, {y, t(DType::kFloat64, {2, 16})}, 2).is_ok());
  for (const auto& [what, out] : std::vector<std::pair<std::string, std::vector<DeviceTensor>>>{
           {"no sums", {y}}, {"f32 sums", {y, t(F32, {2, 16})}}, {"sums of one sample", {y, t(DType::kFloat64, {1, 16})}}}) {
    Status s = depthwise_direct_conv_supported(p, in, out, 2);
    EXPECT_FALSE(s.is_ok()) << what;
    EXPECT_NE(s.message().find("sums"), std::string::npos) << what << ": " << s.message();
  }
  std::vector<DeviceTensor> misaligned{y, t(DType::kFloat64, {2, 16})};
  misaligned[1].data = reinterpret_cast<void*>(uintptr_t{4});
  EXPECT_FALSE(depthwise_direct_conv_supported(p, in, misaligned, 2).is_ok());
  EXPECT_FALSE(launch_channel_sums(y, t(F32, {2, 16}), nullptr).is_ok());
  EXPECT_FALSE(launch_channel_sums(t(F16, {2, 25, 16}), t(DType::kFloat64, {2, 16}), nullptr).is_ok());
  if (!have_device()) return;
  DeviceBuffer buffer(size_t{1} << 16);
  std::vector<DeviceTensor> din = in, dout{y, t(DType::kFloat64, {2, 16})};
  din[0].data = din[1].data = dout[0].data = dout[1].data = buffer.get();
  Status dense = launch_depthwise_direct_conv(p, din, dout, 2, true, nullptr, true);
  EXPECT_FALSE(dense.is_ok());
  EXPECT_NE(dense.message().find("dense"), std::string::npos) << dense.message();
}

// What the direct kernel refuses beyond the depthwise kernel's limits, each with its reason.
TEST(DepthwiseDirectConv, RefusesWhatItDoesNotRun) {
  ConvolutionParams p = refusal_params(16);
  const std::vector<DeviceTensor> ok_in{t(F16, {1, 5, 5, 16}), t(F16, {16, 3, 3, 1}), t(F16, {}), t(F16, {})};
  const std::vector<DeviceTensor> ok_out{t(F16, {1, 5, 5, 16})};
  for (int pixels : {1, 2, 4}) EXPECT_TRUE(depthwise_direct_conv_supported(p, ok_in, ok_out, pixels).is_ok());
  EXPECT_FALSE(depthwise_direct_conv_supported(p, ok_in, ok_out, 3).is_ok());
  EXPECT_FALSE(depthwise_direct_conv_supported(p, ok_in, ok_out, 0).is_ok());

  using Bad = ConvRefusal;
  ConvRefusals r{p, ok_in, ok_out, {}};
  r.with("f32", [&](Bad& b) { for (auto& x : b.in) x.dtype = F32; b.out[0].dtype = F32; });
  r.with("7x7 kernel", [&](Bad& b) { b.in[1] = t(F16, {16, 7, 7, 1}); b.p.padding = {3, 3}; });
  r.with("3x5 kernel", [&](Bad& b) { b.in[1] = t(F16, {16, 3, 5, 1}); b.p.padding = {1, 2}; });
  r.with("dilation", [&](Bad& b) { b.p.dilation = {2, 2}; b.p.padding = {2, 2}; });
  r.with("width stride 3", [&](Bad& b) { b.p.stride = {1, 3}; b.out[0] = t(F16, {1, 5, 2, 16}); });
  r.with("12 channels", [&](Bad& b) {
    b.p.groups = 12;
    b.in[0] = t(F16, {1, 5, 5, 12});
    b.in[1] = t(F16, {12, 3, 3, 1});
    b.out[0] = t(F16, {1, 5, 5, 12});
  });
  r.with("not depthwise (groups 1)", [](Bad& b) { b.p.groups = 1; });
  for (const Bad& b : r.cases) {
    Status s = depthwise_direct_conv_supported(b.p, b.in, b.out, 2);
    EXPECT_FALSE(s.is_ok()) << b.what;
    EXPECT_NE(s.message().find("depthwise"), std::string::npos) << b.what << ": " << s.message();
  }
  // A misaligned x, apart: expect_launch_refuses would give it an aligned buffer.
  std::vector<DeviceTensor> misaligned = ok_in;
  misaligned[0].data = reinterpret_cast<void*>(uintptr_t{2});
  EXPECT_FALSE(depthwise_direct_conv_supported(p, misaligned, ok_out, 2).is_ok());
  EXPECT_FALSE(launch_depthwise_direct_conv(p, misaligned, ok_out, 2, true, nullptr).is_ok());
  // The launcher refuses the others too, before any kernel reads the (large enough) buffer.
  expect_launch_refuses(r.cases, [](const ConvolutionParams& q, const std::vector<DeviceTensor>& in,
                                    const std::vector<DeviceTensor>& out) {
    return launch_depthwise_direct_conv(q, in, out, 2, true, nullptr);
  });
}

// Convolutions the kernel does not run get an error naming why (the runner then keeps cuDNN),
// and launch() refuses them the same way instead of reading out of bounds.
TEST(DepthwiseConv, RefusesWhatItDoesNotRun) {
  ConvolutionParams p = refusal_params(8);
  const std::vector<DeviceTensor> ok_in{t(F16, {1, 5, 5, 8}), t(F16, {8, 3, 3, 1}), t(F16, {}), t(F16, {})};
  const std::vector<DeviceTensor> ok_out{t(F16, {1, 5, 5, 8})};
  EXPECT_TRUE(depthwise_conv_supported(p, ok_in, ok_out).is_ok()) << depthwise_conv_supported(p, ok_in, ok_out).message();

  using Bad = ConvRefusal;
  ConvRefusals r{p, ok_in, ok_out, {}};
  r.with("not depthwise (groups 1)", [](Bad& b) { b.p.groups = 1; });
  r.with("grouped, 2 channels a group", [&](Bad& b) { b.p.groups = 4; b.in[1] = t(F16, {8, 3, 3, 2}); });
  r.with("channel multiplier 2", [&](Bad& b) { b.in[1] = t(F16, {16, 3, 3, 1}); b.out[0] = t(F16, {1, 5, 5, 16}); });
  r.with("NCHW", [](Bad& b) { b.p.channels_last = false; });
  r.with("transposed", [](Bad& b) { b.p.transposed = true; });
  r.with("1-d", [&](Bad& b) { b.in[0] = t(F16, {1, 5, 8}); });
  r.with("int8", [&](Bad& b) { for (auto& x : b.in) x.dtype = DType::kInt8; b.out[0].dtype = DType::kInt8; });
  r.with("mixed dtypes", [&](Bad& b) { b.in[1].dtype = F32; });
  r.with("wrong output size", [&](Bad& b) { b.out[0] = t(F16, {1, 4, 5, 8}); });
  r.with("wrong batch", [&](Bad& b) { b.out[0] = t(F16, {2, 5, 5, 8}); });
  r.with("negative padding", [](Bad& b) { b.p.padding = {-1, 1}; });
  r.with("zero stride", [](Bad& b) { b.p.stride = {0, 1}; });
  r.with("kernel larger than shared memory", [&](Bad& b) {
    b.in[1] = t(F16, {8, 91, 91, 1});
    b.p.padding = {45, 45};
  });
  // A present optional input has data (the buffer, below); here any non-null pointer marks it.
  void* present = &p;
  r.with("bias of the wrong length", [&](Bad& b) { b.in[2] = DeviceTensor{present, F16, {7}}; });
  r.with("residual of another shape", [&](Bad& b) { b.in[3] = DeviceTensor{present, F16, {1, 5, 4, 8}}; });
  r.with("activation without an epilogue", [](Bad& b) { b.p.activation = UnaryOp::kExp; });
  r.with("no output", [](Bad& b) { b.out.clear(); });
  for (const Bad& b : r.cases) EXPECT_FALSE(depthwise_conv_supported(b.p, b.in, b.out).is_ok()) << b.what;

  // launch() refuses them too, before any kernel reads the (large enough) buffer.
  expect_launch_refuses(r.cases);
}

}  // namespace

}  // namespace ingot::kernels::cuda::testing
