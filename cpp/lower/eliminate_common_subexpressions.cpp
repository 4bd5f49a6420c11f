#include <unordered_map>

#include "lower/passes.h"
#include "lower/rewrite_util.h"

namespace ingot::lower {

namespace {

bool same_computation(const ir::Node& a, const ir::Node& b) {
  if (a.op() != b.op() || a.args() != b.args() || a.outputs().size() != b.outputs().size()) return false;
  for (size_t i = 0; i < a.outputs().size(); ++i) {
    if (!(a.output(i)->type() == b.output(i)->type())) return false;
  }
  return true;
}

}  // namespace

Expected<int> eliminate_common_subexpressions(ir::Graph& g, const LowerOptions& /*options*/) {
  int merged = 0;
  // Buckets by the printed op and arguments; value names are unique, so equal text means equal
  // inputs, and same_computation confirms (numbers compare exactly, not as printed).
  std::unordered_map<std::string, std::vector<ir::Node*>> seen;
  std::vector<ir::Node*> nodes = g.nodes();
  for (ir::Node* n : nodes) {
    if (detail::has_side_effects(*n) || detail::is_nondeterministic(*n)) continue;
    std::string key = n->op() + "(" + join(n->args(), ", ", [](const ir::Arg& a) { return a.str(); }) + ")";
    std::vector<ir::Node*>& bucket = seen[key];
    ir::Node* first = nullptr;
    for (ir::Node* candidate : bucket) {
      if (same_computation(*candidate, *n)) {
        first = candidate;
        break;
      }
    }
    if (!first) {
      bucket.push_back(n);
      continue;
    }
    // Users of n come later in the order, so they are keyed with first's outputs when visited.
    for (size_t i = 0; i < n->outputs().size(); ++i) g.replace_all_uses(n->output(i), first->output(i));
    g.erase_node(n);
    ++merged;
  }
  return merged;
}

}  // namespace ingot::lower
