// Reading plans: header checks, then a bounds-checked walk over the payload that checks every
// count, id, enum and expression before it is used, then verify() on the decoded plan.
#include <cstring>
#include <utility>

#include "plan/bytes.h"
#include "plan/format.h"
#include "plan/plan.h"
#include "support/check.h"
#include "support/hash.h"

namespace ingot::plan {

namespace {

using detail::ByteReader;
using detail::TensorKind;

template <typename... Args>
Status corrupt(Args&&... args) {
  return error(ErrorCode::kCorruptPlan, std::forward<Args>(args)...);
}

uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

std::string hex(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 60; shift >= 0; shift -= 4) s += kDigits[(v >> shift) & 0xF];
  return s;
}

const char* kind_name(TensorKind k) {
  switch (k) {
    case TensorKind::kActivation: return "an activation";
    case TensorKind::kInput: return "an engine input";
    case TensorKind::kConstant: return "a constant";
    case TensorKind::kCount: break;
  }
  return "?";
}

// A default-constructed parameter struct of the kind with variant index `index`.
template <size_t... I>
net::LayerParams make_params(size_t index, std::index_sequence<I...>) {
  using Maker = net::LayerParams (*)();
  static constexpr Maker kMakers[] = {
      []() -> net::LayerParams { return std::variant_alternative_t<I, net::LayerParams>{}; }...};
  return kMakers[index]();
}
net::LayerParams make_params(size_t index) {
  return make_params(index, std::make_index_sequence<std::variant_size_v<net::LayerParams>>{});
}

ir::SymExpr read_expr(ByteReader& r, const char* what) {
  std::string text = r.str(what);
  if (!r.ok()) return {};
  auto e = detail::read_expr(text);
  if (!e) {
    r.fail(what, ": ", e.status().message());
    return {};
  }
  return *e;
}

ir::Shape read_shape(ByteReader& r, const char* what) {
  uint32_t rank = r.count(what, 4);
  if (rank > kMaxRank) {
    r.fail(what, ": rank ", rank, " is above the limit of ", kMaxRank);
    return {};
  }
  ir::Shape shape;
  for (uint32_t i = 0; i < rank && r.ok(); ++i) shape.push_back(read_expr(r, what));
  if (!r.ok()) return {};
  if (Status s = detail::check_shape_limits(shape); !s) r.fail(what, ": ", s.message());
  return shape;
}

// Reads each field of a parameter struct, checking enum and dtype ranges.
struct FieldReader {
  ByteReader& r;
  void operator()(const char* n, int64_t& v) { v = r.i64(n); }
  void operator()(const char* n, bool& v) { v = r.boolean(n); }
  void operator()(const char* n, double& v) { v = r.f64(n); }
  void operator()(const char* n, std::vector<int64_t>& v) {
    uint32_t count = r.count(n, 8);
    v.clear();
    for (uint32_t i = 0; i < count && r.ok(); ++i) v.push_back(r.i64(n));
  }
  void operator()(const char* n, std::vector<double>& v) {
    uint32_t count = r.count(n, 8);
    v.clear();
    for (uint32_t i = 0; i < count && r.ok(); ++i) v.push_back(r.f64(n));
  }
  void operator()(const char* n, ir::SymExpr& v) { v = read_expr(r, n); }
  void operator()(const char* n, ir::Shape& v) { v = read_shape(r, n); }
  void operator()(const char* n, ir::DType& v) {
    uint8_t x = r.u8(n);
    if (x >= ir::kNumDTypes) return r.fail(n, ": dtype value ", int(x), " is out of range");
    v = static_cast<ir::DType>(x);
  }
  template <typename E>
    requires std::is_enum_v<E>
  void operator()(const char* n, E& v) {
    uint8_t x = r.u8(n);
    if (x >= static_cast<uint8_t>(E::kCount)) {
      return r.fail(n, ": value ", int(x), " is out of range (", int(static_cast<uint8_t>(E::kCount)), " values)");
    }
    v = static_cast<E>(x);
  }
};

bool is_identifier(const std::string& s) {
  if (s.empty() || s == "max" || s == "min") return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

class PlanReader {
 public:
  PlanReader(std::span<const uint8_t> payload, std::shared_ptr<const void> keepalive)
      : payload_(payload), keepalive_(std::move(keepalive)) {}

  Expected<Plan> read(Backend backend) {
    Plan plan;
    plan.backend = backend;
    INGOT_RETURN_IF_ERROR(read_prologue());
    ByteReader r(payload_.subspan(detail::kPayloadPrologue, weights_offset_ - detail::kPayloadPrologue),
                 detail::kPayloadPrologue);
    read_meta(r, plan);
    read_symbols(r);
    read_tensors(r);
    read_inputs(r);
    read_outputs(r);
    read_layers(r);
    read_memory(r, plan.memory);
    read_origins(r);
    read_timings(r);
    std::vector<std::string> symbol_names;
    for (const auto& sym : symbols_) symbol_names.push_back(sym.first);
    plan.profiles = detail::read_profiles(r, symbol_names, layers_.size());
    if (!r.ok()) return r.status();
    INGOT_RETURN_IF_ERROR(check_padding(r));
    INGOT_RETURN_IF_ERROR(read_weights());
    plan.network.reset(std::move(tensors_), std::move(layers_), std::move(inputs_), std::move(outputs_),
                       std::move(output_names_));
    for (const auto& [name, range] : symbols_) plan.network.add_symbol(name, range);
    for (auto& [node, info] : origins_) plan.network.set_origin_info(node, std::move(info));
    INGOT_RETURN_IF_ERROR(verify(plan));
    return plan;
  }

 private:
  Status read_prologue() {
    if (payload_.size() < detail::kPayloadPrologue) {
      return corrupt("plan payload of ", payload_.size(), " bytes is shorter than its ",
                     detail::kPayloadPrologue, "-byte prologue");
    }
    weights_offset_ = load_le(payload_.data(), 8);
    uint64_t weights_size = load_le(payload_.data() + 8, 8);
    if (weights_offset_ % kWeightAlignment != 0 || weights_offset_ < detail::kPayloadPrologue ||
        weights_offset_ > payload_.size()) {
      return corrupt("weights section offset ", weights_offset_, " is not a multiple of ", kWeightAlignment,
                     " between ", detail::kPayloadPrologue, " and the payload size ", payload_.size());
    }
    if (weights_size != payload_.size() - weights_offset_) {
      return corrupt("weights section size ", weights_size, " does not match the ",
                     payload_.size() - weights_offset_, " bytes after its offset ", weights_offset_);
    }
    weights_ = payload_.subspan(weights_offset_);
    return Status::ok();
  }

  void read_meta(ByteReader& r, Plan& plan) {
    r.set_context("metadata");
    r.expect_tag(detail::kTagMeta, "META");
    uint32_t backend = r.u32("backend");
    if (r.ok() && backend != static_cast<uint32_t>(plan.backend)) {
      return r.fail("the header says backend ", backend_name(plan.backend), " (", static_cast<uint32_t>(plan.backend),
                    "), the payload says ", backend);
    }
    plan.device = r.str("device");
    plan.producer = r.str("producer");
    plan.name = r.str("name");
    uint8_t tf32 = r.u8("allow_tf32");
    if (r.ok() && tf32 > 1) return r.fail("allow_tf32 must be 0 or 1, got ", int(tf32));
    plan.allow_tf32 = tf32 == 1;
  }

  void read_symbols(ByteReader& r) {
    r.set_context("symbols");
    r.expect_tag(detail::kTagSymbols, "SYMB");
    uint32_t n = r.count("symbol count", 20);
    std::string previous;
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.set_context(str_cat("symbol ", i));
      std::string name = r.str("name");
      ir::SymRange range{r.i64("min"), r.i64("max")};
      if (!r.ok()) return;
      if (!is_identifier(name)) return r.fail("name '", name, "' is not an identifier");
      if (i > 0 && !(previous < name)) return r.fail("'", name, "' is out of order or repeated after '", previous, "'");
      if (range.min < 0 || range.min > range.max) {
        return r.fail("'", name, "' has range [", range.min, ", ", range.max, "]; need 0 <= min <= max");
      }
      symbols_.emplace_back(name, range);
      previous = std::move(name);
    }
  }

  void read_tensors(ByteReader& r) {
    r.set_context("tensors");
    r.expect_tag(detail::kTagTensors, "TENS");
    uint32_t n = r.count("tensor count", 10);
    if (n > static_cast<uint32_t>(INT32_MAX)) return r.fail("tensor count ", n, " is too large");
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.set_context(str_cat("tensor ", i));
      net::Tensor t;
      t.name = r.str("name");
      r.set_context(str_cat("tensor ", i, " ('", t.name, "')"));
      uint8_t dtype = r.u8("dtype");
      uint8_t kind = r.u8("kind");
      if (!r.ok()) return;
      if (dtype >= ir::kNumDTypes) return r.fail("dtype value ", int(dtype), " is out of range");
      if (kind >= static_cast<uint8_t>(TensorKind::kCount)) return r.fail("kind value ", int(kind), " is out of range");
      t.type.dtype = static_cast<ir::DType>(dtype);
      t.type.shape = read_shape(r, "shape");
      WeightRange w;
      if (static_cast<TensorKind>(kind) == TensorKind::kConstant) {
        w.offset = r.u64("weights offset");
        w.size = r.u64("weights size");
      }
      t.id = static_cast<int>(i);
      tensors_.push_back(std::move(t));
      kinds_.push_back(static_cast<TensorKind>(kind));
      weights_ranges_.push_back(w);
    }
  }

