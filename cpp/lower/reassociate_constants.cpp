// reassociate_constants: (x + c1) + c2 -> x + (c1 + c2) and (x * c1) * c2 -> x * (c1 * c2), so
// that fold_constants computes c1 + c2 once and the engine runs one elementwise layer instead of
// two (BERT's embeddings add a token-type and then a position table, both constants by then).
#include <vector>

#include "lower/passes.h"
#include "lower/rewrite_util.h"

namespace ingot::lower {

namespace {

bool unit_alpha(const ir::Node* n) {
  return n->op() != "aten::add.Tensor" || detail::scalar_is(detail::arg_or_none(n, 2), 1);
}

// The constant operand of `n` (0 or 1) and the other, non-constant one; nullopt otherwise.
std::optional<std::pair<size_t, size_t>> constant_and_other(const ir::Node* n) {
  for (size_t c : {0, 1}) {
    if (detail::constant_arg(n, c) && detail::tensor_arg(n, 1 - c) && !detail::constant_arg(n, 1 - c)) {
      return std::make_pair(c, 1 - c);
    }
  }
  return std::nullopt;
}

}  // namespace

Expected<int> reassociate_constants(ir::Graph& g, const LowerOptions& /*options*/) {
  int rewrites = 0;
  const std::vector<ir::Node*> nodes = g.nodes();
  for (ir::Node* outer : nodes) {
    if (!detail::is_alive(outer) || !detail::is_op_one_of(outer, {"aten::add.Tensor", "aten::mul.Tensor"})) continue;
    if (!unit_alpha(outer)) continue;
    auto oc = constant_and_other(outer);
    if (!oc) continue;
    ir::Value* c2 = detail::tensor_arg(outer, oc->first);
    ir::Value* y = detail::tensor_arg(outer, oc->second);
    ir::Node* inner = detail::producer_of(y, {outer->op()});
    if (!inner || !unit_alpha(inner) || !detail::has_single_use(g, y, outer)) continue;
    auto ic = constant_and_other(inner);
    if (!ic) continue;
    ir::Value* c1 = detail::tensor_arg(inner, ic->first);
    ir::Value* x = detail::tensor_arg(inner, ic->second);
    const ir::DType dt = outer->output(0)->dtype();
    if (x->dtype() != dt || c1->dtype() != dt || c2->dtype() != dt || y->dtype() != dt) continue;
    // The constant sum must not be larger than both constants.
    auto shape = detail::broadcast_shapes(c1->shape(), c2->shape());
    if (!shape || (*shape != c1->shape() && *shape != c2->shape())) continue;
    std::vector<ir::Arg> args{ir::Arg::tensor(c1), ir::Arg::tensor(c2)};
    if (outer->op() == "aten::add.Tensor") args.push_back(detail::arg_or_none(outer, 2));
    ir::Node* sum = g.insert_node_before(outer, outer->op(), std::move(args), {ir::TensorType{dt, *shape}}, "",
                                         outer->schema());
    sum->set_source(inner->source());
    g.set_arg(outer, oc->second, ir::Arg::tensor(x));
    g.set_arg(outer, oc->first, ir::Arg::tensor(sum->output(0)));
    ++rewrites;
  }
  return rewrites;
}

}  // namespace ingot::lower
