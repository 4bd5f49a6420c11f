// net::Network: the engine-level graph that converters build and the builder turns into a
// plan. Tensors are numbered; layers read and write tensor ids and are kept in a valid
// execution order (a layer's inputs are defined before it).
//
// add_layer() runs the layer's shape function: it checks the inputs (ranks, dtypes,
// channel counts) and returns an error naming the layer, or gives the output types.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "net/layers.h"
#include "support/status.h"

namespace ingot::net {

using ir::ConstantData;
using ir::TensorType;

struct Tensor {
  int id = -1;
  std::string name;
  TensorType type;
  std::optional<ConstantData> constant;  // weights
  int producer = -1;                     // layer index, -1 for inputs and constants
  bool is_input = false;
};

// A tactic the builder timed for a layer, and its measured time (CUDA backend; for reports).
struct TimedTactic {
  std::string tactic;
  double ms = 0.0;
};

// Where an ATen node came from, for reports: its op and the nn.Module path that called it.
struct OriginInfo {
  std::string op;      // "aten::convolution"
  std::string module;  // "layer1.0.conv1", or "" when unknown
};

struct Layer {
  std::string name;
  LayerParams params;
  std::vector<int> inputs;   // -1: absent optional input
  std::vector<int> outputs;
  std::vector<std::string> origins;  // ATen nodes this layer came from
  std::string tactic;                // backend's implementation choice ("" = default)
  std::vector<TimedTactic> timed;    // the alternatives the builder timed (empty if none)

  LayerKind kind() const { return kind_of(params); }
};

class Network {
 public:
  int add_input(const std::string& name, TensorType type);
  int add_constant(const std::string& name, ConstantData data);
  // Appends a layer after checking it. `origin` names the ATen node it implements.
  Expected<std::vector<int>> add_layer(LayerParams params, std::vector<int> inputs,
                                       const std::string& name, const std::string& origin = "");
  // Single-output convenience.
  Expected<int> add(LayerParams params, std::vector<int> inputs, const std::string& name,
                    const std::string& origin = "");
  void mark_output(int tensor, const std::string& name);
  void add_symbol(const std::string& name, ir::SymRange range) { symbols_[name] = range; }
  // Op and module of the ATen node named `node` (the names in Layer::origins).
  void set_origin_info(const std::string& node, OriginInfo info) { origin_info_[node] = std::move(info); }
  const std::map<std::string, OriginInfo>& origin_info() const { return origin_info_; }
  // The info of `node`, or null.
  const OriginInfo* find_origin(const std::string& node) const;
  // Copies from `from` the origin info of every node this network's layers name (passes that
  // rebuild a network call it so that reports keep ops and module paths).
  void copy_origin_info(const Network& from);

  const Tensor& tensor(int id) const { return tensors_.at(static_cast<size_t>(id)); }
  Tensor& mutable_tensor(int id) { return tensors_.at(static_cast<size_t>(id)); }
  const std::vector<Tensor>& tensors() const { return tensors_; }
  const std::vector<Layer>& layers() const { return layers_; }
  std::vector<Layer>& mutable_layers() { return layers_; }
  const std::vector<int>& inputs() const { return inputs_; }
  const std::vector<int>& outputs() const { return outputs_; }
  const std::vector<std::string>& output_names() const { return output_names_; }
  const std::map<std::string, ir::SymRange>& symbols() const { return symbols_; }
  ir::SymRange symbol_range(const std::string& s) const;

  // Replaces the layer list and tensors wholesale (builder passes); re-derives producers.
  void reset(std::vector<Tensor> tensors, std::vector<Layer> layers, std::vector<int> inputs,
             std::vector<int> outputs, std::vector<std::string> output_names);

  // Re-runs every shape function and checks ids, order and types: the plan verifier's core.
  Status validate() const;

  std::string str() const;  // readable listing, one layer a line

 private:
  int new_tensor(const std::string& name, TensorType type);

  std::vector<Tensor> tensors_;
  std::vector<Layer> layers_;
  std::vector<int> inputs_, outputs_;
  std::vector<std::string> output_names_;
  std::map<std::string, ir::SymRange> symbols_;
  std::map<std::string, OriginInfo> origin_info_;
};

// The shape function of a layer: output types for input types (null for absent optional
// inputs), or an error describing what does not fit.
Expected<std::vector<TensorType>> infer_types(const LayerParams& params,
                                              const std::vector<const TensorType*>& inputs);

// Numpy-style broadcast of two shapes; error if incompatible.
Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b);

// Checks that a strided view (element i at offset + sum(i_d * strides[d])) of concrete dims
// reads only elements of a tensor of `storage_numel` elements; the error names `what`.
Status check_strided_view(const char* what, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides,
                          int64_t offset, int64_t storage_numel);

// Normalizes a possibly negative axis against a rank; error if out of range.
Expected<int64_t> normalize_axis(int64_t axis, int64_t rank);

// One line per field: "stride=[2, 2] padding=[3, 3] ..."
std::string params_str(const LayerParams& p);

// True if any parameter (a shape, a slice bound, a size) is a symbolic expression.
bool params_have_symbols(const LayerParams& p);
// Replaces symbols in every symbolic parameter by the given values.
void substitute_symbols(LayerParams& p, const std::map<std::string, SymExpr>& values);

}  // namespace ingot::net
