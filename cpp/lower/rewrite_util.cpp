#include "lower/rewrite_util.h"

#include <algorithm>
#include <cstring>

#include "support/check.h"
#include "support/half.h"

namespace ingot::lower::detail {

using ir::Arg;
using ir::Node;
using ir::Value;

std::string_view op_base_name(std::string_view op) {
  size_t ns = op.find("::");
  if (ns != std::string_view::npos) op.remove_prefix(ns + 2);
  return op.substr(0, op.find('.'));
}

bool is_op_one_of(const Node* n, std::initializer_list<std::string_view> ops) {
  return n && std::find(ops.begin(), ops.end(), std::string_view(n->op())) != ops.end();
}

Node* producer_of(const Value* v, std::initializer_list<std::string_view> ops) {
  if (!v) return nullptr;
  Node* p = v->producer();
  return is_op_one_of(p, ops) ? p : nullptr;
}

const Arg& arg_or_none(const Node* n, size_t i) {
  static const Arg kNone;
  return i < n->num_args() ? n->arg(i) : kNone;
}

Value* tensor_arg(const Node* n, size_t i) {
  if (i >= n->num_args() || !n->arg(i).is_tensor()) return nullptr;
  return n->arg(i).tensor();
}

Value* constant_arg(const Node* n, size_t i) {
  Value* v = tensor_arg(n, i);
  return v && v->is_constant() ? v : nullptr;
}

std::optional<double> scalar_value(const Arg& a) {
  switch (a.kind()) {
    case Arg::Kind::kFloat: return a.floating();
    case Arg::Kind::kBool: return a.boolean() ? 1.0 : 0.0;
    case Arg::Kind::kInt:
      if (auto v = a.static_int()) return static_cast<double>(*v);
      return std::nullopt;
    default: return std::nullopt;
  }
}

bool scalar_is(const Arg& a, double v) {
  auto s = scalar_value(a);
  return s && *s == v;
}

bool is_false(const Arg& a) { return a.kind() == Arg::Kind::kBool && !a.boolean(); }

std::optional<std::vector<int64_t>> static_permutation(const Arg& a) {
  auto perm = a.static_ints();
  if (!perm) return std::nullopt;
  std::vector<bool> seen(perm->size(), false);
  for (int64_t& d : *perm) {
    if (d < 0) d += static_cast<int64_t>(perm->size());
    if (d < 0 || d >= static_cast<int64_t>(perm->size()) || seen[d]) return std::nullopt;
    seen[d] = true;
  }
  return perm;
}

bool is_unused(const ir::Graph& g, const Value* v) { return !v->has_uses() && !g.is_output(v); }

bool has_single_use(const ir::Graph& g, const Value* v, const Node* user) {
  if (v->uses().size() != 1 || g.is_output(v)) return false;
  return !user || v->uses()[0].node == user;
}

bool constant_all_equal(const Value* v, double value) {
  if (!v || !v->is_constant()) return false;
  const ir::ConstantData& c = v->constant();
  if (c.dtype == ir::DType::kOpaque) return false;
  int64_t n = c.numel();
  for (int64_t i = 0; i < n; ++i) {
    if (c.get_double(i) != value) return false;
  }
  return true;
}

bool is_nondeterministic(const Node& n) {
  std::string_view base = op_base_name(n.op());
  if (base.starts_with("rand") || base.starts_with("empty") || base.starts_with("new_empty") ||
      base.starts_with("_empty")) {
    return true;
  }
  static constexpr std::string_view kSampling[] = {
      "bernoulli", "normal",  "uniform",         "exponential",     "geometric", "cauchy",
      "log_normal", "poisson", "multinomial",    "binomial",        "_standard_gamma",
      "_sample_dirichlet",     "_fused_dropout", "_fused_moving_avg_obs_fq_helper",
  };
  if (std::find(std::begin(kSampling), std::end(kSampling), base) != std::end(kSampling)) return true;
  // Dropout and rrelu are random unless their `train` / `training` argument is False.
  if (base == "dropout" || base == "feature_dropout" || base == "alpha_dropout" ||
      base == "feature_alpha_dropout" || base == "native_dropout") {
    return !is_false(arg_or_none(&n, 2));
  }
  if (base == "rrelu" || base == "rrelu_with_noise") {
    size_t training = base == "rrelu" ? 3 : 4;
    return !is_false(arg_or_none(&n, training));
  }
  return false;
}

bool has_side_effects(const Node& n) {
  if (n.outputs().empty()) return true;
  std::string_view base = op_base_name(n.op());
  if (base.ends_with("_") && !base.ends_with("__")) return true;  // relu_, copy_, add_
  return base.starts_with("_assert") || base == "print" || base == "sym_constrain_range" ||
         base == "sym_constrain_range_for_size";
}

ir::ConstantData transpose_2d(const ir::ConstantData& c) {
  INGOT_CHECK(c.dims.size() == 2, "transpose_2d: constant has rank ", c.dims.size());
  size_t elem = ir::dtype_size(c.dtype);
  INGOT_CHECK(elem > 0, "transpose_2d: cannot transpose an opaque constant");
  int64_t rows = c.dims[0], cols = c.dims[1];
  std::vector<uint8_t> out(c.nbytes);
  const auto* in = static_cast<const uint8_t*>(c.data);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < cols; ++k) {
      std::memcpy(&out[(k * rows + r) * elem], &in[(r * cols + k) * elem], elem);
    }
  }
  return ir::ConstantData::owned(c.dtype, {cols, rows}, std::move(out));
}

