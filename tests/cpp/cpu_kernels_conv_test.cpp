// CPU kernels: convolution and pooling.
#include <chrono>
#include <limits>

#include "cpu_kernels_util.h"
#include "net/layers.h"
#include "net/network.h"

namespace ingot::kernels::cpu::testing {
namespace {

using net::ConvolutionParams;
using net::PoolingParams;
using net::PoolKind;

// ---------------------------------------------------------------- convolution reference

struct ConvCase {
  Dims x;   // [N, C, *spatial]
  Dims w;   // [O, C/g, *k] or transposed [C, O/g, *k]
  ConvolutionParams p;
  bool bias = true;
};

Dims conv_out_dims(const ConvCase& c) {
  size_t nsp = c.x.size() - 2;
  Dims out{c.x[0], c.p.transposed ? c.w[1] * c.p.groups : c.w[0]};
  for (size_t i = 0; i < nsp; ++i) {
    int64_t k = c.w[2 + i], s = c.p.stride[i], pd = c.p.padding[i], d = c.p.dilation[i];
    if (c.p.transposed) out.push_back((c.x[2 + i] - 1) * s - 2 * pd + d * (k - 1) + c.p.output_padding[i] + 1);
    else out.push_back((c.x[2 + i] + 2 * pd - d * (k - 1) - 1) / s + 1);
  }
  return out;
}

// Direct definition, in double, over explicit 3-d index tuples.
std::vector<double> conv_reference(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor* b, const Dims& od) {
  size_t nsp = c.x.size() - 2;
  auto pad3 = [&](const Dims& d, size_t from, int64_t fill) {
    Dims r(3, fill);
    for (size_t i = 0; i < nsp; ++i) r[3 - nsp + i] = d[from + i];
    return r;
  };
  Dims in = pad3(c.x, 2, 1), out = pad3(od, 2, 1), k = pad3(c.w, 2, 1);
  Dims s = pad3(c.p.stride, 0, 1), pd = pad3(c.p.padding, 0, 0), dl = pad3(c.p.dilation, 0, 1);
  int64_t n_batch = c.x[0], cin = c.x[1], cout = od[1], g = c.p.groups, cg = cin / g, og = cout / g;
  int64_t in_sz = in[0] * in[1] * in[2], out_sz = out[0] * out[1] * out[2], k_sz = k[0] * k[1] * k[2];
  std::vector<double> y(static_cast<size_t>(numel(od)), 0.0);
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t q = 0; q < out_sz; ++q) y[static_cast<size_t>((n * cout + o) * out_sz + q)] = b ? b->get(o) : 0.0;
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t gi = 0; gi < g; ++gi) {
      for (int64_t ci = 0; ci < cg; ++ci) {
        for (int64_t oi = 0; oi < og; ++oi) {
          int64_t cabs = gi * cg + ci, oabs = gi * og + oi;
          for (int64_t k0 = 0; k0 < k[0]; ++k0)
            for (int64_t k1 = 0; k1 < k[1]; ++k1)
              for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                int64_t kk = (k0 * k[1] + k1) * k[2] + k2;
                double wv = c.p.transposed ? w.get((cabs * og + oi) * k_sz + kk) : w.get((oabs * cg + ci) * k_sz + kk);
                // Forward: iterate outputs and read inputs; transposed: iterate inputs, write outputs.
                const Dims& outer = c.p.transposed ? in : out;
                const Dims& inner = c.p.transposed ? out : in;
                for (int64_t a0 = 0; a0 < outer[0]; ++a0)
                  for (int64_t a1 = 0; a1 < outer[1]; ++a1)
                    for (int64_t a2 = 0; a2 < outer[2]; ++a2) {
                      int64_t b0 = a0 * s[0] - pd[0] + k0 * dl[0], b1 = a1 * s[1] - pd[1] + k1 * dl[1],
                              b2 = a2 * s[2] - pd[2] + k2 * dl[2];
                      if (b0 < 0 || b0 >= inner[0] || b1 < 0 || b1 >= inner[1] || b2 < 0 || b2 >= inner[2]) continue;
                      int64_t pa = (a0 * outer[1] + a1) * outer[2] + a2, pb = (b0 * inner[1] + b1) * inner[2] + b2;
                      if (c.p.transposed) {
                        y[static_cast<size_t>((n * cout + oabs) * out_sz + pb)] += wv * x.get((n * cin + cabs) * in_sz + pa);
                      } else {
                        y[static_cast<size_t>((n * cout + oabs) * out_sz + pa)] += wv * x.get((n * cin + cabs) * in_sz + pb);
                      }
                    }
              }
        }
      }
    }
  }
  return y;
}

