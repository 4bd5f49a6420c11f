#include <algorithm>
#include <map>

#include "lower/passes.h"
#include "lower/rewrite_util.h"

namespace ingot::lower {

namespace {

using detail::tensor_arg;
using ir::Arg;
using ir::Node;
using ir::Value;

bool is_view(const Node* n) { return detail::is_op_one_of(n, {"aten::view", "aten::reshape", "aten::_unsafe_view"}); }

class LinearCanonicalizer {
 public:
  explicit LinearCanonicalizer(ir::Graph& g) : g_(g) {}

  int run() {
    int total = 0;
    // Each rewrite hands back the node it produced, which is matched again at once; the outer
    // rounds catch rewrites that an earlier one enabled. No rule undoes another, so this ends.
    for (int round = 0; round < kMaxRounds; ++round) {
      int changed = 0;
      std::vector<Node*> nodes = g_.nodes();
      for (Node* n : nodes) {
        while (n && detail::is_alive(n)) {
          n = rewrite(n);
          if (n) ++changed;
        }
      }
      total += changed;
      if (changed == 0) break;
    }
    return total;
  }

 private:
  static constexpr int kMaxRounds = 16;

  Node* rewrite(Node* n) {
    const std::string& op = n->op();
    if (op == "aten::mm" || op == "aten::bmm") return to_matmul(n);
    if (op == "aten::matmul") {
      if (Node* r = read_unexpanded(n)) return r;
      return matmul_to_linear(n);
    }
    if (op == "aten::addmm") return addmm_to_linear(n);
    if (op == "aten::linear") {
      if (Node* r = join_bias_add(n)) return r;
      return fold_view_chain(n);
    }
    return nullptr;
  }

  // mm(a, b) and bmm(a, b) compute what matmul(a, b) computes for their ranks.
  Node* to_matmul(Node* n) {
    Value* a = tensor_arg(n, 0);
    Value* b = tensor_arg(n, 1);
    if (!a || !b) return nullptr;
    return detail::replace_node(g_, n, "aten::matmul", {Arg::tensor(a), Arg::tensor(b)}, {n->output(0)->type()},
                                detail::kMatmulSchema);
  }

  // matmul(a, expand(c)) where the expand only adds or broadcasts batch dims: matmul broadcasts
  // batch dims itself, so it reads c when that yields the same result shape. Same for operand 0.
  Node* read_unexpanded(Node* n) {
    for (size_t i = 0; i < 2; ++i) {
      Value* expanded = tensor_arg(n, i);
      Value* other = tensor_arg(n, 1 - i);
      Node* expand = detail::producer_of(expanded, {"aten::expand"});
      if (!expand || !other) continue;
      Value* c = tensor_arg(expand, 0);
      if (!c || c->rank() < 2 || expanded->rank() < 2) continue;
      const ir::Shape& cs = c->shape();
      const ir::Shape& es = expanded->shape();
      if (cs[cs.size() - 1] != es[es.size() - 1] || cs[cs.size() - 2] != es[es.size() - 2]) continue;
      auto shape = i == 0 ? detail::matmul_shape(c->shape(), other->shape())
                          : detail::matmul_shape(other->shape(), c->shape());
      if (!shape || *shape != n->output(0)->shape()) continue;
      g_.set_arg(n, i, Arg::tensor(c));
      return n;
    }
    return nullptr;
  }

  // The [N, K] weight W such that `mat2` (a [K, N] matrix) is W transposed: the input of
  // permute(W, [1, 0]) for a 2-D constant W, or a new transposed copy of a 2-D constant that
  // only matrix products read.
  Value* linear_weight(Value* mat2) {
    if (!mat2 || mat2->rank() != 2) return nullptr;
    if (Node* p = detail::producer_of(mat2, {"aten::permute"})) {
      Value* w = detail::constant_arg(p, 0);
      auto perm = detail::static_permutation(detail::arg_or_none(p, 1));
      if (w && w->rank() == 2 && perm && *perm == std::vector<int64_t>{1, 0}) return w;
      return nullptr;
    }
    if (!mat2->is_constant() || mat2->dtype() == ir::DType::kOpaque) return nullptr;
    auto it = transposed_.find(mat2);
    if (it != transposed_.end()) return it->second;
    if (!only_right_operand_of_products(mat2)) return nullptr;  // the copy would not replace it
    Value* w = g_.add_constant(mat2->name() + "_t", detail::transpose_2d(mat2->constant()));
    transposed_[mat2] = w;
    return w;
  }

  // Whether every reader of `c` takes it as the right matrix of mm/matmul/addmm: then the
  // transposed copy replaces c instead of doubling the weight's memory.
  bool only_right_operand_of_products(const Value* c) const {
    if (g_.is_output(c)) return false;
    return std::all_of(c->uses().begin(), c->uses().end(), [](const ir::Use& u) {
      const std::string& op = u.node->op();
      if (op == "aten::mm" || op == "aten::matmul") return u.arg_index == 1;
      return op == "aten::addmm" && u.arg_index == 2;
    });
  }

  Node* make_linear(Node* replaced, Value* x, Value* w, Value* bias, const ir::TensorType& type) {
    return detail::replace_node(g_, replaced, "aten::linear",
                                {Arg::tensor(x), Arg::tensor(w), bias ? Arg::tensor(bias) : Arg::none()},
                                {type}, detail::kLinearSchema);
  }

