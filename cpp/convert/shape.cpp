// Shape converters: reshapes, permutes, expand, slicing, select, cat, gather-style indexing,
// and the copy ops lowering left in place.
#include <algorithm>
#include <limits>

#include "convert/registry.h"

namespace ingot::convert {
namespace {

// view / reshape / squeeze / unsqueeze / flatten: the IR already knows the result shape.
Status convert_reshape_like(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  net::ReshapeParams p;
  p.shape = n.output()->shape();
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

Status emit_permute(Context& ctx, const ir::Node& n, int x, std::vector<int64_t> perm) {
  int64_t rank = static_cast<int64_t>(ctx.type(x).rank());
  for (auto& a : perm) {
    auto axis = net::normalize_axis(a, rank);
    if (!axis) return ctx.fail(n, axis.status().message());
    a = *axis;
  }
  net::PermuteParams p;
  p.perm = std::move(perm);
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

Status convert_permute(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> perm, ctx.ints_arg(n, 1));
  return emit_permute(ctx, n, x, std::move(perm));
}

Status convert_transpose(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  int64_t rank = static_cast<int64_t>(ctx.type(x).rank());
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) perm[static_cast<size_t>(i)] = i;
  if (n.op() == "aten::t") {
    if (rank == 2) std::swap(perm[0], perm[1]);
  } else {
    INGOT_ASSIGN_OR_RETURN(int64_t d0, ctx.int_arg(n, 1));
    INGOT_ASSIGN_OR_RETURN(int64_t d1, ctx.int_arg(n, 2));
    auto a0 = net::normalize_axis(d0, rank), a1 = net::normalize_axis(d1, rank);
    if (!a0 || !a1) return ctx.fail(n, "dims ", d0, ", ", d1, " out of range for rank ", rank);
    if (rank > 0) std::swap(perm[static_cast<size_t>(*a0)], perm[static_cast<size_t>(*a1)]);
  }
  return emit_permute(ctx, n, x, std::move(perm));
}

Status convert_expand(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  net::ExpandParams p;
  p.shape = n.output()->shape();
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

Status convert_copy(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, net::IdentityParams{}, {x}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// Clamps a slice bound the way torch does: negative counts from the end, then [0, dim].
SymExpr clamp_bound(const SymExpr& v, const SymExpr& dim) {
  if (auto c = v.as_constant()) {
    if (auto d = dim.as_constant()) {
      int64_t x = *c < 0 ? *c + *d : *c;
      return SymExpr(std::clamp<int64_t>(x, 0, *d));
    }
    if (*c >= std::numeric_limits<int64_t>::max() / 4) return dim;  // "to the end"
    if (*c < 0) return SymExpr::max(SymExpr(0), dim + v);
    return SymExpr::min(v, dim);
  }
  return SymExpr::min(v, dim);  // symbolic bounds are taken as non-negative
}

// slice.Tensor(self, dim=0, start=None, end=None, step=1)
Status convert_slice(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  const ir::TensorType t = ctx.type(x);
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, 1));
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(t.rank()));
  if (!axis || t.rank() == 0) return ctx.fail(n, "dim ", dim, " out of range for ", t.str());
  const SymExpr& size = t.shape[static_cast<size_t>(*axis)];
  SymExpr start = n.arg(2).is_none() ? SymExpr(0) : n.arg(2).int_expr();
  SymExpr end = n.arg(3).is_none() ? size : n.arg(3).int_expr();
  INGOT_ASSIGN_OR_RETURN(int64_t step, ctx.int_arg(n, 4));
  if (step < 1) return ctx.fail(n, "step must be positive, got ", step);
  net::SliceParams p;
  p.axes = {*axis};
  p.starts = {clamp_bound(start, size)};
  p.ends = {clamp_bound(end, size)};
  p.steps = {step};
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// select.int(self, dim, index): a one-element slice, then the dim is dropped.
Status convert_select(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  const ir::TensorType t = ctx.type(x);
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, 1));
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(t.rank()));
  if (!axis || t.rank() == 0) return ctx.fail(n, "dim ", dim, " out of range for ", t.str());
  const SymExpr& size = t.shape[static_cast<size_t>(*axis)];
  SymExpr index = n.arg(2).int_expr();
  if (auto c = index.as_constant()) {
    if (auto d = size.as_constant(); d && (*c >= *d || *c < -*d)) {
      return ctx.fail(n, "index ", *c, " is out of range for dim ", dim, " of size ", *d);
    }
    if (*c < 0) index = size + index;
  }
  net::SliceParams p;
  p.axes = {*axis};
  p.starts = {index};
  p.ends = {index + SymExpr(1)};
  p.steps = {1};
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}, "slice"));
  INGOT_ASSIGN_OR_RETURN(y, ctx.reshape(n, y, n.output()->shape()));
  ctx.bind(n.output(), y);
  return Status::ok();
}

