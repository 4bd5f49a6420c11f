// Shape converters built from fill / concat / slice / expand / reshape / gather layers:
//   constant_pad_nd   per padded dim: slice off negative padding, concat fills for positive
//   repeat            view as [1, d0, 1, d1, ...], expand to [r0, d0, r1, d1, ...], merge pairs
//   flip              gather along each flipped dim with indices n-1, ..., 0
#include "convert/registry.h"

namespace ingot::convert {
namespace {

// constant_pad_nd(self, pad, value=0)
Status convert_constant_pad(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> pad, ctx.ints_arg(n, 1));
  INGOT_ASSIGN_OR_RETURN(double value, ctx.number_arg(n, 2));
  const size_t rank = ctx.type(x).rank();
  if (pad.size() % 2 != 0 || pad.size() / 2 > rank) {
    return ctx.fail(n, "padding ", ingot::shape_str(pad), " does not fit a rank-", rank, " input");
  }
  int y = x;
  for (size_t k = 0; k < pad.size() / 2; ++k) {
    const size_t axis = rank - 1 - k;
    const int64_t before = pad[2 * k], after = pad[2 * k + 1];
    const ir::TensorType t = ctx.type(y);
    const std::string tag = "dim" + std::to_string(axis);
    if (before < 0 || after < 0) {
      net::SliceParams s;
      s.axes = {static_cast<int64_t>(axis)};
      s.starts = {SymExpr(std::max<int64_t>(-before, 0))};
      s.ends = {t.shape[axis] - SymExpr(std::max<int64_t>(-after, 0))};
      s.steps = {1};
      INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, s, {y}, tag + "_crop"));
    }
    if (before > 0 || after > 0) {
      std::vector<int> parts;
      auto fill = [&](int64_t size, const std::string& suffix) -> Status {
        net::FillParams f;
        f.shape = ctx.type(y).shape;
        f.shape[axis] = SymExpr(size);
        f.dtype = t.dtype;
        f.value = value;
        INGOT_ASSIGN_OR_RETURN(int z, ctx.add(n, f, {}, tag + suffix));
        parts.push_back(z);
        return Status::ok();
      };
      if (before > 0) INGOT_RETURN_IF_ERROR(fill(before, "_before"));
      parts.push_back(y);
      if (after > 0) INGOT_RETURN_IF_ERROR(fill(after, "_after"));
      INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::ConcatParams{static_cast<int64_t>(axis)}, parts, tag + "_pad"));
    }
  }
  if (y == x) { INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::IdentityParams{}, {x})); }
  ctx.bind(n.output(), y);
  return Status::ok();
}

// repeat(self, repeats)
Status convert_repeat(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> reps, ctx.ints_arg(n, 1));
  const Shape shape = ctx.type(x).shape;
  if (reps.size() < shape.size()) {
    return ctx.fail(n, "repeats ", ingot::shape_str(reps), " has fewer entries than the input's rank ", shape.size());
  }
  for (int64_t r : reps) {
    if (r < 0) return ctx.fail(n, "negative repeat count in ", ingot::shape_str(reps));
  }
  Shape dims(reps.size() - shape.size(), SymExpr(1));
  dims.insert(dims.end(), shape.begin(), shape.end());
  Shape pairs, expanded, merged;
  for (size_t i = 0; i < reps.size(); ++i) {
    pairs.push_back(SymExpr(1));
    pairs.push_back(dims[i]);
    expanded.push_back(SymExpr(reps[i]));
    expanded.push_back(dims[i]);
    merged.push_back(SymExpr(reps[i]) * dims[i]);
  }
  INGOT_ASSIGN_OR_RETURN(int v, ctx.reshape(n, x, pairs, "pairs"));
  INGOT_ASSIGN_OR_RETURN(int e, ctx.add(n, net::ExpandParams{expanded}, {v}, "expand"));
  INGOT_ASSIGN_OR_RETURN(int y, ctx.reshape(n, e, merged, "merge"));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// flip(self, dims)
Status convert_flip(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> dims, ctx.ints_arg(n, 1));
  const size_t rank = ctx.type(x).rank();
  std::vector<int64_t> axes;
  for (int64_t d : dims) {
    auto a = net::normalize_axis(d, static_cast<int64_t>(std::max<size_t>(rank, 1)));
    if (!a) return ctx.fail(n, a.status().message());
    if (std::find(axes.begin(), axes.end(), *a) != axes.end()) return ctx.fail(n, "dim ", d, " appears twice");
    axes.push_back(*a);
  }
  int y = x;
  for (int64_t a : axes) {
    if (rank == 0) break;
    auto size = ctx.type(y).shape[static_cast<size_t>(a)].as_constant();
    if (!size) return ctx.fail(n, "dim ", a, " of ", ctx.type(y).str(), " must be static");
    if (*size <= 1) continue;
    net::IotaParams rev;
    rev.size = SymExpr(*size);
    rev.start = static_cast<double>(*size - 1);
    rev.step = -1.0;
    rev.dtype = DType::kInt64;
    INGOT_ASSIGN_OR_RETURN(int idx, ctx.add(n, rev, {}, "reversed" + std::to_string(a)));
    INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::GatherParams{a}, {y, idx}, "flip" + std::to_string(a)));
  }
  if (y == x) { INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::IdentityParams{}, {x})); }
  ctx.bind(n.output(), y);
  return Status::ok();
}

}  // namespace

INGOT_CONVERTER("aten::constant_pad_nd(Tensor self, SymInt[] pad, Scalar value=0) -> Tensor", convert_constant_pad);
INGOT_CONVERTER("aten::repeat(Tensor self, SymInt[] repeats) -> Tensor", convert_repeat);
INGOT_CONVERTER("aten::flip(Tensor self, int[] dims) -> Tensor", convert_flip);

}  // namespace ingot::convert
