// CPU kernels: matmul (batch broadcasting, transposes, bias) and attention (masks, causal,
// broadcast batch dims, fully masked rows).
#include <chrono>
#include <limits>

#include "cpu_kernels_util.h"
#include "net/layers.h"

namespace ingot::kernels::cpu::testing {
namespace {

using net::AttentionParams;
using net::MatMulParams;

const double kInf = std::numeric_limits<double>::infinity();

// Index of `out_index` (row-major over `out`) in a tensor of dims `in` broadcast to `out`.
int64_t broadcast_index(const Dims& in, const Dims& out, int64_t out_index) {
  int64_t idx = 0, stride = 1;
  for (size_t i = out.size(); i-- > 0;) {
    int64_t coord = out_index % out[i];
    out_index /= out[i];
    size_t shift = out.size() - in.size();
    if (i >= shift) {
      int64_t d = in[i - shift];
      idx += (d == 1 ? 0 : coord) * stride;
      stride *= d;
    }
  }
  return idx;
}

std::vector<double> matmul_reference(const Tensor& a, const Tensor& b, const Tensor* bias, bool ta, bool tb, const Dims& out) {
  size_t ra = a.dims.size(), rb = b.dims.size(), r = out.size();
  int64_t m = out[r - 2], n = out[r - 1], k = ta ? a.dims[ra - 2] : a.dims[ra - 1];
  Dims batch(out.begin(), out.end() - 2), ba(a.dims.begin(), a.dims.end() - 2), bb(b.dims.begin(), b.dims.end() - 2);
  int64_t nb = numel(batch);
  std::vector<double> y;
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t ia = broadcast_index(ba, batch, bi), ib = broadcast_index(bb, batch, bi);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
          double av = ta ? a.get(ia * m * k + p * m + i) : a.get(ia * m * k + i * k + p);
          double bv = tb ? b.get(ib * k * n + j * k + p) : b.get(ib * k * n + p * n + j);
          s += av * bv;
        }
        int64_t flat = (bi * m + i) * n + j;
        if (bias) s += bias->get(broadcast_index(bias->dims, out, flat));
        y.push_back(s);
      }
    }
  }
  (void)rb;
  return y;
}

MatMulParams mm(bool ta = false, bool tb = false) {
  MatMulParams p;
  p.transpose_a = ta;
  p.transpose_b = tb;
  return p;
}

TEST(CpuMatMul, HandChecked) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6}), b = f32({3, 2}, {7, 8, 9, 10, 11, 12});
  expect_exact(run1(mm(), {&a, &b}, DType::kFloat32, {2, 2}).values(), {58, 64, 139, 154});
  Tensor bias = f32({2}, {1, -1});
  expect_exact(run1(mm(), {&a, &b, &bias}, DType::kFloat32, {2, 2}).values(), {59, 63, 140, 153});
  // aᵀ with a given as [3, 2]: aᵀ = [[7, 9, 11], [8, 10, 12]] times a [2, 3].
  expect_exact(run1(mm(true, true), {&b, &a}, DType::kFloat32, {2, 2}).values(), {58, 139, 64, 154});
}

struct MatMulCase {
  Dims a, b;
  bool ta, tb;
  Dims bias;  // empty: no bias
  Dims out;
};

TEST(CpuMatMul, MatchesReferenceWithBroadcastingAndTransposes) {
  std::vector<MatMulCase> cases = {
      {{5, 7}, {7, 3}, false, false, {}, {5, 3}},
      {{2, 4, 6}, {6, 5}, false, false, {5}, {2, 4, 5}},
      {{3, 1, 4, 6}, {2, 6, 5}, false, false, {1, 4, 1}, {3, 2, 4, 5}},   // batch broadcast both ways
      {{2, 6, 4}, {2, 5, 6}, true, true, {2, 1, 5}, {2, 4, 5}},
      {{1, 9, 17}, {4, 17, 33}, false, false, {}, {4, 9, 33}},
      {{4, 9, 17}, {33, 17}, false, true, {9, 33}, {4, 9, 33}},           // linear layer shape
      {{17, 9}, {3, 17, 10}, true, false, {}, {3, 9, 10}},
      {{70, 130}, {130, 67}, false, false, {67}, {70, 67}},                // crosses the GEMM blocks
      {{2, 0, 3}, {3, 4}, false, false, {}, {2, 0, 4}},                    // empty rows
      {{2, 3, 0}, {0, 4}, false, false, {4}, {2, 3, 4}},                   // empty inner dim: bias only
  };
  uint32_t seed = 60;
  for (const MatMulCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "case seed " << seed);
    Tensor a = random(DType::kFloat32, c.a, seed), b = random(DType::kFloat32, c.b, seed + 1);
    Tensor bias = random(DType::kFloat32, c.bias.empty() ? Dims{1} : c.bias, seed + 2);
    Tensor* bp = c.bias.empty() ? nullptr : &bias;
    Tensor y = run1(mm(c.ta, c.tb), {&a, &b, bp}, DType::kFloat32, c.out);
    expect_near(y.values(), matmul_reference(a, b, bp, c.ta, c.tb, c.out), 1e-5);
    for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
      Tensor ah = as(a, dt), bh = as(b, dt), biash = as(bias, dt);
      Tensor yh = run1(mm(c.ta, c.tb), {&ah, &bh, bp ? &biash : nullptr}, dt, c.out);
      expect_exact(yh.values(), rounded(y.values(), dt));
    }
    seed += 5;
  }
}

