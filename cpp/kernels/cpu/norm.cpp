// Normalization: layer norm, RMS norm, group norm and batch norm (inference). Statistics are
// computed in double (two passes: mean, then squared deviations); variances are biased.
#include <cmath>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

using net::NormKind;

struct Moments {
  double mean = 0.0;
  double var = 0.0;  // biased
};

Moments moments(const float* x, int64_t n, int64_t stride = 1) {
  Moments m;
  if (n == 0) return m;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i * stride];
  m.mean = sum / static_cast<double>(n);
  double m2 = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    double d = x[i * stride] - m.mean;
    m2 += d * d;
  }
  m.var = m2 / static_cast<double>(n);
  return m;
}

// An optional per-element parameter (weight, bias) as doubles; `fallback` where absent.
std::vector<double> param_or(const Tensors& in, size_t i, int64_t n, double fallback) {
  if (has_input(in, i)) return load_doubles(in[i]);
  return std::vector<double>(static_cast<size_t>(n), fallback);
}

// Layer and RMS norm: each row of `inner` trailing elements normalized on its own; weight and
// bias have the row's shape.
void layer_norm(const net::NormalizationParams& p, const Tensors& in, const float* x, float* y, int64_t outer, int64_t inner) {
  std::vector<double> w = param_or(in, 1, inner, 1.0), b = param_or(in, 2, inner, 0.0);
  for (int64_t r = 0; r < outer; ++r) {
    const float* xr = x + r * inner;
    float* yr = y + r * inner;
    double center = 0.0, scale;
    if (p.kind == NormKind::kRms) {
      double ss = 0.0;
      for (int64_t i = 0; i < inner; ++i) ss += static_cast<double>(xr[i]) * xr[i];
      scale = 1.0 / std::sqrt(ss / static_cast<double>(inner) + p.eps);
    } else {
      Moments m = moments(xr, inner);
      center = m.mean;
      scale = 1.0 / std::sqrt(m.var + p.eps);
    }
    for (int64_t i = 0; i < inner; ++i) yr[i] = static_cast<float>((xr[i] - center) * scale * w[i] + b[i]);
  }
}

void group_norm(const net::NormalizationParams& p, const Tensors& in, const float* x, float* y, const Dims& dims) {
  int64_t n = dims[0], c = dims[1], spatial = product(dims, 2, dims.size());
  int64_t groups = p.num_groups, per_group = c / groups;
  std::vector<double> w = param_or(in, 1, c, 1.0), b = param_or(in, 2, c, 0.0);
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t g = 0; g < groups; ++g) {
      int64_t base = (s * c + g * per_group) * spatial;
      Moments m = moments(x + base, per_group * spatial);
      double rstd = 1.0 / std::sqrt(m.var + p.eps);
      for (int64_t ch = g * per_group; ch < (g + 1) * per_group; ++ch) {
        const float* xc = x + (s * c + ch) * spatial;
        float* yc = y + (s * c + ch) * spatial;
        double scale = rstd * w[static_cast<size_t>(ch)], shift = b[static_cast<size_t>(ch)] - m.mean * scale;
        for (int64_t i = 0; i < spatial; ++i) yc[i] = static_cast<float>(xc[i] * scale + shift);
      }
    }
  }
}

void batch_norm(const net::NormalizationParams& p, const Tensors& in, const float* x, float* y, const Dims& dims) {
  int64_t n = dims[0], c = dims[1], spatial = product(dims, 2, dims.size());
  std::vector<double> w = param_or(in, 1, c, 1.0), b = param_or(in, 2, c, 0.0);
  std::vector<double> mean = load_doubles(in[3]), var = load_doubles(in[4]);
  for (int64_t ch = 0; ch < c; ++ch) {
    size_t k = static_cast<size_t>(ch);
    double scale = w[k] / std::sqrt(var[k] + p.eps), shift = b[k] - mean[k] * scale;
    for (int64_t s = 0; s < n; ++s) {
      const float* xc = x + (s * c + ch) * spatial;
      float* yc = y + (s * c + ch) * spatial;
      for (int64_t i = 0; i < spatial; ++i) yc[i] = static_cast<float>(xc[i] * scale + shift);
    }
  }
}

}  // namespace

Status run(const net::NormalizationParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &x = in[0], &y = out[0];
  FloatInput fx(x);
  FloatOutput fy(y);
  switch (p.kind) {
    case NormKind::kLayer:
    case NormKind::kRms: {
      size_t axis = static_cast<size_t>(p.axis);
      layer_norm(p, in, fx.data(), fy.data(), product(x.dims, 0, axis), product(x.dims, axis, x.dims.size()));
      break;
    }
    case NormKind::kGroup: group_norm(p, in, fx.data(), fy.data(), x.dims); break;
    case NormKind::kBatch: batch_norm(p, in, fx.data(), fy.data(), x.dims); break;
    default: return invalid_argument("normalization: unknown kind");
  }
  fy.commit();
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
