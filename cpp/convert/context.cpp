#include "convert/context.h"

#include <cstring>

#include "support/check.h"
#include "support/half.h"

namespace ingot::convert {

Expected<int> Context::tensor(const ir::Value* v) {
  auto it = map_.find(v);
  if (it != map_.end()) return it->second;
  if (v->is_constant()) {
    int id = net_.add_constant(v->name(), v->constant());
    map_[v] = id;
    return id;
  }
  return invalid_argument("value %", v->name(), " has no tensor in the network (it is produced outside this engine block "
                          "and is not one of its inputs)");
}

Expected<int> Context::arg_tensor(const ir::Node& n, size_t i) {
  if (i >= n.num_args() || n.arg(i).kind() != ir::Arg::Kind::kTensor) {
    return fail(n, "argument #", i, " must be a tensor");
  }
  return tensor(n.arg(i).tensor());
}

Expected<int> Context::tensor_or_scalar(const ir::Node& n, size_t i, DType dtype) {
  if (i < n.num_args() && n.arg(i).is_tensor()) {
    INGOT_ASSIGN_OR_RETURN(int t, arg_tensor(n, i));
    return cast(n, t, dtype);
  }
  INGOT_ASSIGN_OR_RETURN(double v, number_arg(n, i));
  return scalar(dtype, v);
}

Expected<int> Context::optional_arg_tensor(const ir::Node& n, size_t i) {
  if (i >= n.num_args() || n.arg(i).is_none()) return -1;
  return arg_tensor(n, i);
}

std::string Context::unique_layer_name(const std::string& base) {
  std::string name = base;
  for (int k = 1; layer_names_.count(name); ++k) name = base + "_" + std::to_string(k);
  layer_names_.insert(name);
  return name;
}

Expected<int> Context::add(const ir::Node& n, net::LayerParams p, std::vector<int> inputs, const std::string& suffix) {
  INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, add_multi(n, std::move(p), std::move(inputs), suffix));
  INGOT_CHECK(outs.size() == 1, "layer for ", n.op(), " has ", outs.size(), " outputs");
  return outs[0];
}

Expected<std::vector<int>> Context::add_multi(const ir::Node& n, net::LayerParams p, std::vector<int> inputs,
                                              const std::string& suffix) {
  std::string name = unique_layer_name(suffix.empty() ? n.name() : n.name() + "." + suffix);
  auto outs = net_.add_layer(std::move(p), std::move(inputs), name, n.name());
  if (!outs) return outs.status().with_context(str_cat(n.op(), " (node %", n.name(), "): "));
  net_.set_origin_info(n.name(), net::OriginInfo{n.op(), n.source()});
  return outs;
}

Expected<int> Context::cast(const ir::Node& n, int t, DType to) {
  if (type(t).dtype == to) return t;
  return add(n, net::CastParams{to}, {t}, str_cat("to_", ir::dtype_name(to)));
}

Expected<int> Context::reshape(const ir::Node& n, int t, Shape shape, const std::string& suffix) {
  if (type(t).shape == shape) return t;
  net::ReshapeParams p;
  p.shape = std::move(shape);
  return add(n, p, {t}, suffix);
}

int Context::constant(const std::string& name, ir::ConstantData data) {
  return net_.add_constant(unique_layer_name(name), std::move(data));
}

namespace {

// `value` stored as one element of `dtype` at `p`.
void encode(DType dtype, double value, uint8_t* p) {
  switch (dtype) {
    case DType::kFloat32: { float f = static_cast<float>(value); std::memcpy(p, &f, 4); break; }
    case DType::kFloat16: { uint16_t h = Half::from_float(static_cast<float>(value)); std::memcpy(p, &h, 2); break; }
    case DType::kBFloat16: { uint16_t h = BFloat16::from_float(static_cast<float>(value)); std::memcpy(p, &h, 2); break; }
    case DType::kFloat64: std::memcpy(p, &value, 8); break;
    case DType::kInt8: { int8_t v = static_cast<int8_t>(value); std::memcpy(p, &v, 1); break; }
    case DType::kUInt8: { uint8_t v = static_cast<uint8_t>(value); std::memcpy(p, &v, 1); break; }
    case DType::kInt16: { int16_t v = static_cast<int16_t>(value); std::memcpy(p, &v, 2); break; }
    case DType::kInt32: { int32_t v = static_cast<int32_t>(value); std::memcpy(p, &v, 4); break; }
    case DType::kInt64: { int64_t v = static_cast<int64_t>(value); std::memcpy(p, &v, 8); break; }
    case DType::kBool: p[0] = value != 0; break;
    case DType::kOpaque: INGOT_CHECK(false, "constant of opaque dtype");
  }
}

}  // namespace

