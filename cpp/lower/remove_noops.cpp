#include <limits>

#include "lower/passes.h"
#include "lower/rewrite_util.h"

namespace ingot::lower {

namespace {

using detail::is_false;
using detail::scalar_is;
using detail::tensor_arg;

bool is_identity_permutation(const ir::Arg& a) {
  auto perm = detail::static_permutation(a);
  if (!perm) return false;
  for (size_t i = 0; i < perm->size(); ++i) {
    if ((*perm)[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

// slice.Tensor(self, dim, start, end, step) with step 1 from the start to (at least) the end.
bool is_full_slice(const ir::Graph& g, const ir::Node& n, const ir::Value* x) {
  auto arg = [&](size_t i) -> const ir::Arg& { return detail::arg_or_none(&n, i); };
  auto dim = arg(1).static_int();
  if (!dim || !scalar_is(arg(4), 1)) return false;
  int64_t rank = static_cast<int64_t>(x->rank());
  int64_t d = *dim < 0 ? *dim + rank : *dim;
  if (d < 0 || d >= rank) return false;
  const ir::Arg& start = arg(2);
  if (!start.is_none() && !scalar_is(start, 0)) return false;
  const ir::Arg& end = arg(3);
  if (end.is_none()) return true;
  if (end.kind() != ir::Arg::Kind::kInt) return false;
  const ir::SymExpr& size = x->shape()[d];
  if (end.int_expr() == size) return true;
  auto end_value = end.static_int();
  if (!end_value) return false;
  // A static end at or past the largest size the dim can take.
  ir::SymRange r = size.bounds([&](const std::string& s) { return g.symbol_range(s); });
  return r.max != ir::SymRange::kInf && *end_value >= r.max;
}

// The value that `n` passes through unchanged, or nullptr. The caller also requires the output
// type to equal that value's type.
ir::Value* noop_input(const ir::Graph& g, const ir::Node& n) {
  auto arg = [&](size_t i) -> const ir::Arg& { return detail::arg_or_none(&n, i); };
  const std::string& op = n.op();
  ir::Value* x = tensor_arg(&n, 0);
  if (op == "aten::cat") {
    if (arg(0).kind() != ir::Arg::Kind::kTensorList || arg(0).tensors().size() != 1) return nullptr;
    return arg(0).tensors()[0];
  }
  if (!x) return nullptr;
  if (op == "aten::native_dropout") {
    // Output 0 is the input in eval mode; the mask (output 1) must be unused.
    if (!is_false(arg(2))) return nullptr;
    for (size_t i = 1; i < n.outputs().size(); ++i) {
      if (!detail::is_unused(g, n.output(i))) return nullptr;
    }
    return x;
  }
  if (n.outputs().size() != 1) return nullptr;
  if (detail::is_op_one_of(&n, {"aten::clone", "aten::alias", "aten::detach", "aten::lift_fresh_copy",
                                "aten::contiguous", "aten::view", "aten::reshape", "aten::_unsafe_view",
                                "aten::expand"})) {
    return x;
  }
  if (detail::is_op_one_of(&n, {"aten::dropout", "aten::feature_dropout", "aten::alpha_dropout",
                                "aten::feature_alpha_dropout"})) {
    return is_false(arg(2)) ? x : nullptr;
  }
  if (op == "aten::permute") return is_identity_permutation(arg(1)) ? x : nullptr;
  if (op == "aten::_to_copy") {
    // (self, dtype, layout, device, pin_memory, non_blocking, memory_format). A device is not
    // known at this level, so a copy that names one is kept.
    const ir::Arg& dtype = arg(1);
    if (!dtype.is_none() && (dtype.kind() != ir::Arg::Kind::kDType || dtype.dtype() != x->dtype())) return nullptr;
    const ir::Arg& layout = arg(2);
    if (!layout.is_none() && !(layout.kind() == ir::Arg::Kind::kEnum && layout.str_value() == "torch.strided")) {
      return nullptr;
    }
    return arg(3).is_none() ? x : nullptr;
  }
  if (op == "aten::to.dtype") {
    return arg(1).kind() == ir::Arg::Kind::kDType && arg(1).dtype() == x->dtype() ? x : nullptr;
  }
  if (op == "aten::slice.Tensor") return is_full_slice(g, n, x) ? x : nullptr;
  if (op == "aten::mul.Scalar" || op == "aten::div.Scalar") return scalar_is(arg(1), 1) ? x : nullptr;
  if (op == "aten::add.Scalar" || op == "aten::sub.Scalar") return scalar_is(arg(1), 0) ? x : nullptr;
  if (op == "aten::mul.Tensor") {
    ir::Value* y = tensor_arg(&n, 1);
    if (!y) return nullptr;
    // Either operand may be the ones; prefer the one whose type the output keeps.
    if (detail::constant_all_equal(y, 1.0) && x->type() == n.output(0)->type()) return x;
    if (detail::constant_all_equal(x, 1.0) && y->type() == n.output(0)->type()) return y;
    return nullptr;
  }
  return nullptr;
}

}  // namespace

Expected<int> remove_noops(ir::Graph& g, const LowerOptions& /*options*/) {
  int removed = 0;
  std::vector<ir::Node*> nodes = g.nodes();
  for (ir::Node* n : nodes) {
    ir::Value* x = noop_input(g, *n);
    if (!x || !(x->type() == n->output(0)->type())) continue;
    g.replace_all_uses(n->output(0), x);
    g.erase_node(n);
    ++removed;
  }
  return removed;
}

}  // namespace ingot::lower
