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

// The broadcast of two static shapes when it is one of them (no constant larger than both).
std::optional<ir::Shape> contained_broadcast(const ir::Shape& a, const ir::Shape& b) {
  auto da = ir::static_dims(a), db = ir::static_dims(b);
  if (!da || !db) return std::nullopt;
  const std::vector<int64_t>& big = da->size() >= db->size() ? *da : *db;
  const std::vector<int64_t>& small = da->size() >= db->size() ? *db : *da;
  std::vector<int64_t> out = big;
  const size_t off = big.size() - small.size();
  for (size_t i = 0; i < small.size(); ++i) {
    int64_t x = big[off + i], y = small[i];
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[off + i] = x == 1 ? y : x;
  }
  ir::Shape shape;
  for (int64_t d : out) shape.push_back(ir::SymExpr(d));
  if (shape != a && shape != b) return std::nullopt;
  return shape;
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
    auto shape = contained_broadcast(c1->shape(), c2->shape());
    if (!shape) continue;
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
