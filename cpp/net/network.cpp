#include "net/network.h"

#include <set>
#include <sstream>

#include "support/check.h"

namespace ingot::net {

// ---------------------------------------------------------------- names

const char* layer_kind_name(LayerKind k) {
  static const char* const kNames[] = {
      ConvolutionParams::kName, MatMulParams::kName, ElementwiseParams::kName, UnaryParams::kName,
      SelectParams::kName, ReduceParams::kName, SoftmaxParams::kName, NormalizationParams::kName,
      ReshapeParams::kName, PermuteParams::kName, ExpandParams::kName, ConcatParams::kName,
      SliceParams::kName, GatherParams::kName, PoolingParams::kName, CastParams::kName,
      AttentionParams::kName, FillParams::kName, IdentityParams::kName, IotaParams::kName,
      SqueezeExciteParams::kName, PointwiseParams::kName, FeedForwardParams::kName};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(LayerKind::kCount));
  auto i = static_cast<size_t>(k);
  return i < static_cast<size_t>(LayerKind::kCount) ? kNames[i] : "unknown";
}

const char* enum_name(BinaryOp op) {
  static const char* const kNames[] = {"add", "sub", "mul", "div", "floor_div", "remainder", "pow",
                                       "max", "min", "eq", "ne", "lt", "le", "gt", "ge",
                                       "logical_and", "logical_or", "logical_xor", "bitwise_and",
                                       "bitwise_or", "bitwise_xor", "trunc_div", "atan2"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(BinaryOp::kCount));
  return op < BinaryOp::kCount ? kNames[static_cast<size_t>(op)] : "unknown";
}

const char* enum_name(UnaryOp op) {
  static const char* const kNames[] = {
      "identity", "relu", "sigmoid", "tanh", "gelu_erf", "gelu_tanh", "silu", "exp", "log", "sqrt",
      "rsqrt", "neg", "abs", "erf", "sin", "cos", "reciprocal", "floor", "ceil", "round", "sign",
      "logical_not", "leaky_relu", "elu", "clamp", "hardsigmoid", "hardswish", "softplus", "mish",
      "log1p", "expm1", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
      "log2", "log10", "exp2", "trunc", "isnan", "isinf", "bitwise_not", "frac", "square"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(UnaryOp::kCount));
  return op < UnaryOp::kCount ? kNames[static_cast<size_t>(op)] : "unknown";
}

const char* enum_name(ReduceOp op) {
  static const char* const kNames[] = {"sum", "mean", "max", "min", "prod", "any", "all", "var"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(ReduceOp::kCount));
  return op < ReduceOp::kCount ? kNames[static_cast<size_t>(op)] : "unknown";
}

const char* enum_name(NormKind k) {
  static const char* const kNames[] = {"layer", "group", "batch", "rms"};
  return k < NormKind::kCount ? kNames[static_cast<size_t>(k)] : "unknown";
}

const char* enum_name(PoolKind k) {
  static const char* const kNames[] = {"max", "avg"};
  return k < PoolKind::kCount ? kNames[static_cast<size_t>(k)] : "unknown";
}

const char* enum_name(PointwiseStep k) {
  static const char* const kNames[] = {"input", "constant", "unary", "binary", "select", "cast"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(PointwiseStep::kCount));
  return k < PointwiseStep::kCount ? kNames[static_cast<size_t>(k)] : "unknown";
}

bool is_comparison(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEq: case BinaryOp::kNe: case BinaryOp::kLt: case BinaryOp::kLe:
    case BinaryOp::kGt: case BinaryOp::kGe: case BinaryOp::kLogicalAnd:
    case BinaryOp::kLogicalOr: case BinaryOp::kLogicalXor:
      return true;
    default:
      return false;
  }
}

bool unary_result_is_bool(UnaryOp op) {
  return op == UnaryOp::kLogicalNot || op == UnaryOp::kIsNan || op == UnaryOp::kIsInf;
}

// ---------------------------------------------------------------- params printing / equality

namespace {

struct FieldPrinter {
  std::ostringstream os;
  bool first = true;
  void sep(const char* name) {
    if (!first) os << " ";
    first = false;
    os << name << "=";
  }
  void operator()(const char* n, const int64_t& v) { sep(n); os << v; }
  void operator()(const char* n, const bool& v) { sep(n); os << (v ? "true" : "false"); }
  void operator()(const char* n, const double& v) { sep(n); os << format_double(v); }
  void operator()(const char* n, const std::vector<int64_t>& v) { sep(n); os << "[" << join(v, ", ") << "]"; }
  void operator()(const char* n, const std::vector<double>& v) {
    sep(n);
    os << "[";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << format_double(v[i]);
    os << "]";
  }
  void operator()(const char* n, const SymExpr& v) { sep(n); os << v.str(); }
  void operator()(const char* n, const Shape& v) { sep(n); os << ir::shape_str(v); }
  void operator()(const char* n, const DType& v) { sep(n); os << ir::dtype_name(v); }
  template <typename E>
    requires std::is_enum_v<E>
  void operator()(const char* n, const E& v) { sep(n); os << enum_name(v); }
};

}  // namespace