void check_conv(const ConvCase& c, uint32_t seed) {
  Tensor x = random(DType::kFloat32, c.x, seed), w = random(DType::kFloat32, c.w, seed + 1);
  int64_t cout = c.p.transposed ? c.w[1] * c.p.groups : c.w[0];
  Tensor b = random(DType::kFloat32, {cout}, seed + 2);
  Dims od = conv_out_dims(c);
  Tensor y = run1(c.p, {&x, &w, c.bias ? &b : nullptr}, DType::kFloat32, od);
  expect_near(y.values(), conv_reference(c, x, w, c.bias ? &b : nullptr, od), 1e-5, "conv f32");
  // f16 / bf16: the same values (exactly representable), so the float computation matches the
  // f32 result up to rounding on store.
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    Tensor xh = as(x, dt), wh = as(w, dt), bh = as(b, dt);
    Tensor yh = run1(c.p, {&xh, &wh, c.bias ? &bh : nullptr}, dt, od);
    expect_exact(yh.values(), rounded(y.values(), dt), "conv reduced precision");
  }
}

ConvolutionParams conv_params(Dims stride, Dims padding, Dims dilation, int64_t groups = 1, bool transposed = false,
                              Dims output_padding = {}) {
  ConvolutionParams p;
  p.stride = std::move(stride);
  p.padding = std::move(padding);
  p.dilation = std::move(dilation);
  p.groups = groups;
  p.transposed = transposed;
  p.output_padding = output_padding.empty() ? Dims(p.stride.size(), 0) : std::move(output_padding);
  return p;
}

TEST(CpuConv, HandChecked2d) {
  // x = 1..9 in a 3x3 plane; w = [[1, 0], [0, -1]]; y[i][j] = x[i][j] - x[i+1][j+1] + bias = -4 + 0.5.
  Tensor x = f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor w = f32({1, 1, 2, 2}, {1, 0, 0, -1});
  Tensor b = f32({1}, {0.5});
  Tensor y = run1(conv_params({1, 1}, {0, 0}, {1, 1}), {&x, &w, &b}, DType::kFloat32, {1, 1, 2, 2});
  expect_exact(y.values(), {-3.5, -3.5, -3.5, -3.5});
  // Padding 1, stride 2: corners read one real element each.
  Tensor y2 = run1(conv_params({2, 2}, {1, 1}, {1, 1}), {&x, &w, nullptr}, DType::kFloat32, {1, 1, 2, 2});
  // out(0,0): taps (-1,-1)->pad, (0,0)->x[0][0]=1 weighted -1 => -1. out(0,1): (-1,1) pad, (0,2)=3 => -3.
  // out(1,0): (1,-1) pad, (2,0)=7 => -7. out(1,1): (1,1)=5 * 1 + (2,2)=9 * -1 => -4.
  expect_exact(y2.values(), {-1, -3, -7, -4});
}

TEST(CpuConv, HandCheckedTransposed1d) {
  // x = [1, 2], w = [1, 10, 100] (C=1, O=1), stride 2: y = [1, 10, 100+2, 20, 200].
  Tensor x = f32({1, 1, 2}, {1, 2});
  Tensor w = f32({1, 1, 3}, {1, 10, 100});
  Tensor y = run1(conv_params({2}, {0}, {1}, 1, true, {0}), {&x, &w, nullptr}, DType::kFloat32, {1, 1, 5});
  expect_exact(y.values(), {1, 10, 102, 20, 200});
  // padding 1 trims one from each end; output_padding 1 adds a last position that nothing hits.
  Tensor y2 = run1(conv_params({2}, {1}, {1}, 1, true, {1}), {&x, &w, nullptr}, DType::kFloat32, {1, 1, 4});
  expect_exact(y2.values(), {10, 102, 20, 200});
}

