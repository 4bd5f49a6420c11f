// Shape functions: one per layer kind. They validate inputs and give output types; the
// converters, the plan verifier and the runtime all rely on them.
#include <algorithm>
#include <numeric>
#include <optional>

#include "net/network.h"
#include "net/pointwise.h"

namespace ingot::net {

namespace {

using Types = std::vector<TensorType>;
using Inputs = std::vector<const TensorType*>;

template <typename... Args>
Status bad(const char* layer, Args&&... args) {
  return invalid_argument(layer, ": ", std::forward<Args>(args)...);
}

Status need_inputs(const char* layer, const Inputs& in, size_t min, size_t max) {
  if (in.size() < min || in.size() > max) {
    return bad(layer, "takes ", min == max ? str_cat(min) : str_cat(min, " to ", max), " inputs, got ", in.size());
  }
  for (size_t i = 0; i < min; ++i) {
    if (!in[i]) return bad(layer, "input #", i, " is required");
  }
  return Status::ok();
}

bool dims_equal(const SymExpr& a, const SymExpr& b) { return a == b; }

}  // namespace

Status check_strided_view(const char* what, const std::vector<int64_t>& dims, const std::vector<int64_t>& strides,
                          int64_t offset, int64_t storage_numel) {
  if (dims.size() != strides.size()) return invalid_argument(what, ": ", dims.size(), " dims but ", strides.size(), " strides");
  if (offset < 0) return invalid_argument(what, ": negative offset ", offset);
  int64_t last = offset;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] < 0 || strides[d] < 0) return invalid_argument(what, ": negative size or stride");
    if (dims[d] == 0) return Status::ok();  // reads nothing
    int64_t step = 0;
    if (__builtin_mul_overflow(dims[d] - 1, strides[d], &step) || __builtin_add_overflow(last, step, &last)) {
      return invalid_argument(what, ": view extent overflows");
    }
  }
  if (last >= storage_numel) {
    return invalid_argument(what, ": view reads element ", last, " of a tensor of ", storage_numel, " elements");
  }
  return Status::ok();
}

Expected<int64_t> normalize_axis(int64_t axis, int64_t rank) {
  int64_t r = std::max<int64_t>(rank, 1);
  if (axis < -r || axis >= r) return invalid_argument("axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + r : axis;
}

Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const SymExpr* da = i < n - a.size() ? nullptr : &a[i - (n - a.size())];
    const SymExpr* db = i < n - b.size() ? nullptr : &b[i - (n - b.size())];
    if (!da) { out[i] = *db; continue; }
    if (!db) { out[i] = *da; continue; }
    if (dims_equal(*da, *db)) { out[i] = *da; continue; }
    if (da->as_constant() == 1) { out[i] = *db; continue; }
    if (db->as_constant() == 1) { out[i] = *da; continue; }
    return invalid_argument("shapes ", ir::shape_str(a), " and ", ir::shape_str(b),
                            " cannot be broadcast (dimension ", i, ": ", da->str(), " vs ", db->str(), ")");
  }
  return out;
}

namespace {

// Parameters may come from an untrusted plan file: integer arithmetic on them is checked.
bool overflows(int64_t& out, int64_t a, int64_t b, char op) {
  switch (op) {
    case '+': return __builtin_add_overflow(a, b, &out);
    case '-': return __builtin_sub_overflow(a, b, &out);
    default: return __builtin_mul_overflow(a, b, &out);
  }
}

// 2 * pad - dilation * (kernel - 1) - 1: how a sliding window changes a dim (before the stride).
std::optional<int64_t> window_shift(int64_t pad, int64_t dilation, int64_t kernel) {
  int64_t twice_pad, km1, span, r;
  if (overflows(twice_pad, pad, 2, '*') || overflows(km1, kernel, 1, '-') ||
      overflows(span, dilation, km1, '*') || overflows(r, twice_pad, span, '-') || overflows(r, r, 1, '-')) {
    return std::nullopt;
  }
  return r;
}

// Fused epilogue of convolution / matmul: an activation and an optional residual (input #3)
// of exactly the output's type.
Status check_epilogue(const char* L, UnaryOp act, const Inputs& in, const TensorType& out) {
  if (act >= UnaryOp::kCount || net::unary_result_is_bool(act) || act == UnaryOp::kBitwiseNot) {
    return bad(L, "activation ", enum_name(act), " cannot be fused");
  }
  if (in.size() == 4 && in[3] && !(*in[3] == out)) {
    return bad(L, "residual ", in[3]->str(), " must have the output's type ", out.str());
  }
  return Status::ok();
}

SymExpr conv_out(const SymExpr& in, int64_t shift, int64_t s) {
  return SymExpr::floordiv(in + SymExpr(shift), SymExpr(s)) + SymExpr(1);
}

TensorType permuted(const TensorType& t, const std::vector<size_t>& perm) {
  TensorType out{t.dtype, {}};
  for (size_t a : perm) out.shape.push_back(t.shape[a]);
  return out;
}

Expected<Types> infer(const ConvolutionParams& p, const Inputs& in);

// A channels-last convolution is the NCHW one with its tensors' dims permuted.
Expected<Types> infer_channels_last(const ConvolutionParams& p, const Inputs& in) {
  const char* L = "convolution";
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 2, 4));
  if (p.transposed || in[0]->rank() != 4 || in[1]->rank() != 4) {
    return bad(L, "channels_last needs a 2-D convolution that is not transposed, got ", in[0]->str());
  }
  const std::vector<size_t> to_nchw{0, 3, 1, 2}, to_nhwc{0, 2, 3, 1};
  TensorType x = permuted(*in[0], to_nchw), w = permuted(*in[1], to_nchw);
  std::optional<TensorType> res;
  if (in.size() > 3 && in[3]) {
    if (in[3]->rank() != 4) return bad(L, "residual ", in[3]->str(), " must have rank 4");
    res = permuted(*in[3], to_nchw);
  }
  ConvolutionParams q = p;
  q.channels_last = false;
  q.channel_sums = false;
  Inputs nchw{&x, &w, in.size() > 2 ? in[2] : nullptr, res ? &*res : nullptr};
  INGOT_ASSIGN_OR_RETURN(Types out, infer(q, nchw));
  TensorType y = permuted(out[0], to_nhwc);
  if (!p.channel_sums) return Types{y};
  return Types{y, TensorType{ir::DType::kFloat64, {y.shape[0], y.shape[3]}}};
}

