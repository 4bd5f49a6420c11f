// Writing plans: the header, the payload sections in the order plan.h lists, the weights.
#include <cstring>

#include "plan/bytes.h"
#include "plan/format.h"
#include "plan/plan.h"
#include "support/hash.h"

namespace ingot::plan {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::kCpu: return "cpu";
    case Backend::kCuda: return "cuda";
  }
  return "unknown";
}

namespace detail {

namespace {

void write_expr(ByteWriter& w, const ir::SymExpr& e, const char* what) {
  auto text = expr_text(e);
  if (!text) {
    w.fail(invalid_argument(what, ": ", text.status().message()));
    return;
  }
  w.str(*text, what);
}

void write_shape(ByteWriter& w, const ir::Shape& shape, const char* what) {
  if (Status s = check_shape_limits(shape); !s) w.fail(invalid_argument(what, ": ", s.message()));
  w.count(shape.size(), what);
  for (const auto& d : shape) write_expr(w, d, what);
}

// Writes each field of a parameter struct; the order is the order of fields().
struct FieldWriter {
  ByteWriter& w;
  void operator()(const char* n, const int64_t& v) { w.i64(v, n); }
  void operator()(const char* n, const bool& v) { w.u8(v ? 1 : 0, n); }
  void operator()(const char* n, const double& v) { w.f64(v, n); }
  void operator()(const char* n, const std::vector<int64_t>& v) {
    w.count(v.size(), n);
    for (int64_t x : v) w.i64(x, n);
  }
  void operator()(const char* n, const std::vector<double>& v) {
    w.count(v.size(), n);
    for (double x : v) w.f64(x, n);
  }
  void operator()(const char* n, const ir::SymExpr& v) { write_expr(w, v, n); }
  void operator()(const char* n, const ir::Shape& v) { write_shape(w, v, n); }
  // DType and the parameter enums: one byte each.
  template <typename E>
    requires std::is_enum_v<E>
  void operator()(const char* n, const E& v) {
    w.u8(static_cast<uint8_t>(v), n);
  }
};

TensorKind kind_of(const net::Tensor& t) {
  if (t.constant) return TensorKind::kConstant;
  if (t.is_input) return TensorKind::kInput;
  return TensorKind::kActivation;
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

void write_tensors(ByteWriter& w, const net::Network& net) {
  w.set_prefix("tensors.");
  w.u32(kTagTensors, "tag");
  w.count(net.tensors().size(), "count");
  uint64_t weights_end = 0;
  for (size_t i = 0; i < net.tensors().size(); ++i) {
    const net::Tensor& t = net.tensors()[i];
    w.set_prefix(w.mapping() ? str_cat("tensors[", i, "].") : std::string());
    w.str(t.name, "name");
    w.u8(static_cast<uint8_t>(t.type.dtype), "dtype");
    TensorKind kind = kind_of(t);
    w.u8(static_cast<uint8_t>(kind), "kind");
    write_shape(w, t.type.shape, "shape");
    if (kind != TensorKind::kConstant) continue;
    const ir::ConstantData& c = *t.constant;
    uint64_t offset = align_up(weights_end, kWeightAlignment);
    w.u64(offset, "weights_offset");
    w.u64(c.nbytes, "weights_size");
    weights_end = offset + c.nbytes;
  }
}

void write_layers(ByteWriter& w, const net::Network& net) {
  w.set_prefix("layers.");
  w.u32(kTagLayers, "tag");
  w.count(net.layers().size(), "count");
  for (size_t i = 0; i < net.layers().size(); ++i) {
    const net::Layer& layer = net.layers()[i];
    w.set_prefix(w.mapping() ? str_cat("layers[", i, "].") : std::string());
    w.u8(static_cast<uint8_t>(layer.params.index()), "kind");
    w.str(layer.name, "name");
    w.count(layer.inputs.size(), "inputs.count");
    for (int id : layer.inputs) w.i32(id, "inputs");
    w.count(layer.outputs.size(), "outputs.count");
    for (int id : layer.outputs) w.i32(id, "outputs");
    size_t size_at = w.size();
    w.u32(0, "params.size");
    w.set_prefix(w.mapping() ? str_cat("layers[", i, "].params.") : std::string());
    FieldWriter fields{w};
    std::visit([&](const auto& p) { const_cast<std::decay_t<decltype(p)>&>(p).fields(fields); }, layer.params);
    w.patch_u32(size_at, static_cast<uint32_t>(w.size() - size_at - 4));
    w.set_prefix(w.mapping() ? str_cat("layers[", i, "].") : std::string());
    w.count(layer.origins.size(), "origins.count");
    for (const auto& o : layer.origins) w.str(o, "origins");
    w.str(layer.tactic, "tactic");
  }
}

// Reports: the op and module of each origin node, and the tactics timed per layer.
void write_reports(ByteWriter& w, const net::Network& net) {
  w.set_prefix("origins.");
  w.u32(kTagOrigins, "tag");
  w.count(net.origin_info().size(), "count");
  size_t k = 0;
  for (const auto& [node, info] : net.origin_info()) {
    w.set_prefix(w.mapping() ? str_cat("origins[", k++, "].") : std::string());
    w.str(node, "node");
    w.str(info.op, "op");
    w.str(info.module, "module");
  }
  w.set_prefix("timings.");
  w.u32(kTagTimings, "tag");
  w.count(net.layers().size(), "count");
  for (size_t i = 0; i < net.layers().size(); ++i) {
    const net::Layer& layer = net.layers()[i];
    w.set_prefix(w.mapping() ? str_cat("timings[", i, "].") : std::string());
    w.count(layer.timed.size(), "count");
    for (const net::TimedTactic& t : layer.timed) {
      w.str(t.tactic, "tactic");
      w.f64(t.ms, "ms");
    }
  }
}

}  // namespace

Expected<std::vector<uint8_t>> encode(const Plan& plan, std::vector<FieldSpan>* layout) {
  const net::Network& net = plan.network;
  ByteWriter w(layout);
  // One allocation for the whole plan: the weights (most of its bytes) plus their alignment
  // and room for the rest. Growing the buffer instead copied a 220 MB plan about twice over.
  size_t weight_bytes = 0;
  for (const net::Tensor& t : net.tensors()) {
    if (t.constant) weight_bytes += t.constant->nbytes + kWeightAlignment;
  }
  w.reserve(weight_bytes + (size_t(1) << 20));

  w.set_prefix("header.");
  w.raw(kMagic, sizeof kMagic, "magic");
  w.u32(kFormatVersion, "version");
  w.u32(static_cast<uint32_t>(plan.backend), "backend");
  w.u64(0, "payload_size");
  w.u64(0, "checksum");
  w.u32(kHeaderSize, "header_size");
  w.u32(0, "flags");
  const uint8_t reserved[24] = {};
  w.raw(reserved, sizeof reserved, "reserved");
  const size_t payload = w.size();

  w.set_prefix("");
  w.u64(0, "weights_offset");
  w.u64(0, "weights_size");

  w.set_prefix("meta.");
  w.u32(kTagMeta, "tag");
  w.u32(static_cast<uint32_t>(plan.backend), "backend");
  w.str(plan.device, "device");
  w.str(plan.producer, "producer");
  w.str(plan.name, "name");
  w.u8(plan.allow_tf32 ? 1 : 0, "allow_tf32");

  w.set_prefix("symbols.");
  w.u32(kTagSymbols, "tag");
  w.count(net.symbols().size(), "count");
  size_t s = 0;
  for (const auto& [name, range] : net.symbols()) {
    w.set_prefix(w.mapping() ? str_cat("symbols[", s++, "].") : std::string());
    w.str(name, "name");
    w.i64(range.min, "min");
    w.i64(range.max, "max");
  }

  write_tensors(w, net);

  w.set_prefix("inputs.");
  w.u32(kTagInputs, "tag");
  w.count(net.inputs().size(), "count");
  for (int id : net.inputs()) w.i32(id, "id");

  w.set_prefix("outputs.");
  w.u32(kTagOutputs, "tag");
  if (net.outputs().size() != net.output_names().size()) {
    w.fail(invalid_argument(net.outputs().size(), " outputs but ", net.output_names().size(), " output names"));
  }
  w.count(net.outputs().size(), "count");
  for (size_t i = 0; i < net.outputs().size() && i < net.output_names().size(); ++i) {
    w.i32(net.outputs()[i], "id");
    w.str(net.output_names()[i], "name");
  }

  write_layers(w, net);

  w.set_prefix("memory.");
  const MemoryPlan& m = plan.memory;
  w.u32(kTagMemory, "tag");
  w.u64(m.arena_bytes, "arena_bytes");
  if (m.offsets.size() != m.sizes.size()) {
    w.fail(invalid_argument("memory plan has ", m.offsets.size(), " offsets but ", m.sizes.size(), " sizes"));
  }
  w.count(m.offsets.size(), "count");
  for (size_t i = 0; i < m.offsets.size() && i < m.sizes.size(); ++i) {
    w.i64(m.offsets[i], "offsets");
    w.u64(m.sizes[i], "sizes");
  }

  write_reports(w, net);
  write_profiles(w, plan);

  w.set_prefix("");
  w.pad_to(kWeightAlignment, payload, "padding");
  const size_t weights = w.size();
  w.patch_u64(payload, weights - payload);
  for (size_t i = 0; i < net.tensors().size(); ++i) {
    const net::Tensor& t = net.tensors()[i];
    if (!t.constant) continue;
    w.set_prefix("weights.");
    w.pad_to(kWeightAlignment, weights, "padding");
    const ir::ConstantData& c = *t.constant;
    if (!c.data && c.nbytes) {
      w.fail(invalid_argument("constant '", t.name, "' has ", c.nbytes, " bytes but no data"));
      continue;
    }
    w.set_prefix(w.mapping() ? str_cat("weights.tensors[", i, "]") : std::string());
    w.raw(c.data, c.nbytes, "");
  }
  w.patch_u64(payload + 8, w.size() - weights);
  if (!w.ok()) return w.status();

  std::vector<uint8_t> bytes = std::move(w.bytes());
  // Payload size and checksum at header offsets 16 and 24.
  uint64_t payload_size = bytes.size() - payload;
  for (size_t i = 0; i < 8; ++i) bytes[16 + i] = static_cast<uint8_t>(payload_size >> (8 * i));
  update_checksum(bytes);
  return bytes;
}

void update_checksum(std::vector<uint8_t>& bytes) {
  if (bytes.size() < kHeaderSize) return;
  uint64_t h = hash64(bytes.data() + kHeaderSize, bytes.size() - kHeaderSize);
  for (size_t i = 0; i < 8; ++i) bytes[24 + i] = static_cast<uint8_t>(h >> (8 * i));
}

}  // namespace detail

Expected<std::vector<uint8_t>> serialize(const Plan& plan) {
  if (Status s = verify(plan); !s) {
    return invalid_argument("cannot serialize plan '", plan.name, "': ", s.message());
  }
  auto bytes = detail::encode(plan);
  if (!bytes) return invalid_argument("cannot serialize plan '", plan.name, "': ", bytes.status().message());
  return bytes;
}

}  // namespace ingot::plan