TEST(CpuMatMul, RejectsBadShapes) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6}), b = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_FALSE(run_status(mm(), {&a, &b}, DType::kFloat32, {2, 3}).is_ok());  // inner dims differ
  Tensor i = make(DType::kInt32, {2, 2}, {1, 2, 3, 4});
  EXPECT_FALSE(run_status(mm(), {&i, &i}, DType::kInt32, {2, 2}).is_ok());  // floating only
}

TEST(CpuMatMul, LargeIsFast) {
  // ResNet-50's classifier and a mid-size square product; a naive triple loop over 512^3 is
  // slow enough for the bound to catch it.
  Tensor a = random(DType::kFloat32, {512, 512}, 1), b = random(DType::kFloat32, {512, 512}, 2);
  auto t0 = std::chrono::steady_clock::now();
  Tensor y = run1(mm(), {&a, &b}, DType::kFloat32, {512, 512});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 0.5);
  double want = 0;
  for (int p = 0; p < 512; ++p) want += a.get(100 * 512 + p) * b.get(p * 512 + 200);
  EXPECT_NEAR(y.get(100 * 512 + 200), want, 1e-3);
}

// ---------------------------------------------------------------- attention

std::vector<double> attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask,
                                        double scale, bool causal, const Dims& out) {
  size_t r = out.size();
  int64_t l = q.dims[r - 2], e = q.dims[r - 1], s = k.dims[r - 2], ev = v.dims[r - 1];
  Dims batch(out.begin(), out.end() - 2);
  Dims qb(q.dims.begin(), q.dims.end() - 2), kb(k.dims.begin(), k.dims.end() - 2), vb(v.dims.begin(), v.dims.end() - 2);
  Dims scores_dims = batch;
  scores_dims.push_back(l);
  scores_dims.push_back(s);
  std::vector<double> y;
  for (int64_t bi = 0; bi < numel(batch); ++bi) {
    int64_t iq = broadcast_index(qb, batch, bi), ik = broadcast_index(kb, batch, bi), iv = broadcast_index(vb, batch, bi);
    for (int64_t i = 0; i < l; ++i) {
      std::vector<double> sc(static_cast<size_t>(s));
      double mx = -kInf;
      for (int64_t j = 0; j < s; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < e; ++c) dot += q.get((iq * l + i) * e + c) * k.get((ik * s + j) * e + c);
        double x = dot * scale;
        if (mask) {
          double m = mask->get(broadcast_index(mask->dims, scores_dims, (bi * l + i) * s + j));
          if (mask->dtype == DType::kBool) x = m != 0 ? x : -kInf;
          else x += m;
        }
        if (causal && j > i) x = -kInf;
        sc[static_cast<size_t>(j)] = x;
        mx = std::max(mx, x);
      }
      double sum = 0;
      for (double& x : sc) {
        x = mx == -kInf ? 0.0 : std::exp(x - mx);
        sum += x;
      }
      for (int64_t c = 0; c < ev; ++c) {
        double o = 0;
        for (int64_t j = 0; j < s; ++j) o += (sum > 0 ? sc[static_cast<size_t>(j)] / sum : 0.0) * v.get((iv * s + j) * ev + c);
        y.push_back(o);
      }
    }
  }
  return y;
}

AttentionParams attn(double scale, bool causal = false) {
  AttentionParams p;
  p.scale = scale;
  p.causal = causal;
  return p;
}