// Values from torch.nn.functional (float32), to anchor the reference above to PyTorch.
TEST(CpuConv, GroupedDilatedMatchesTorch) {
  // conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2,
  // dilation=(1, 2)) with x = arange(16).reshape(1, 4, 2, 2) - 5, w = arange(32).reshape(4, 2, 2, 2) % 5 - 2.
  std::vector<double> xv, wv;
  for (int i = 0; i < 16; ++i) xv.push_back(i - 5);
  for (int i = 0; i < 32; ++i) wv.push_back(i % 5 - 2);
  Tensor x = f32({1, 4, 2, 2}, xv), w = f32({4, 2, 2, 2}, wv), b = f32({4}, {0.5, -1, 2, 0});
  Tensor y = run1(conv_params({2, 1}, {1, 0}, {1, 2}, 2, true, {1, 0}), {&x, &w, &b}, DType::kFloat32, {1, 4, 3, 4});
  expect_exact(y.values(), {2.5, 0.5, -3.5, -3.5, 7.5, 6.5, 5.5, 6.5, -1.5, -3.5, -3.5, -3.5, 2.0, 3.0, 1.0, -1.0,
                            -7.0, -5.0, 6.0, 5.0, 4.0, 5.0, -3.0, -5.0, -2.0, -2.0, 8.0, 10.0, 15.0, 16.0, -16.0, -18.0,
                            -2.0, -2.0, 12.0, 14.0, -14.0, -16.0, -4.0, -4.0, -1.0, -2.0, 13.0, 14.0, -18.0, -20.0, -4.0, -4.0});
  // conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2) with
  // x = arange(200).reshape(2, 4, 5, 5) % 7 - 3, w = arange(108).reshape(6, 2, 3, 3) % 5 - 2.
  std::vector<double> xf, wf;
  for (int i = 0; i < 200; ++i) xf.push_back(i % 7 - 3);
  for (int i = 0; i < 108; ++i) wf.push_back(i % 5 - 2);
  Tensor x2 = f32({2, 4, 5, 5}, xf), w2 = f32({6, 2, 3, 3}, wf);
  Tensor y2 = run1(conv_params({2, 1}, {1, 2}, {2, 1}, 2), {&x2, &w2}, DType::kFloat32, {2, 6, 2, 7});
  std::vector<double> want = {
      -8.0, -6.0, 11.0, 5.0, 13.0, 3.0, -1.0, 9.0, 6.0, -17.0, -17.0, -3.0, 7.0, 10.0, 0.0, 7.0, 9.0, -8.0, -11.0,
      -11.0, -2.0, -8.0, -6.0, 11.0, 5.0, 13.0, 3.0, -1.0, -2.0, -10.0, -8.0, 9.0, 5.0, 10.0, 2.0, 0.0, 7.0, 9.0,
      -8.0, -11.0, -11.0, -2.0, 3.0, -4.0, 11.0, -4.0, -12.0, -12.0, -3.0, -2.0, -9.0, 9.0, 5.0, 22.0, -1.0, -3.0,
      8.0, -9.0, -17.0, -3.0, 4.0, 22.0, -3.0, 3.0, -4.0, 11.0, -4.0, -12.0, -12.0, -3.0, -7.0, 11.0, 5.0, 13.0,
      0.0, -4.0, -3.0, 8.0, -9.0, -17.0, -3.0, 4.0, 22.0, -3.0, 8.0, 7.0, 13.0, 0.0, -13.0, -4.0, 2.0, -7.0, -10.0,
      -3.0, 4.0, 32.0, -5.0, -9.0, 3.0, -6.0, -11.0, -14.0, -3.0, 22.0, -2.0, 8.0, 7.0, 13.0, 0.0, -13.0, -4.0,
      2.0, -2.0, 6.0, 5.0, 22.0, -3.0, -12.0, -1.0, 3.0, -6.0, -11.0, -14.0, -3.0, 22.0, -2.0, 0.0, 3.0, -12.0,
      -13.0, 0.0, 10.0, 9.0, -2.0, 7.0, 22.0, -3.0, -14.0, -9.0, 1.0, -8.0, -11.0, 4.0, 32.0, 4.0, -11.0, -8.0,
      0.0, 3.0, -12.0, -13.0, 0.0, 10.0, 9.0, 9.0, 10.0, 0.0, -13.0, -12.0, 3.0, 0.0, -8.0, -11.0, 4.0, 32.0, 4.0,
      -11.0, -8.0};
  expect_exact(y2.values(), want);
}