Expected<Types> infer(const ConvolutionParams& p, const Inputs& in) {
  const char* L = "convolution";
  if (p.channels_last) return infer_channels_last(p, in);
  if (p.channel_sums) return bad(L, "channel_sums needs channels_last");
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 2, 4));
  const TensorType &x = *in[0], &w = *in[1];
  size_t nsp = w.rank() >= 2 ? w.rank() - 2 : 0;
  if (nsp < 1 || nsp > 3) return bad(L, "weight must have rank 3 to 5, got ", w.str());
  if (x.rank() != w.rank()) return bad(L, "input ", x.str(), " and weight ", w.str(), " differ in rank");
  if (p.stride.size() != nsp || p.padding.size() != nsp || p.dilation.size() != nsp ||
      (p.transposed && p.output_padding.size() != nsp)) {
    return bad(L, "stride/padding/dilation need ", nsp, " values each");
  }
  if (p.groups < 1) return bad(L, "groups must be positive, got ", p.groups);
  for (size_t i = 0; i < nsp; ++i) {
    if (p.stride[i] < 1 || p.dilation[i] < 1 || p.padding[i] < 0) {
      return bad(L, "stride and dilation must be >= 1 and padding >= 0");
    }
  }
  if (!ir::is_floating(x.dtype) || x.dtype != w.dtype) {
    return bad(L, "input and weight must share one floating dtype, got ", x.str(), " and ", w.str());
  }
  auto wdims = ir::static_dims(w.shape);
  if (!wdims) return bad(L, "weight shape must be static, got ", w.str());
  auto cin = x.shape[1].as_constant();
  if (!cin) return bad(L, "input channels must be static, got ", x.str());
  int64_t out_channels, grouped;
  if (overflows(grouped, (*wdims)[1], p.groups, '*')) return bad(L, "groups=", p.groups, " is too large for weight ", w.str());
  if (!p.transposed) {
    if ((*wdims)[0] % p.groups != 0 || *cin != grouped) {
      return bad(L, "input ", x.str(), " has ", *cin, " channels; weight ", w.str(), " with groups=",
                 p.groups, " expects ", grouped);
    }
    out_channels = (*wdims)[0];
  } else {
    if (*cin != (*wdims)[0] || (*wdims)[0] % p.groups != 0) {
      return bad(L, "transposed: input ", x.str(), " has ", *cin, " channels; weight ", w.str(), " expects ", (*wdims)[0]);
    }
    out_channels = grouped;
  }
  if (in.size() >= 3 && in[2]) {
    const TensorType& b = *in[2];
    if (b.rank() != 1 || b.shape[0].as_constant() != out_channels || b.dtype != x.dtype) {
      return bad(L, "bias ", b.str(), " must be ", ir::dtype_name(x.dtype), "[", out_channels, "]");
    }
  }
  Shape out{x.shape[0], SymExpr(out_channels)};
  for (size_t i = 0; i < nsp; ++i) {
    int64_t k = (*wdims)[2 + i];
    auto shift = window_shift(p.padding[i], p.dilation[i], k);
    int64_t grow = 0;  // transposed: -shift + output_padding
    if (!shift || (p.transposed && (overflows(grow, 0, *shift, '-') || overflows(grow, grow, p.output_padding[i], '+')))) {
      return bad(L, "padding, dilation and kernel size overflow for weight ", w.str());
    }
    SymExpr o;
    if (!p.transposed) {
      o = conv_out(x.shape[2 + i], *shift, p.stride[i]);
    } else {
      o = (x.shape[2 + i] - SymExpr(1)) * SymExpr(p.stride[i]) + SymExpr(grow);
    }
    if (auto c = o.as_constant(); c && *c < 1) {
      return bad(L, "output size ", *c, " is not positive for input ", x.str(), " and kernel ", w.str());
    }
    out.push_back(o);
  }
  INGOT_RETURN_IF_ERROR(check_epilogue(L, p.activation, in, {x.dtype, out}));
  return Types{{x.dtype, out}};
}

