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
};

// Removes nodes whose outputs nothing reads, and unused constants. Graph inputs stay.
Expected<int> eliminate_dead_code(ir::Graph& g, const LowerOptions& options);

// Replaces nodes that compute their input unchanged: clone, alias, detach, contiguous,
// dropout in eval, view/reshape/expand to the same shape, identity permute, _to_copy to the
// same dtype, full slices, single-input cat, multiplication by 1 and addition of 0.
Expected<int> remove_noops(ir::Graph& g, const LowerOptions& options);

// Canonical forms: mm/bmm -> aten::matmul; matmul with a broadcast (expanded) operand reads
// the operand unexpanded; matmul/mm/addmm with a transposed 2-D weight -> aten::linear(x, W, b);
// a following bias add joins the linear; view-to-2-D / linear / view-back becomes one linear.
Expected<int> canonicalize_linear(ir::Graph& g, const LowerOptions& options);

// Folds inference batch norm (aten::_native_batch_norm_legit_no_training) with constant
// statistics into a preceding convolution or linear with constant weights.
Expected<int> fold_batch_norm(ir::Graph& g, const LowerOptions& options);

// Evaluates nodes whose inputs are all constants and replaces their outputs by constants.
Expected<int> fold_constants(ir::Graph& g, const LowerOptions& options);

// Merges nodes that compute the same op on the same arguments (never random ops).
Expected<int> eliminate_common_subexpressions(ir::Graph& g, const LowerOptions& options);

// Runs the ordered pipeline to a fixed point (bounded), then verifies the graph.
Expected<std::vector<PassStats>> run_pipeline(ir::Graph& g, const LowerOptions& options);

}  // namespace ingot::lower
