#include "build/rewriter.h"

#include "support/check.h"

namespace ingot::build {

NetworkRewriter::NetworkRewriter(const net::Network& old,
                                 std::function<ir::ConstantData(const net::Tensor&)> constant_transform)
    : old_(old), constant_transform_(std::move(constant_transform)) {
  for (const auto& [s, r] : old.symbols()) out_.add_symbol(s, r);
  for (int id : old.inputs()) {
    const net::Tensor& t = old.tensor(id);
    map_[id] = out_.add_input(t.name, t.type);
  }
}

int NetworkRewriter::map(int old_id) {
  if (old_id < 0) return -1;
  auto it = map_.find(old_id);
  if (it != map_.end()) return it->second;
  const net::Tensor& t = old_.tensor(old_id);
  INGOT_CHECK(t.constant.has_value(), "tensor '", t.name, "' is used before the rewriter produced it");
  int id = out_.add_constant(t.name, constant_transform_ ? constant_transform_(t) : *t.constant);
  map_[old_id] = id;
  return id;
}

Expected<std::vector<int>> NetworkRewriter::add(net::LayerParams p, std::vector<int> new_inputs, const std::string& name,
                                                const std::vector<std::string>& origins, const std::string& tactic) {
  INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, out_.add_layer(std::move(p), std::move(new_inputs), name));
  net::Layer& layer = out_.mutable_layers().back();
  layer.origins = origins;
  layer.tactic = tactic;
  return outs;
}

Status NetworkRewriter::copy(size_t index) { return copy(index, old_.layers()[index].params); }

Status NetworkRewriter::copy(size_t index, net::LayerParams params) {
  const net::Layer& layer = old_.layers()[index];
  std::vector<int> inputs;
  for (int id : layer.inputs) inputs.push_back(map(id));
  INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, add(std::move(params), std::move(inputs), layer.name, layer.origins, layer.tactic));
  if (outs.size() != layer.outputs.size()) return invalid_argument("layer '", layer.name, "' changed its output count");
  for (size_t i = 0; i < outs.size(); ++i) map_[layer.outputs[i]] = outs[i];
  return Status::ok();
}

net::Network NetworkRewriter::finish() {
  for (size_t i = 0; i < old_.outputs().size(); ++i) out_.mark_output(map(old_.outputs()[i]), old_.output_names()[i]);
  out_.copy_origin_info(old_);
  return std::move(out_);
}

std::vector<int> reader_counts(const net::Network& net) {
  std::vector<int> readers(net.tensors().size(), 0);
  for (const net::Layer& layer : net.layers()) {
    for (int id : layer.inputs) {
      if (id >= 0) ++readers[static_cast<size_t>(id)];
    }
  }
  return readers;
}

std::vector<std::optional<size_t>> sole_readers(const net::Network& net) {
  const std::vector<int> counts = reader_counts(net);
  std::vector<std::optional<size_t>> sole(net.tensors().size());
  for (size_t l = 0; l < net.layers().size(); ++l) {
    for (int id : net.layers()[l].inputs) {
      if (id >= 0 && counts[static_cast<size_t>(id)] == 1) sole[static_cast<size_t>(id)] = l;
    }
  }
  for (int id : net.outputs()) sole[static_cast<size_t>(id)].reset();
  return sole;
}

}  // namespace ingot::build
