#include <algorithm>

#include "lower/passes.h"
#include "lower/rewrite_util.h"

namespace ingot::lower {

Expected<int> eliminate_dead_code(ir::Graph& g, const LowerOptions& /*options*/) {
  int removed = 0;
  // Backwards, so that erasing a node frees its producers before they are visited.
  std::vector<ir::Node*> nodes = g.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    ir::Node* n = *it;
    if (detail::has_side_effects(*n)) continue;
    bool live = std::any_of(n->outputs().begin(), n->outputs().end(),
                            [&](const ir::Value* v) { return !detail::is_unused(g, v); });
    if (live) continue;
    g.erase_node(n);
    ++removed;
  }
  std::vector<ir::Value*> constants = g.constants();
  for (ir::Value* c : constants) {
    if (!detail::is_unused(g, c)) continue;
    g.erase_constant(c);
    ++removed;
  }
  return removed;
}

}  // namespace ingot::lower
