// ir::Graph: the ATen-level graph. One Node per ATen overload ("aten::convolution",
// "aten::add.Tensor"), arguments in schema order with defaults filled in, tensor Values typed
// with dtype and symbolic shape, weights as constant Values.
//
// Ownership: the Graph owns its Nodes and Values. Constant data may borrow a caller's buffer
// (no copy); ConstantData::storage keeps it alive for as long as the graph needs it.
// Node order is always a topological order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ir/dtype.h"
#include "ir/symbolic.h"
#include "support/status.h"

namespace ingot::ir {

struct TensorType {
  DType dtype = DType::kFloat32;
  Shape shape;

  size_t rank() const { return shape.size(); }
  std::string str() const;  // "f32[2, s0]"
  bool operator==(const TensorType& o) const { return dtype == o.dtype && shape == o.shape; }
};

// Dense, contiguous, row-major tensor bytes.
struct ConstantData {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> dims;
  std::shared_ptr<const void> storage;  // keeps `data` alive
  const void* data = nullptr;
  size_t nbytes = 0;

  static ConstantData owned(DType dtype, std::vector<int64_t> dims, std::vector<uint8_t> bytes);
  // Borrows `ptr`; `keepalive` (may be null) is held while the data is in use.
  static ConstantData borrowed(DType dtype, std::vector<int64_t> dims, const void* ptr,
                               std::shared_ptr<const void> keepalive);
  // Zero-filled data of the given type.
  static ConstantData zeros(DType dtype, std::vector<int64_t> dims);

  int64_t numel() const;
  // Element i converted to double / int64 (any engine dtype).
  double get_double(int64_t i) const;
  int64_t get_int(int64_t i) const;
  template <typename T>
  const T* as() const { return static_cast<const T*>(data); }
};

class Node;
class Graph;

struct Use {
  Node* node;
  int arg_index;
  int list_index;  // position inside a tensor-list argument, -1 otherwise
  bool operator==(const Use&) const = default;
};

class Value {
 public:
  const std::string& name() const { return name_; }
  const TensorType& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  size_t rank() const { return type_.shape.size(); }
  void set_type(TensorType t) { type_ = std::move(t); }

  Node* producer() const { return producer_; }
  int output_index() const { return output_index_; }
  bool is_graph_input() const { return kind_ == Kind::kInput; }
  bool is_constant() const { return kind_ == Kind::kConstant; }
  const ConstantData& constant() const;
  const std::vector<Use>& uses() const { return uses_; }
  bool has_uses() const { return !uses_.empty(); }

 private:
  friend class Graph;
  enum class Kind { kInput, kConstant, kNodeOutput };
  Kind kind_ = Kind::kNodeOutput;
  std::string name_;
  TensorType type_;
  Node* producer_ = nullptr;
  int output_index_ = 0;
  std::optional<ConstantData> constant_;
  std::vector<Use> uses_;
};

// A node argument, typed as in the ATen schema.
class Arg {
 public:
  enum class Kind : uint8_t {
    kNone, kTensor, kTensorList, kInt, kIntList, kFloat, kFloatList, kBool, kBoolList,
    kString, kDType, kDevice, kEnum,
  };

  Arg() = default;  // None
  static Arg none() { return Arg(); }
  static Arg tensor(Value* v);
  static Arg tensor_list(std::vector<Value*> vs);  // entries may be null (Tensor?[])
  static Arg integer(SymExpr v);
  static Arg int_list(std::vector<SymExpr> vs);
  static Arg int_list(const std::vector<int64_t>& vs);
  static Arg floating(double v);
  static Arg float_list(std::vector<double> vs);
  static Arg boolean(bool v);
  static Arg bool_list(std::vector<bool> vs);
  static Arg string(std::string s);
  static Arg dtype(DType t);
  static Arg device(std::string d);
  static Arg enumeration(std::string e);  // torch.contiguous_format, torch.strided, ...

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_tensor() const { return kind_ == Kind::kTensor; }
  bool is_scalar() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }

  // Typed accessors check the kind.
  Value* tensor() const;
  const std::vector<Value*>& tensors() const;
  const SymExpr& int_expr() const;
  std::optional<int64_t> static_int() const;  // kInt with a constant value
  const std::vector<SymExpr>& ints() const;
  std::optional<std::vector<int64_t>> static_ints() const;
  double floating() const;
  double to_double() const;  // kInt (constant), kFloat or kBool
  const std::vector<double>& floats() const;
  bool boolean() const;
  const std::vector<bool>& bools() const;
  const std::string& str_value() const;  // kString, kDevice, kEnum
  DType dtype() const;

