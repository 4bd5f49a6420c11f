// Normalization converters: batch norm (inference), layer norm, group norm. The statistics
// outputs of the native_* ops must be unused.
#include "convert/registry.h"

namespace ingot::convert {
namespace {

Status cast_params(Context& ctx, const ir::Node& n, std::vector<int>& ids, DType dt) {
  for (int& id : ids) {
    if (id >= 0) { INGOT_ASSIGN_OR_RETURN(id, ctx.cast(n, id, dt)); }
  }
  return Status::ok();
}

// _native_batch_norm_legit_no_training(input, weight?, bias?, running_mean, running_var, momentum, eps)
Status convert_batch_norm(Context& ctx, const ir::Node& n) {
  INGOT_RETURN_IF_ERROR(ctx.require_unused_output(n, 1));
  INGOT_RETURN_IF_ERROR(ctx.require_unused_output(n, 2));
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int w, ctx.optional_arg_tensor(n, 1));
  INGOT_ASSIGN_OR_RETURN(int b, ctx.optional_arg_tensor(n, 2));
  INGOT_ASSIGN_OR_RETURN(int mean, ctx.arg_tensor(n, 3));
  INGOT_ASSIGN_OR_RETURN(int var, ctx.arg_tensor(n, 4));
  INGOT_ASSIGN_OR_RETURN(double eps, ctx.number_arg(n, 6));
  std::vector<int> params{w, b, mean, var};
  INGOT_RETURN_IF_ERROR(cast_params(ctx, n, params, ctx.type(x).dtype));
  net::NormalizationParams p;
  p.kind = net::NormKind::kBatch;
  p.eps = eps;
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x, params[0], params[1], params[2], params[3]}));
  ctx.bind(n.output(0), y);
  return Status::ok();
}

// native_layer_norm(input, normalized_shape, weight?, bias?, eps)
Status convert_layer_norm(Context& ctx, const ir::Node& n) {
  INGOT_RETURN_IF_ERROR(ctx.require_unused_output(n, 1));
  INGOT_RETURN_IF_ERROR(ctx.require_unused_output(n, 2));
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  const ir::Arg& shape_arg = n.arg(1);
  if (shape_arg.kind() != ir::Arg::Kind::kIntList) return ctx.fail(n, "normalized_shape must be a list");
  size_t k = shape_arg.ints().size();
  size_t rank = ctx.type(x).rank();
  if (k == 0 || k > rank) return ctx.fail(n, "normalized_shape ", shape_arg.str(), " does not fit ", ctx.type(x).str());
  INGOT_ASSIGN_OR_RETURN(int w, ctx.optional_arg_tensor(n, 2));
  INGOT_ASSIGN_OR_RETURN(int b, ctx.optional_arg_tensor(n, 3));
  INGOT_ASSIGN_OR_RETURN(double eps, ctx.number_arg(n, 4));
  std::vector<int> params{w, b};
  INGOT_RETURN_IF_ERROR(cast_params(ctx, n, params, ctx.type(x).dtype));
  net::NormalizationParams p;
  p.kind = net::NormKind::kLayer;
  p.axis = static_cast<int64_t>(rank - k);
  p.eps = eps;
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x, params[0], params[1]}));
  ctx.bind(n.output(0), y);
  return Status::ok();
}

// native_group_norm(input, weight?, bias?, N, C, HxW, group, eps)
Status convert_group_norm(Context& ctx, const ir::Node& n) {
  INGOT_RETURN_IF_ERROR(ctx.require_unused_output(n, 1));
  INGOT_RETURN_IF_ERROR(ctx.require_unused_output(n, 2));
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int w, ctx.optional_arg_tensor(n, 1));
  INGOT_ASSIGN_OR_RETURN(int b, ctx.optional_arg_tensor(n, 2));
  INGOT_ASSIGN_OR_RETURN(int64_t groups, ctx.int_arg(n, 6));
  INGOT_ASSIGN_OR_RETURN(double eps, ctx.number_arg(n, 7));
  std::vector<int> params{w, b};
  INGOT_RETURN_IF_ERROR(cast_params(ctx, n, params, ctx.type(x).dtype));
  net::NormalizationParams p;
  p.kind = net::NormKind::kGroup;
  p.num_groups = groups;
  p.eps = eps;
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x, params[0], params[1]}));
  ctx.bind(n.output(0), y);
  return Status::ok();
}

}  // namespace

INGOT_CONVERTER("aten::_native_batch_norm_legit_no_training(Tensor input, Tensor? weight, Tensor? bias, Tensor running_mean, Tensor running_var, float momentum, float eps) -> (Tensor, Tensor, Tensor)", convert_batch_norm);
INGOT_CONVERTER("aten::native_layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight, Tensor? bias, float eps) -> (Tensor, Tensor, Tensor)", convert_layer_norm);
INGOT_CONVERTER("aten::native_group_norm(Tensor input, Tensor? weight, Tensor? bias, SymInt N, SymInt C, SymInt HxW, int group, float eps) -> (Tensor, Tensor, Tensor)", convert_group_norm);

}  // namespace ingot::convert