Expected<Types> infer(const MatMulParams& p, const Inputs& in) {
  const char* L = "matmul";
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 2, 4));
  const TensorType &a = *in[0], &b = *in[1];
  if (a.rank() < 2 || b.rank() < 2) return bad(L, "operands need rank >= 2, got ", a.str(), " and ", b.str());
  if (a.dtype != b.dtype || !ir::is_floating(a.dtype)) {
    return bad(L, "operands must share one floating dtype, got ", a.str(), " and ", b.str());
  }
  SymExpr m = p.transpose_a ? a.shape[a.rank() - 1] : a.shape[a.rank() - 2];
  SymExpr ka = p.transpose_a ? a.shape[a.rank() - 2] : a.shape[a.rank() - 1];
  SymExpr kb = p.transpose_b ? b.shape[b.rank() - 1] : b.shape[b.rank() - 2];
  SymExpr n = p.transpose_b ? b.shape[b.rank() - 2] : b.shape[b.rank() - 1];
  if (!dims_equal(ka, kb)) return bad(L, "inner dimensions differ: ", a.str(), " x ", b.str());
  Shape ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
  INGOT_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(ba, bb));
  batch.push_back(m);
  batch.push_back(n);
  if (in.size() == 3 && in[2]) {
    if (in[2]->dtype != a.dtype) return bad(L, "bias ", in[2]->str(), " must have dtype ", ir::dtype_name(a.dtype));
    INGOT_ASSIGN_OR_RETURN(Shape with_bias, broadcast_shapes(batch, in[2]->shape));
    if (with_bias != batch) return bad(L, "bias ", in[2]->str(), " does not broadcast to ", ir::shape_str(batch));
  }
  INGOT_RETURN_IF_ERROR(check_epilogue(L, p.activation, in, {a.dtype, batch}));
  return Types{{a.dtype, batch}};
}

Expected<Types> infer(const ElementwiseParams& p, const Inputs& in) {
  const char* L = "elementwise";
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 2, 2));
  if (in[0]->dtype != in[1]->dtype) {
    return bad(L, enum_name(p.op), " needs one dtype, got ", in[0]->str(), " and ", in[1]->str());
  }
  if (p.op >= BinaryOp::kCount) return bad(L, "unknown op");
  INGOT_ASSIGN_OR_RETURN(Shape s, broadcast_shapes(in[0]->shape, in[1]->shape));
  return Types{{is_comparison(p.op) ? DType::kBool : in[0]->dtype, s}};
}

Expected<Types> infer(const UnaryParams& p, const Inputs& in) {
  INGOT_RETURN_IF_ERROR(need_inputs("unary", in, 1, 1));
  if (p.op >= UnaryOp::kCount) return bad("unary", "unknown op");
  return Types{{unary_result_is_bool(p.op) ? DType::kBool : in[0]->dtype, in[0]->shape}};
}

Expected<Types> infer(const SelectParams&, const Inputs& in) {
  const char* L = "select";
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 3, 3));
  if (in[0]->dtype != DType::kBool) return bad(L, "condition must be bool, got ", in[0]->str());
  if (in[1]->dtype != in[2]->dtype) return bad(L, "branches differ in dtype: ", in[1]->str(), " and ", in[2]->str());
  INGOT_ASSIGN_OR_RETURN(Shape s, broadcast_shapes(in[0]->shape, in[1]->shape));
  INGOT_ASSIGN_OR_RETURN(s, broadcast_shapes(s, in[2]->shape));
  return Types{{in[1]->dtype, s}};
}

Expected<Types> infer(const ReduceParams& p, const Inputs& in) {
  const char* L = "reduce";
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 1, 1));
  if (p.op >= ReduceOp::kCount) return bad(L, "unknown op");
  const TensorType& x = *in[0];
  for (size_t i = 0; i < p.axes.size(); ++i) {
    if (p.axes[i] < 0 || p.axes[i] >= static_cast<int64_t>(std::max<size_t>(x.rank(), 1)) ||
        (i && p.axes[i] <= p.axes[i - 1])) {
      return bad(L, "axes ", ingot::shape_str(p.axes), " must be sorted, unique and within rank ", x.rank());
    }
  }
  if ((p.op == ReduceOp::kMean || p.op == ReduceOp::kVar) && !ir::is_floating(x.dtype)) {
    return bad(L, enum_name(p.op), " needs a floating input, got ", x.str());
  }
  Shape out;
  for (size_t d = 0; d < x.rank(); ++d) {
    bool reduced = std::find(p.axes.begin(), p.axes.end(), static_cast<int64_t>(d)) != p.axes.end();
    if (!reduced) out.push_back(x.shape[d]);
    else if (p.keepdim) out.push_back(SymExpr(1));
  }
  DType dt = (p.op == ReduceOp::kAny || p.op == ReduceOp::kAll) ? DType::kBool : x.dtype;
  return Types{{dt, out}};
}

