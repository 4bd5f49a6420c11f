#include <algorithm>

#include "lower/passes.h"
#include "lower/rewrite_util.h"

namespace ingot::lower {

namespace {

constexpr size_t kGrowthAllowanceBytes = size_t(1) << 20;

bool has_static_scalars(const ir::Node& n) {
  for (const ir::Arg& a : n.args()) {
    if (a.kind() == ir::Arg::Kind::kInt && !a.static_int()) return false;
    if (a.kind() == ir::Arg::Kind::kIntList && !a.static_ints()) return false;
  }
  return true;
}

// Whether `n` may be evaluated now: deterministic, live, every tensor argument a constant, every
// shape static, and a result that neither exceeds the limit nor grows the data much.
bool is_foldable(const ir::Node& n, const LowerOptions& options) {
  if (detail::has_side_effects(n) || detail::is_nondeterministic(n) || !has_static_scalars(n)) return false;
  // A dead node is left to dead-code elimination rather than computed.
  const ir::Graph& g = *n.graph();
  if (std::all_of(n.outputs().begin(), n.outputs().end(), [&](const ir::Value* v) { return detail::is_unused(g, v); })) {
    return false;
  }
  size_t input_bytes = 0;
  for (const ir::Value* v : n.input_values()) {
    if (!v->is_constant()) return false;
    input_bytes += v->constant().nbytes;
  }
  size_t output_bytes = 0;
  for (const ir::Value* v : n.outputs()) {
    auto dims = ir::static_dims(v->shape());
    if (!dims || ir::dtype_size(v->dtype()) == 0) return false;  // symbolic, or opaque data
    size_t bytes = ir::dtype_size(v->dtype());
    for (int64_t d : *dims) bytes *= static_cast<size_t>(d);
    if (bytes > options.fold_limit_bytes) return false;
    output_bytes += bytes;
  }
  return output_bytes <= 2 * input_bytes + kGrowthAllowanceBytes;
}

// The evaluator's results must describe exactly the node's outputs.
Status check_results(const ir::Node& n, const std::vector<ir::ConstantData>& results) {
  if (results.size() != n.outputs().size()) {
    return error(ErrorCode::kInternal, "constant evaluator returned ", results.size(), " results for ", n.op(),
                 " (node %", n.name(), ") with ", n.outputs().size(), " outputs");
  }
  for (size_t i = 0; i < results.size(); ++i) {
    const ir::ConstantData& c = results[i];
    const ir::TensorType& t = n.output(i)->type();
    bool ok = c.dtype == t.dtype && ir::shape_of(c.dims) == t.shape &&
              c.nbytes == static_cast<size_t>(c.numel()) * ir::dtype_size(c.dtype) && (c.data || c.nbytes == 0);
    if (!ok) {
      return error(ErrorCode::kInternal, "constant evaluator result #", i, " for ", n.op(), " (node %", n.name(),
                   ") is ", ir::dtype_name(c.dtype), ir::shape_str(ir::shape_of(c.dims)), " with ", c.nbytes,
                   " bytes; the node's output is ", t.str());
    }
  }
  return Status::ok();
}

}  // namespace

Expected<int> fold_constants(ir::Graph& g, const LowerOptions& options) {
  if (!options.evaluator) return invalid_argument("fold_constants: LowerOptions::evaluator is not set");
  int folded = 0;
  // In order: a folded node turns its users' inputs into constants before they are visited.
  std::vector<ir::Node*> nodes = g.nodes();
  for (ir::Node* n : nodes) {
    if (!is_foldable(*n, options)) continue;
    Expected<std::vector<ir::ConstantData>> results = options.evaluator(*n);
    if (!results) continue;  // the evaluator cannot compute this node: it stays
    INGOT_RETURN_IF_ERROR(check_results(*n, *results));
    for (size_t i = 0; i < results->size(); ++i) {
      ir::Value* out = n->output(i);
      ir::Value* c = g.add_constant(out->name(), std::move((*results)[i]));
      g.replace_all_uses(out, c);
    }
    g.erase_node(n);
    ++folded;
  }
  return folded;
}

}  // namespace ingot::lower
