// Converters composed from several elementwise / reduce / shape layers:
//   argmax, argmin, max.dim, min.dim   index of the first extreme value: reduce the extreme,
//                                      compare, pick the iota index where equal, reduce min
//   linalg_vector_norm                 abs / pow / sum / root for the given ord
//   fmod                               a - trunc(a / b) * b (C remainder: sign of a)
//   cumsum                             log-step scan: x += x shifted by 1, 2, 4, ... (exact for
//                                      integers; O(log n) layers of whole-tensor work)
#include <cmath>
#include <limits>

#include "convert/registry.h"

namespace ingot::convert {
namespace {

using net::BinaryOp;
using net::ReduceOp;
using net::UnaryOp;

Expected<int> reduce(Context& ctx, const ir::Node& n, ReduceOp op, int x, std::vector<int64_t> axes, bool keepdim,
                     const std::string& suffix) {
  net::ReduceParams p;
  p.op = op;
  p.axes = std::move(axes);
  p.keepdim = keepdim;
  return ctx.add(n, p, {x}, suffix);
}

// The index (int64) of the first maximum (or minimum) of x along `axis`.
Expected<int> arg_extreme(Context& ctx, const ir::Node& n, int x, int64_t axis, bool is_max, bool keepdim) {
  const ir::TensorType t = ctx.type(x);
  const size_t a = static_cast<size_t>(axis);
  INGOT_ASSIGN_OR_RETURN(int m, reduce(ctx, n, is_max ? ReduceOp::kMax : ReduceOp::kMin, x, {axis}, true, "extreme"));
  INGOT_ASSIGN_OR_RETURN(int hit, ctx.binary(n, BinaryOp::kEq, x, m, "is_extreme"));
  net::IotaParams iota;
  iota.size = t.shape[a];
  iota.dtype = DType::kInt64;
  INGOT_ASSIGN_OR_RETURN(int idx, ctx.add(n, iota, {}, "index"));
  Shape along(t.rank(), SymExpr(1));
  along[a] = t.shape[a];
  INGOT_ASSIGN_OR_RETURN(idx, ctx.reshape(n, idx, along, "index_shape"));
  int past_end = ctx.scalar(DType::kInt64, static_cast<double>(std::numeric_limits<int32_t>::max()));
  INGOT_ASSIGN_OR_RETURN(int cand, ctx.add(n, net::SelectParams{}, {hit, idx, past_end}, "candidates"));
  return reduce(ctx, n, ReduceOp::kMin, cand, {axis}, keepdim, "first");
}

Expected<int64_t> axis_arg(Context& ctx, const ir::Node& n, size_t i, size_t rank) {
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, i));
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(std::max<size_t>(rank, 1)));
  if (!axis) return ctx.fail(n, axis.status().message());
  return *axis;
}

// argmax / argmin(self, dim=None, keepdim=False)
Status emit_arg(Context& ctx, const ir::Node& n, bool is_max) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(bool keepdim, ctx.bool_arg(n, 2));
  const ir::TensorType t = ctx.type(x);
  if (t.dtype == DType::kBool) return ctx.fail(n, "bool input is not supported");
  int64_t axis = 0;
  if (n.arg(1).is_none()) {
    SymExpr total(1);
    for (const SymExpr& d : t.shape) total = total * d;
    INGOT_ASSIGN_OR_RETURN(x, ctx.reshape(n, x, {total}, "flat"));
    keepdim = false;
  } else if (t.rank() == 0) {
    INGOT_ASSIGN_OR_RETURN(x, ctx.reshape(n, x, {SymExpr(1)}, "as_1d"));
  } else {
    INGOT_ASSIGN_OR_RETURN(axis, axis_arg(ctx, n, 1, t.rank()));
  }
  INGOT_ASSIGN_OR_RETURN(int y, arg_extreme(ctx, n, x, axis, is_max, keepdim));
  if (ctx.type(y).shape != n.output()->shape()) { INGOT_ASSIGN_OR_RETURN(y, ctx.reshape(n, y, n.output()->shape(), "out_shape")); }
  ctx.bind(n.output(), y);
  return Status::ok();
}
Status convert_argmax(Context& ctx, const ir::Node& n) { return emit_arg(ctx, n, true); }
Status convert_argmin(Context& ctx, const ir::Node& n) { return emit_arg(ctx, n, false); }