  std::string str() const;  // IR text
  bool operator==(const Arg& o) const;

 private:
  Kind kind_ = Kind::kNone;
  std::variant<std::monostate, Value*, std::vector<Value*>, SymExpr, std::vector<SymExpr>, double,
               std::vector<double>, bool, std::vector<bool>, std::string, DType>
      v_;
};

const char* arg_kind_name(Arg::Kind k);

class Node {
 public:
  const std::string& op() const { return op_; }          // "aten::add.Tensor"
  const std::string& schema() const { return schema_; }  // exact schema string, or empty
  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }  // e.g. nn.Module path, for reports
  void set_source(std::string s) { source_ = std::move(s); }

  size_t num_args() const { return args_.size(); }
  const std::vector<Arg>& args() const { return args_; }
  const Arg& arg(size_t i) const;
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* output(size_t i = 0) const;
  // Tensor values this node reads, in argument order, without nulls or repeats.
  std::vector<Value*> input_values() const;

  // The graph that holds the node; nullptr once the node has been erased.
  Graph* graph() const { return graph_; }
  std::string str() const;  // one line of IR text

 private:
  friend class Graph;
  Graph* graph_ = nullptr;
  std::string op_, schema_, name_, source_;
  std::vector<Arg> args_;
  std::vector<Value*> outputs_;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // --- building
  Value* add_input(const std::string& name, TensorType type);
  Value* add_constant(const std::string& name, ConstantData data);
  // Appends a node. `name` names the first output (others get "_1", "_2" suffixes) unless
  // `output_names` names each; names are made unique. An empty name takes the op's base name.
  Node* add_node(const std::string& op, std::vector<Arg> args, const std::vector<TensorType>& output_types,
                 const std::string& name = "", const std::string& schema = "",
                 const std::vector<std::string>& output_names = {});
  // Same, inserted just before `before`.
  Node* insert_node_before(Node* before, const std::string& op, std::vector<Arg> args,
                           const std::vector<TensorType>& output_types, const std::string& name = "",
                           const std::string& schema = "");
  void add_output(Value* v);
  void set_output(size_t i, Value* v);
  void add_symbol(const std::string& name, SymRange range);

  // --- editing
  void set_arg(Node* node, size_t i, Arg arg);
  void replace_all_uses(Value* from, Value* to);  // graph outputs included
  void erase_node(Node* node);                    // its outputs must be unused; node->graph() becomes null
  void erase_constant(Value* v);                  // must be unused
  void erase_input(Value* v);                     // must be unused
  // Node order is topological: this restores it after edits that may break it (stable).
  void sort_topologically();

  // --- reading
  const std::vector<Node*>& nodes() const { return order_; }
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& constants() const { return constants_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  const std::map<std::string, SymRange>& symbols() const { return symbols_; }
  SymRange symbol_range(const std::string& name) const;
  Value* find_value(const std::string& name) const;
  bool is_output(const Value* v) const;

  // Checks structure: topological order, use lists, names, declared symbols.
  Status verify() const;

  std::string str(bool inline_constants = true, size_t max_inline = SIZE_MAX) const;
  std::string unique_name(const std::string& base);

 private:
  Value* new_value(const std::string& name);
  void add_uses(Node* node, size_t arg_index);
  void remove_uses(Node* node, size_t arg_index);
  Node* make_node(const std::string& op, std::vector<Arg> args, const std::vector<TensorType>& output_types,
                  const std::string& name, const std::string& schema,
                  const std::vector<std::string>& output_names);

  std::vector<std::unique_ptr<Node>> node_storage_;
  std::vector<std::unique_ptr<Value>> value_storage_;
  std::vector<Node*> order_;
  std::vector<Value*> inputs_, constants_, outputs_;
  std::map<std::string, SymRange> symbols_;
  std::map<std::string, Value*> by_name_;
  std::map<std::string, int> name_counters_;
};

// Parses IR text (the format Graph::str prints). Constants printed as `external` take their
// data from `external`, or zeros if `zero_fill_missing`.
struct ParseOptions {
  std::map<std::string, ConstantData> external;
  bool zero_fill_missing = false;
};
Expected<std::unique_ptr<Graph>> parse_graph(std::string_view text, const ParseOptions& options = {});

}  // namespace ingot::ir
