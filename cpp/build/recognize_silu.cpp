#include <optional>
#include <set>

#include "build/passes.h"
#include "build/rewriter.h"

namespace ingot::build {

Expected<net::Network> recognize_silu(const net::Network& net, int* recognized) {
  const auto& layers = net.layers();
  const std::vector<int> readers = reader_counts(net);
  std::set<int> outputs(net.outputs().begin(), net.outputs().end());

  // The sigmoid layer whose output `id` is, when `id` is sigmoid(x) read by nothing else.
  auto private_sigmoid_of = [&](int id, int x) -> std::optional<size_t> {
    const net::Tensor& t = net.tensor(id);
    if (t.producer < 0 || outputs.count(id) || readers[static_cast<size_t>(id)] != 1) return std::nullopt;
    const net::Layer& s = layers[static_cast<size_t>(t.producer)];
    const auto* u = std::get_if<net::UnaryParams>(&s.params);
    if (!u || u->op != net::UnaryOp::kSigmoid || s.inputs[0] != x) return std::nullopt;
    return static_cast<size_t>(t.producer);
  };

  std::vector<int> sigmoid_of_mul(layers.size(), -1);  // mul layer -> the sigmoid it absorbs
  std::vector<bool> dropped(layers.size(), false);
  for (size_t l = 0; l < layers.size(); ++l) {
    const net::Layer& m = layers[l];
    const auto* e = std::get_if<net::ElementwiseParams>(&m.params);
    if (!e || e->op != net::BinaryOp::kMul || m.inputs[0] == m.inputs[1]) continue;
    const ir::TensorType& out = net.tensor(m.outputs[0]).type;
    // Same type on both sides means no broadcast: silu(x) has x's shape, so it must be the mul's.
    if (!ir::is_floating(out.dtype) || !(net.tensor(m.inputs[0]).type == out) || !(net.tensor(m.inputs[1]).type == out)) {
      continue;
    }
    for (int side = 0; side < 2; ++side) {
      int s = m.inputs[static_cast<size_t>(side)], x = m.inputs[static_cast<size_t>(1 - side)];
      auto sig = private_sigmoid_of(s, x);
      if (!sig) continue;
      sigmoid_of_mul[l] = static_cast<int>(*sig);
      dropped[*sig] = true;
      break;
    }
  }

  NetworkRewriter rw(net);
  int count = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (dropped[l]) continue;  // its only reader, the mul, becomes the silu
    if (sigmoid_of_mul[l] < 0) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const net::Layer& m = layers[l];
    const net::Layer& s = layers[static_cast<size_t>(sigmoid_of_mul[l])];
    std::vector<std::string> origins = s.origins;
    origins.insert(origins.end(), m.origins.begin(), m.origins.end());
    net::UnaryParams silu;
    silu.op = net::UnaryOp::kSilu;
    INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, rw.add(silu, {rw.map(s.inputs[0])}, m.name, origins, m.tactic));
    rw.set(m.outputs[0], outs[0]);
    ++count;
  }
  if (recognized) *recognized = count;
  return rw.finish();
}

}  // namespace ingot::build
