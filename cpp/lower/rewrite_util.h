// Private helpers shared by the lowering passes: matching (op names, scalar arguments,
// constants, uses) and rewriting (replace a node by a new one). Not part of the lowering API;
// only cpp/lower/*.cpp include this header.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace ingot::lower::detail {

// Exact torch schema strings of the nodes that passes create.
inline constexpr std::string_view kMatmulSchema = "aten::matmul(Tensor self, Tensor other) -> Tensor";
inline constexpr std::string_view kLinearSchema =
    "aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor";
inline constexpr std::string_view kReshapeSchema = "aten::reshape(Tensor(a) self, SymInt[] shape) -> Tensor(a)";
inline constexpr std::string_view kConvolutionSchema =
    "aten::convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, SymInt[] padding, "
    "SymInt[] dilation, bool transposed, SymInt[] output_padding, SymInt groups) -> Tensor";

// "aten::add.Tensor" -> "add"; "aten::relu_" -> "relu_".
std::string_view op_base_name(std::string_view op);

bool is_op_one_of(const ir::Node* n, std::initializer_list<std::string_view> ops);

// False once the node has been erased from its graph.
inline bool is_alive(const ir::Node* n) { return n->graph() != nullptr; }

// The producer of `v` when its op is one of `ops`; nullptr otherwise (inputs, constants too).
ir::Node* producer_of(const ir::Value* v, std::initializer_list<std::string_view> ops);

// Argument i, or None when the node has fewer arguments (text written by hand may omit
// trailing defaults; matchers then see None and stay conservative).
const ir::Arg& arg_or_none(const ir::Node* n, size_t i);

// The value of a kTensor argument; nullptr for None, lists and non-tensors or a missing index.
ir::Value* tensor_arg(const ir::Node* n, size_t i);
// Same, but only when that value is a constant.
ir::Value* constant_arg(const ir::Node* n, size_t i);

// The number an int (static), float or bool argument holds.
std::optional<double> scalar_value(const ir::Arg& a);
bool scalar_is(const ir::Arg& a, double v);
bool is_false(const ir::Arg& a);  // a bool argument holding False (None is not False)

// The permutation of a static int list argument.
std::optional<std::vector<int64_t>> static_permutation(const ir::Arg& a);

bool is_unused(const ir::Graph& g, const ir::Value* v);  // no uses, not a graph output
// Exactly one use (by `user` if given), and not a graph output.
bool has_single_use(const ir::Graph& g, const ir::Value* v, const ir::Node* user = nullptr);

// A constant whose every element equals `v` (floating or integral; never opaque).
bool constant_all_equal(const ir::Value* v, double value);

// Ops whose results differ between runs (random sampling, uninitialized memory, dropout in
// training): never folded, never merged.
bool is_nondeterministic(const ir::Node& n);
// Ops that write memory or assert (in-place overloads, nodes without outputs): never removed,
// folded or merged.
bool has_side_effects(const ir::Node& n);

// Transposes a 2-D constant into new owned data.
ir::ConstantData transpose_2d(const ir::ConstantData& c);
// Owned data of a floating dtype (f32, f16, bf16, f64) from values computed in double.
ir::ConstantData floating_constant(ir::DType dtype, std::vector<int64_t> dims, const std::vector<double>& values);

// Inserts `op(args)` just before `old`, with the given output types, the schema string and
// old's source; redirects every use of old's first outputs (as many as the new node has) to
// the new node's, then erases `old`, whose remaining outputs must be unused.
ir::Node* replace_node(ir::Graph& g, ir::Node* old, const std::string& op, std::vector<ir::Arg> args,
                       const std::vector<ir::TensorType>& output_types, std::string_view schema);

// Broadcast of two shapes, right-aligned (numpy rules); nullopt when two dims are neither equal
// nor 1.
std::optional<ir::Shape> broadcast_shapes(const ir::Shape& a, const ir::Shape& b);

// Result shape of aten::matmul for operands of these shapes (batch dims broadcast); nullopt when
// a rank is 0 or the broadcast cannot be decided symbolically.
std::optional<ir::Shape> matmul_shape(const ir::Shape& a, const ir::Shape& b);

}  // namespace ingot::lower::detail