// max.dim / min.dim(self, dim, keepdim=False) -> (values, indices)
Status emit_extreme_dim(Context& ctx, const ir::Node& n, bool is_max) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(bool keepdim, ctx.bool_arg(n, 2));
  const ir::TensorType t = ctx.type(x);
  if (t.rank() == 0) return ctx.fail(n, "a 0-d input is not supported");
  if (t.dtype == DType::kBool) return ctx.fail(n, "bool input is not supported");
  INGOT_ASSIGN_OR_RETURN(int64_t axis, axis_arg(ctx, n, 1, t.rank()));
  INGOT_ASSIGN_OR_RETURN(int values, reduce(ctx, n, is_max ? ReduceOp::kMax : ReduceOp::kMin, x, {axis}, keepdim, "values"));
  ctx.bind(n.output(0), values);
  INGOT_ASSIGN_OR_RETURN(int indices, arg_extreme(ctx, n, x, axis, is_max, keepdim));
  ctx.bind(n.output(1), indices);
  return Status::ok();
}
Status convert_max_dim(Context& ctx, const ir::Node& n) { return emit_extreme_dim(ctx, n, true); }
Status convert_min_dim(Context& ctx, const ir::Node& n) { return emit_extreme_dim(ctx, n, false); }

// linalg_vector_norm(self, ord=2, dim=None, keepdim=False, *, dtype=None)
Status convert_vector_norm(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(double ord, ctx.number_arg(n, 1));
  INGOT_ASSIGN_OR_RETURN(bool keepdim, ctx.bool_arg(n, 3));
  const DType out = n.output()->dtype();
  if (!ir::is_floating(out)) return ctx.fail(n, "needs a floating result, got ", ir::dtype_name(out));
  INGOT_ASSIGN_OR_RETURN(x, ctx.cast(n, x, out));
  const size_t rank = ctx.type(x).rank();
  std::vector<int64_t> axes;
  if (!n.arg(2).is_none()) {
    INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> dims, ctx.ints_arg(n, 2));
    for (int64_t d : dims) {
      auto a = net::normalize_axis(d, static_cast<int64_t>(std::max<size_t>(rank, 1)));
      if (!a) return ctx.fail(n, a.status().message());
      axes.push_back(*a);
    }
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) return ctx.fail(n, "a dim appears twice");
  }
  if (axes.empty()) {
    for (size_t d = 0; d < rank; ++d) axes.push_back(static_cast<int64_t>(d));
  }
  if (rank == 0) {  // the norm of a scalar is its absolute value (0 or 1 for ord 0)
    if (ord == 0) return ctx.fail(n, "ord=0 of a 0-d tensor is not supported");
    INGOT_ASSIGN_OR_RETURN(int y, ctx.unary(n, UnaryOp::kAbs, x, "abs"));
    ctx.bind(n.output(), y);
    return Status::ok();
  }
  int y = -1;
  if (std::isinf(ord)) {
    INGOT_ASSIGN_OR_RETURN(int a, ctx.unary(n, UnaryOp::kAbs, x, "abs"));
    INGOT_ASSIGN_OR_RETURN(y, reduce(ctx, n, ord > 0 ? ReduceOp::kMax : ReduceOp::kMin, a, axes, keepdim, "reduce"));
  } else if (ord == 0) {
    INGOT_ASSIGN_OR_RETURN(int nz, ctx.binary(n, BinaryOp::kNe, x, ctx.scalar(out, 0.0), "nonzero"));
    INGOT_ASSIGN_OR_RETURN(nz, ctx.cast(n, nz, out));
    INGOT_ASSIGN_OR_RETURN(y, reduce(ctx, n, ReduceOp::kSum, nz, axes, keepdim, "count"));
  } else if (ord == 2) {
    INGOT_ASSIGN_OR_RETURN(int sq, ctx.binary(n, BinaryOp::kMul, x, x, "square"));
    INGOT_ASSIGN_OR_RETURN(int s, reduce(ctx, n, ReduceOp::kSum, sq, axes, keepdim, "sum"));
    INGOT_ASSIGN_OR_RETURN(y, ctx.unary(n, UnaryOp::kSqrt, s, "sqrt"));
  } else if (ord == 1) {
    INGOT_ASSIGN_OR_RETURN(int a, ctx.unary(n, UnaryOp::kAbs, x, "abs"));
    INGOT_ASSIGN_OR_RETURN(y, reduce(ctx, n, ReduceOp::kSum, a, axes, keepdim, "sum"));
  } else {
    INGOT_ASSIGN_OR_RETURN(int a, ctx.unary(n, UnaryOp::kAbs, x, "abs"));
    INGOT_ASSIGN_OR_RETURN(int p, ctx.binary(n, BinaryOp::kPow, a, ctx.scalar(out, ord), "pow"));
    INGOT_ASSIGN_OR_RETURN(int s, reduce(ctx, n, ReduceOp::kSum, p, axes, keepdim, "sum"));
    INGOT_ASSIGN_OR_RETURN(y, ctx.binary(n, BinaryOp::kPow, s, ctx.scalar(out, 1.0 / ord), "root"));
  }
  ctx.bind(n.output(), y);
  return Status::ok();
}