Expected<Types> infer(const SoftmaxParams& p, const Inputs& in) {
  INGOT_RETURN_IF_ERROR(need_inputs("softmax", in, 1, 1));
  if (!ir::is_floating(in[0]->dtype)) return bad("softmax", "needs a floating input, got ", in[0]->str());
  INGOT_RETURN_IF_ERROR(normalize_axis(p.axis, static_cast<int64_t>(in[0]->rank())).status());
  return Types{*in[0]};
}

Expected<Types> infer(const NormalizationParams& p, const Inputs& in) {
  const char* L = "normalization";
  const TensorType* x = in.empty() ? nullptr : in[0];
  if (!x) return bad(L, "input is required");
  if (!ir::is_floating(x->dtype)) return bad(L, "needs a floating input, got ", x->str());
  auto check_param = [&](size_t i, const Shape& want, const char* what) -> Status {
    if (i >= in.size() || !in[i]) return Status::ok();
    if (in[i]->shape != want) return bad(L, what, " ", in[i]->str(), " must have shape ", ir::shape_str(want));
    if (!ir::is_floating(in[i]->dtype)) return bad(L, what, " must be floating, got ", in[i]->str());
    return Status::ok();
  };
  switch (p.kind) {
    case NormKind::kLayer:
    case NormKind::kRms: {
      INGOT_RETURN_IF_ERROR(need_inputs(L, in, 1, 3));
      if (p.axis < 0 || p.axis >= static_cast<int64_t>(x->rank())) return bad(L, "axis ", p.axis, " out of range for ", x->str());
      Shape norm(x->shape.begin() + p.axis, x->shape.end());
      INGOT_RETURN_IF_ERROR(check_param(1, norm, "weight"));
      INGOT_RETURN_IF_ERROR(check_param(2, norm, "bias"));
      break;
    }
    case NormKind::kGroup: {
      INGOT_RETURN_IF_ERROR(need_inputs(L, in, 1, 3));
      if (x->rank() < 2) return bad(L, "group norm needs rank >= 2, got ", x->str());
      auto c = x->shape[1].as_constant();
      if (!c || p.num_groups < 1 || *c % p.num_groups != 0) {
        return bad(L, "channels of ", x->str(), " must be static and divisible by ", p.num_groups, " groups");
      }
      INGOT_RETURN_IF_ERROR(check_param(1, {x->shape[1]}, "weight"));
      INGOT_RETURN_IF_ERROR(check_param(2, {x->shape[1]}, "bias"));
      break;
    }
    case NormKind::kBatch: {
      // weight and bias (inputs 1, 2) are optional; the statistics are not.
      if (in.size() != 5 || !in[3] || !in[4]) return bad(L, "batch norm takes x, weight?, bias?, running_mean, running_var");
      if (x->rank() < 2) return bad(L, "batch norm needs rank >= 2, got ", x->str());
      for (size_t i = 1; i < 5; ++i) {
        INGOT_RETURN_IF_ERROR(check_param(i, {x->shape[1]}, i == 3 ? "running_mean" : i == 4 ? "running_var" : i == 1 ? "weight" : "bias"));
      }
      break;
    }
    default: return bad(L, "unknown kind");
  }
  if (p.eps < 0) return bad(L, "eps must be >= 0");
  return Types{*x};
}

Expected<Types> infer(const ReshapeParams& p, const Inputs& in) {
  INGOT_RETURN_IF_ERROR(need_inputs("reshape", in, 1, 1));
  SymExpr a = ir::numel(in[0]->shape), b = ir::numel(p.shape);
  if (a != b) {
    return bad("reshape", "cannot reshape ", in[0]->str(), " (", a.str(), " elements) to ",
               ir::shape_str(p.shape), " (", b.str(), " elements)");
  }
  for (const auto& d : p.shape) {
    if (auto c = d.as_constant(); c && *c < 0) return bad("reshape", "negative dimension in ", ir::shape_str(p.shape));
  }
  return Types{{in[0]->dtype, p.shape}};
}

Expected<Types> infer(const PermuteParams& p, const Inputs& in) {
  INGOT_RETURN_IF_ERROR(need_inputs("permute", in, 1, 1));
  const TensorType& x = *in[0];
  std::vector<int64_t> sorted = p.perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(x.rank());
  std::iota(iota.begin(), iota.end(), 0);
  if (sorted != iota) return bad("permute", ingot::shape_str(p.perm), " is not a permutation of ", x.rank(), " axes");
  Shape out;
  for (int64_t a : p.perm) out.push_back(x.shape[static_cast<size_t>(a)]);
  return Types{{x.dtype, out}};
}

