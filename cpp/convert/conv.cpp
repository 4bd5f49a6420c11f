// Convolution and pooling converters.
#include "convert/registry.h"

namespace ingot::convert {
namespace {

// ATen allows a one-element list for every spatial dim.
Expected<std::vector<int64_t>> spatial(Context& ctx, const ir::Node& n, size_t arg, size_t nsp,
                                       std::vector<int64_t> if_empty = {}) {
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> v, ctx.ints_arg(n, arg));
  if (v.empty() && !if_empty.empty()) v = if_empty;
  if (v.size() == 1 && nsp > 1) v.assign(nsp, v[0]);
  if (v.size() != nsp) return ctx.fail(n, "argument #", arg, " needs ", nsp, " values, got ", ingot::shape_str(v));
  return v;
}

Status convert_convolution(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int w, ctx.arg_tensor(n, 1));
  INGOT_ASSIGN_OR_RETURN(int b, ctx.optional_arg_tensor(n, 2));
  size_t rank = ctx.type(w).rank();
  if (rank < 3 || rank > 5) return ctx.fail(n, "weight rank ", rank, " is not 3 to 5");
  if (ctx.type(x).rank() != rank) return ctx.fail(n, "unbatched convolution input ", ctx.type(x).str(), " is not supported");
  size_t nsp = rank - 2;
  net::ConvolutionParams p;
  INGOT_ASSIGN_OR_RETURN(p.stride, spatial(ctx, n, 3, nsp));
  INGOT_ASSIGN_OR_RETURN(p.padding, spatial(ctx, n, 4, nsp));
  INGOT_ASSIGN_OR_RETURN(p.dilation, spatial(ctx, n, 5, nsp));
  INGOT_ASSIGN_OR_RETURN(p.transposed, ctx.bool_arg(n, 6));
  INGOT_ASSIGN_OR_RETURN(p.output_padding, spatial(ctx, n, 7, nsp, std::vector<int64_t>(nsp, 0)));
  INGOT_ASSIGN_OR_RETURN(p.groups, ctx.int_arg(n, 8));
  if (!p.transposed) p.output_padding.assign(nsp, 0);
  DType dt = n.output()->dtype();
  INGOT_ASSIGN_OR_RETURN(x, ctx.cast(n, x, dt));
  INGOT_ASSIGN_OR_RETURN(w, ctx.cast(n, w, dt));
  if (b >= 0) { INGOT_ASSIGN_OR_RETURN(b, ctx.cast(n, b, dt)); }
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x, w, b}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// max_poolNd(_with_indices)(self, kernel_size, stride=[], padding=0, dilation=1, ceil_mode=False)
Status convert_max_pool(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_RETURN_IF_ERROR(ctx.require_unused_output(n, 1));  // indices
  size_t rank = ctx.type(x).rank();
  if (rank < 3) return ctx.fail(n, "unbatched pooling input ", ctx.type(x).str(), " is not supported");
  size_t nsp = rank - 2;
  net::PoolingParams p;
  p.kind = net::PoolKind::kMax;
  INGOT_ASSIGN_OR_RETURN(p.kernel, spatial(ctx, n, 1, nsp));
  INGOT_ASSIGN_OR_RETURN(p.stride, spatial(ctx, n, 2, nsp, p.kernel));
  INGOT_ASSIGN_OR_RETURN(p.padding, spatial(ctx, n, 3, nsp));
  INGOT_ASSIGN_OR_RETURN(p.dilation, spatial(ctx, n, 4, nsp));
  INGOT_ASSIGN_OR_RETURN(p.ceil_mode, ctx.bool_arg(n, 5));
  if (!ir::is_floating(ctx.type(x).dtype)) return ctx.fail(n, "needs a floating input");
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// avg_poolNd(self, kernel_size, stride=[], padding=0, ceil_mode=False, count_include_pad=True,
//            divisor_override=None)  (avg_pool1d has no divisor_override)
Status convert_avg_pool(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  size_t rank = ctx.type(x).rank();
  if (rank < 3) return ctx.fail(n, "unbatched pooling input ", ctx.type(x).str(), " is not supported");
  size_t nsp = rank - 2;
  net::PoolingParams p;
  p.kind = net::PoolKind::kAvg;
  INGOT_ASSIGN_OR_RETURN(p.kernel, spatial(ctx, n, 1, nsp));
  INGOT_ASSIGN_OR_RETURN(p.stride, spatial(ctx, n, 2, nsp, p.kernel));
  INGOT_ASSIGN_OR_RETURN(p.padding, spatial(ctx, n, 3, nsp));
  p.dilation.assign(nsp, 1);
  INGOT_ASSIGN_OR_RETURN(p.ceil_mode, ctx.bool_arg(n, 4));
  INGOT_ASSIGN_OR_RETURN(p.count_include_pad, ctx.bool_arg(n, 5));
  if (n.num_args() > 6 && !n.arg(6).is_none()) {
    INGOT_ASSIGN_OR_RETURN(p.divisor_override, ctx.int_arg(n, 6));
    if (p.divisor_override <= 0) return ctx.fail(n, "divisor_override must be positive");
  }
  if (!ir::is_floating(ctx.type(x).dtype)) return ctx.fail(n, "needs a floating input");
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// Adaptive average pooling whose output divides the input evenly is a plain average pool; the
// global case (output 1) is a mean.
}  // namespace

INGOT_CONVERTER("aten::convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, SymInt[] padding, SymInt[] dilation, bool transposed, SymInt[] output_padding, SymInt groups) -> Tensor", convert_convolution);
INGOT_CONVERTER("aten::max_pool2d_with_indices(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, int[2] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)", convert_max_pool);
INGOT_CONVERTER("aten::max_pool3d_with_indices(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0, int[3] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)", convert_max_pool);
INGOT_CONVERTER("aten::max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, int[2] dilation=1, bool ceil_mode=False) -> Tensor", convert_max_pool);
INGOT_CONVERTER("aten::max_pool1d(Tensor self, int[1] kernel_size, int[1] stride=[], int[1] padding=[0], int[1] dilation=[1], bool ceil_mode=False) -> Tensor", convert_max_pool);
INGOT_CONVERTER("aten::avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor", convert_avg_pool);
INGOT_CONVERTER("aten::avg_pool3d(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0, bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor", convert_avg_pool);
INGOT_CONVERTER("aten::avg_pool1d(Tensor self, int[1] kernel_size, int[1] stride=[], int[1] padding=[0], bool ceil_mode=False, bool count_include_pad=True) -> Tensor", convert_avg_pool);

}  // namespace ingot::convert
