#include "ir/graph.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "support/check.h"
#include "support/half.h"

namespace ingot::ir {

// ---------------------------------------------------------------- TensorType / ConstantData

std::string TensorType::str() const {
  return std::string(dtype_name(dtype)) + shape_str(shape);
}

ConstantData ConstantData::owned(DType dtype, std::vector<int64_t> dims, std::vector<uint8_t> bytes) {
  auto holder = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  ConstantData c;
  c.dtype = dtype;
  c.dims = std::move(dims);
  c.data = holder->data();
  c.nbytes = holder->size();
  c.storage = std::shared_ptr<const void>(holder, holder->data());
  INGOT_CHECK(c.nbytes == static_cast<size_t>(c.numel()) * dtype_size(dtype), "constant byte size ",
              c.nbytes, " does not match ", ingot::shape_str(c.dims), " of ", dtype_name(dtype));
  return c;
}

ConstantData ConstantData::borrowed(DType dtype, std::vector<int64_t> dims, const void* ptr,
                                    std::shared_ptr<const void> keepalive) {
  ConstantData c;
  c.dtype = dtype;
  c.dims = std::move(dims);
  c.data = ptr;
  c.nbytes = static_cast<size_t>(c.numel()) * dtype_size(dtype);
  c.storage = keepalive ? std::move(keepalive) : std::shared_ptr<const void>(ptr, [](const void*) {});
  return c;
}

ConstantData ConstantData::zeros(DType dtype, std::vector<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return owned(dtype, std::move(dims), std::vector<uint8_t>(static_cast<size_t>(n) * dtype_size(dtype), 0));
}

int64_t ConstantData::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

double ConstantData::get_double(int64_t i) const {
  switch (dtype) {
    case DType::kFloat32: return as<float>()[i];
    case DType::kFloat16: return static_cast<float>(as<Half>()[i]);
    case DType::kBFloat16: return static_cast<float>(as<BFloat16>()[i]);
    case DType::kFloat64: return as<double>()[i];
    case DType::kInt8: return as<int8_t>()[i];
    case DType::kUInt8: return as<uint8_t>()[i];
    case DType::kInt16: return as<int16_t>()[i];
    case DType::kInt32: return as<int32_t>()[i];
    case DType::kInt64: return static_cast<double>(as<int64_t>()[i]);
    case DType::kBool: return as<uint8_t>()[i] ? 1.0 : 0.0;
    case DType::kOpaque: break;
  }
  INGOT_CHECK(false, "cannot read elements of an opaque constant");
}

int64_t ConstantData::get_int(int64_t i) const {
  switch (dtype) {
    case DType::kInt8: return as<int8_t>()[i];
    case DType::kUInt8: return as<uint8_t>()[i];
    case DType::kInt16: return as<int16_t>()[i];
    case DType::kInt32: return as<int32_t>()[i];
    case DType::kInt64: return as<int64_t>()[i];
    case DType::kBool: return as<uint8_t>()[i] ? 1 : 0;
    default: return static_cast<int64_t>(get_double(i));
  }
}

const ConstantData& Value::constant() const {
  INGOT_CHECK(constant_.has_value(), "value %", name_, " is not a constant");
  return *constant_;
}

// ---------------------------------------------------------------- Arg

const char* arg_kind_name(Arg::Kind k) {
  switch (k) {
    case Arg::Kind::kNone: return "None";
    case Arg::Kind::kTensor: return "Tensor";
    case Arg::Kind::kTensorList: return "Tensor[]";
    case Arg::Kind::kInt: return "int";
    case Arg::Kind::kIntList: return "int[]";
    case Arg::Kind::kFloat: return "float";
    case Arg::Kind::kFloatList: return "float[]";
    case Arg::Kind::kBool: return "bool";
    case Arg::Kind::kBoolList: return "bool[]";
    case Arg::Kind::kString: return "str";
    case Arg::Kind::kDType: return "ScalarType";
    case Arg::Kind::kDevice: return "Device";
    case Arg::Kind::kEnum: return "enum";
  }
  return "?";
}

#define INGOT_ARG_CTOR(fn, K, T)   \
  Arg Arg::fn(T v) {               \
    Arg a;                         \
    a.kind_ = Kind::K;             \
    a.v_ = std::move(v);           \
    return a;                      \
  }
INGOT_ARG_CTOR(tensor, kTensor, Value*)
INGOT_ARG_CTOR(tensor_list, kTensorList, std::vector<Value*>)
INGOT_ARG_CTOR(integer, kInt, SymExpr)
INGOT_ARG_CTOR(int_list, kIntList, std::vector<SymExpr>)
INGOT_ARG_CTOR(floating, kFloat, double)
INGOT_ARG_CTOR(float_list, kFloatList, std::vector<double>)
INGOT_ARG_CTOR(boolean, kBool, bool)
INGOT_ARG_CTOR(bool_list, kBoolList, std::vector<bool>)
INGOT_ARG_CTOR(string, kString, std::string)
INGOT_ARG_CTOR(dtype, kDType, DType)
INGOT_ARG_CTOR(device, kDevice, std::string)
INGOT_ARG_CTOR(enumeration, kEnum, std::string)
#undef INGOT_ARG_CTOR

Arg Arg::int_list(const std::vector<int64_t>& vs) {
  return int_list(std::vector<SymExpr>(vs.begin(), vs.end()));
}

#define INGOT_ARG_GET(K, T)                                                                  \
  INGOT_CHECK(kind_ == Kind::K, "argument is ", arg_kind_name(kind_), ", expected ",         \
              arg_kind_name(Kind::K));                                                      \
  return std::get<T>(v_)

Value* Arg::tensor() const { INGOT_ARG_GET(kTensor, Value*); }
const std::vector<Value*>& Arg::tensors() const { INGOT_ARG_GET(kTensorList, std::vector<Value*>); }
const SymExpr& Arg::int_expr() const { INGOT_ARG_GET(kInt, SymExpr); }
const std::vector<SymExpr>& Arg::ints() const { INGOT_ARG_GET(kIntList, std::vector<SymExpr>); }
double Arg::floating() const { INGOT_ARG_GET(kFloat, double); }
const std::vector<double>& Arg::floats() const { INGOT_ARG_GET(kFloatList, std::vector<double>); }
bool Arg::boolean() const { INGOT_ARG_GET(kBool, bool); }
const std::vector<bool>& Arg::bools() const { INGOT_ARG_GET(kBoolList, std::vector<bool>); }
DType Arg::dtype() const { INGOT_ARG_GET(kDType, DType); }
#undef INGOT_ARG_GET

const std::string& Arg::str_value() const {
  INGOT_CHECK(kind_ == Kind::kString || kind_ == Kind::kDevice || kind_ == Kind::kEnum,
              "argument is ", arg_kind_name(kind_), ", expected a string");
  return std::get<std::string>(v_);
}

std::optional<int64_t> Arg::static_int() const {
  if (kind_ != Kind::kInt) return std::nullopt;
  return std::get<SymExpr>(v_).as_constant();
}

std::optional<std::vector<int64_t>> Arg::static_ints() const {
  if (kind_ != Kind::kIntList) return std::nullopt;
  return static_dims(std::get<std::vector<SymExpr>>(v_));
}

double Arg::to_double() const {
  switch (kind_) {
    case Kind::kFloat: return std::get<double>(v_);
    case Kind::kBool: return std::get<bool>(v_) ? 1.0 : 0.0;
    case Kind::kInt: return static_cast<double>(std::get<SymExpr>(v_).constant_value());
    default: break;
  }
  INGOT_CHECK(false, "argument is ", arg_kind_name(kind_), ", expected a number");
}

namespace {
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string Arg::str() const {
  switch (kind_) {
    case Kind::kNone: return "None";
    case Kind::kTensor: return "%" + std::get<Value*>(v_)->name();
    case Kind::kTensorList:
      return "[" + join(tensors(), ", ", [](Value* v) { return v ? "%" + v->name() : std::string("None"); }) + "]";
    case Kind::kInt: return int_expr().str();
    case Kind::kIntList: return "[" + join(ints(), ", ", [](const SymExpr& e) { return e.str(); }) + "]";
    case Kind::kFloat: return format_double(floating());
    case Kind::kFloatList: return "[" + join(floats(), ", ", [](double d) { return format_double(d); }) + "]";
    case Kind::kBool: return boolean() ? "True" : "False";
    case Kind::kBoolList: return "[" + join(bools(), ", ", [](bool b) { return std::string(b ? "True" : "False"); }) + "]";
    case Kind::kString: return quote(str_value());
    case Kind::kDType: return "torch." + std::string(dtype_torch_name(dtype()));
    case Kind::kDevice: return "device(" + quote(str_value()) + ")";
    case Kind::kEnum: return str_value();
  }
  return "?";
}

bool Arg::operator==(const Arg& o) const { return kind_ == o.kind_ && v_ == o.v_; }

// ---------------------------------------------------------------- Node

const Arg& Node::arg(size_t i) const {
  INGOT_CHECK(i < args_.size(), op_, " (node %", name_, ") has ", args_.size(), " arguments; asked for #", i);
  return args_[i];
}

Value* Node::output(size_t i) const {
  INGOT_CHECK(i < outputs_.size(), op_, " (node %", name_, ") has ", outputs_.size(), " outputs; asked for #", i);
  return outputs_[i];
}

std::vector<Value*> Node::input_values() const {
  std::vector<Value*> out;
  auto add = [&](Value* v) {
    if (v && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  };
  for (const auto& a : args_) {
    if (a.kind() == Arg::Kind::kTensor) add(a.tensor());
    if (a.kind() == Arg::Kind::kTensorList) for (Value* v : a.tensors()) add(v);
  }
  return out;
}

std::string Node::str() const {
  std::string s;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (i) s += ", ";
    s += "%" + outputs_[i]->name() + " : " + outputs_[i]->type().str();
  }
  if (!outputs_.empty()) s += " = ";
  s += op_ + "(" + join(args_, ", ", [](const Arg& a) { return a.str(); }) + ")";
  return s;
}

// ---------------------------------------------------------------- Graph

std::string Graph::unique_name(const std::string& base_in) {
  std::string base = base_in.empty() ? "v" : base_in;
  if (!by_name_.count(base)) return base;
  int& counter = name_counters_[base];
  while (true) {
    std::string candidate = base + "_" + std::to_string(++counter);
    if (!by_name_.count(candidate)) return candidate;
  }
}

Value* Graph::new_value(const std::string& name) {
  auto v = std::make_unique<Value>();
  v->name_ = unique_name(name);
  Value* raw = v.get();
  by_name_[raw->name_] = raw;
  value_storage_.push_back(std::move(v));
  return raw;
}

Value* Graph::add_input(const std::string& name, TensorType type) {
  Value* v = new_value(name);
  v->kind_ = Value::Kind::kInput;
  v->type_ = std::move(type);
  inputs_.push_back(v);
  return v;
}

Value* Graph::add_constant(const std::string& name, ConstantData data) {
  Value* v = new_value(name);
  v->kind_ = Value::Kind::kConstant;
  v->type_ = TensorType{data.dtype, shape_of(data.dims)};
  v->constant_ = std::move(data);
  constants_.push_back(v);
  return v;
}

void Graph::add_uses(Node* node, size_t i) {
  const Arg& a = node->args_[i];
  if (a.kind() == Arg::Kind::kTensor) {
    a.tensor()->uses_.push_back({node, static_cast<int>(i), -1});
  } else if (a.kind() == Arg::Kind::kTensorList) {
    for (size_t j = 0; j < a.tensors().size(); ++j) {
      if (Value* v = a.tensors()[j]) v->uses_.push_back({node, static_cast<int>(i), static_cast<int>(j)});
    }
  }
}

void Graph::remove_uses(Node* node, size_t i) {
  const Arg& a = node->args_[i];
  auto drop = [&](Value* v, int j) {
    auto& u = v->uses_;
    u.erase(std::remove(u.begin(), u.end(), Use{node, static_cast<int>(i), j}), u.end());
  };
  if (a.kind() == Arg::Kind::kTensor) drop(a.tensor(), -1);
  if (a.kind() == Arg::Kind::kTensorList) {
    for (size_t j = 0; j < a.tensors().size(); ++j) {
      if (Value* v = a.tensors()[j]) drop(v, static_cast<int>(j));
    }
  }
}

Node* Graph::make_node(const std::string& op, std::vector<Arg> args,
                       const std::vector<TensorType>& output_types, const std::string& name,
                       const std::string& schema, const std::vector<std::string>& output_names) {
  auto node = std::make_unique<Node>();
  Node* n = node.get();
  n->graph_ = this;
  n->op_ = op;
  n->schema_ = schema;
  n->args_ = std::move(args);
  std::string base = name;
  if (base.empty()) {
    // "aten::add.Tensor" -> "add"
    size_t start = op.find("::");
    base = op.substr(start == std::string::npos ? 0 : start + 2);
    base = base.substr(0, base.find('.'));
  }
  for (size_t i = 0; i < output_types.size(); ++i) {
    Value* v = new_value(i < output_names.size() ? output_names[i]
                                                 : (i == 0 ? base : base + "_" + std::to_string(i)));
    v->producer_ = n;
    v->output_index_ = static_cast<int>(i);
    v->type_ = output_types[i];
    n->outputs_.push_back(v);
  }
  n->name_ = n->outputs_.empty() ? unique_name(base) : n->outputs_[0]->name_;
  for (size_t i = 0; i < n->args_.size(); ++i) add_uses(n, i);
  node_storage_.push_back(std::move(node));
  return n;
}

Node* Graph::add_node(const std::string& op, std::vector<Arg> args, const std::vector<TensorType>& output_types,
                      const std::string& name, const std::string& schema,
                      const std::vector<std::string>& output_names) {
  Node* n = make_node(op, std::move(args), output_types, name, schema, output_names);
  order_.push_back(n);
  return n;
}

Node* Graph::insert_node_before(Node* before, const std::string& op, std::vector<Arg> args,
                                const std::vector<TensorType>& output_types, const std::string& name,
                                const std::string& schema) {
  auto it = std::find(order_.begin(), order_.end(), before);
  INGOT_CHECK(it != order_.end(), "insert_node_before: node not in graph");
  Node* n = make_node(op, std::move(args), output_types, name, schema, {});
  order_.insert(it, n);
  return n;
}

void Graph::add_output(Value* v) { outputs_.push_back(v); }

void Graph::set_output(size_t i, Value* v) {
  INGOT_CHECK(i < outputs_.size(), "graph has ", outputs_.size(), " outputs");
  outputs_[i] = v;
}

void Graph::add_symbol(const std::string& name, SymRange range) { symbols_[name] = range; }

SymRange Graph::symbol_range(const std::string& name) const {
  auto it = symbols_.find(name);
  return it == symbols_.end() ? SymRange{} : it->second;
}

void Graph::set_arg(Node* node, size_t i, Arg arg) {
  INGOT_CHECK(i < node->args_.size(), "set_arg: index ", i, " out of range for ", node->op_);
  remove_uses(node, i);
  node->args_[i] = std::move(arg);
  add_uses(node, i);
}

void Graph::replace_all_uses(Value* from, Value* to) {
  if (from == to) return;
  std::vector<Use> uses = from->uses_;
  for (const Use& u : uses) {
    Arg& a = u.node->args_[u.arg_index];
    if (u.list_index < 0) {
      a = Arg::tensor(to);
    } else {
      std::vector<Value*> vs = a.tensors();
      vs[u.list_index] = to;
      a = Arg::tensor_list(std::move(vs));
    }
    to->uses_.push_back(u);
  }
  from->uses_.clear();
  for (auto& o : outputs_) {
    if (o == from) o = to;
  }
}

void Graph::erase_node(Node* node) {
  for (Value* v : node->outputs_) {
    INGOT_CHECK(v->uses_.empty() && !is_output(v), "erase_node: output %", v->name_, " of ", node->op_,
                " is still used");
  }
  for (size_t i = 0; i < node->args_.size(); ++i) remove_uses(node, i);
  order_.erase(std::remove(order_.begin(), order_.end(), node), order_.end());
  for (Value* v : node->outputs_) by_name_.erase(v->name_);
  // Storage is kept until the graph dies: raw pointers held by callers stay valid, and a
  // pass holding a list of nodes can tell an erased one by its null graph().
  node->graph_ = nullptr;
}

void Graph::erase_constant(Value* v) {
  INGOT_CHECK(v->is_constant() && v->uses_.empty() && !is_output(v), "erase_constant: %", v->name_,
              " is not an unused constant");
  constants_.erase(std::remove(constants_.begin(), constants_.end(), v), constants_.end());
  by_name_.erase(v->name_);
  v->constant_.reset();
}

void Graph::erase_input(Value* v) {
  INGOT_CHECK(v->is_graph_input() && v->uses_.empty() && !is_output(v), "erase_input: %", v->name_,
              " is not an unused input");
  inputs_.erase(std::remove(inputs_.begin(), inputs_.end(), v), inputs_.end());
  by_name_.erase(v->name_);
}

void Graph::sort_topologically() {
  std::map<const Node*, size_t> pos;
  for (size_t i = 0; i < order_.size(); ++i) pos[order_[i]] = i;
  std::vector<int> pending(order_.size(), 0);
  std::vector<std::vector<size_t>> users(order_.size());
  for (size_t i = 0; i < order_.size(); ++i) {
    for (Value* v : order_[i]->input_values()) {
      if (Node* p = v->producer()) {
        auto it = pos.find(p);
        if (it == pos.end()) continue;
        ++pending[i];
        users[it->second].push_back(i);
      }
    }
  }
  // Kahn's algorithm, always taking the lowest original position: stable.
  std::set<size_t> ready;
  for (size_t i = 0; i < order_.size(); ++i) if (pending[i] == 0) ready.insert(i);
  std::vector<Node*> out;
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    out.push_back(order_[i]);
    for (size_t u : users[i]) if (--pending[u] == 0) ready.insert(u);
  }
  INGOT_CHECK(out.size() == order_.size(), "graph has a cycle");
  order_ = std::move(out);
}

Value* Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

bool Graph::is_output(const Value* v) const {
  return std::find(outputs_.begin(), outputs_.end(), v) != outputs_.end();
}

Status Graph::verify() const {
  std::set<const Value*> defined(inputs_.begin(), inputs_.end());
  for (Value* c : constants_) {
    if (!c->constant_) return invalid_argument("constant %", c->name(), " has no data");
    defined.insert(c);
  }
  auto check_symbols = [&](const Shape& shape, const std::string& where) -> Status {
    for (const auto& d : shape) {
      for (const auto& s : d.symbols()) {
        if (!symbols_.count(s)) return invalid_argument(where, " uses undeclared symbol '", s, "'");
      }
    }
    return Status::ok();
  };
  for (Value* v : inputs_) INGOT_RETURN_IF_ERROR(check_symbols(v->shape(), "input %" + v->name()));
  for (const Node* n : order_) {
    for (size_t i = 0; i < n->args_.size(); ++i) {
      const Arg& a = n->args_[i];
      std::vector<Value*> refs;
      if (a.kind() == Arg::Kind::kTensor) refs.push_back(a.tensor());
      if (a.kind() == Arg::Kind::kTensorList) for (Value* v : a.tensors()) if (v) refs.push_back(v);
      for (Value* v : refs) {
        if (!defined.count(v)) {
          return invalid_argument("node %", n->name(), " (", n->op(), ") reads %", v->name(),
                                  " before it is defined");
        }
      }
    }
    for (Value* v : n->outputs_) {
      if (v->producer_ != n) return invalid_argument("output %", v->name(), " has a wrong producer");
      INGOT_RETURN_IF_ERROR(check_symbols(v->shape(), "value %" + v->name()));
      defined.insert(v);
    }
  }
  for (Value* v : outputs_) {
    if (!defined.count(v)) return invalid_argument("graph output %", v->name(), " is not defined");
  }
  // Every recorded use must point at an argument that reads the value.
  for (const Value* v : defined) {
    for (const Use& u : v->uses_) {
      if (u.node->graph_ != this || u.arg_index >= static_cast<int>(u.node->args_.size())) {
        return invalid_argument("value %", v->name(), " has a stale use");
      }
      const Arg& a = u.node->args_[u.arg_index];
      bool ok = u.list_index < 0 ? (a.kind() == Arg::Kind::kTensor && a.tensor() == v)
                                 : (a.kind() == Arg::Kind::kTensorList &&
                                    u.list_index < static_cast<int>(a.tensors().size()) &&
                                    a.tensors()[u.list_index] == v);
      if (!ok) return invalid_argument("value %", v->name(), " has a use that does not read it");
    }
  }
  return Status::ok();
}

}  // namespace ingot::ir