  // matmul(x, W^T) -> linear(x, W, None).
  Node* matmul_to_linear(Node* n) {
    Value* x = tensor_arg(n, 0);
    if (!x || x->rank() < 1) return nullptr;
    Value* w = linear_weight(tensor_arg(n, 1));
    if (!w) return nullptr;
    return make_linear(n, x, w, nullptr, n->output(0)->type());
  }

  // addmm(b, x, W^T, beta=1, alpha=1) with b of shape [N] -> linear(x, W, b).
  Node* addmm_to_linear(Node* n) {
    Value* b = tensor_arg(n, 0);
    Value* x = tensor_arg(n, 1);
    Value* mat2 = tensor_arg(n, 2);
    if (!b || !x || !mat2 || x->rank() != 2 || mat2->rank() != 2) return nullptr;
    if (!detail::scalar_is(detail::arg_or_none(n, 3), 1) || !detail::scalar_is(detail::arg_or_none(n, 4), 1)) {
      return nullptr;
    }
    if (b->rank() != 1 || b->shape()[0] != mat2->shape()[1]) return nullptr;
    Value* w = linear_weight(mat2);
    if (!w) return nullptr;
    return make_linear(n, x, w, b, n->output(0)->type());
  }

  // linear(x, W, None) read only by add.Tensor(y, c) or add.Tensor(c, y), alpha 1, with c a
  // constant [N] bias of y's dtype -> linear(x, W, c).
  Node* join_bias_add(Node* n) {
    Value* x = tensor_arg(n, 0);
    Value* w = tensor_arg(n, 1);
    if (!x || !w || !detail::arg_or_none(n, 2).is_none()) return nullptr;
    Value* y = n->output(0);
    if (!detail::has_single_use(g_, y) || y->rank() < 1) return nullptr;
    Node* add = y->uses()[0].node;
    if (add->op() != "aten::add.Tensor" || !detail::scalar_is(detail::arg_or_none(add, 2), 1)) return nullptr;
    Value* a = tensor_arg(add, 0);
    Value* b = tensor_arg(add, 1);
    if (!a || !b || a == b) return nullptr;
    Value* c = a == y ? b : a;
    if (!c->is_constant() || c->rank() != 1 || c->shape()[0] != y->shape().back() || c->dtype() != y->dtype()) {
      return nullptr;
    }
    if (!(add->output(0)->type() == y->type())) return nullptr;
    Node* linear = make_linear(add, x, w, c, y->type());
    g_.erase_node(n);
    return linear;
  }

  // view(x, [prod(lead), K]) -> linear -> view(y, lead + [N]) -> linear(x): linear applies to
  // the last dim of any rank, so the flattening and unflattening views cancel. When x's dims
  // after `lead` are several (K is their product, as in attention's output projection), one
  // reshape of x to lead + [K] stays in front of the linear.
  Node* fold_view_chain(Node* n) {
    Value* flat = tensor_arg(n, 0);
    Value* w = tensor_arg(n, 1);
    Node* flatten = flat ? flat->producer() : nullptr;
    if (!is_view(flatten) || !w || flat->rank() != 2) return nullptr;
    Value* x = tensor_arg(flatten, 0);
    Value* y = n->output(0);
    if (!x || !detail::has_single_use(g_, y)) return nullptr;
    Node* unflatten = y->uses()[0].node;
    if (!is_view(unflatten)) return nullptr;
    const ir::TensorType& type = unflatten->output(0)->type();
    if (type.dtype != y->dtype() || type.rank() < 1 || type.shape.back() != y->shape().back()) return nullptr;
    // lead: the output's leading dims, which must also lead x.
    ir::Shape lead(type.shape.begin(), type.shape.end() - 1);
    if (lead.size() >= x->rank() || !std::equal(lead.begin(), lead.end(), x->shape().begin())) return nullptr;
    ir::Shape rest(x->shape().begin() + static_cast<long>(lead.size()), x->shape().end());
    if (flat->shape()[0] != ir::numel(lead) || flat->shape()[1] != ir::numel(rest)) return nullptr;
    Value* input = x;
    if (rest.size() > 1) {
      ir::Shape merged = lead;
      merged.push_back(flat->shape()[1]);
      Node* reshape = g_.insert_node_before(unflatten, "aten::reshape", {Arg::tensor(x), Arg::int_list(merged)},
                                            {ir::TensorType{x->dtype(), merged}}, "",
                                            std::string(detail::kReshapeSchema));
      reshape->set_source(flatten->source());
      input = reshape->output(0);
    }
    Node* linear = make_linear(unflatten, input, w, tensor_arg(n, 2), type);
    g_.erase_node(n);
    if (detail::is_unused(g_, flat)) g_.erase_node(flatten);
    return linear;
  }

  ir::Graph& g_;
  std::map<Value*, Value*> transposed_;  // a [K, N] constant -> its [N, K] copy
};

}  // namespace

Expected<int> canonicalize_linear(ir::Graph& g, const LowerOptions& /*options*/) {
  return LinearCanonicalizer(g).run();
}

}  // namespace ingot::lower
