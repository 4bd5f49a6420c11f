// Functionalized writes (what in-place assignment becomes after torch.export):
//   copy(self, src)                          src broadcast to self's shape, in self's dtype
//   slice_scatter(self, src, dim, s, e, 1)   self[..., s:e, ...] replaced by src: concat of the
//                                            part before, src, and the part after
//   select_scatter(self, src, dim, i)        the same with src unsqueezed at dim
// Steps other than 1 run in PyTorch.
#include "convert/registry.h"

namespace ingot::convert {
namespace {

// copy(self, src, non_blocking=False)
Status convert_copy(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int self, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int src, ctx.arg_tensor(n, 1));
  const ir::TensorType t = ctx.type(self);
  INGOT_ASSIGN_OR_RETURN(int y, ctx.cast(n, src, t.dtype));
  if (ctx.type(y).shape != t.shape) {
    INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::ExpandParams{t.shape}, {y}, "broadcast"));
  } else if (y == src) {
    INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::IdentityParams{}, {y}));
  }
  ctx.bind(n.output(), y);
  return Status::ok();
}

// Replaces [start, end) of `axis` in self by src (src's extent along axis is end - start).
Expected<int> splice(Context& ctx, const ir::Node& n, int self, int src, int64_t axis, const SymExpr& start,
                     const SymExpr& end) {
  const ir::TensorType t = ctx.type(self);
  const size_t a = static_cast<size_t>(axis);
  std::vector<int> parts;
  auto piece = [&](const SymExpr& from, const SymExpr& to, const std::string& tag) -> Status {
    if (from.as_constant() && to.as_constant() && *from.as_constant() >= *to.as_constant()) return Status::ok();
    net::SliceParams s;
    s.axes = {axis};
    s.starts = {from};
    s.ends = {to};
    s.steps = {1};
    INGOT_ASSIGN_OR_RETURN(int p, ctx.add(n, s, {self}, tag));
    parts.push_back(p);
    return Status::ok();
  };
  INGOT_RETURN_IF_ERROR(piece(SymExpr(0), start, "before"));
  INGOT_ASSIGN_OR_RETURN(src, ctx.cast(n, src, t.dtype));
  parts.push_back(src);
  INGOT_RETURN_IF_ERROR(piece(end, t.shape[a], "after"));
  if (parts.size() == 1) return ctx.add(n, net::IdentityParams{}, {src});
  return ctx.add(n, net::ConcatParams{axis}, parts, "splice");
}

// slice_scatter(self, src, dim=0, start=None, end=None, step=1)
Status convert_slice_scatter(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int self, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int src, ctx.arg_tensor(n, 1));
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, 2));
  INGOT_ASSIGN_OR_RETURN(int64_t step, ctx.int_arg(n, 5));
  if (step != 1) return ctx.fail(n, "step ", step, " (only 1 is supported)");
  const ir::TensorType t = ctx.type(self);
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(t.rank()));
  if (!axis) return ctx.fail(n, axis.status().message());
  const SymExpr size = t.shape[static_cast<size_t>(*axis)];
  // The slice's extent is src's extent: start from the argument, end = start + extent.
  SymExpr start(0);
  if (!n.arg(3).is_none()) {
    INGOT_ASSIGN_OR_RETURN(int64_t s, ctx.int_arg(n, 3));
    auto c = size.as_constant();
    if (s < 0) {
      if (!c) return ctx.fail(n, "a negative start needs a static dim");
      s += *c;
    }
    if (c) s = std::clamp<int64_t>(s, 0, *c);
    start = SymExpr(s);
  }
  const SymExpr extent = ctx.type(src).shape[static_cast<size_t>(*axis)];
  INGOT_ASSIGN_OR_RETURN(int y, splice(ctx, n, self, src, *axis, start, start + extent));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// select_scatter(self, src, dim, index)
Status convert_select_scatter(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int self, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int src, ctx.arg_tensor(n, 1));
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, 2));
  INGOT_ASSIGN_OR_RETURN(int64_t index, ctx.int_arg(n, 3));
  const ir::TensorType t = ctx.type(self);
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(t.rank()));
  if (!axis) return ctx.fail(n, axis.status().message());
  auto size = t.shape[static_cast<size_t>(*axis)].as_constant();
  if (!size) return ctx.fail(n, "dim ", dim, " of ", t.str(), " must be static");
  if (index < -*size || index >= *size) return ctx.fail(n, "index ", index, " is out of range for dim ", dim, " of ", t.str());
  if (index < 0) index += *size;
  Shape one = t.shape;
  one[static_cast<size_t>(*axis)] = SymExpr(1);
  INGOT_ASSIGN_OR_RETURN(src, ctx.reshape(n, src, one, "unsqueeze"));
  INGOT_ASSIGN_OR_RETURN(int y, splice(ctx, n, self, src, *axis, SymExpr(index), SymExpr(index + 1)));
  ctx.bind(n.output(), y);
  return Status::ok();
}

}  // namespace

INGOT_CONVERTER("aten::copy(Tensor self, Tensor src, bool non_blocking=False) -> Tensor", convert_copy);
INGOT_CONVERTER("aten::slice_scatter(Tensor self, Tensor src, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor", convert_slice_scatter);
INGOT_CONVERTER("aten::select_scatter(Tensor self, Tensor src, int dim, SymInt index) -> Tensor", convert_select_scatter);

}  // namespace ingot::convert