ir::ConstantData floating_constant(ir::DType dtype, std::vector<int64_t> dims, const std::vector<double>& values) {
  size_t elem = ir::dtype_size(dtype);
  std::vector<uint8_t> bytes(values.size() * elem);
  for (size_t i = 0; i < values.size(); ++i) {
    uint8_t* dst = &bytes[i * elem];
    switch (dtype) {
      case ir::DType::kFloat32: {
        float f = static_cast<float>(values[i]);
        std::memcpy(dst, &f, elem);
        break;
      }
      case ir::DType::kFloat16: {
        Half h(static_cast<float>(values[i]));
        std::memcpy(dst, &h, elem);
        break;
      }
      case ir::DType::kBFloat16: {
        BFloat16 b(static_cast<float>(values[i]));
        std::memcpy(dst, &b, elem);
        break;
      }
      case ir::DType::kFloat64: std::memcpy(dst, &values[i], elem); break;
      default: INGOT_CHECK(false, "floating_constant: ", ir::dtype_name(dtype), " is not a floating dtype");
    }
  }
  return ir::ConstantData::owned(dtype, std::move(dims), std::move(bytes));
}

Node* replace_node(ir::Graph& g, Node* old, const std::string& op, std::vector<Arg> args,
                   const std::vector<ir::TensorType>& output_types, std::string_view schema) {
  Node* n = g.insert_node_before(old, op, std::move(args), output_types, "", std::string(schema));
  n->set_source(old->source());
  for (size_t i = 0; i < n->outputs().size() && i < old->outputs().size(); ++i) {
    g.replace_all_uses(old->output(i), n->output(i));
  }
  g.erase_node(old);
  return n;
}

std::optional<ir::Shape> broadcast_shapes(const ir::Shape& a, const ir::Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  ir::Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    ir::SymExpr x = i < rank - a.size() ? ir::SymExpr(1) : a[i - (rank - a.size())];
    ir::SymExpr y = i < rank - b.size() ? ir::SymExpr(1) : b[i - (rank - b.size())];
    if (x == y || y == 1) {
      out[i] = x;
    } else if (x == 1) {
      out[i] = y;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<ir::Shape> matmul_shape(const ir::Shape& a, const ir::Shape& b) {
  if (a.empty() || b.empty()) return std::nullopt;
  if (a.size() == 1 && b.size() == 1) return ir::Shape{};
  if (b.size() == 1) return ir::Shape(a.begin(), a.end() - 1);
  ir::Shape batch_b(b.begin(), b.end() - 2);
  if (a.size() == 1) {
    batch_b.push_back(b.back());
    return batch_b;
  }
  auto batch = broadcast_shapes(ir::Shape(a.begin(), a.end() - 2), batch_b);
  if (!batch) return std::nullopt;
  batch->push_back(a[a.size() - 2]);
  batch->push_back(b.back());
  return batch;
}

}  // namespace ingot::lower::detail
