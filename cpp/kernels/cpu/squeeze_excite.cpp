// The squeeze-and-excitation gate (net::SqueezeExciteParams): a mean over H and W, two small
// fully connected layers with their activations; pooled and hidden values in float32 (the sums
// in double), the gate rounded once into the output's dtype.
#include "kernels/cpu/elements.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

// act(v) in place over a float32 array, with the unary kernel's formulas.
Status activate(net::UnaryOp op, double alpha, double beta, std::vector<float>& v) {
  if (op == net::UnaryOp::kIdentity || v.empty()) return Status::ok();
  net::UnaryParams u;
  u.op = op;
  u.alpha = alpha;
  u.beta = beta;
  TensorView t{v.data(), DType::kFloat32, {static_cast<int64_t>(v.size())}};
  return run(u, {t}, {t});
}

}  // namespace

Status run(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out) {
  const TensorView& x = in[0];
  const int64_t n = x.dims[0], hw = x.dims[1] * x.dims[2], c = x.dims[3], r = in[1].dims[0];
  FloatInput xs(x), w1(in[1]), w2(in[3]);
  std::vector<float> b1 = has_input(in, 2) ? load_floats(in[2]) : std::vector<float>(static_cast<size_t>(r), 0.0f);
  std::vector<float> b2 = has_input(in, 4) ? load_floats(in[4]) : std::vector<float>(static_cast<size_t>(c), 0.0f);
  std::vector<float> gate(static_cast<size_t>(n * c));
  std::vector<float> pooled(static_cast<size_t>(c)), hidden(static_cast<size_t>(r)), g(static_cast<size_t>(c));
  // The sums over H and W: given (the convolution that wrote x added them), or from x.
  const auto* sums = has_input(in, 5) ? static_cast<const double*>(in[5].data) : nullptr;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t k = 0; k < c; ++k) {
      double s = 0;
      if (sums) s = sums[b * c + k];
      else for (int64_t i = 0; i < hw; ++i) s += xs[(b * hw + i) * c + k];
      pooled[static_cast<size_t>(k)] = static_cast<float>(hw ? s / static_cast<double>(hw) : s / 0.0);
    }
    for (int64_t j = 0; j < r; ++j) {
      double s = b1[static_cast<size_t>(j)];
      for (int64_t k = 0; k < c; ++k) s += static_cast<double>(w1[j * c + k]) * pooled[static_cast<size_t>(k)];
      hidden[static_cast<size_t>(j)] = static_cast<float>(s);
    }
    INGOT_RETURN_IF_ERROR(activate(p.act1, p.act1_alpha, p.act1_beta, hidden));
    for (int64_t k = 0; k < c; ++k) {
      double s = b2[static_cast<size_t>(k)];
      for (int64_t j = 0; j < r; ++j) s += static_cast<double>(w2[k * r + j]) * hidden[static_cast<size_t>(j)];
      g[static_cast<size_t>(k)] = static_cast<float>(s);
    }
    INGOT_RETURN_IF_ERROR(activate(p.act2, p.act2_alpha, p.act2_beta, g));
    std::copy(g.begin(), g.end(), gate.begin() + b * c);
  }
  if (!p.scale_input) {
    store_floats(gate.data(), out[0]);
    return Status::ok();
  }
  // Round the gate as a separate multiply layer would read it.
  std::vector<unsigned char> rounded(static_cast<size_t>(n * c) * ir::dtype_size(x.dtype));
  TensorView g_view{rounded.data(), x.dtype, {n * c}};
  store_floats(gate.data(), g_view);
  gate = load_floats(g_view);
  std::vector<float> y(static_cast<size_t>(n * hw * c));
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t i = 0; i < hw; ++i) {
      for (int64_t k = 0; k < c; ++k) {
        int64_t e = (b * hw + i) * c + k;
        y[static_cast<size_t>(e)] = xs[e] * gate[static_cast<size_t>(b * c + k)];
      }
    }
  }
  store_floats(y.data(), out[0]);
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
