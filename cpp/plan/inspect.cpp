#include "plan/inspect.h"

#include <map>

#include "support/json.h"

namespace ingot::plan {

namespace {

// CUDA backend: one layer's cuDNN / cuBLASLt scratch is capped at this (runtime/cuda/runner.h).
constexpr uint64_t kCudaLayerWorkspaceLimit = uint64_t(64) << 20;

void write_dim(JsonWriter& w, const ir::SymExpr& d) {
  if (auto c = d.as_constant()) {
    w.value(*c);
  } else {
    w.value(d.str());
  }
}

void write_shape(JsonWriter& w, const ir::Shape& shape) {
  w.begin_array();
  for (const auto& d : shape) write_dim(w, d);
  w.end_array();
}

// Writes each parameter field as a JSON value.
struct ParamWriter {
  JsonWriter& w;
  void operator()(const char* n, const int64_t& v) { w.key(n).value(v); }
  void operator()(const char* n, const bool& v) { w.key(n).value(v); }
  void operator()(const char* n, const double& v) { w.key(n).value(v); }
  void operator()(const char* n, const std::vector<int64_t>& v) {
    w.key(n).begin_array();
    for (int64_t x : v) w.value(x);
    w.end_array();
  }
  void operator()(const char* n, const std::vector<double>& v) {
    w.key(n).begin_array();
    for (double x : v) w.value(x);
    w.end_array();
  }
  void operator()(const char* n, const ir::SymExpr& v) {
    w.key(n);
    write_dim(w, v);
  }
  void operator()(const char* n, const ir::Shape& v) {
    w.key(n);
    write_shape(w, v);
  }
  void operator()(const char* n, const ir::DType& v) { w.key(n).value(ir::dtype_torch_name(v)); }
  template <typename E>
    requires std::is_enum_v<E>
  void operator()(const char* n, const E& v) {
    w.key(n).value(net::enum_name(v));
  }
};

const char* role_of(const net::Network& net, int id) {
  const net::Tensor& t = net.tensor(id);
  if (t.constant) return "constant";
  if (t.is_input) return "input";
  for (int o : net.outputs()) {
    if (o == id) return "output";
  }
  return "activation";
}

void write_tensor(JsonWriter& w, const net::Network& net, int id) {
  const net::Tensor& t = net.tensor(id);
  w.begin_object();
  w.key("name").value(t.name);
  w.key("dtype").value(ir::dtype_torch_name(t.type.dtype));
  w.key("shape");
  write_shape(w, t.type.shape);
  w.key("role").value(role_of(net, id));
  w.end_object();
}

void write_layer(JsonWriter& w, const Plan& plan, size_t index) {
  const net::Network& net = plan.network;
  const net::Layer& layer = net.layers()[index];
  w.begin_object();
  w.key("index").value(static_cast<int64_t>(index));
  w.key("name").value(layer.name);
  w.key("kind").value(net::layer_kind_name(layer.kind()));
  w.key("params").begin_object();
  ParamWriter pw{w};
  std::visit([&](const auto& p) { const_cast<std::decay_t<decltype(p)>&>(p).fields(pw); }, layer.params);
  w.end_object();
  uint64_t weights = 0;
  w.key("inputs").begin_array();
  for (int id : layer.inputs) {
    if (id < 0) continue;
    write_tensor(w, net, id);
    if (net.tensor(id).constant) weights += net.tensor(id).constant->nbytes;
  }
  w.end_array();
  w.key("outputs").begin_array();
  for (int id : layer.outputs) write_tensor(w, net, id);
  w.end_array();
  w.key("precision").value(layer.outputs.empty() ? std::string_view("") : ir::dtype_torch_name(net.tensor(layer.outputs[0]).type.dtype));
  const auto* conv = std::get_if<net::ConvolutionParams>(&layer.params);
  const auto* pool = std::get_if<net::PoolingParams>(&layer.params);
  bool channels_last = (conv && conv->channels_last) || (pool && pool->channels_last);
  w.key("layout").value(channels_last ? "channels_last" : "row-major");
  w.key("origins").begin_array();
  for (const std::string& o : layer.origins) {
    const net::OriginInfo* info = net.find_origin(o);
    w.begin_object().key("node").value(o);
    w.key("op").value(info ? info->op : std::string());
    w.key("module").value(info ? info->module : std::string());
    w.end_object();
  }
  w.end_array();
  w.key("tactic").value(layer.tactic);
  w.key("timed").begin_array();
  for (const net::TimedTactic& t : layer.timed) w.begin_object().key("tactic").value(t.tactic).key("ms").value(t.ms).end_object();
  w.end_array();
  w.key("weights_bytes").value(weights);
  w.key("view").value(is_view(plan.memory, layer));  // a reshape on its input's bytes: runs nothing
  w.end_object();
}

}  // namespace

std::string inspect_json(const Plan& plan) {
  const net::Network& net = plan.network;
  JsonWriter w;
  w.begin_object();
  w.key("name").value(plan.name);
  w.key("backend").value(backend_name(plan.backend));
  w.key("device").value(plan.device);
  w.key("producer").value(plan.producer);
  w.key("format_version").value(static_cast<int64_t>(kFormatVersion));
  w.key("allow_tf32").value(plan.allow_tf32);
  w.key("inputs").begin_array();
  for (int id : net.inputs()) {
    const net::Tensor& t = net.tensor(id);
    w.begin_object().key("name").value(t.name).key("dtype").value(ir::dtype_torch_name(t.type.dtype)).key("shape");
    write_shape(w, t.type.shape);
    w.end_object();
  }
  w.end_array();
  w.key("outputs").begin_array();
  for (size_t i = 0; i < net.outputs().size(); ++i) {
    const net::Tensor& t = net.tensor(net.outputs()[i]);
    w.begin_object().key("name").value(net.output_names()[i]).key("dtype").value(ir::dtype_torch_name(t.type.dtype)).key("shape");
    write_shape(w, t.type.shape);
    w.end_object();
  }
  w.end_array();
  w.key("symbols").begin_array();
  for (const auto& [name, range] : net.symbols()) {
    w.begin_object().key("name").value(name).key("min").value(range.min).key("max");
    if (range.max == ir::SymRange::kInf) {
      w.null();
    } else {
      w.value(range.max);
    }
    w.end_object();
  }
  w.end_array();
  uint64_t weights = 0;
  for (const net::Tensor& t : net.tensors()) {
    if (t.constant) weights += t.constant->nbytes;
  }
  w.key("memory").begin_object();
  w.key("arena_bytes").value(plan.memory.arena_bytes);
  w.key("weights_bytes").value(weights);
  w.key("workspace_bytes");
  if (plan.backend == Backend::kCpu) {
    w.value(uint64_t{0});
  } else {
    w.null();
    w.key("workspace_limit_bytes").value(kCudaLayerWorkspaceLimit);
  }
  w.end_object();
  std::map<std::string, int64_t> kinds;
  for (const net::Layer& layer : net.layers()) ++kinds[net::layer_kind_name(layer.kind())];
  w.key("layer_kinds").begin_object();
  for (const auto& [k, n] : kinds) w.key(k).value(n);
  w.end_object();
  w.key("layers").begin_array();
  for (size_t l = 0; l < net.layers().size(); ++l) write_layer(w, plan, l);
  w.end_array();
  w.end_object();
  return w.str();
}

}  // namespace ingot::plan
