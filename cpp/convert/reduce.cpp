// Reduction and softmax converters.
#include <algorithm>

#include "convert/registry.h"

namespace ingot::convert {
namespace {

using net::ReduceOp;

// Reduced axes from an optional dim list argument; None or [] means every axis.
Expected<std::vector<int64_t>> reduce_axes(Context& ctx, const ir::Node& n, int arg, size_t rank) {
  std::vector<int64_t> dims;
  if (arg >= 0 && !n.arg(static_cast<size_t>(arg)).is_none()) {
    INGOT_ASSIGN_OR_RETURN(dims, ctx.ints_arg(n, static_cast<size_t>(arg)));
  }
  std::vector<int64_t> axes;
  if (dims.empty()) {
    for (size_t d = 0; d < rank; ++d) axes.push_back(static_cast<int64_t>(d));
    return axes;
  }
  for (int64_t d : dims) {
    auto a = net::normalize_axis(d, static_cast<int64_t>(rank));
    if (!a) return ctx.fail(n, a.status().message());
    if (rank == 0) continue;  // dim 0 / -1 of a scalar reduces nothing
    if (std::find(axes.begin(), axes.end(), *a) != axes.end()) return ctx.fail(n, "dim ", d, " appears twice");
    axes.push_back(*a);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

struct ReduceSpec {
  ReduceOp op;
  int dims_arg;     // -1: reduce all
  int keepdim_arg;  // -1: false
  bool bool_input;  // any/all compute on bool
};

Status emit_reduce(Context& ctx, const ir::Node& n, const ReduceSpec& spec, double correction = 0) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  size_t rank = ctx.type(x).rank();
  net::ReduceParams p;
  p.op = spec.op;
  p.correction = correction;
  INGOT_ASSIGN_OR_RETURN(p.axes, reduce_axes(ctx, n, spec.dims_arg, rank));
  if (spec.keepdim_arg >= 0) { INGOT_ASSIGN_OR_RETURN(p.keepdim, ctx.bool_arg(n, static_cast<size_t>(spec.keepdim_arg))); }
  DType out = n.output()->dtype();
  INGOT_ASSIGN_OR_RETURN(x, ctx.cast(n, x, spec.bool_input ? DType::kBool : out));
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
  INGOT_ASSIGN_OR_RETURN(y, ctx.cast(n, y, out));
  ctx.bind(n.output(), y);
  return Status::ok();
}

Status convert_mean_dim(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kMean, 1, 2, false}); }
Status convert_sum_dim(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kSum, 1, 2, false}); }
Status convert_sum(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kSum, -1, -1, false}); }
Status convert_amax(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kMax, 1, 2, false}); }
Status convert_amin(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kMin, 1, 2, false}); }
Status convert_any_dim(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kAny, 1, 2, true}); }
Status convert_any(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kAny, -1, -1, true}); }
Status convert_all_dim(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kAll, 1, 2, true}); }
Status convert_all(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kAll, -1, -1, true}); }
Status convert_prod_dim(Context& ctx, const ir::Node& n) { return emit_reduce(ctx, n, {ReduceOp::kProd, 1, 2, false}); }

// var.correction(self, dim=None, *, correction=None, keepdim=False)
Status convert_var(Context& ctx, const ir::Node& n) {
  double correction = 1.0;
  if (!n.arg(2).is_none()) { INGOT_ASSIGN_OR_RETURN(correction, ctx.number_arg(n, 2)); }
  return emit_reduce(ctx, n, {ReduceOp::kVar, 1, 3, false}, correction);
}

// _softmax(self, dim, half_to_float) / _log_softmax
Status emit_softmax(Context& ctx, const ir::Node& n, bool log) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, 1));
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(ctx.type(x).rank()));
  if (!axis) return ctx.fail(n, axis.status().message());
  INGOT_ASSIGN_OR_RETURN(x, ctx.cast(n, x, n.output()->dtype()));
  net::SoftmaxParams p;
  p.axis = *axis;
  p.log = log;
  if (ctx.type(x).rank() == 0) return ctx.fail(n, "softmax of a scalar is not supported");
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
  ctx.bind(n.output(), y);
  return Status::ok();
}
Status convert_softmax(Context& ctx, const ir::Node& n) { return emit_softmax(ctx, n, false); }
Status convert_log_softmax(Context& ctx, const ir::Node& n) { return emit_softmax(ctx, n, true); }

}  // namespace

INGOT_CONVERTER("aten::mean.dim(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", convert_mean_dim);
INGOT_CONVERTER("aten::sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", convert_sum_dim);
INGOT_CONVERTER("aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor", convert_sum);
INGOT_CONVERTER("aten::amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor", convert_amax);
INGOT_CONVERTER("aten::amin(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor", convert_amin);
INGOT_CONVERTER("aten::any.dim(Tensor self, int dim, bool keepdim=False) -> Tensor", convert_any_dim);
INGOT_CONVERTER("aten::any.dims(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor", convert_any_dim);
INGOT_CONVERTER("aten::any(Tensor self) -> Tensor", convert_any);
INGOT_CONVERTER("aten::all.dim(Tensor self, int dim, bool keepdim=False) -> Tensor", convert_all_dim);
INGOT_CONVERTER("aten::all(Tensor self) -> Tensor", convert_all);
INGOT_CONVERTER("aten::prod.dim_int(Tensor self, int dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor", convert_prod_dim);
INGOT_CONVERTER("aten::var.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False) -> Tensor", convert_var);
INGOT_CONVERTER("aten::_softmax(Tensor self, int dim, bool half_to_float) -> Tensor", convert_softmax);
INGOT_CONVERTER("aten::_log_softmax(Tensor self, int dim, bool half_to_float) -> Tensor", convert_log_softmax);

}  // namespace ingot::convert