  // A tensor id read from the plan, checked against the tensor count.
  // `role` completes the message: "reads" gives "reads tensor id 99, but the plan has 40 tensors".
  int tensor_id(ByteReader& r, const char* role, bool allow_absent) {
    int32_t id = r.i32(role);
    if (!r.ok()) return -1;
    if ((allow_absent && id == -1) || (id >= 0 && static_cast<size_t>(id) < tensors_.size())) return id;
    r.fail(role, " tensor id ", id, ", but the plan has ", tensors_.size(), " tensors");
    return -1;
  }

  void read_inputs(ByteReader& r) {
    r.set_context("engine inputs");
    r.expect_tag(detail::kTagInputs, "INPT");
    uint32_t n = r.count("input count", 4);
    std::vector<bool> seen(tensors_.size(), false);
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      int id = tensor_id(r, "lists input", false);
      if (!r.ok()) return;
      auto& t = tensors_[static_cast<size_t>(id)];
      if (kinds_[static_cast<size_t>(id)] != TensorKind::kInput) {
        return r.fail("input #", i, " is tensor '", t.name, "', which is ", kind_name(kinds_[static_cast<size_t>(id)]));
      }
      if (seen[static_cast<size_t>(id)]) return r.fail("tensor '", t.name, "' is listed twice");
      seen[static_cast<size_t>(id)] = true;
      inputs_.push_back(id);
    }
    if (!r.ok()) return;
    for (size_t id = 0; id < tensors_.size(); ++id) {
      if (kinds_[id] == TensorKind::kInput && !seen[id]) {
        return r.fail("tensor '", tensors_[id].name, "' is marked as an input but not listed");
      }
    }
  }

  void read_outputs(ByteReader& r) {
    r.set_context("engine outputs");
    r.expect_tag(detail::kTagOutputs, "OUTP");
    uint32_t n = r.count("output count", 8);
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      int id = tensor_id(r, "lists output", false);
      std::string name = r.str("output name");
      if (!r.ok()) return;
      outputs_.push_back(id);
      output_names_.push_back(std::move(name));
    }
  }

  void read_layers(ByteReader& r) {
    r.set_context("layers");
    r.expect_tag(detail::kTagLayers, "LAYR");
    uint32_t n = r.count("layer count", 21);
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.set_context(str_cat("layer ", i));
      uint8_t kind = r.u8("kind");
      net::Layer layer;
      layer.name = r.str("name");
      if (!r.ok()) return;
      r.set_context(str_cat("layer ", i, " ('", layer.name, "')"));
      if (kind >= static_cast<uint8_t>(net::LayerKind::kCount)) return r.fail("kind value ", int(kind), " is out of range");
      uint32_t n_in = r.count("input count", 4);
      for (uint32_t k = 0; k < n_in && r.ok(); ++k) layer.inputs.push_back(tensor_id(r, "reads", true));
      uint32_t n_out = r.count("output count", 4);
      for (uint32_t k = 0; k < n_out && r.ok(); ++k) {
        int id = tensor_id(r, "writes", false);
        if (!r.ok()) return;
        if (kinds_[static_cast<size_t>(id)] != TensorKind::kActivation) {
          return r.fail("writes tensor '", tensors_[static_cast<size_t>(id)].name, "', which is ",
                        kind_name(kinds_[static_cast<size_t>(id)]));
        }
        layer.outputs.push_back(id);
      }
      read_params(r, kind, layer);
      uint32_t n_origins = r.count("origin count", 4);
      for (uint32_t k = 0; k < n_origins && r.ok(); ++k) layer.origins.push_back(r.str("origin"));
      layer.tactic = r.str("tactic");
      if (!r.ok()) return;
      layers_.push_back(std::move(layer));
    }
  }

  void read_origins(ByteReader& r) {
    r.set_context("origins");
    r.expect_tag(detail::kTagOrigins, "ORIG");
    uint32_t n = r.count("origin count", 12);
    std::string previous;
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.set_context(str_cat("origin ", i));
      std::string node = r.str("node");
      net::OriginInfo info;
      info.op = r.str("op");
      info.module = r.str("module");
      if (!r.ok()) return;
      if (node.empty()) return r.fail("node name is empty");
      if (i > 0 && !(previous < node)) return r.fail("'", node, "' is out of order or repeated after '", previous, "'");
      previous = node;
      origins_.emplace_back(std::move(node), std::move(info));
    }
  }

  void read_timings(ByteReader& r) {
    r.set_context("tactic timings");
    r.expect_tag(detail::kTagTimings, "TIMD");
    uint32_t n = r.count("layer count", 4);
    if (r.ok() && n != layers_.size()) return r.fail("has ", n, " layers, but the plan has ", layers_.size());
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      r.set_context(str_cat("tactic timings of layer ", i, " ('", layers_[i].name, "')"));
      uint32_t m = r.count("timing count", 12);
      for (uint32_t k = 0; k < m && r.ok(); ++k) {
        net::TimedTactic t;
        t.tactic = r.str("tactic");
        t.ms = r.f64("ms");
        if (!r.ok()) return;
        if (!(t.ms >= 0.0) || t.ms > 1e12) return r.fail("tactic '", t.tactic, "' has time ", t.ms, " ms; need 0 <= ms <= 1e12");
        layers_[i].timed.push_back(std::move(t));
      }
    }
  }

  void read_params(ByteReader& r, uint8_t kind, net::Layer& layer) {
    size_t at = r.offset();
    uint32_t size = r.u32("parameter size");
    if (!r.ok()) return;
    if (size > r.remaining()) {
      return r.fail("parameters of ", size, " bytes at payload offset ", at, " run past the ", r.remaining(), " bytes left");
    }
    ByteReader p(payload_.subspan(r.offset(), size), r.offset());
    p.set_context(str_cat(r.context(), ": ", net::layer_kind_name(static_cast<net::LayerKind>(kind)), " parameter"));
    layer.params = make_params(kind);
    FieldReader fields{p};
    std::visit([&](auto& params) { params.fields(fields); }, layer.params);
    if (p.ok() && p.remaining() != 0) p.fail(p.remaining(), " bytes left over after the last field");
    if (!p.ok()) return r.adopt(p.status());
    r.skip(size);
  }

  void read_memory(ByteReader& r, MemoryPlan& m) {
    r.set_context("memory plan");
    r.expect_tag(detail::kTagMemory, "MEMP");
    m.arena_bytes = r.u64("arena size");
    uint32_t n = r.count("entry count", 16);
    if (!r.ok()) return;
    if (n != tensors_.size()) return r.fail("has ", n, " entries but the plan has ", tensors_.size(), " tensors");
    for (uint32_t i = 0; i < n && r.ok(); ++i) {
      m.offsets.push_back(r.i64("offset"));
      m.sizes.push_back(r.u64("size"));
    }
  }

  // Between the last section and the weights: fewer than 64 zero bytes.
  Status check_padding(const ByteReader& r) {
    size_t start = r.offset();
    if (weights_offset_ - start >= kWeightAlignment) {
      return corrupt("weights section starts at payload offset ", weights_offset_, ", but the plan data ends at ",
                     start, "; expected it at the next multiple of ", kWeightAlignment);
    }
    for (size_t i = start; i < weights_offset_; ++i) {
      if (payload_[i] != 0) return corrupt("padding byte at payload offset ", i, " is not zero");
    }
    return Status::ok();
  }

  // Constants: each inside the weights section, at its canonical offset, exactly numel x dtype
  // size bytes; the bytes between them zero. Then the ConstantData, borrowed or copied.
  Status read_weights() {
    uint64_t end = 0;
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (kinds_[i] != TensorKind::kConstant) continue;
      net::Tensor& t = tensors_[i];
      const WeightRange& w = weights_ranges_[i];
      if (w.offset > weights_.size() || w.size > weights_.size() - w.offset) {
        return corrupt("constant '", t.name, "' bytes [", w.offset, ", ", w.offset, " + ", w.size,
                       ") lie outside the weights section of ", weights_.size(), " bytes");
      }
      auto dims = ir::static_dims(t.type.shape);
      if (!dims) return corrupt("constant '", t.name, "' has a symbolic shape ", t.type.str());
      size_t elem = ir::dtype_size(t.type.dtype);
      if (elem == 0) return corrupt("constant '", t.name, "' has dtype ", ir::dtype_name(t.type.dtype), ", which has no size");
      uint64_t need = elem;
      for (int64_t d : *dims) {
        if (d < 0) return corrupt("constant '", t.name, "' has a negative dim in ", t.type.str());
        if (__builtin_mul_overflow(need, static_cast<uint64_t>(d), &need)) {
          return corrupt("constant '", t.name, "' of type ", t.type.str(), " is too large");
        }
      }
      if (need != w.size) {
        return corrupt("constant '", t.name, "' has ", w.size, " bytes, but ", t.type.str(), " needs ", need);
      }
      uint64_t expected = (end + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
      if (w.offset != expected) {
        return corrupt("constant '", t.name, "' is at weights offset ", w.offset, "; the layout puts it at ", expected);
      }
      for (uint64_t b = end; b < w.offset; ++b) {
        if (weights_[b] != 0) return corrupt("padding byte at weights offset ", b, " is not zero");
      }
      end = w.offset + w.size;
      t.constant = make_constant(t.type.dtype, std::move(*dims), weights_.data() + w.offset, w.size);
    }
    if (end != weights_.size()) {
      return corrupt("weights section has ", weights_.size(), " bytes, but the constants end at ", end);
    }
    return Status::ok();
  }

  ir::ConstantData make_constant(ir::DType dtype, std::vector<int64_t> dims, const uint8_t* data, size_t size) {
    size_t elem = ir::dtype_size(dtype);
    if (keepalive_ && reinterpret_cast<uintptr_t>(data) % elem == 0) {
      return ir::ConstantData::borrowed(dtype, std::move(dims), data, keepalive_);
    }
    return ir::ConstantData::owned(dtype, std::move(dims), std::vector<uint8_t>(data, data + size));
  }

  struct WeightRange {
    uint64_t offset = 0;
    uint64_t size = 0;
  };

  std::span<const uint8_t> payload_;
  std::shared_ptr<const void> keepalive_;
  uint64_t weights_offset_ = 0;
  std::span<const uint8_t> weights_;

  std::vector<std::pair<std::string, ir::SymRange>> symbols_;
  std::vector<std::pair<std::string, net::OriginInfo>> origins_;
  std::vector<net::Tensor> tensors_;
  std::vector<TensorKind> kinds_;
  std::vector<WeightRange> weights_ranges_;
  std::vector<int> inputs_, outputs_;
  std::vector<std::string> output_names_;
  std::vector<net::Layer> layers_;
};

}  // namespace