TEST(CpuConv, MatchesReferenceAcrossConfigurations) {
  std::vector<ConvCase> cases = {
      {{2, 3, 9}, {4, 3, 3}, conv_params({1}, {0}, {1})},
      {{1, 4, 11}, {6, 2, 3}, conv_params({2}, {2}, {2}, 2)},
      {{2, 3, 7, 8}, {5, 3, 3, 3}, conv_params({1, 1}, {1, 1}, {1, 1})},
      {{1, 3, 10, 9}, {4, 3, 3, 2}, conv_params({2, 3}, {1, 0}, {1, 1}), false},
      {{1, 2, 9, 9}, {3, 2, 3, 3}, conv_params({1, 1}, {2, 2}, {2, 2})},            // dilated
      {{2, 6, 6, 5}, {4, 3, 3, 3}, conv_params({1, 2}, {1, 1}, {1, 1}, 2)},         // grouped
      {{1, 4, 7, 7}, {4, 1, 3, 3}, conv_params({1, 1}, {1, 1}, {1, 1}, 4)},         // depthwise
      {{1, 3, 6, 6}, {6, 1, 3, 3}, conv_params({2, 2}, {1, 1}, {1, 1}, 3)},         // depthwise x2
      {{2, 8, 5, 5}, {16, 8, 1, 1}, conv_params({1, 1}, {0, 0}, {1, 1})},           // pointwise
      {{1, 8, 6, 6}, {4, 2, 1, 1}, conv_params({1, 1}, {0, 0}, {1, 1}, 4)},         // grouped pointwise
      {{1, 4, 7, 7}, {8, 4, 1, 1}, conv_params({2, 2}, {0, 0}, {1, 1})},            // strided 1x1
      {{1, 2, 4, 5, 6}, {3, 2, 2, 3, 3}, conv_params({1, 2, 1}, {1, 1, 0}, {1, 1, 2})},  // 3-d
      {{2, 4, 3, 4, 4}, {4, 2, 3, 1, 2}, conv_params({2, 1, 1}, {1, 0, 1}, {1, 1, 1}, 2)},
      // transposed
      {{1, 3, 5}, {3, 2, 3}, conv_params({2}, {1}, {1}, 1, true, {1})},
      {{2, 4, 4, 3}, {4, 3, 3, 3}, conv_params({2, 2}, {1, 0}, {1, 1}, 1, true, {1, 0})},
      {{1, 4, 3, 3}, {4, 2, 2, 3}, conv_params({3, 2}, {0, 1}, {2, 1}, 2, true, {2, 1})},  // grouped, dilated
      {{1, 3, 4, 4}, {3, 1, 3, 3}, conv_params({1, 1}, {1, 1}, {1, 1}, 3, true)},      // depthwise transposed
      {{1, 2, 2, 3, 3}, {2, 2, 2, 2, 2}, conv_params({2, 1, 2}, {0, 1, 1}, {1, 1, 1}, 1, true, {1, 0, 1})},
  };
  uint32_t seed = 10;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "case with x rank " << c.x.size() << " seed " << seed);
    check_conv(c, seed);
    ConvCase nb = c;
    nb.bias = false;
    check_conv(nb, seed + 100);
    seed += 7;
  }
}

TEST(CpuConv, EmptyBatch) {
  Tensor x = empty(DType::kFloat32, {0, 2, 4, 4}), w = random(DType::kFloat32, {3, 2, 3, 3}, 1);
  Tensor y = run1(conv_params({1, 1}, {1, 1}, {1, 1}), {&x, &w}, DType::kFloat32, {0, 3, 4, 4});
  EXPECT_EQ(y.numel(), 0);
}

TEST(CpuConv, RejectsWrongOutputShape) {
  Tensor x = random(DType::kFloat32, {1, 2, 5, 5}, 1), w = random(DType::kFloat32, {3, 2, 3, 3}, 2);
  Status s = run_status(conv_params({1, 1}, {0, 0}, {1, 1}), {&x, &w}, DType::kFloat32, {1, 3, 5, 5});
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("output #0"), std::string::npos) << s.message();
}

