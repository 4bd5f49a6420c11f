// fold_permute_chains: a permute that, with the reshapes and permutes before it, moves no
// element (its output is the chain's first tensor in row-major order) becomes a reshape of that
// tensor, which the memory planner lays on the tensor's bytes; layers left without readers go.
// The CUDA build meets such chains where a channels-last convolution's output goes back to
// NCHW and a model then flattens and transposes it into tokens (ViT's patch embedding:
// NHWC -> NCHW -> [N, C, HW] -> [N, HW, C], which is the NHWC tensor itself).
#include <map>

#include "build/movement.h"
#include "build/passes.h"
#include "build/rewriter.h"
#include "build/strided_view.h"

namespace ingot::build {

Expected<net::Network> fold_permute_chains(const net::Network& net, int* folded) {
  std::map<size_t, int> source;  // permute layer -> the tensor it is a reshape of
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    if (layer.kind() != net::LayerKind::kPermute) continue;
    auto v = input_view(net, layer.outputs[0]);
    if (!v || v->offset.as_constant() != 0) continue;
    ir::Shape packed;
    if (!StridedView::packed(net.tensor(layer.outputs[0]).type.shape).strides(&packed) || packed != v->strides) continue;
    source[l] = v->storage;
  }
  if (folded) *folded = static_cast<int>(source.size());
  if (source.empty()) return net;
  NetworkRewriter rw(net);
  for (size_t l = 0; l < net.layers().size(); ++l) {
    auto it = source.find(l);
    if (it == source.end()) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const net::Layer& layer = net.layers()[l];
    net::ReshapeParams r;
    r.shape = net.tensor(layer.outputs[0]).type.shape;
    INGOT_ASSIGN_OR_RETURN(auto y, rw.add(r, {rw.map(it->second)}, layer.name, layer.origins));
    rw.set(layer.outputs[0], y[0]);
  }
  return drop_dead_layers(rw.finish());
}

}  // namespace ingot::build