Expected<Types> infer(const ExpandParams& p, const Inputs& in) {
  INGOT_RETURN_IF_ERROR(need_inputs("expand", in, 1, 1));
  if (p.shape.size() < in[0]->rank()) return bad("expand", "cannot expand ", in[0]->str(), " to lower rank ", ir::shape_str(p.shape));
  INGOT_ASSIGN_OR_RETURN(Shape s, broadcast_shapes(in[0]->shape, p.shape));
  if (s != p.shape) return bad("expand", "cannot expand ", in[0]->str(), " to ", ir::shape_str(p.shape));
  return Types{{in[0]->dtype, p.shape}};
}

Expected<Types> infer(const ConcatParams& p, const Inputs& in) {
  const char* L = "concat";
  if (in.empty()) return bad(L, "needs at least one input");
  for (const auto* t : in) if (!t) return bad(L, "inputs are required");
  const TensorType& first = *in[0];
  if (p.axis < 0 || p.axis >= static_cast<int64_t>(first.rank())) return bad(L, "axis ", p.axis, " out of range for ", first.str());
  Shape out = first.shape;
  for (size_t i = 1; i < in.size(); ++i) {
    const TensorType& t = *in[i];
    if (t.dtype != first.dtype || t.rank() != first.rank()) return bad(L, "input ", t.str(), " does not match ", first.str());
    for (size_t d = 0; d < t.rank(); ++d) {
      if (static_cast<int64_t>(d) == p.axis) continue;
      if (!dims_equal(t.shape[d], first.shape[d])) return bad(L, "input ", t.str(), " does not match ", first.str(), " outside axis ", p.axis);
    }
    out[static_cast<size_t>(p.axis)] = out[static_cast<size_t>(p.axis)] + t.shape[static_cast<size_t>(p.axis)];
  }
  return Types{{first.dtype, out}};
}

Expected<Types> infer(const SliceParams& p, const Inputs& in) {
  const char* L = "slice";
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 1, 1));
  size_t n = p.axes.size();
  if (p.starts.size() != n || p.ends.size() != n || p.steps.size() != n) return bad(L, "axes, starts, ends and steps differ in length");
  Shape out = in[0]->shape;
  for (size_t i = 0; i < n; ++i) {
    if (p.axes[i] < 0 || p.axes[i] >= static_cast<int64_t>(out.size())) return bad(L, "axis ", p.axes[i], " out of range for ", in[0]->str());
    if (p.steps[i] < 1) return bad(L, "step must be positive, got ", p.steps[i]);
    auto& d = out[static_cast<size_t>(p.axes[i])];
    auto s = p.starts[i].as_constant(), e = p.ends[i].as_constant(), dim = d.as_constant();
    if (s && dim && (*s < 0 || *s > *dim)) return bad(L, "start ", *s, " outside [0, ", *dim, "]");
    if (e && dim && (*e < 0 || *e > *dim)) return bad(L, "end ", *e, " outside [0, ", *dim, "]");
    d = SymExpr::max(SymExpr(0), SymExpr::ceildiv(p.ends[i] - p.starts[i], SymExpr(p.steps[i])));
  }
  return Types{{in[0]->dtype, out}};
}

Expected<Types> infer(const GatherParams& p, const Inputs& in) {
  const char* L = "gather";
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 2, 2));
  const TensorType &d = *in[0], &idx = *in[1];
  if (idx.dtype != DType::kInt64 && idx.dtype != DType::kInt32) return bad(L, "indices must be i32 or i64, got ", idx.str());
  if (p.axis < 0 || p.axis >= static_cast<int64_t>(d.rank())) return bad(L, "axis ", p.axis, " out of range for ", d.str());
  Shape out(d.shape.begin(), d.shape.begin() + p.axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), d.shape.begin() + p.axis + 1, d.shape.end());
  return Types{{d.dtype, out}};
}

Expected<Types> infer(const PoolingParams& p, const Inputs& in);

// A channels-last pooling is the NCHW one with its tensors' dims permuted.
Expected<Types> infer_channels_last(const PoolingParams& p, const Inputs& in) {
  const char* L = "pooling";
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 1, 1));
  if (in[0]->rank() != 4 || p.kernel.size() != 2) {
    return bad(L, "channels_last needs a 2-d kernel and a rank-4 input [N, H, W, C], got ", in[0]->str(),
               " and a ", p.kernel.size(), "-d kernel");
  }
  TensorType x = permuted(*in[0], {0, 3, 1, 2});
  PoolingParams q = p;
  q.channels_last = false;
  INGOT_ASSIGN_OR_RETURN(Types out, infer(q, {&x}));
  return Types{permuted(out[0], {0, 2, 3, 1})};
}