// ResNet's stem: must stay far from naive speed. The bound is loose so that a loaded machine
// does not fail it; a naive loop takes several seconds.
TEST(CpuConv, StemConvIsFast) {
  Tensor x = random(DType::kFloat32, {1, 3, 224, 224}, 3), w = random(DType::kFloat32, {64, 3, 7, 7}, 4);
  auto t0 = std::chrono::steady_clock::now();
  Tensor y = run1(conv_params({2, 2}, {3, 3}, {1, 1}), {&x, &w}, DType::kFloat32, {1, 64, 112, 112});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 1.5);
  // Spot-check one interior output against the definition.
  double want = 0.0;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 7; ++i)
      for (int j = 0; j < 7; ++j) want += x.get((c * 224 + (2 * 50 - 3 + i)) * 224 + (2 * 60 - 3 + j)) * w.get(((5 * 3 + c) * 7 + i) * 7 + j);
  EXPECT_NEAR(y.get((5 * 112 + 50) * 112 + 60), want, 1e-4);
}

// ---------------------------------------------------------------- pooling

PoolingParams pool_params(PoolKind kind, Dims kernel, Dims stride, Dims padding, bool ceil_mode = false,
                          bool count_include_pad = true, int64_t divisor_override = 0, Dims dilation = {}) {
  PoolingParams p;
  p.kind = kind;
  p.kernel = kernel;
  p.stride = std::move(stride);
  p.padding = std::move(padding);
  p.dilation = dilation.empty() ? Dims(kernel.size(), 1) : std::move(dilation);
  p.ceil_mode = ceil_mode;
  p.count_include_pad = count_include_pad;
  p.divisor_override = divisor_override;
  return p;
}

std::vector<double> iota(int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<double>(i);
  return v;
}

// Expected values below are what torch.nn.functional.avg_pool2d / max_pool2d give for
// x = arange(25).reshape(1, 1, 5, 5).
TEST(CpuPooling, AvgCeilModeDivisors) {
  Tensor x = f32({1, 1, 5, 5}, iota(25));
  Tensor a = run1(pool_params(PoolKind::kAvg, {2, 2}, {2, 2}, {1, 1}, true, true), {&x}, DType::kFloat32, {1, 1, 3, 3});
  expect_near(a.values(), {0, 0.75, 1.75, 3.75, 9, 11, 8.75, 19, 21});
  Tensor b = run1(pool_params(PoolKind::kAvg, {2, 2}, {2, 2}, {1, 1}, true, false), {&x}, DType::kFloat32, {1, 1, 3, 3});
  expect_near(b.values(), {0, 1.5, 3.5, 7.5, 9, 11, 17.5, 19, 21});
  // No padding: the ceil_mode windows at the edge are clipped, and divide by what remains.
  Tensor c = run1(pool_params(PoolKind::kAvg, {2, 2}, {2, 2}, {0, 0}, true, true), {&x}, DType::kFloat32, {1, 1, 3, 3});
  expect_near(c.values(), {3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24});
  Tensor d = run1(pool_params(PoolKind::kAvg, {2, 2}, {2, 2}, {1, 1}, true, true, 3), {&x}, DType::kFloat32, {1, 1, 3, 3});
  expect_near(d.values(), {0, 1, 7.0 / 3, 5, 12, 44.0 / 3, 35.0 / 3, 76.0 / 3, 28});
}

TEST(CpuPooling, AvgCountIncludePadVsNot) {
  // 3x3 window, stride 1, padding 1 on a 3x3 plane of ones: corners see 4 real cells.
  Tensor x = f32({1, 1, 3, 3}, std::vector<double>(9, 1.0));
  Tensor inc = run1(pool_params(PoolKind::kAvg, {3, 3}, {1, 1}, {1, 1}), {&x}, DType::kFloat32, {1, 1, 3, 3});
  expect_near(inc.values(), {4. / 9, 6. / 9, 4. / 9, 6. / 9, 1, 6. / 9, 4. / 9, 6. / 9, 4. / 9});
  Tensor exc = run1(pool_params(PoolKind::kAvg, {3, 3}, {1, 1}, {1, 1}, false, false), {&x}, DType::kFloat32, {1, 1, 3, 3});
  expect_near(exc.values(), std::vector<double>(9, 1.0));
}

