// verify(): what must hold for a plan that the runtime may execute without further checks.
#include <algorithm>
#include <iterator>
#include <map>

#include "plan/format.h"
#include "plan/plan.h"
#include "support/check.h"

namespace ingot::plan {

namespace {

template <typename... Args>
Status corrupt(Args&&... args) {
  return error(ErrorCode::kCorruptPlan, std::forward<Args>(args)...);
}

std::string dtype_str(ir::DType t) {
  if (static_cast<int>(t) >= ir::kNumDTypes) return str_cat("value ", static_cast<int>(t));
  return std::string(ir::dtype_name(t));
}

Status verify_symbols(const net::Network& net) {
  for (const auto& [name, range] : net.symbols()) {
    if (range.min < 0 || range.min > range.max) {
      return corrupt("symbol ", name, " has range [", range.min, ", ", range.max, "]; need 0 <= min <= max");
    }
  }
  return Status::ok();
}

// The tensors that are a convolution's channel sums (net::ConvolutionParams), the one place an
// f64 tensor may be.
std::vector<bool> channel_sums_tensors(const net::Network& net) {
  std::vector<bool> sums(net.tensors().size(), false);
  for (const net::Layer& layer : net.layers()) {
    const auto* c = std::get_if<net::ConvolutionParams>(&layer.params);
    if (c && c->channel_sums && layer.outputs.size() == 2 && layer.outputs[1] >= 0 &&
        static_cast<size_t>(layer.outputs[1]) < sums.size()) {
      sums[static_cast<size_t>(layer.outputs[1])] = true;
    }
  }
  return sums;
}

Status verify_tensors(const net::Network& net) {
  const std::vector<bool> sums = channel_sums_tensors(net);
  for (size_t i = 0; i < net.tensors().size(); ++i) {
    const net::Tensor& t = net.tensors()[i];
    const bool allowed = ir::is_engine_dtype(t.type.dtype) || (sums[i] && t.type.dtype == ir::DType::kFloat64);
    if (!allowed) {
      return corrupt("tensor '", t.name, "' has dtype ", dtype_str(t.type.dtype), ", which engines do not support");
    }
    for (const auto& d : t.type.shape) {
      if (auto c = d.as_constant(); c && *c < 0) {
        return corrupt("tensor '", t.name, "' has a negative dim in ", t.type.str());
      }
    }
  }
  return Status::ok();
}

// Report fields: origin info names nodes; timed tactics have sane times.
Status verify_reports(const net::Network& net) {
  for (const auto& [node, info] : net.origin_info()) {
    if (node.empty()) return corrupt("origin info with an empty node name (op '", info.op, "')");
  }
  for (const net::Layer& layer : net.layers()) {
    for (const net::TimedTactic& t : layer.timed) {
      if (!(t.ms >= 0.0) || t.ms > 1e12) {
        return corrupt("layer '", layer.name, "' tactic '", t.tactic, "' has time ", t.ms, " ms; need 0 <= ms <= 1e12");
      }
    }
  }
  return Status::ok();
}

// After Network::validate(): every tensor is an input, a constant or a layer output, and the
// engine outputs are distinct layer outputs.
Status verify_kinds(const net::Network& net) {
  for (const net::Tensor& t : net.tensors()) {
    if (!t.is_input && !t.constant && t.producer < 0) {
      return corrupt("tensor '", t.name, "' is neither an input, a constant nor produced by a layer");
    }
  }
  std::vector<bool> seen(net.tensors().size(), false);
  for (size_t i = 0; i < net.outputs().size(); ++i) {
    int id = net.outputs()[i];
    const net::Tensor& t = net.tensor(id);
    if (t.producer < 0) {
      return corrupt("engine output '", net.output_names()[i], "' is tensor '", t.name,
                     "', which no layer produces (", t.is_input ? "an input" : "a constant",
                     "); the builder copies it with an identity layer");
    }
    if (seen[static_cast<size_t>(id)]) {
      return corrupt("engine output '", net.output_names()[i], "' repeats tensor '", t.name, "'");
    }
    seen[static_cast<size_t>(id)] = true;
  }
  return Status::ok();
}

Status verify_memory(const Plan& plan) {
  const net::Network& net = plan.network;
  const MemoryPlan& m = plan.memory;
  const size_t n = net.tensors().size();
  if (m.offsets.size() != n || m.sizes.size() != n) {
    return corrupt("memory plan has ", m.offsets.size(), " offsets and ", m.sizes.size(),
                   " sizes for ", n, " tensors");
  }
  std::vector<bool> is_activation(n, false);
  for (size_t i = 0; i < n; ++i) is_activation[i] = net.tensors()[i].producer >= 0;
  for (int id : net.outputs()) is_activation[static_cast<size_t>(id)] = false;

  uint64_t used = 0;  // end of the last activation's bytes
  for (size_t i = 0; i < n; ++i) {
    const net::Tensor& t = net.tensors()[i];
    int64_t offset = m.offsets[i];
    uint64_t size = m.sizes[i];
    if (!is_activation[i]) {
      if (offset != -1 || size != 0) {
        return corrupt("tensor '", t.name, "' is not an activation, but the memory plan gives it offset ",
                       offset, " and ", size, " bytes (expected -1 and 0)");
      }
      continue;
    }
    if (offset < 0) return corrupt("activation '", t.name, "' has arena offset ", offset);
    if (size > m.arena_bytes || static_cast<uint64_t>(offset) > m.arena_bytes - size) {
      return corrupt("activation '", t.name, "' at arena offset ", offset, " with ", size,
                     " bytes ends past the arena of ", m.arena_bytes, " bytes");
    }
    INGOT_ASSIGN_OR_RETURN(uint64_t need, max_tensor_bytes(net, t.id));
    if (size < need) {
      return corrupt("activation '", t.name, "' ", t.type.str(), " gets ", size,
                     " bytes in the memory plan but needs ", need, " at its largest shape");
    }
    used = std::max(used, static_cast<uint64_t>(offset) + size);
  }
  if (m.arena_bytes != used) {
    return corrupt("memory plan arena has ", m.arena_bytes, " bytes, but the activations end at byte ", used);
  }

  // Live ranges: from the producing layer through the last reader, both inclusive.
  const auto& layers = net.layers();
  std::vector<size_t> last_use(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (is_activation[i]) last_use[i] = static_cast<size_t>(net.tensors()[i].producer);
  }
  for (size_t l = 0; l < layers.size(); ++l) {
    for (int id : layers[l].inputs) {
      if (id >= 0 && is_activation[static_cast<size_t>(id)]) last_use[static_cast<size_t>(id)] = l;
    }
  }
  // Views share their input's bytes: one allocation, live until its last member's last use.
  std::vector<int> owner(n);
  for (size_t i = 0; i < n; ++i) owner[i] = static_cast<int>(i);
  for (const net::Layer& layer : layers) {
    if (is_view(m, layer)) owner[static_cast<size_t>(layer.outputs[0])] = owner[static_cast<size_t>(layer.inputs[0])];
  }
  for (size_t i = 0; i < n; ++i) {
    auto o = static_cast<size_t>(owner[i]);
    if (o != i) last_use[o] = std::max(last_use[o], last_use[i]);
  }
  std::vector<std::vector<int>> dies_after(layers.size());
  std::map<uint64_t, std::pair<uint64_t, int>> live;  // offset -> (end, tensor id)
  auto name = [&](int id) { return net.tensor(id).name; };
  for (size_t l = 0; l < layers.size(); ++l) {
    for (int id : layers[l].outputs) {
      auto i = static_cast<size_t>(id);
      if (!is_activation[i] || m.sizes[i] == 0 || owner[i] != id) continue;
      uint64_t begin = static_cast<uint64_t>(m.offsets[i]), end = begin + m.sizes[i];
      auto next = live.lower_bound(begin);
      int clash = -1;
      if (next != live.end() && next->first < end) clash = next->second.second;
      if (next != live.begin() && std::prev(next)->second.first > begin) clash = std::prev(next)->second.second;
      if (clash >= 0) {
        const auto c = static_cast<size_t>(clash);
        return corrupt("activations '", name(id), "' [", begin, ", ", end, ") and '", name(clash), "' [",
                       m.offsets[c], ", ", static_cast<uint64_t>(m.offsets[c]) + m.sizes[c],
                       ") share arena bytes while both are live (layer '", layers[l].name, "')");
      }
      live.emplace(begin, std::make_pair(end, id));
      dies_after[last_use[i]].push_back(id);
    }
    for (int id : dies_after[l]) live.erase(static_cast<uint64_t>(m.offsets[static_cast<size_t>(id)]));
  }
  return Status::ok();
}

}  // namespace

bool is_view(const MemoryPlan& memory, const net::Layer& layer) {
  if (layer.kind() != net::LayerKind::kReshape || layer.inputs.size() != 1 || layer.outputs.size() != 1) return false;
  const int in = layer.inputs[0], out = layer.outputs[0];
  const auto n = static_cast<int>(memory.offsets.size());
  if (in < 0 || out < 0 || in >= n || out >= n || static_cast<int>(memory.sizes.size()) != n) return false;
  const auto i = static_cast<size_t>(in), o = static_cast<size_t>(out);
  return memory.offsets[i] >= 0 && memory.offsets[i] == memory.offsets[o] && memory.sizes[i] == memory.sizes[o];
}

Expected<uint64_t> max_tensor_bytes(const net::Network& network, int id) {
  if (id < 0 || static_cast<size_t>(id) >= network.tensors().size()) {
    return invalid_argument("tensor id ", id, " out of range");
  }
  const net::Tensor& t = network.tensor(id);
  if (!ir::is_buffer_dtype(t.type.dtype)) {
    return corrupt("tensor '", t.name, "' has dtype ", dtype_str(t.type.dtype), ", which has no engine size");
  }
  auto ranges = [&](const std::string& s) { return network.symbol_range(s); };
  std::vector<uint64_t> dims;
  for (size_t k = 0; k < t.type.shape.size(); ++k) {
    ir::SymRange r = t.type.shape[k].bounds(ranges);
    if (r.max == ir::SymRange::kInf) {
      return corrupt("tensor '", t.name, "' ", t.type.str(), " has no upper bound: dim ", k, " (",
                     t.type.shape[k].str(), ") is unbounded over the symbol ranges");
    }
    dims.push_back(static_cast<uint64_t>(std::max<int64_t>(r.max, 0)));
  }
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) return uint64_t{0};
  uint64_t bytes = ir::dtype_size(t.type.dtype);
  for (uint64_t d : dims) {
    if (__builtin_mul_overflow(bytes, d, &bytes)) {
      return corrupt("tensor '", t.name, "' ", t.type.str(), " can be larger than 2^64 bytes");
    }
  }
  return bytes;
}

Status verify(const Plan& plan) {
  const net::Network& net = plan.network;
  try {
    INGOT_RETURN_IF_ERROR(verify_symbols(net));
    INGOT_RETURN_IF_ERROR(verify_tensors(net));
    INGOT_RETURN_IF_ERROR(net.validate());
    INGOT_RETURN_IF_ERROR(verify_kinds(net));
    INGOT_RETURN_IF_ERROR(verify_reports(net));
    INGOT_RETURN_IF_ERROR(verify_memory(plan));
    return detail::verify_profiles(plan);
  } catch (const InternalError& e) {
    // Checked symbolic arithmetic overflowed inside a shape function.
    return corrupt("plan failed verification: ", e.what());
  }
}

}  // namespace ingot::plan
