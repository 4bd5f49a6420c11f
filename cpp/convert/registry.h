// Converters: ATen node -> engine layers, registered by the exact ATen schema string.
//
//   INGOT_CONVERTER("aten::relu(Tensor self) -> Tensor", convert_relu);
//
// The registry is the one source of truth for support: the partitioner asks
// Registry::supports(node, settings), which checks the schema and dtypes and then converts the
// node on its own into a scratch network, so "supported" always means "converts". The
// published op table (docs/supported_ops.md) is generated from Registry::list().
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "convert/context.h"
#include "ir/graph.h"
#include "support/status.h"

namespace ingot::convert {

using ConvertFn = Status (*)(Context& ctx, const ir::Node& node);

struct Converter {
  std::string schema;  // "aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"
  std::string op;      // "aten::add.Tensor"
  ConvertFn convert = nullptr;
  std::string file;
};

class Registry {
 public:
  static Registry& global();

  // Registers a converter; returns true so that it can initialize a static.
  bool add(const std::string& schema, ConvertFn fn, const char* file);

  const Converter* find(const std::string& op) const;
  // OK if `node` converts under `settings`; otherwise the reason, naming the node and op.
  Status supports(const ir::Node& node, const Settings& settings) const;
  // All converters, sorted by op name.
  std::vector<const Converter*> list() const;

 private:
  std::map<std::string, Converter> by_op_;
};

// Converts one node in `ctx` (its inputs must be bound) and checks that every used output is
// bound to a tensor whose type matches the IR value's type.
Status convert_node(Context& ctx, const ir::Node& node);

// Converts a set of nodes (in topological order) into a network whose inputs are `inputs` and
// whose outputs are `outputs` (named after the values). Constants referenced by the nodes
// become network constants that borrow the graph's data. If a node fails to convert and
// `failed_node` is given, it is set to that node.
Expected<net::Network> convert_nodes(const ir::Graph& graph, const std::vector<const ir::Node*>& nodes,
                                     const std::vector<const ir::Value*>& inputs,
                                     const std::vector<const ir::Value*>& outputs, const Settings& settings,
                                     const ir::Node** failed_node = nullptr);

}  // namespace ingot::convert

#define INGOT_CONVERTER(schema, fn)                                                     \
  static const bool INGOT_CONCAT(ingot_converter_registered_, __LINE__) [[maybe_unused]] = \
      ::ingot::convert::Registry::global().add(schema, fn, __FILE__)