TEST(CpuPooling, MaxBasicsNanAndCeil) {
  Tensor x = f32({1, 1, 5, 5}, iota(25));
  Tensor m = run1(pool_params(PoolKind::kMax, {3, 3}, {2, 2}, {1, 1}), {&x}, DType::kFloat32, {1, 1, 3, 3});
  expect_exact(m.values(), {6, 8, 9, 16, 18, 19, 21, 23, 24});
  // max_pool1d([nan, 1, 2], 2, stride=2, ceil_mode=True) = [nan, 2].
  Tensor v = f32({1, 1, 3}, {std::nan(""), 1, 2});
  Tensor mv = run1(pool_params(PoolKind::kMax, {2}, {2}, {0}, true), {&v}, DType::kFloat32, {1, 1, 2});
  expect_exact(mv.values(), {std::nan(""), 2});
  // Dilation 2: window taps 0, 2 of each row.
  Tensor xd = f32({1, 1, 5}, {5, 9, 1, 7, 3});
  Tensor md = run1(pool_params(PoolKind::kMax, {2}, {1}, {0}, false, true, 0, {2}), {&xd}, DType::kFloat32, {1, 1, 3});
  expect_exact(md.values(), {5, 9, 3});
}

TEST(CpuPooling, IntegerPooling) {
  // avg_pool2d on int64 sums exactly and divides with truncation; negative sums truncate to 0.
  Tensor x = make(DType::kInt64, {1, 1, 4, 4}, iota(16));
  Tensor a = run1(pool_params(PoolKind::kAvg, {2, 2}, {2, 2}, {0, 0}), {&x}, DType::kInt64, {1, 1, 2, 2});
  EXPECT_EQ(a.ints(), (std::vector<int64_t>{2, 4, 10, 12}));
  Tensor n = make(DType::kInt32, {1, 1, 2}, {-3, -4});
  Tensor an = run1(pool_params(PoolKind::kAvg, {2}, {2}, {0}), {&n}, DType::kInt32, {1, 1, 1});
  EXPECT_EQ(an.ints(), (std::vector<int64_t>{-3}));
  Tensor m = run1(pool_params(PoolKind::kMax, {2, 2}, {2, 2}, {0, 0}), {&x}, DType::kInt64, {1, 1, 2, 2});
  EXPECT_EQ(m.ints(), (std::vector<int64_t>{5, 7, 13, 15}));
  Tensor big = make_ints(DType::kInt64, {1, 1, 2}, {INT64_MAX - 1, INT64_MAX});
  Tensor mb = run1(pool_params(PoolKind::kMax, {2}, {1}, {0}), {&big}, DType::kInt64, {1, 1, 1});
  EXPECT_EQ(mb.ints(), (std::vector<int64_t>{INT64_MAX}));
}

// Independent reference for 1-d and 3-d pooling over explicit windows.
TEST(CpuPooling, MatchesReference1dAnd3d) {
  Tensor x1 = random(DType::kFloat32, {2, 3, 11}, 5);
  Tensor a1 = run1(pool_params(PoolKind::kAvg, {4}, {3}, {2}, true, false), {&x1}, DType::kFloat32, {2, 3, 5});
  // out o covers [3o - 2, 3o + 2) clipped to [0, 11), divided by the real count.
  std::vector<double> want;
  for (int64_t pl = 0; pl < 6; ++pl) {
    for (int64_t o = 0; o < 5; ++o) {
      double s = 0;
      int64_t cnt = 0;
      for (int64_t i = 3 * o - 2; i < 3 * o + 2; ++i) {
        if (i < 0 || i >= 11) continue;
        s += x1.get(pl * 11 + i);
        ++cnt;
      }
      want.push_back(s / static_cast<double>(cnt));
    }
  }
  expect_near(a1.values(), want);

  Tensor x3 = random(DType::kFloat32, {1, 2, 4, 5, 6}, 6);
  Tensor m3 = run1(pool_params(PoolKind::kMax, {2, 3, 2}, {2, 1, 2}, {1, 1, 0}), {&x3}, DType::kFloat32, {1, 2, 3, 5, 3});
  std::vector<double> want3;
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t od = 0; od < 3; ++od)
      for (int64_t oh = 0; oh < 5; ++oh)
        for (int64_t ow = 0; ow < 3; ++ow) {
          double best = -std::numeric_limits<double>::infinity();
          for (int64_t kd = 0; kd < 2; ++kd)
            for (int64_t kh = 0; kh < 3; ++kh)
              for (int64_t kw = 0; kw < 2; ++kw) {
                int64_t d = 2 * od - 1 + kd, h = oh - 1 + kh, w = 2 * ow + kw;
                if (d < 0 || d >= 4 || h < 0 || h >= 5 || w < 0 || w >= 6) continue;
                best = std::max(best, x3.get(((c * 4 + d) * 5 + h) * 6 + w));
              }
          want3.push_back(best);
        }
  expect_exact(m3.values(), want3);

  // 3-d average with padding counted: every window divides by its full volume 8.
  Tensor a3 = run1(pool_params(PoolKind::kAvg, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}), {&x3}, DType::kFloat32, {1, 2, 3, 3, 4});
  EXPECT_NEAR(a3.get(0), x3.get(0) / 8.0, 1e-6);
}