TEST(CpuAttention, HandCheckedCausalAndMaskedRows) {
  // torch.nn.functional.scaled_dot_product_attention with scale=1.
  Tensor q = f32({1, 3, 2}, {1, 0, 0, 1, 1, 1}), k = f32({1, 2, 2}, {1, 0, 0, 1}), v = f32({1, 2, 2}, {1, 2, 3, 4});
  expect_near(run1(attn(1.0, true), {&q, &k, &v}, DType::kFloat32, {1, 3, 2}).values(),
              {1, 2, 2.4621171951293945, 3.4621171951293945, 2, 3}, 1e-6);
  Tensor m = f32({3, 2}, {0, 0, -kInf, -kInf, 0, -1});
  expect_near(run1(attn(1.0), {&q, &k, &v, &m}, DType::kFloat32, {1, 3, 2}).values(),
              {1.5378828048706055, 2.5378828048706055, 0, 0, 1.5378828048706055, 2.5378828048706055}, 1e-6);
  Tensor none = make(DType::kBool, {2}, {0, 0});
  expect_exact(run1(attn(1.0), {&q, &k, &v, &none}, DType::kFloat32, {1, 3, 2}).values(), {0, 0, 0, 0, 0, 0});
}

struct AttentionCase {
  Dims q, k, v;
  Dims mask;  // empty: none
  DType mask_dtype;
  bool causal;
};

TEST(CpuAttention, MatchesReference) {
  std::vector<AttentionCase> cases = {
      {{2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 4}, {}, DType::kFloat32, false},
      {{2, 3, 5, 8}, {2, 3, 7, 8}, {2, 3, 7, 4}, {}, DType::kFloat32, true},       // L < S, top-left causal
      {{1, 6, 4}, {1, 3, 4}, {1, 3, 2}, {}, DType::kFloat32, true},                // L > S
      {{2, 4, 5, 8}, {2, 1, 6, 8}, {1, 1, 6, 3}, {5, 6}, DType::kBool, false},     // broadcast k, v, mask
      {{2, 2, 5, 4}, {2, 2, 5, 4}, {2, 2, 5, 4}, {2, 1, 1, 5}, DType::kFloat32, true},  // padding-style mask
      {{3, 4, 4}, {3, 4, 4}, {3, 4, 4}, {3, 4, 4}, DType::kBool, false},
  };
  uint32_t seed = 80;
  for (const AttentionCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "case seed " << seed);
    Tensor q = random(DType::kFloat32, c.q, seed), k = random(DType::kFloat32, c.k, seed + 1);
    Tensor v = random(DType::kFloat32, c.v, seed + 2);
    Tensor mask = c.mask_dtype == DType::kBool ? random(DType::kInt8, c.mask.empty() ? Dims{1} : c.mask, seed + 3, 0, 2)
                                               : random(DType::kFloat32, c.mask.empty() ? Dims{1} : c.mask, seed + 3, -3, 1);
    if (c.mask_dtype == DType::kBool) mask = as(mask, DType::kBool);
    if (c.mask_dtype == DType::kBool && !c.mask.empty()) mask.set(0, 0);  // at least one masked position
    Tensor* mp = c.mask.empty() ? nullptr : &mask;
    Dims out(c.q.begin(), c.q.end() - 2);
    // Output batch = broadcast of the three batch shapes (all equal rank here).
    for (size_t i = 0; i < out.size(); ++i) out[i] = std::max({c.q[i], c.k[i], c.v[i]});
    out.push_back(c.q[c.q.size() - 2]);
    out.push_back(c.v.back());
    double scale = 1.0 / std::sqrt(static_cast<double>(c.q.back()));
    Tensor y = run1(attn(scale, c.causal), {&q, &k, &v, mp}, DType::kFloat32, out);
    expect_near(y.values(), attention_reference(q, k, v, mp, scale, c.causal, out), 1e-5);
    for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
      Tensor qh = as(q, dt), kh = as(k, dt), vh = as(v, dt);
      Tensor mh = c.mask_dtype == DType::kBool ? mask : as(mask, dt);
      Tensor yh = run1(attn(scale, c.causal), {&qh, &kh, &vh, mp ? &mh : nullptr}, dt, out);
      // The float scale rounds differently from f32 only through the inputs, which are exact.
      expect_exact(yh.values(), rounded(y.values(), dt));
    }
    seed += 4;
  }
}

TEST(CpuAttention, RejectsMismatchedHeads) {
  Tensor q = random(DType::kFloat32, {1, 2, 4}, 1), k = random(DType::kFloat32, {1, 3, 5}, 2), v = random(DType::kFloat32, {1, 3, 4}, 3);
  EXPECT_FALSE(run_status(attn(1.0), {&q, &k, &v}, DType::kFloat32, {1, 2, 4}).is_ok());
}

}  // namespace
}  // namespace ingot::kernels::cpu::testing
