// Conversion context: maps IR values to network tensors while converters add layers, and
// offers the helpers most converters need (casts, scalar constants, reshapes, argument
// readers with errors that name the node).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "net/network.h"
#include "support/status.h"

namespace ingot::convert {

using ir::DType;
using ir::Shape;
using ir::SymExpr;

// What converters may consult about the build.
struct Settings {
  std::set<DType> enabled_precisions = {DType::kFloat32};
  bool cuda = false;  // building for the CUDA backend (else the CPU reference backend)
};

class Context {
 public:
  Context(const ir::Graph& graph, net::Network& net, const Settings& settings)
      : graph_(graph), net_(net), settings_(settings) {}

  net::Network& net() { return net_; }
  const Settings& settings() const { return settings_; }
  const ir::Graph& graph() const { return graph_; }

  // --- value mapping
  void bind(const ir::Value* v, int tensor) { map_[v] = tensor; }
  bool is_bound(const ir::Value* v) const { return map_.count(v) > 0; }
  // The tensor of a value: bound values, or constants (added to the network on first use).
  Expected<int> tensor(const ir::Value* v);
  // The tensor of argument `i`, which must be a tensor.
  Expected<int> arg_tensor(const ir::Node& n, size_t i);
  // A tensor argument cast to `dtype`, or a Python number passed in its place as a 0-d constant.
  Expected<int> tensor_or_scalar(const ir::Node& n, size_t i, DType dtype);
  // The tensor of an optional tensor argument: -1 for None.
  Expected<int> optional_arg_tensor(const ir::Node& n, size_t i);
  // The reference is invalidated when layers or constants are added: copy what must outlive that.
  const ir::TensorType& type(int tensor) const { return net_.tensor(tensor).type; }

  // --- adding layers: named after the node (plus `suffix`), with the node as origin
  Expected<int> add(const ir::Node& n, net::LayerParams p, std::vector<int> inputs, const std::string& suffix = "");
  Expected<std::vector<int>> add_multi(const ir::Node& n, net::LayerParams p, std::vector<int> inputs,
                                       const std::string& suffix = "");
  Expected<int> cast(const ir::Node& n, int t, DType to);                 // no layer if already `to`
  Expected<int> reshape(const ir::Node& n, int t, Shape shape, const std::string& suffix = "reshape");
  int scalar(DType dtype, double value);                                   // rank-0 constant
  // A constant of `dtype` and `dims` from row-major `data` (each value converted to dtype).
  int values(const std::string& name, DType dtype, std::vector<int64_t> dims, const std::vector<double>& data);
  // One elementwise / unary layer (no broadcasting or dtype promotion beyond the layer's own).
  Expected<int> binary(const ir::Node& n, net::BinaryOp op, int a, int b, const std::string& suffix = "");
  Expected<int> unary(const ir::Node& n, net::UnaryOp op, int x, const std::string& suffix = "");
  int constant(const std::string& name, ir::ConstantData data);

  // --- argument readers (errors name node, op and argument)
  Expected<int64_t> int_arg(const ir::Node& n, size_t i) const;           // static int
  Expected<std::vector<int64_t>> ints_arg(const ir::Node& n, size_t i) const;  // static int list
  Expected<double> number_arg(const ir::Node& n, size_t i) const;         // int, float or bool
  Expected<bool> bool_arg(const ir::Node& n, size_t i) const;
  // Checks that output `i` of `n` is not read by anything (for outputs a converter drops).
  Status require_unused_output(const ir::Node& n, size_t i) const;

  template <typename... Args>
  Status fail(const ir::Node& n, Args&&... args) const {
    return unsupported(n.op(), " (node %", n.name(), "): ", std::forward<Args>(args)...);
  }

 private:
  std::string unique_layer_name(const std::string& base);

  const ir::Graph& graph_;
  net::Network& net_;
  const Settings& settings_;
  std::map<const ir::Value*, int> map_;
  std::set<std::string> layer_names_;
};

// torch.result_type for two operands of a binary op; a scalar operand has kind kInt/kFloat/kBool
// and no dtype. 0-d tensors rank below tensors of the same category, as in torch.
struct Operand {
  const ir::TensorType* type = nullptr;  // null for a Python scalar
  ir::Arg::Kind scalar_kind = ir::Arg::Kind::kNone;
};
DType result_type(const Operand& a, const Operand& b);

}  // namespace ingot::convert
