// Lowering passes over ir::Graph. Each pass rewrites the graph in place and returns how many
// rewrites it made (0: nothing matched). A pass returns a rewritten ir::Graph; if it emits
// engine layers it belongs in convert/. The pipeline's order is the list in pipeline.cpp.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "support/status.h"

namespace ingot::lower {

// Computes the outputs of a node whose tensor inputs are all constants. The compile driver
// supplies one built on the converters and the CPU reference kernels; an error means "cannot
// fold this node", not a failure of the pass.
using ConstantEvaluator = std::function<Expected<std::vector<ir::ConstantData>>(const ir::Node&)>;

struct LowerOptions {
  bool fold_constants = true;
  // A folded result larger than this, or one that grows the data (an expand of a weight),
  // is left to run in the engine instead.
  size_t fold_limit_bytes = size_t(256) << 20;
  ConstantEvaluator evaluator;  // required when fold_constants is set
};

struct PassStats {
  std::string name;
  int rewrites = 0;
  double seconds = 0;  // wall time over all rounds
};

// Removes nodes whose outputs nothing reads (graph outputs count as reads), and unused
// constants. Graph inputs stay, and so do nodes with side effects: in-place overloads
// ("aten::relu_") and nodes without outputs (asserts).
Expected<int> eliminate_dead_code(ir::Graph& g, const LowerOptions& options);

// Replaces nodes that compute their input unchanged: clone, alias, detach, lift_fresh_copy,
// contiguous, dropout in eval (train=False; native_dropout only when its mask is unused),
// view/reshape/_unsafe_view/expand to the same shape, identity permute, _to_copy to the same
// dtype, to.dtype to the same dtype, full slices, single-input cat, multiplication or division
// by 1 (mul.Tensor by an all-ones constant) and addition or subtraction of 0 — always only when
// the output type equals the input's. A _to_copy that names a device is kept (values carry no
// device here). Consumers that ran on a removed clone/contiguous may now see a non-contiguous
// tensor: code executing aten::view in PyTorch must treat it as reshape.
Expected<int> remove_noops(ir::Graph& g, const LowerOptions& options);

// Canonical forms: mm/bmm -> aten::matmul; matmul with a broadcast (expanded) operand reads
// the operand unexpanded when the result shape stays; matmul/mm/addmm with a transposed 2-D
// constant weight (permute(W, [1, 0])) -> aten::linear(x, W, b) (addmm: beta = alpha = 1 and b
// of shape [N]); a right operand that is a plain 2-D constant becomes a transposed copy when
// only matrix products read it (never a second copy of a shared weight); a following
// add.Tensor of a constant [N] bias (alpha 1, same dtype) joins the linear;
// view(x, [prod(lead), K]) / linear / view(y, lead + [N]) becomes linear(x), or
// linear(reshape(x, lead + [K])) when x has several dims after lead (attention's output
// projection).
Expected<int> canonicalize_linear(ir::Graph& g, const LowerOptions& options);

// Folds inference batch norm (aten::_native_batch_norm_legit_no_training) with constant
// statistics into a preceding non-transposed convolution, or a linear with a 2-D output, whose
// weight is constant and whose output only the batch norm reads; the saved statistics must be
// unused. Computed in double, stored in the weight's dtype (f32, f16, bf16, f64).
Expected<int> fold_batch_norm(ir::Graph& g, const LowerOptions& options);

// (x + c1) + c2 -> x + (c1 + c2) and (x * c1) * c2 -> x * (c1 * c2) for add.Tensor (alpha 1)
// and mul.Tensor, either operand order, when c1 and c2 are constants of x's dtype, one of their
// shapes holds the other's broadcast (no constant grows), and x + c1 has no other reader;
// fold_constants then computes c1 + c2. Floating results may differ from eager by the rounding
// of one addition.
Expected<int> reassociate_constants(ir::Graph& g, const LowerOptions& options);

// Evaluates nodes whose inputs are all constants and replaces their outputs by constants,
// using options.evaluator (an error when it is unset). Skips random and side-effecting nodes,
// dead nodes, symbolic shapes or int arguments, results over options.fold_limit_bytes, and
// results larger than twice the inputs plus 1 MiB. An evaluator error leaves the node; a result
// that does not match the node's output types is an internal error.
Expected<int> fold_constants(ir::Graph& g, const LowerOptions& options);

// Merges nodes that compute the same op on the same arguments with the same output types into
// the first of them (never random, uninitialized or side-effecting ops).
Expected<int> eliminate_common_subexpressions(ir::Graph& g, const LowerOptions& options);

// Runs the ordered pipeline (pipeline.cpp) until a round rewrites nothing, at most 8 rounds,
// then verifies the graph. Returns the rewrites of each pass that ran, summed over rounds, in
// pipeline order (fold_constants only when options.fold_constants).
Expected<std::vector<PassStats>> run_pipeline(ir::Graph& g, const LowerOptions& options);

}  // namespace ingot::lower
