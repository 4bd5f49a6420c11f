#include <initializer_list>
#include <optional>

#include "build/passes.h"
#include "build/rewriter.h"

namespace ingot::build {
namespace {

// A matmul a . b^T with a constant 2-D b, an optional constant bias, and, where `residual`, a
// residual input (else none); nullptr otherwise.
const net::MatMulParams* linear(const net::Network& net, const net::Layer& l, bool residual) {
  const auto* m = std::get_if<net::MatMulParams>(&l.params);
  if (!m || m->transpose_a || !m->transpose_b || l.inputs.size() < 2) return nullptr;
  const bool has_residual = l.inputs.size() > 3 && l.inputs[3] >= 0;
  if (has_residual != residual) return nullptr;
  const net::Tensor& w = net.tensor(l.inputs[1]);
  if (!w.constant || w.type.rank() != 2) return nullptr;
  if (l.inputs.size() > 2 && l.inputs[2] >= 0 && !net.tensor(l.inputs[2]).constant) return nullptr;
  return m;
}

// A layer normalization over the last dim (rank >= 2) with a weight and a bias.
bool last_dim_layer_norm(const net::Network& net, const net::Layer& norm) {
  const auto* pn = std::get_if<net::NormalizationParams>(&norm.params);
  if (!pn || pn->kind != net::NormKind::kLayer || norm.inputs.size() != 3 || norm.inputs[1] < 0 || norm.inputs[2] < 0) {
    return false;
  }
  const auto rank = static_cast<int64_t>(net.tensor(norm.inputs[0]).type.rank());
  return rank >= 2 && (pn->axis == rank - 1 || pn->axis == -1);
}

// The matched layers' tensors all of the first input's floating dtype, its shape static, and
// the backend's fits() true for its rows, the output's width and `f` (the second product's K).
bool fits_here(const net::Network& net, std::initializer_list<const net::Layer*> parts, const FeedForwardFits& fits,
               int64_t f) {
  const net::Layer& last = **(parts.end() - 1);
  const ir::TensorType& xt = net.tensor((*parts.begin())->inputs[0]).type;
  auto dims = ir::static_dims(xt.shape);
  if (!dims || dims->size() < 2 || !ir::is_floating(xt.dtype)) return false;
  bool one_dtype = net.tensor(last.outputs[0]).type.dtype == xt.dtype;
  for (const net::Layer* l : parts) {
    for (int id : l->inputs) one_dtype &= id < 0 || net.tensor(id).type.dtype == xt.dtype;
  }
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < dims->size(); ++i) rows *= (*dims)[i];
  auto d = net.tensor(last.outputs[0]).type.shape.back().as_constant();
  return one_dtype && d && (!fits || fits(rows, *d, f, xt.dtype));
}

}  // namespace

Expected<net::Network> fuse_feed_forward(const net::Network& net, const FeedForwardFits& fits, int* fused) {
  if (fused) *fused = 0;
  const auto& layers = net.layers();
  const std::vector<std::optional<size_t>> sole = sole_readers(net);
  // For each layer normalization that ends a match: its matmuls (the first absent for a
  // linear layer with its residual and the LayerNorm only).
  struct Match {
    std::optional<size_t> first;
    size_t second = 0;
  };
  std::vector<std::optional<Match>> match(layers.size());
  std::vector<bool> absorbed(layers.size(), false);
  for (size_t a = 0; a < layers.size(); ++a) {
    const net::MatMulParams* p1 = linear(net, layers[a], false);
    if (!p1) continue;
    const int x = layers[a].inputs[0], h = layers[a].outputs[0];
    const auto b = sole[static_cast<size_t>(h)];
    if (!b || layers[*b].inputs.empty() || layers[*b].inputs[0] != h) continue;
    const net::MatMulParams* p2 = linear(net, layers[*b], true);
    if (!p2 || p2->activation != net::UnaryOp::kIdentity || layers[*b].inputs[3] != x) continue;
    const auto n = sole[static_cast<size_t>(layers[*b].outputs[0])];
    if (!n) continue;
    const net::Layer& norm = layers[*n];
    if (!last_dim_layer_norm(net, norm) || norm.inputs[0] != layers[*b].outputs[0]) continue;
    if (!fits_here(net, {&layers[a], &layers[*b], &norm}, fits, net.tensor(layers[a].inputs[1]).constant->dims[0])) {
      continue;
    }
    match[*n] = Match{a, *b};
    absorbed[a] = absorbed[*b] = true;
  }
  // Then a matmul with a residual (no activation) read only by a layer normalization, where
  // the first pattern took neither: BERT's attention output and its LayerNorm.
  for (size_t b = 0; b < layers.size(); ++b) {
    const net::MatMulParams* p = absorbed[b] ? nullptr : linear(net, layers[b], true);
    if (!p || p->activation != net::UnaryOp::kIdentity) continue;
    const auto n = sole[static_cast<size_t>(layers[b].outputs[0])];
    if (!n || match[*n] || !last_dim_layer_norm(net, layers[*n]) || layers[*n].inputs[0] != layers[b].outputs[0]) continue;
    const ir::TensorType& xt = net.tensor(layers[b].inputs[0]).type;
    auto k = xt.rank() >= 2 ? xt.shape.back().as_constant() : std::nullopt;
    if (!k || !fits_here(net, {&layers[b], &layers[*n]}, fits, *k)) continue;
    match[*n] = Match{std::nullopt, b};
    absorbed[b] = true;
  }

  NetworkRewriter rw(net);
  for (size_t l = 0; l < layers.size(); ++l) {
    if (absorbed[l]) continue;
    if (!match[l]) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const net::Layer &fc2 = layers[match[l]->second], &norm = layers[l];
    const net::Layer* fc1 = match[l]->first ? &layers[*match[l]->first] : nullptr;
    net::FeedForwardParams ff;
    if (fc1) {
      const auto& p1 = std::get<net::MatMulParams>(fc1->params);
      ff.act = p1.activation, ff.act_alpha = p1.act_alpha, ff.act_beta = p1.act_beta;
    }
    ff.eps = std::get<net::NormalizationParams>(norm.params).eps;
    auto bias = [&](const net::Layer& fc) { return fc.inputs.size() > 2 && fc.inputs[2] >= 0 ? rw.map(fc.inputs[2]) : -1; };
    std::vector<int> inputs{rw.map(fc1 ? fc1->inputs[0] : fc2.inputs[0]), fc1 ? rw.map(fc1->inputs[1]) : -1,
                            fc1 ? bias(*fc1) : -1, rw.map(fc2.inputs[1]), bias(fc2), rw.map(norm.inputs[1]),
                            rw.map(norm.inputs[2])};
    if (!fc1) inputs.push_back(rw.map(fc2.inputs[3]));  // the residual (with FC1 it is x)
    std::vector<std::string> origins = fc1 ? fc1->origins : std::vector<std::string>{};
    origins.insert(origins.end(), fc2.origins.begin(), fc2.origins.end());
    origins.insert(origins.end(), norm.origins.begin(), norm.origins.end());
    INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, rw.add(ff, inputs, (fc1 ? fc1->name : fc2.name) + ".ffn", origins));
    rw.set(norm.outputs[0], outs[0]);
    if (fused) ++*fused;
  }
  return rw.finish();
}

}  // namespace ingot::build