Status convert_cat(Context& ctx, const ir::Node& n) {
  const ir::Arg& list = n.arg(0);
  if (list.kind() != ir::Arg::Kind::kTensorList) return ctx.fail(n, "expected a tensor list");
  DType out = n.output()->dtype();
  size_t rank = n.output()->rank();
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, 1));
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(rank));
  if (!axis) return ctx.fail(n, axis.status().message());
  std::vector<int> inputs;
  for (const ir::Value* v : list.tensors()) {
    if (!v) return ctx.fail(n, "None in the tensor list");
    // torch.cat skips 1-D empty tensors whatever the other shapes are.
    if (v->rank() == 1 && v->shape()[0].as_constant() == 0 && rank != 1) continue;
    INGOT_ASSIGN_OR_RETURN(int t, ctx.tensor(v));
    INGOT_ASSIGN_OR_RETURN(t, ctx.cast(n, t, out));
    inputs.push_back(t);
  }
  if (inputs.empty()) return ctx.fail(n, "nothing to concatenate");
  net::ConcatParams p;
  p.axis = *axis;
  int y;
  if (inputs.size() == 1) {
    INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::IdentityParams{}, {inputs[0]}));
  } else {
    INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, p, inputs));
  }
  ctx.bind(n.output(), y);
  return Status::ok();
}

// index_select(self, dim, index) with a 1-D (or 0-D) index.
Status convert_index_select(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, 1));
  INGOT_ASSIGN_OR_RETURN(int idx, ctx.arg_tensor(n, 2));
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(ctx.type(x).rank()));
  if (!axis || ctx.type(x).rank() == 0) return ctx.fail(n, "dim ", dim, " out of range");
  if (ctx.type(idx).rank() > 1) return ctx.fail(n, "index must be 0-D or 1-D");
  net::GatherParams p;
  p.axis = *axis;
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x, idx}));
  INGOT_ASSIGN_OR_RETURN(y, ctx.reshape(n, y, n.output()->shape()));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse): rows of weight.
Status convert_embedding(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int w, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int idx, ctx.arg_tensor(n, 1));
  if (ctx.type(w).rank() != 2) return ctx.fail(n, "weight must be 2-D");
  net::GatherParams p;
  p.axis = 0;
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {w, idx}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// split_with_sizes(self, split_sizes, dim) / split.Tensor(self, split_size, dim): one slice
// per output that is read.
Status convert_split(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  const ir::TensorType t = ctx.type(x);
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, 2));
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(t.rank()));
  if (!axis || t.rank() == 0) return ctx.fail(n, "dim ", dim, " out of range for ", t.str());
  SymExpr start(0);
  for (size_t i = 0; i < n.outputs().size(); ++i) {
    const ir::Value* out = n.output(i);
    SymExpr len = out->shape()[static_cast<size_t>(*axis)];
    if (out->has_uses() || ctx.graph().is_output(out)) {
      net::SliceParams p;
      p.axes = {*axis};
      p.starts = {start};
      p.ends = {start + len};
      p.steps = {1};
      INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}, "part" + std::to_string(i)));
      ctx.bind(out, y);
    }
    start = start + len;
  }
  return Status::ok();
}

}  // namespace

INGOT_CONVERTER("aten::split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0) -> Tensor(a)[]", convert_split);
INGOT_CONVERTER("aten::split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[]", convert_split);
INGOT_CONVERTER("aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a)", convert_reshape_like);
INGOT_CONVERTER("aten::reshape(Tensor(a) self, SymInt[] shape) -> Tensor(a)", convert_reshape_like);
INGOT_CONVERTER("aten::_unsafe_view(Tensor self, SymInt[] size) -> Tensor", convert_reshape_like);
INGOT_CONVERTER("aten::squeeze.dims(Tensor(a) self, int[] dim) -> Tensor(a)", convert_reshape_like);
INGOT_CONVERTER("aten::squeeze.dim(Tensor(a) self, int dim) -> Tensor(a)", convert_reshape_like);
INGOT_CONVERTER("aten::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)", convert_reshape_like);
INGOT_CONVERTER("aten::flatten.using_ints(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)", convert_reshape_like);
INGOT_CONVERTER("aten::permute(Tensor(a) self, int[] dims) -> Tensor(a)", convert_permute);
INGOT_CONVERTER("aten::t(Tensor(a) self) -> Tensor(a)", convert_transpose);
INGOT_CONVERTER("aten::transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)", convert_transpose);
INGOT_CONVERTER("aten::expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)", convert_expand);
INGOT_CONVERTER("aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor", convert_copy);
INGOT_CONVERTER("aten::alias(Tensor(a) self) -> Tensor(a)", convert_copy);
INGOT_CONVERTER("aten::detach(Tensor(a) self) -> Tensor(a)", convert_copy);
INGOT_CONVERTER("aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)", convert_slice);
INGOT_CONVERTER("aten::select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)", convert_select);
INGOT_CONVERTER("aten::cat(Tensor[] tensors, int dim=0) -> Tensor", convert_cat);
INGOT_CONVERTER("aten::index_select(Tensor self, int dim, Tensor index) -> Tensor", convert_index_select);
INGOT_CONVERTER("aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False, bool sparse=False) -> Tensor", convert_embedding);

}  // namespace ingot::convert
