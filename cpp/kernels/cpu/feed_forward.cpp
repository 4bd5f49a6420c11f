// The feed-forward half of a transformer encoder block (net::FeedForwardParams): the products
// in double, h rounded once to x's dtype (as the layer boundary it replaces would; without w1, h
// is x), the sum before the LayerNorm and its statistics in double, y rounded once.
#include <cmath>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

// h = act(x . w1^T + b1) for every row, activated in float32 with the unary kernel's formulas,
// then rounded to x's dtype.
Expected<std::vector<float>> first_product(const net::FeedForwardParams& p, const Tensors& in, int64_t rows, int64_t k,
                                           int64_t f) {
  FloatInput xs(in[0]), w1(in[1]);
  const std::vector<float> b1 = has_input(in, 2) ? load_floats(in[2]) : std::vector<float>(static_cast<size_t>(f), 0.0f);
  std::vector<float> h(static_cast<size_t>(rows * f));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < f; ++j) {
      double s = b1[static_cast<size_t>(j)];
      for (int64_t c = 0; c < k; ++c) s += static_cast<double>(xs[r * k + c]) * w1[j * k + c];
      h[static_cast<size_t>(r * f + j)] = static_cast<float>(s);
    }
  }
  if (p.act != net::UnaryOp::kIdentity && !h.empty()) {
    net::UnaryParams u;
    u.op = p.act;
    u.alpha = p.act_alpha;
    u.beta = p.act_beta;
    const TensorView hv{h.data(), DType::kFloat32, {static_cast<int64_t>(h.size())}};
    INGOT_RETURN_IF_ERROR(run(u, {hv}, {hv}));
  }
  std::vector<unsigned char> rounded(h.size() * ir::dtype_size(in[0].dtype));
  const TensorView h_view{rounded.data(), in[0].dtype, {static_cast<int64_t>(h.size())}};
  store_floats(h.data(), h_view);
  return load_floats(h_view);
}

}  // namespace

Status run(const net::FeedForwardParams& p, const Tensors& in, const Tensors& out) {
  const TensorView& x = in[0];
  const bool first = has_input(in, 1);
  const int64_t k = x.dims.back(), f = first ? in[1].dims[0] : k, d = in[3].dims[0];
  const int64_t rows = k ? x.numel() / k : 0;
  FloatInput xs(x), w2(in[3]), res(has_input(in, 7) ? in[7] : x);
  const std::vector<float> b2 = has_input(in, 4) ? load_floats(in[4]) : std::vector<float>(static_cast<size_t>(d), 0.0f);
  const std::vector<float> gamma = load_floats(in[5]), beta = load_floats(in[6]);
  std::vector<float> first_out;
  if (first) {
    INGOT_ASSIGN_OR_RETURN(first_out, first_product(p, in, rows, k, f));
  }
  const float* h = first ? first_out.data() : xs.data();  // without w1 the second product reads x

  std::vector<double> z(static_cast<size_t>(d));
  std::vector<float> y(static_cast<size_t>(rows * d));
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      double s = static_cast<double>(res[r * d + j]) + b2[static_cast<size_t>(j)];
      for (int64_t c = 0; c < f; ++c) s += static_cast<double>(h[r * f + c]) * w2[j * f + c];
      z[static_cast<size_t>(j)] = s;
      mean += s;
    }
    mean /= static_cast<double>(d);
    double var = 0.0;
    for (double v : z) var += (v - mean) * (v - mean);
    const double scale = 1.0 / std::sqrt(var / static_cast<double>(d) + p.eps);
    for (int64_t j = 0; j < d; ++j) {
      const auto i = static_cast<size_t>(j);
      y[static_cast<size_t>(r * d + j)] = static_cast<float>((z[i] - mean) * scale * gamma[i] + beta[i]);
    }
  }
  store_floats(y.data(), out[0]);
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