int Context::values(const std::string& name, DType dtype, std::vector<int64_t> dims, const std::vector<double>& data) {
  const size_t es = ir::dtype_size(dtype);
  std::vector<uint8_t> bytes(data.size() * es, 0);
  for (size_t i = 0; i < data.size(); ++i) encode(dtype, data[i], bytes.data() + i * es);
  return constant(name, ir::ConstantData::owned(dtype, std::move(dims), std::move(bytes)));
}

int Context::scalar(DType dtype, double value) {
  return values(str_cat("scalar_", ir::dtype_name(dtype), "_", format_double(value)), dtype, {}, {value});
}

Expected<int> Context::binary(const ir::Node& n, net::BinaryOp op, int a, int b, const std::string& suffix) {
  return add(n, net::ElementwiseParams{op}, {a, b}, suffix);
}

Expected<int> Context::unary(const ir::Node& n, net::UnaryOp op, int x, const std::string& suffix) {
  net::UnaryParams p;
  p.op = op;
  return add(n, p, {x}, suffix);
}

Expected<int64_t> Context::int_arg(const ir::Node& n, size_t i) const {
  if (i >= n.num_args()) return fail(n, "missing argument #", i);
  auto v = n.arg(i).static_int();
  if (!v) return fail(n, "argument #", i, " must be a static int, got ", n.arg(i).str());
  return *v;
}

Expected<std::vector<int64_t>> Context::ints_arg(const ir::Node& n, size_t i) const {
  if (i >= n.num_args()) return fail(n, "missing argument #", i);
  const ir::Arg& a = n.arg(i);
  if (a.kind() == ir::Arg::Kind::kInt) {
    if (auto v = a.static_int()) return std::vector<int64_t>{*v};
  }
  auto v = a.static_ints();
  if (!v) return fail(n, "argument #", i, " must be a static int list, got ", a.str());
  return *v;
}

Expected<double> Context::number_arg(const ir::Node& n, size_t i) const {
  if (i >= n.num_args()) return fail(n, "missing argument #", i);
  const ir::Arg& a = n.arg(i);
  if (a.kind() == ir::Arg::Kind::kFloat || a.kind() == ir::Arg::Kind::kBool) return a.to_double();
  if (a.kind() == ir::Arg::Kind::kInt && a.static_int()) return static_cast<double>(*a.static_int());
  return fail(n, "argument #", i, " must be a number, got ", a.str());
}

Expected<bool> Context::bool_arg(const ir::Node& n, size_t i) const {
  if (i >= n.num_args() || n.arg(i).kind() != ir::Arg::Kind::kBool) return fail(n, "argument #", i, " must be a bool");
  return n.arg(i).boolean();
}

Status Context::require_unused_output(const ir::Node& n, size_t i) const {
  if (i >= n.outputs().size()) return Status::ok();
  const ir::Value* v = n.output(i);
  if (v->has_uses() || graph_.is_output(v)) {
    return fail(n, "output #", i, " (%", v->name(), ") is used, but only output #0 is supported");
  }
  return Status::ok();
}

namespace {

// 0: bool, 1: integer, 2: floating
int category(DType t) {
  if (t == DType::kBool) return 0;
  return ir::is_floating(t) ? 2 : 1;
}
int scalar_category(ir::Arg::Kind k) {
  if (k == ir::Arg::Kind::kBool) return 0;
  return k == ir::Arg::Kind::kFloat ? 2 : 1;
}

}  // namespace

DType result_type(const Operand& a, const Operand& b) {
  if (!a.type && !b.type) return scalar_category(a.scalar_kind) == 2 || scalar_category(b.scalar_kind) == 2 ? DType::kFloat32 : DType::kInt64;
  if (!a.type || !b.type) {
    const Operand& t = a.type ? a : b;
    const Operand& s = a.type ? b : a;
    int ct = category(t.type->dtype), cs = scalar_category(s.scalar_kind);
    if (cs > ct) return cs == 2 ? DType::kFloat32 : DType::kInt64;
    return t.type->dtype;
  }
  // Tensors: dimensioned tensors outrank 0-d tensors within a category.
  bool a0 = a.type->rank() == 0, b0 = b.type->rank() == 0;
  if (a0 != b0) {
    const Operand& dim = a0 ? b : a;
    const Operand& zero = a0 ? a : b;
    if (category(zero.type->dtype) <= category(dim.type->dtype)) return dim.type->dtype;
  }
  return ir::promote_types(a.type->dtype, b.type->dtype);
}

}  // namespace ingot::convert