TEST(CpuPooling, ReducedPrecisionMatchesRoundedF32) {
  Tensor x = random(DType::kFloat32, {1, 2, 7, 7}, 9);
  auto p = pool_params(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, true, false);
  Tensor y = run1(p, {&x}, DType::kFloat32, {1, 2, 4, 4});
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    Tensor xh = as(x, dt);
    expect_exact(run1(p, {&xh}, dt, {1, 2, 4, 4}).values(), rounded(y.values(), dt));
  }
}

Tensor permuted(Tensor& t, Dims perm) {
  Dims dims;
  for (int64_t a : perm) dims.push_back(t.dims[static_cast<size_t>(a)]);
  net::PermuteParams p;
  p.perm = std::move(perm);
  return run1(p, {&t}, t.dtype, dims);
}

// Channels-last pooling (x [N, H, W, C]) is the NCHW pooling of the permuted input, permuted
// back, exactly: same taps in the same order (NaN handling included), same divisors.
TEST(CpuPooling, ChannelsLastEqualsPermutedNchw) {
  const Dims to_nhwc{0, 2, 3, 1};
  const std::vector<PoolingParams> configs{
      pool_params(PoolKind::kMax, {3, 3}, {2, 2}, {1, 1}),
      pool_params(PoolKind::kMax, {2, 3}, {1, 2}, {1, 0}, true),
      pool_params(PoolKind::kMax, {3, 2}, {2, 1}, {1, 1}, false, true, 0, {2, 1}),
      pool_params(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}),
      pool_params(PoolKind::kAvg, {3, 3}, {2, 2}, {1, 1}, true, false),
      pool_params(PoolKind::kAvg, {2, 3}, {2, 1}, {1, 1}, true, true),
      pool_params(PoolKind::kAvg, {2, 2}, {1, 2}, {0, 1}, false, false, 3),
  };
  int seed = 0;
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kInt32}) {
    for (const PoolingParams& p : configs) {
      std::vector<double> values = random_values(2 * 5 * 7 * 9, static_cast<uint32_t>(++seed), -8.0, 8.0);
      if (dt != DType::kInt32) {
        for (size_t i = 3; i < values.size(); i += 17) values[i] = std::nan("");
      }
      if (dt == DType::kInt32) {
        for (double& v : values) v = std::round(v * 4);
      }
      Tensor x = make(dt, {2, 5, 7, 9}, values);
      ir::TensorType xt{dt, ir::shape_of(x.dims)};
      auto types = net::infer_types(p, {&xt});
      ASSERT_TRUE(types.has_value()) << types.status().message();
      Dims out = *ir::static_dims((*types)[0].shape);
      Tensor y = run1(p, {&x}, dt, out);
      Tensor x_nhwc = permuted(x, to_nhwc);
      PoolingParams q = p;
      q.channels_last = true;
      Tensor y_nhwc = run1(q, {&x_nhwc}, dt, {out[0], out[2], out[3], out[1]});
      std::string what = str_cat(net::enum_name(p.kind), " ", ir::dtype_name(dt), " case ", seed);
      expect_exact(y_nhwc.values(), permuted(y, to_nhwc).values(), what.c_str());
    }
  }
}

TEST(CpuPooling, ChannelsLastNeedsRank4) {
  Tensor x = random(DType::kFloat32, {1, 4, 3}, 1);
  PoolingParams p = pool_params(PoolKind::kMax, {2}, {1}, {0});
  p.channels_last = true;
  Status s = run_status(p, {&x}, DType::kFloat32, {1, 3, 3});
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("channels_last needs a 2-d kernel and a rank-4 input"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ingot::kernels::cpu::testing
