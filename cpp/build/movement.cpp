#include "build/movement.h"

#include <vector>

#include "build/rewriter.h"
#include "build/strided_view.h"

namespace ingot::build {

namespace {

// Applies movement layer `l` to a view of its input.
bool apply_movement(const net::Layer& l, StridedView* v) {
  if (const auto* r = std::get_if<net::ReshapeParams>(&l.params)) return v->reshape(r->shape);
  if (const auto* p = std::get_if<net::PermuteParams>(&l.params)) return v->permute(p->perm);
  const auto& s = std::get<net::SliceParams>(l.params);
  return v->slice(s.axes[0], s.starts[0], s.ends[0]);
}

}  // namespace

const net::Layer* producer(const net::Network& net, int id) {
  int p = net.tensor(id).producer;
  return p < 0 ? nullptr : &net.layers()[static_cast<size_t>(p)];
}

bool is_movement(const net::Layer& l) {
  if (l.inputs.size() != 1 || l.outputs.size() != 1) return false;
  if (l.kind() == net::LayerKind::kReshape || l.kind() == net::LayerKind::kPermute) return true;
  const auto* s = std::get_if<net::SliceParams>(&l.params);
  return s && s->axes.size() == 1 && s->steps[0] == 1;
}

bool last_stride_is_one(const ir::Shape& strides) { return !strides.empty() && strides.back().as_constant() == 1; }

std::optional<OperandView> input_view(const net::Network& net, int id) {
  std::vector<const net::Layer*> chain;
  for (int t = id; chain.size() < kMaxChain;) {
    const net::Layer* l = producer(net, t);
    if (!l || !is_movement(*l)) break;
    chain.push_back(l);
    t = l->inputs[0];
  }
  const ir::Shape& want = net.tensor(id).type.shape;
  for (size_t depth = chain.size(); depth > 0; --depth) {
    int storage = chain[depth - 1]->inputs[0];
    StridedView v = StridedView::packed(net.tensor(storage).type.shape);
    bool ok = true;
    for (size_t i = depth; ok && i-- > 0;) ok = apply_movement(*chain[i], &v);
    ir::Shape strides;
    if (!ok || v.shape() != want || !v.strides(&strides) || !last_stride_is_one(strides)) continue;
    return OperandView{storage, std::move(strides), v.offset()};
  }
  return std::nullopt;
}

Expected<net::Network> drop_dead_layers(const net::Network& net) {
  std::vector<bool> live(net.tensors().size(), false), keep(net.layers().size(), false);
  for (int id : net.outputs()) live[static_cast<size_t>(id)] = true;
  for (size_t l = net.layers().size(); l-- > 0;) {
    const net::Layer& layer = net.layers()[l];
    for (int id : layer.outputs) keep[l] = keep[l] || live[static_cast<size_t>(id)];
    if (!keep[l]) continue;
    for (int id : layer.inputs) {
      if (id >= 0) live[static_cast<size_t>(id)] = true;
    }
  }
  NetworkRewriter rw(net);
  for (size_t l = 0; l < net.layers().size(); ++l) {
    if (keep[l]) INGOT_RETURN_IF_ERROR(rw.copy(l));
  }
  return rw.finish();
}

}  // namespace ingot::build