std::string params_str(const LayerParams& p) {
  FieldPrinter printer;
  std::visit([&](const auto& params) { const_cast<std::decay_t<decltype(params)>&>(params).fields(printer); }, p);
  return printer.os.str();
}

namespace {

// Visits the symbolic fields of a parameter struct.
template <typename Fn>
struct SymFieldVisitor {
  Fn fn;
  void operator()(const char*, SymExpr& e) { fn(e); }
  void operator()(const char*, Shape& s) { for (auto& e : s) fn(e); }
  template <typename T>
  void operator()(const char*, T&) {}
};

template <typename Fn>
void for_each_sym(LayerParams& p, Fn fn) {
  SymFieldVisitor<Fn> v{fn};
  std::visit([&](auto& params) { params.fields(v); }, p);
}

}  // namespace

bool params_have_symbols(const LayerParams& p) {
  bool any = false;
  for_each_sym(const_cast<LayerParams&>(p), [&](SymExpr& e) { any |= !e.is_constant(); });
  return any;
}

void substitute_symbols(LayerParams& p, const std::map<std::string, SymExpr>& values) {
  for_each_sym(p, [&](SymExpr& e) {
    if (!e.is_constant()) e = e.substitute(values);
  });
}

bool params_equal(const LayerParams& a, const LayerParams& b) {
  if (a.index() != b.index()) return false;
  return params_str(a) == params_str(b);
}

// ---------------------------------------------------------------- Network

int Network::new_tensor(const std::string& name, TensorType type) {
  Tensor t;
  t.id = static_cast<int>(tensors_.size());
  t.name = name;
  t.type = std::move(type);
  tensors_.push_back(std::move(t));
  return tensors_.back().id;
}

int Network::add_input(const std::string& name, TensorType type) {
  int id = new_tensor(name, std::move(type));
  tensors_[static_cast<size_t>(id)].is_input = true;
  inputs_.push_back(id);
  return id;
}

int Network::add_constant(const std::string& name, ConstantData data) {
  int id = new_tensor(name, TensorType{data.dtype, ir::shape_of(data.dims)});
  tensors_[static_cast<size_t>(id)].constant = std::move(data);
  return id;
}

Expected<std::vector<int>> Network::add_layer(LayerParams params, std::vector<int> inputs,
                                              const std::string& name, const std::string& origin) {
  std::vector<const TensorType*> in_types;
  for (int id : inputs) {
    if (id < -1 || id >= static_cast<int>(tensors_.size())) {
      return invalid_argument("layer ", name, ": input tensor id ", id, " does not exist");
    }
    in_types.push_back(id < 0 ? nullptr : &tensors_[static_cast<size_t>(id)].type);
  }
  auto types = infer_types(params, in_types);
  if (!types) return types.status().with_context("layer '" + name + "': ");
  Layer layer;
  layer.name = name;
  layer.params = std::move(params);
  layer.inputs = std::move(inputs);
  if (!origin.empty()) layer.origins.push_back(origin);
  int index = static_cast<int>(layers_.size());
  for (size_t i = 0; i < types->size(); ++i) {
    int id = new_tensor(types->size() == 1 ? name : name + ":" + std::to_string(i), (*types)[i]);
    tensors_[static_cast<size_t>(id)].producer = index;
    layer.outputs.push_back(id);
  }
  layers_.push_back(std::move(layer));
  return layers_.back().outputs;
}

Expected<int> Network::add(LayerParams params, std::vector<int> inputs, const std::string& name,
                           const std::string& origin) {
  INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, add_layer(std::move(params), std::move(inputs), name, origin));
  INGOT_CHECK(outs.size() == 1, "layer ", name, " has ", outs.size(), " outputs");
  return outs[0];
}

void Network::mark_output(int tensor, const std::string& name) {
  INGOT_CHECK(tensor >= 0 && tensor < static_cast<int>(tensors_.size()), "mark_output: bad tensor id ", tensor);
  outputs_.push_back(tensor);
  output_names_.push_back(name);
}

ir::SymRange Network::symbol_range(const std::string& s) const {
  auto it = symbols_.find(s);
  return it == symbols_.end() ? ir::SymRange{} : it->second;
}

const OriginInfo* Network::find_origin(const std::string& node) const {
  auto it = origin_info_.find(node);
  return it == origin_info_.end() ? nullptr : &it->second;
}

void Network::copy_origin_info(const Network& from) {
  for (const Layer& layer : layers_) {
    for (const std::string& o : layer.origins) {
      if (const OriginInfo* info = from.find_origin(o)) origin_info_[o] = *info;
    }
  }
}