// fmod.Tensor(self, other) / fmod.Scalar(self, other)
Status convert_fmod(Context& ctx, const ir::Node& n) {
  const DType out = n.output()->dtype();
  if (out == DType::kBool) return ctx.fail(n, "bool operands are not supported");
  INGOT_ASSIGN_OR_RETURN(int a, ctx.tensor_or_scalar(n, 0, out));
  INGOT_ASSIGN_OR_RETURN(int b, ctx.tensor_or_scalar(n, 1, out));
  INGOT_ASSIGN_OR_RETURN(int q, ctx.binary(n, BinaryOp::kTruncDiv, a, b, "quotient"));
  INGOT_ASSIGN_OR_RETURN(int qb, ctx.binary(n, BinaryOp::kMul, q, b, "multiple"));
  INGOT_ASSIGN_OR_RETURN(int y, ctx.binary(n, BinaryOp::kSub, a, qb, "rest"));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// cumsum(self, dim, *, dtype=None)
Status convert_cumsum(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  const DType out = n.output()->dtype();
  if (out == DType::kBool) return ctx.fail(n, "a bool result is not supported");
  INGOT_ASSIGN_OR_RETURN(x, ctx.cast(n, x, out));
  const ir::TensorType t = ctx.type(x);
  if (t.rank() == 0) {
    INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, net::IdentityParams{}, {x}));
    ctx.bind(n.output(), y);
    return Status::ok();
  }
  INGOT_ASSIGN_OR_RETURN(int64_t axis, axis_arg(ctx, n, 1, t.rank()));
  const size_t a = static_cast<size_t>(axis);
  const SymExpr len = t.shape[a];
  const ir::SymRange range = len.bounds([&](const std::string& s) { return ctx.net().symbol_range(s); });
  if (range.max == ir::SymRange::kInf) return ctx.fail(n, "dim ", axis, " of ", t.str(), " has no upper bound");
  int y = x;
  for (int64_t k = 1; k < range.max; k *= 2) {
    // shifted = (k zeros, then y)[:len] along the axis
    net::FillParams zeros;
    zeros.shape = t.shape;
    zeros.shape[a] = SymExpr(k);
    zeros.dtype = out;
    INGOT_ASSIGN_OR_RETURN(int z, ctx.add(n, zeros, {}, "zeros" + std::to_string(k)));
    INGOT_ASSIGN_OR_RETURN(int padded, ctx.add(n, net::ConcatParams{axis}, {z, y}, "pad" + std::to_string(k)));
    net::SliceParams cut;
    cut.axes = {axis};
    cut.starts = {SymExpr(0)};
    cut.ends = {len};
    cut.steps = {1};
    INGOT_ASSIGN_OR_RETURN(int shifted, ctx.add(n, cut, {padded}, "shift" + std::to_string(k)));
    INGOT_ASSIGN_OR_RETURN(y, ctx.binary(n, BinaryOp::kAdd, y, shifted, "step" + std::to_string(k)));
  }
  if (y == x) { INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::IdentityParams{}, {x})); }
  ctx.bind(n.output(), y);
  return Status::ok();
}

}  // namespace

INGOT_CONVERTER("aten::argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor", convert_argmax);
INGOT_CONVERTER("aten::argmin(Tensor self, int? dim=None, bool keepdim=False) -> Tensor", convert_argmin);
INGOT_CONVERTER("aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", convert_max_dim);
INGOT_CONVERTER("aten::min.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)", convert_min_dim);
INGOT_CONVERTER("aten::linalg_vector_norm(Tensor self, Scalar ord=2, int[1]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", convert_vector_norm);
INGOT_CONVERTER("aten::fmod.Tensor(Tensor self, Tensor other) -> Tensor", convert_fmod);
INGOT_CONVERTER("aten::fmod.Scalar(Tensor self, Scalar other) -> Tensor", convert_fmod);
INGOT_CONVERTER("aten::cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor", convert_cumsum);

}  // namespace ingot::convert