Expected<Types> infer(const PoolingParams& p, const Inputs& in) {
  const char* L = "pooling";
  if (p.channels_last) return infer_channels_last(p, in);
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 1, 1));
  const TensorType& x = *in[0];
  size_t nsp = p.kernel.size();
  if (nsp < 1 || nsp > 3 || x.rank() != nsp + 2) return bad(L, "input ", x.str(), " does not fit a ", nsp, "-d kernel");
  if (p.stride.size() != nsp || p.padding.size() != nsp || p.dilation.size() != nsp) return bad(L, "parameter lengths differ");
  if (p.kind >= PoolKind::kCount) return bad(L, "unknown kind");
  Shape out{x.shape[0], x.shape[1]};
  for (size_t i = 0; i < nsp; ++i) {
    int64_t k = p.kernel[i], s = p.stride[i], pad = p.padding[i], dl = p.dilation[i];
    int64_t window;
    if (k < 1 || s < 1 || dl < 1 || pad < 0 || overflows(window, k, dl, '*') || pad > window / 2) {
      return bad(L, "invalid kernel/stride/padding/dilation");
    }
    auto shift = window_shift(pad, dl, k);
    if (!shift) return bad(L, "invalid kernel/stride/padding/dilation");
    const SymExpr& d = x.shape[2 + i];
    if (!p.ceil_mode) {
      out.push_back(conv_out(d, *shift, s));
      continue;
    }
    auto dc = d.as_constant();
    if (!dc) return bad(L, "ceil_mode needs a static spatial size, got ", x.str());
    int64_t o, last, limit;
    if (overflows(o, *dc, *shift, '+') || overflows(o, o, s - 1, '+') || overflows(limit, *dc, pad, '+')) {
      return bad(L, "spatial size ", *dc, " overflows with the window");
    }
    if (overflows(o, o / s, 1, '+')) return bad(L, "spatial size ", *dc, " overflows with the window");
    if (overflows(last, o - 1, s, '*') || last >= limit) --o;  // the last window starts in the padding
    out.push_back(SymExpr(o));
  }
  for (size_t i = 2; i < out.size(); ++i) {
    if (auto c = out[i].as_constant(); c && *c < 1) return bad(L, "output size is not positive for ", x.str());
  }
  return Types{{x.dtype, out}};
}

Expected<Types> infer(const CastParams& p, const Inputs& in) {
  INGOT_RETURN_IF_ERROR(need_inputs("cast", in, 1, 1));
  if (!ir::is_engine_dtype(p.to)) return bad("cast", "cannot cast to ", ir::dtype_name(p.to));
  return Types{{p.to, in[0]->shape}};
}

// The operand a strided attention input describes (`shape` over `strides` at `offset` into
// `storage`), checked: ranks, non-negative strides and offset, and, when everything is static,
// that every element it reads lies inside the storage tensor.
Expected<TensorType> attention_operand(const char* name, const TensorType& storage, const Shape& shape,
                                       const Shape& strides, const SymExpr& offset) {
  const char* L = "attention";
  if (shape.empty()) return storage;
  if (strides.size() != shape.size()) return bad(L, name, " view has ", shape.size(), " dims but ", strides.size(), " strides");
  std::vector<int64_t> dims, st;
  bool all_static = true;
  for (size_t d = 0; d < shape.size(); ++d) {
    auto n = shape[d].as_constant(), s = strides[d].as_constant();
    if ((n && *n < 0) || (s && *s < 0)) return bad(L, name, " view ", ir::shape_str(shape), " has a negative size or stride");
    all_static &= n.has_value() && s.has_value();
    if (n && s) dims.push_back(*n), st.push_back(*s);
  }
  auto off = offset.as_constant(), total = ir::numel(storage.shape).as_constant();
  if (off && *off < 0) return bad(L, name, " view has a negative offset");
  if (all_static && off && total) {
    INGOT_RETURN_IF_ERROR(check_strided_view(name, dims, st, *off, *total));
  }
  return TensorType{storage.dtype, shape};
}

// The output strides cover `out_shape` exactly once: ordered by stride, each non-unit dim starts
// where the ones inside it end (1, then size * stride of the previous). Works on symbols too.
Status check_output_tiling(const Shape& logical, const Shape& strides, const Shape& out_shape) {
  const char* L = "attention";
  if (strides.size() != logical.size()) {
    return bad(L, "output strides ", ir::shape_str(strides), " do not match the output rank ", logical.size());
  }
  if (ir::numel(logical) != ir::numel(out_shape)) {
    return bad(L, "output ", ir::shape_str(logical), " does not fill the output tensor ", ir::shape_str(out_shape));
  }
  std::vector<bool> used(logical.size(), false);
  size_t left = 0;
  for (size_t d = 0; d < logical.size(); ++d) {
    if (logical[d].as_constant() == 1) used[d] = true;
    else ++left;
  }
  SymExpr expected(1);
  for (; left > 0; --left) {
    size_t found = logical.size();
    for (size_t d = 0; d < logical.size() && found == logical.size(); ++d) {
      if (!used[d] && strides[d] == expected) found = d;
    }
    if (found == logical.size()) {
      return bad(L, "output strides ", ir::shape_str(strides), " of ", ir::shape_str(logical), " do not tile the output ",
                 ir::shape_str(out_shape), " exactly once");
    }
    used[found] = true;
    expected = expected * logical[found];
  }
  return Status::ok();
}