Expected<HeaderInfo> read_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) {
    return corrupt("plan is truncated: ", bytes.size(), " bytes, but the header alone takes ", kHeaderSize);
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return corrupt("not an ingot plan: the file does not start with \"INGOTPLN\"");
  }
  HeaderInfo h;
  h.version = static_cast<uint32_t>(load_le(bytes.data() + 8, 4));
  auto backend = static_cast<uint32_t>(load_le(bytes.data() + 12, 4));
  h.backend = static_cast<Backend>(backend);
  h.payload_size = load_le(bytes.data() + 16, 8);
  h.checksum = load_le(bytes.data() + 24, 8);
  if (h.version != kFormatVersion) return h;
  uint32_t header_size = static_cast<uint32_t>(load_le(bytes.data() + 32, 4));
  if (header_size != kHeaderSize) return corrupt("plan header size field is ", header_size, ", expected ", kHeaderSize);
  uint32_t flags = static_cast<uint32_t>(load_le(bytes.data() + 36, 4));
  if (flags != 0) return corrupt("plan header has unknown flags ", hex(flags));
  for (size_t i = 40; i < kHeaderSize; ++i) {
    if (bytes[i] != 0) return corrupt("plan header byte ", i, " is reserved and must be zero");
  }
  if (backend != static_cast<uint32_t>(Backend::kCpu) && backend != static_cast<uint32_t>(Backend::kCuda)) {
    return error(ErrorCode::kBackendMismatch, "plan was built for unknown backend value ", backend,
                 "; this build knows cpu (1) and cuda (2)");
  }
  return h;
}

