#include "build/builder.h"

#include <set>

#include "runtime/backend.h"

namespace ingot::build {

// Drops layers whose outputs nothing reads (walking backwards), then unused constants.
net::Network prune_network(const net::Network& in) {
  const auto& layers = in.layers();
  std::vector<bool> live_tensor(in.tensors().size(), false);
  for (int id : in.outputs()) live_tensor[static_cast<size_t>(id)] = true;
  std::vector<bool> live_layer(layers.size(), false);
  for (size_t l = layers.size(); l-- > 0;) {
    bool live = false;
    for (int o : layers[l].outputs) live |= live_tensor[static_cast<size_t>(o)];
    if (!live) continue;
    live_layer[l] = true;
    for (int i : layers[l].inputs) {
      if (i >= 0) live_tensor[static_cast<size_t>(i)] = true;
    }
  }
  for (int id : in.inputs()) live_tensor[static_cast<size_t>(id)] = true;
  // Renumber the live tensors.
  std::vector<int> remap(in.tensors().size(), -1);
  std::vector<net::Tensor> tensors;
  for (const net::Tensor& t : in.tensors()) {
    if (!live_tensor[static_cast<size_t>(t.id)]) continue;
    remap[static_cast<size_t>(t.id)] = static_cast<int>(tensors.size());
    tensors.push_back(t);
  }
  auto map = [&](int id) { return id < 0 ? -1 : remap[static_cast<size_t>(id)]; };
  std::vector<net::Layer> kept;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (!live_layer[l]) continue;
    net::Layer layer = layers[l];
    for (int& i : layer.inputs) i = map(i);
    for (int& o : layer.outputs) o = map(o);
    kept.push_back(std::move(layer));
  }
  std::vector<int> inputs, outputs;
  for (int id : in.inputs()) inputs.push_back(map(id));
  for (int id : in.outputs()) outputs.push_back(map(id));
  net::Network out;
  for (const auto& [s, r] : in.symbols()) out.add_symbol(s, r);
  out.reset(std::move(tensors), std::move(kept), std::move(inputs), std::move(outputs), in.output_names());
  out.copy_origin_info(in);
  return out;
}

namespace {

// Every symbol used anywhere must be some input's dimension, so that the runtime can bind it.
Status check_symbols_derivable(const net::Network& net) {
  std::set<std::string> bindable;
  for (int id : net.inputs()) {
    for (const auto& d : net.tensor(id).type.shape) {
      if (d.is_symbol()) bindable.insert(d.symbol_name());
    }
  }
  for (const net::Tensor& t : net.tensors()) {
    for (const auto& d : t.type.shape) {
      for (const auto& s : d.symbols()) {
        if (!bindable.count(s)) {
          return unsupported("symbol '", s, "' in the shape of '", t.name, "' (", t.type.str(),
                             ") is not a dimension of any engine input, so it cannot be known when the engine runs");
        }
      }
    }
  }
  return Status::ok();
}

Status check_outputs(const net::Network& net) {
  std::set<int> seen;
  for (size_t i = 0; i < net.outputs().size(); ++i) {
    int id = net.outputs()[i];
    const net::Tensor& t = net.tensor(id);
    if (t.producer < 0 || !seen.insert(id).second) {
      return invalid_argument("engine output '", net.output_names()[i], "' must be produced by a layer and be distinct");
    }
  }
  return Status::ok();
}

}  // namespace

Status check_engine_network(const net::Network& net) {
  INGOT_RETURN_IF_ERROR(check_outputs(net));
  return check_symbols_derivable(net);
}

Expected<plan::Plan> finish_plan(net::Network network, const BuildSettings& settings, plan::Backend backend,
                                 const std::string& device) {
  net::Network net = prune_network(network);
  INGOT_RETURN_IF_ERROR(check_engine_network(net));
  std::vector<plan::Profile> profiles;
  INGOT_RETURN_IF_ERROR(apply_profiles(net, settings, &profiles));
  INGOT_ASSIGN_OR_RETURN(plan::MemoryPlan memory, plan_memory(net));
  plan::Plan p;
  p.backend = backend;
  p.device = device;
  p.producer = "ingot 0.1.0";
  p.name = settings.name;
  p.allow_tf32 = !settings.disable_tf32;
  p.network = std::move(net);
  p.memory = std::move(memory);
  p.profiles = std::move(profiles);
  for (auto& prof : p.profiles) {
    for (const net::Layer& layer : p.network.layers()) prof.tactics.push_back(layer.tactic);
  }
  return p;
}

Expected<plan::Plan> build_plan(net::Network network, const BuildSettings& settings) {
  INGOT_RETURN_IF_ERROR(network.validate().with_context("network for engine '" + settings.name + "' is invalid: "));
  INGOT_ASSIGN_OR_RETURN(const runtime::Backend* backend, runtime::get_backend(settings.backend));
  return backend->build(std::move(network), settings);
}

}  // namespace ingot::build