Expected<Types> infer(const AttentionParams& p, const Inputs& in) {
  const char* L = "attention";
  INGOT_RETURN_IF_ERROR(need_inputs(L, in, 3, 4));
  INGOT_ASSIGN_OR_RETURN(TensorType q, attention_operand("q", *in[0], p.q_shape, p.q_strides, p.q_offset));
  INGOT_ASSIGN_OR_RETURN(TensorType k, attention_operand("k", *in[1], p.k_shape, p.k_strides, p.k_offset));
  INGOT_ASSIGN_OR_RETURN(TensorType v, attention_operand("v", *in[2], p.v_shape, p.v_strides, p.v_offset));
  if (q.rank() < 2 || k.rank() != q.rank() || v.rank() != q.rank()) return bad(L, "q, k, v need one rank >= 2: ", q.str(), ", ", k.str(), ", ", v.str());
  if (q.dtype != k.dtype || q.dtype != v.dtype || !ir::is_floating(q.dtype)) return bad(L, "q, k, v need one floating dtype");
  size_t r = q.rank();
  if (!dims_equal(q.shape[r - 1], k.shape[r - 1])) return bad(L, "q ", q.str(), " and k ", k.str(), " differ in head size");
  if (!dims_equal(k.shape[r - 2], v.shape[r - 2])) return bad(L, "k ", k.str(), " and v ", v.str(), " differ in sequence length");
  Shape bq(q.shape.begin(), q.shape.end() - 2), bk(k.shape.begin(), k.shape.end() - 2), bv(v.shape.begin(), v.shape.end() - 2);
  INGOT_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(bq, bk));
  INGOT_ASSIGN_OR_RETURN(batch, broadcast_shapes(batch, bv));
  Shape scores = batch;
  scores.push_back(q.shape[r - 2]);
  scores.push_back(k.shape[r - 2]);
  if (in.size() == 4 && in[3]) {
    const TensorType& m = *in[3];
    if (m.dtype != DType::kBool && m.dtype != q.dtype) return bad(L, "mask ", m.str(), " must be bool or ", ir::dtype_name(q.dtype));
    INGOT_ASSIGN_OR_RETURN(Shape s, broadcast_shapes(scores, m.shape));
    if (s != scores) return bad(L, "mask ", m.str(), " does not broadcast to ", ir::shape_str(scores));
  }
  Shape out = batch;
  out.push_back(q.shape[r - 2]);
  out.push_back(v.shape[r - 1]);
  if (p.strided_output()) {
    INGOT_RETURN_IF_ERROR(check_output_tiling(out, p.out_strides, p.out_shape));
    return Types{{q.dtype, p.out_shape}};
  }
  if (!p.out_shape.empty()) return bad(L, "out_shape without out_strides");
  return Types{{q.dtype, out}};
}

Expected<Types> infer(const FillParams& p, const Inputs& in) {
  if (!in.empty()) return bad("fill", "takes no inputs");
  if (!ir::is_engine_dtype(p.dtype)) return bad("fill", "unsupported dtype ", ir::dtype_name(p.dtype));
  return Types{{p.dtype, p.shape}};
}

Expected<Types> infer(const IdentityParams&, const Inputs& in) {
  INGOT_RETURN_IF_ERROR(need_inputs("identity", in, 1, 1));
  return Types{*in[0]};
}

Expected<Types> infer(const IotaParams& p, const Inputs& in) {
  if (!in.empty()) return bad("iota", "takes no inputs");
  if (!ir::is_engine_dtype(p.dtype)) return bad("iota", "unsupported dtype ", ir::dtype_name(p.dtype));
  return Types{{p.dtype, {p.size}}};
}