void Network::reset(std::vector<Tensor> tensors, std::vector<Layer> layers, std::vector<int> inputs,
                    std::vector<int> outputs, std::vector<std::string> output_names) {
  tensors_ = std::move(tensors);
  layers_ = std::move(layers);
  inputs_ = std::move(inputs);
  outputs_ = std::move(outputs);
  output_names_ = std::move(output_names);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    tensors_[i].id = static_cast<int>(i);
    tensors_[i].producer = -1;
    tensors_[i].is_input = false;
  }
  for (int id : inputs_) tensors_[static_cast<size_t>(id)].is_input = true;
  for (size_t l = 0; l < layers_.size(); ++l) {
    for (int o : layers_[l].outputs) tensors_[static_cast<size_t>(o)].producer = static_cast<int>(l);
  }
}

Status Network::validate() const {
  const int n = static_cast<int>(tensors_.size());
  std::vector<bool> defined(tensors_.size(), false);
  auto bad_id = [&](int id) { return id < 0 || id >= n; };
  for (int id : inputs_) {
    if (bad_id(id)) return error(ErrorCode::kCorruptPlan, "input tensor id ", id, " out of range");
    if (defined[static_cast<size_t>(id)]) return error(ErrorCode::kCorruptPlan, "tensor ", id, " is an input twice");
    defined[static_cast<size_t>(id)] = true;
  }
  for (const Tensor& t : tensors_) {
    if (!t.constant) continue;
    if (t.is_input) return error(ErrorCode::kCorruptPlan, "tensor '", t.name, "' is both input and constant");
    const ConstantData& c = t.constant.value();
    if (c.dtype != t.type.dtype || ir::shape_of(c.dims) != t.type.shape ||
        c.nbytes != static_cast<size_t>(c.numel()) * ir::dtype_size(c.dtype) || (!c.data && c.nbytes)) {
      return error(ErrorCode::kCorruptPlan, "constant '", t.name, "' data does not match its type ", t.type.str());
    }
    defined[static_cast<size_t>(t.id)] = true;
  }
  for (const Tensor& t : tensors_) {
    for (const auto& d : t.type.shape) {
      for (const auto& s : d.symbols()) {
        if (!symbols_.count(s)) return error(ErrorCode::kCorruptPlan, "tensor '", t.name, "' uses unknown symbol ", s);
      }
    }
  }
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    std::vector<const TensorType*> in_types;
    for (int id : layer.inputs) {
      if (id == -1) {
        in_types.push_back(nullptr);
        continue;
      }
      if (bad_id(id)) return error(ErrorCode::kCorruptPlan, "layer '", layer.name, "' reads tensor id ", id, " out of range");
      if (!defined[static_cast<size_t>(id)]) {
        return error(ErrorCode::kCorruptPlan, "layer '", layer.name, "' reads tensor '", tensors_[static_cast<size_t>(id)].name, "' before it is defined");
      }
      in_types.push_back(&tensors_[static_cast<size_t>(id)].type);
    }
    auto types = infer_types(layer.params, in_types);
    if (!types) return error(ErrorCode::kCorruptPlan, "layer '", layer.name, "' is invalid: ", types.status().message());
    if (types->size() != layer.outputs.size()) {
      return error(ErrorCode::kCorruptPlan, "layer '", layer.name, "' has ", layer.outputs.size(), " outputs; its kind gives ", types->size());
    }
    for (size_t i = 0; i < layer.outputs.size(); ++i) {
      int id = layer.outputs[i];
      if (bad_id(id)) return error(ErrorCode::kCorruptPlan, "layer '", layer.name, "' writes tensor id ", id, " out of range");
      const Tensor& t = tensors_[static_cast<size_t>(id)];
      if (defined[static_cast<size_t>(id)]) return error(ErrorCode::kCorruptPlan, "tensor '", t.name, "' is written twice");
      if (!((*types)[i] == t.type)) {
        return error(ErrorCode::kCorruptPlan, "layer '", layer.name, "' output '", t.name, "' is recorded as ",
                     t.type.str(), " but the layer gives ", (*types)[i].str());
      }
      defined[static_cast<size_t>(id)] = true;
    }
  }
  if (outputs_.size() != output_names_.size()) return error(ErrorCode::kCorruptPlan, "output names do not match outputs");
  for (int id : outputs_) {
    if (bad_id(id) || !defined[static_cast<size_t>(id)]) return error(ErrorCode::kCorruptPlan, "output tensor id ", id, " is not defined");
  }
  return Status::ok();
}

std::string Network::str() const {
  std::ostringstream os;
  auto tname = [&](int id) { return id < 0 ? std::string("none") : tensors_[static_cast<size_t>(id)].name; };
  for (int id : inputs_) os << "input " << tensors_[static_cast<size_t>(id)].name << " : " << tensors_[static_cast<size_t>(id)].type.str() << "\n";
  for (const Layer& l : layers_) {
    os << join(l.outputs, ", ", [&](int id) { return tname(id) + " : " + tensors_[static_cast<size_t>(id)].type.str(); })
       << " = " << layer_kind_name(l.kind()) << "(" << join(l.inputs, ", ", tname) << ") "
       << params_str(l.params) << "\n";
  }
  for (size_t i = 0; i < outputs_.size(); ++i) os << "output " << output_names_[i] << " = " << tname(outputs_[i]) << "\n";
  return os.str();
}

}  // namespace ingot::net
