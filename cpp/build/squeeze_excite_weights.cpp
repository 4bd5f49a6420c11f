// squeeze_excite_into_projections: the gate multiply of a squeeze-and-excitation block moves
// from the activations into the weights of the 1x1 projection that reads them.
//   y[n, p, :] = W . (g[n, :] * x[n, p, :]) = (W * g[n, :]) . x[n, p, :]
// so instead of x * g (a pass that reads and writes all of x) the block computes per-sample
// weights W_n = W * g[n] ([N, O, C], small) and the projection becomes one batched GEMM over
// the samples. In EfficientNet-B0 at batch 32 the scaled activations of the first stages are
// 7-29 MB each (bench/NOTES.md note 57). Where x is small (batch 1, late stages with more
// output channels than pixels) the weights would cost more than they save, so the rewrite takes
// only blocks where it saves at least kMinSavedBytes of traffic.
#include <optional>
#include <utility>

#include "build/passes.h"
#include "build/rewriter.h"

namespace ingot::build {

namespace {

// Bytes of memory traffic a rewrite must save (x's read and write, less the weights' write and
// read) to pay for the launch of the weights' multiply: ~3 us at an H100's bandwidth.
constexpr int64_t kMinSavedBytes = int64_t{8} << 20;

struct Projection {
  size_t gate = 0;  // the squeeze_excite layer
  int64_t n = 0, h = 0, w = 0, c = 0, o = 0;
};

// The projection reading a scaled squeeze_excite layer's output `l`, when it is its only reader
// and a 1x1 channels-last convolution with constant weights over static dims; by the index of
// that convolution.
std::optional<std::pair<size_t, Projection>> projection_of(const net::Network& net, size_t l,
                                                           const std::vector<std::optional<size_t>>& sole) {
  const net::Layer& se_layer = net.layers()[l];
  const auto* se = std::get_if<net::SqueezeExciteParams>(&se_layer.params);
  if (!se || !se->scale_input) return std::nullopt;
  const int xs = se_layer.outputs[0];
  const std::optional<size_t> reader = sole[static_cast<size_t>(xs)];
  if (!reader) return std::nullopt;
  const net::Layer& conv = net.layers()[*reader];
  const auto* p = std::get_if<net::ConvolutionParams>(&conv.params);
  if (!p || !p->channels_last || p->transposed || p->groups != 1 || conv.inputs.empty() || conv.inputs[0] != xs) {
    return std::nullopt;
  }
  for (int64_t v : p->stride) if (v != 1) return std::nullopt;
  for (int64_t v : p->padding) if (v != 0) return std::nullopt;
  for (int64_t v : p->dilation) if (v != 1) return std::nullopt;
  if (conv.inputs.size() < 2) return std::nullopt;
  const net::Tensor& wt = net.tensor(conv.inputs[1]);
  auto wd = ir::static_dims(wt.type.shape);
  auto xd = ir::static_dims(net.tensor(xs).type.shape);
  if (!wt.constant || !wd || wd->size() != 4 || !xd || xd->size() != 4) return std::nullopt;
  Projection q{l, (*xd)[0], (*xd)[1], (*xd)[2], (*xd)[3], (*wd)[0]};
  if ((*wd)[1] != 1 || (*wd)[2] != 1 || (*wd)[3] != q.c || wt.type.dtype != net.tensor(xs).type.dtype) return std::nullopt;
  const int64_t elem = static_cast<int64_t>(ir::dtype_size(wt.type.dtype));
  const int64_t saved = 2 * elem * q.n * q.c * (q.h * q.w - q.o);
  if (saved < kMinSavedBytes) return std::nullopt;
  return std::make_pair(*reader, q);
}

}  // namespace

Expected<net::Network> squeeze_excite_into_projections(const net::Network& net, int* rewritten) {
  const auto& layers = net.layers();
  const std::vector<std::optional<size_t>> sole = sole_readers(net);
  std::vector<std::optional<Projection>> at(layers.size());  // at a projection: its block
  std::vector<bool> moved(layers.size(), false);             // squeeze_excite layers emitted at their projection
  for (size_t l = 0; l < layers.size(); ++l) {
    if (auto found = projection_of(net, l, sole)) {
      at[found->first] = found->second;
      moved[l] = true;
    }
  }

  NetworkRewriter rw(net);
  int count = 0;
  using ir::SymExpr;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (moved[l]) continue;
    if (!at[l]) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const Projection& q = *at[l];
    const net::Layer &se_layer = layers[q.gate], &conv = layers[l];
    const auto& p = std::get<net::ConvolutionParams>(conv.params);
    std::vector<std::string> origins = se_layer.origins;
    origins.insert(origins.end(), conv.origins.begin(), conv.origins.end());
    auto add = [&](net::LayerParams params, std::vector<int> in, const std::string& name) -> Expected<int> {
      INGOT_ASSIGN_OR_RETURN(std::vector<int> y, rw.add(std::move(params), std::move(in), name, origins));
      return y[0];
    };
    // The gates alone, [N, 1, 1, C] -> [N, 1, C], times the weights [O, C]: W_n [N, O, C].
    auto se = std::get<net::SqueezeExciteParams>(se_layer.params);
    se.scale_input = false;
    std::vector<int> se_in;
    for (int id : se_layer.inputs) se_in.push_back(rw.map(id));
    INGOT_ASSIGN_OR_RETURN(int g, add(se, se_in, se_layer.name));
    INGOT_ASSIGN_OR_RETURN(g, add(net::ReshapeParams{{SymExpr(q.n), SymExpr(1), SymExpr(q.c)}}, {g}, se_layer.name + ".rows"));
    const net::Tensor& wt = net.tensor(conv.inputs[1]);
    const ir::ConstantData& wc = *wt.constant;  // [O, 1, 1, C] is [O, C]
    const int w2 = rw.out().add_constant(wt.name + ".matrix",
                                         ir::ConstantData::borrowed(wc.dtype, {q.o, q.c}, wc.data, wc.storage));
    INGOT_ASSIGN_OR_RETURN(int wn, add(net::ElementwiseParams{net::BinaryOp::kMul}, {w2, g}, conv.name + ".gated_weights"));
    // x [N, H, W, C] as [N, H * W, C] (a view), the batched product with W_n^T, back to NHWC.
    const SymExpr pixels(q.h * q.w);
    INGOT_ASSIGN_OR_RETURN(int x, add(net::ReshapeParams{{SymExpr(q.n), pixels, SymExpr(q.c)}}, {rw.map(se_layer.inputs[0])},
                                      conv.name + ".pixels"));
    std::vector<int> mm_in{x, wn};
    const bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] >= 0;
    const bool has_residual = conv.inputs.size() > 3 && conv.inputs[3] >= 0;
    if (has_bias || has_residual) mm_in.push_back(has_bias ? rw.map(conv.inputs[2]) : -1);
    if (has_residual) {
      INGOT_ASSIGN_OR_RETURN(int res, add(net::ReshapeParams{{SymExpr(q.n), pixels, SymExpr(q.o)}}, {rw.map(conv.inputs[3])},
                                          conv.name + ".residual_pixels"));
      mm_in.push_back(res);
    }
    net::MatMulParams mm;
    mm.transpose_b = true;
    mm.activation = p.activation, mm.act_alpha = p.act_alpha, mm.act_beta = p.act_beta;
    INGOT_ASSIGN_OR_RETURN(int y, add(mm, mm_in, conv.name + ".matmul"));
    INGOT_ASSIGN_OR_RETURN(y, add(net::ReshapeParams{{SymExpr(q.n), SymExpr(q.h), SymExpr(q.w), SymExpr(q.o)}}, {y}, conv.name));
    rw.set(conv.outputs[0], y);
    ++count;
  }
  if (rewritten) *rewritten = count;
  return rw.finish();
}

}  // namespace ingot::build