Expected<Types> infer(const SqueezeExciteParams& p, const Inputs& in) {
  const char* L = "squeeze_excite";
  if (in.size() < 5 || in.size() > 6 || !in[0] || !in[1] || !in[3]) {
    return bad(L, "takes x, w1, b1?, w2, b2?, sums? (5 or 6 inputs), got ", in.size());
  }
  const TensorType &x = *in[0], &w1 = *in[1], &w2 = *in[3];
  if (p.act1 >= UnaryOp::kCount || p.act2 >= UnaryOp::kCount) return bad(L, "unknown activation");
  if (x.rank() != 4 || !ir::is_floating(x.dtype)) return bad(L, "x must be a floating [N, H, W, C] tensor, got ", x.str());
  auto c = x.shape[3].as_constant();
  if (!c) return bad(L, "channels must be static, got ", x.str());
  auto w1d = ir::static_dims(w1.shape);
  if (!w1d || w1d->size() != 2 || (*w1d)[1] != *c || w1.dtype != x.dtype) {
    return bad(L, "w1 must be ", ir::dtype_name(x.dtype), "[R, ", *c, "], got ", w1.str());
  }
  int64_t r = (*w1d)[0];
  if (w2.dtype != x.dtype || w2.shape != ir::shape_of({*c, r})) {
    return bad(L, "w2 must be ", ir::dtype_name(x.dtype), "[", *c, ", ", r, "], got ", w2.str());
  }
  for (size_t i : {size_t{2}, size_t{4}}) {
    if (!in[i]) continue;
    int64_t n = i == 2 ? r : *c;
    if (in[i]->dtype != x.dtype || in[i]->shape != ir::shape_of({n})) {
      return bad(L, i == 2 ? "b1" : "b2", " must be ", ir::dtype_name(x.dtype), "[", n, "], got ", in[i]->str());
    }
  }
  if (in.size() > 5 && in[5] && (in[5]->dtype != ir::DType::kFloat64 || in[5]->shape != Shape{x.shape[0], SymExpr(*c)})) {
    return bad(L, "sums must be f64[", x.shape[0].str(), ", ", *c, "] (x's sums over H and W), got ", in[5]->str());
  }
  if (p.scale_input) return Types{x};
  return Types{{x.dtype, {x.shape[0], SymExpr(1), SymExpr(1), SymExpr(*c)}}};
}

Expected<Types> infer(const FeedForwardParams& p, const Inputs& in) {
  const char* L = "feed_forward";
  if ((in.size() != 7 && in.size() != 8) || !in[0] || !in[3] || !in[5] || !in[6]) {
    return bad(L, "takes x, w1?, b1?, w2, b2?, gamma, beta, residual? (7 or 8 inputs), got ", in.size());
  }
  if (p.act >= UnaryOp::kCount) return bad(L, "unknown activation");
  if (!(p.eps >= 0.0)) return bad(L, "eps must be >= 0, got ", p.eps);
  const TensorType& x = *in[0];
  if (x.rank() < 2 || !ir::is_floating(x.dtype)) return bad(L, "x must be a floating [..., K] tensor, got ", x.str());
  auto k = x.shape.back().as_constant();
  if (!k) return bad(L, "K (x's last dim) must be static, got ", x.str());
  int64_t f = *k;
  if (in[1]) {
    auto w1d = ir::static_dims(in[1]->shape);
    if (!w1d || w1d->size() != 2 || (*w1d)[1] != *k || in[1]->dtype != x.dtype) {
      return bad(L, "w1 must be ", ir::dtype_name(x.dtype), "[F, ", *k, "], got ", in[1]->str());
    }
    f = (*w1d)[0];
  } else if (in[2] || p.act != UnaryOp::kIdentity) {
    return bad(L, "b1 and an activation need w1");
  }
  auto w2d = ir::static_dims(in[3]->shape);
  if (!w2d || w2d->size() != 2 || (*w2d)[1] != f || in[3]->dtype != x.dtype) {
    return bad(L, "w2 must be ", ir::dtype_name(x.dtype), "[D, ", f, "], got ", in[3]->str());
  }
  const int64_t d = (*w2d)[0];
  TensorType y = x;
  y.shape.back() = SymExpr(d);
  const char* names[] = {"", "", "b1", "", "b2", "gamma", "beta"};
  for (size_t i : {size_t{2}, size_t{4}, size_t{5}, size_t{6}}) {
    if (!in[i]) continue;
    const int64_t n = i == 2 ? f : d;
    if (in[i]->dtype != x.dtype || in[i]->shape != ir::shape_of({n})) {
      return bad(L, names[i], " must be ", ir::dtype_name(x.dtype), "[", n, "], got ", in[i]->str());
    }
  }
  const bool residual = in.size() > 7 && in[7];
  if (residual && *in[7] != y) return bad(L, "the residual must be ", y.str(), ", got ", in[7]->str());
  if (!residual && d != *k) return bad(L, "without a residual x is the residual: D (", d, ") must equal K (", *k, ")");
  return Types{y};
}

Expected<Types> infer(const PointwiseParams& p, const Inputs& in) {
  INGOT_RETURN_IF_ERROR(check_pointwise(p, in));
  return Types{{pointwise_step(p, p.steps() - 1).dtype, p.shape}};
}

}  // namespace

Expected<std::vector<TensorType>> infer_types(const LayerParams& params, const Inputs& inputs) {
  const bool se = std::holds_alternative<SqueezeExciteParams>(params);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto* t = inputs[i];
    if (se && i == 5) continue;  // the channel sums (f64), which infer checks
    if (t && !ir::is_engine_dtype(t->dtype)) {
      return invalid_argument(layer_kind_name(kind_of(params)), ": dtype ", ir::dtype_name(t->dtype),
                              " is not supported in engines");
    }
  }
  return std::visit([&](const auto& p) { return infer(p, inputs); }, params);
}

}  // namespace ingot::net