Expected<Plan> deserialize(std::span<const uint8_t> bytes, std::shared_ptr<const void> keepalive) {
  INGOT_ASSIGN_OR_RETURN(HeaderInfo h, read_header(bytes));
  if (h.version != kFormatVersion) {
    return error(ErrorCode::kVersionMismatch, "plan has format version ", h.version,
                 ", but this build of ingot reads version ", kFormatVersion, "; rebuild the engine");
  }
  const uint64_t have = bytes.size() - kHeaderSize;
  if (h.payload_size > have) {
    return corrupt("plan is truncated: header says ", h.payload_size, " payload bytes, file has ", have,
                   " after the ", kHeaderSize, "-byte header");
  }
  if (h.payload_size < have) {
    return corrupt("plan has ", have - h.payload_size, " extra bytes: header says ", h.payload_size,
                   " payload bytes, file has ", have, " after the ", kHeaderSize, "-byte header");
  }
  std::span<const uint8_t> payload = bytes.subspan(kHeaderSize);
  uint64_t sum = hash64(payload.data(), payload.size());
  if (sum != h.checksum) {
    return corrupt("checksum mismatch: header says ", hex(h.checksum), ", payload hashes to ", hex(sum));
  }
  try {
    return PlanReader(payload, std::move(keepalive)).read(h.backend);
  } catch (const InternalError& e) {
    // Checked arithmetic in shape functions on values a hostile file chose.
    return corrupt("plan failed verification: ", e.what());
  }
}

}  // namespace ingot::plan
