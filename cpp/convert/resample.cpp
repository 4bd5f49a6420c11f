// Resampling converters: upsampling (nearest, linear, bilinear, trilinear) and adaptive average
// pooling. Each is separable: along every spatial axis the output is a fixed linear map of the
// input (`out[j] = sum_i A[j][i] * in[i]`; nearest, linear and cubic weights), so each axis becomes one matmul with a constant
// matrix A built here with PyTorch's index arithmetic. Spatial sizes must be static.
#include <algorithm>
#include <cmath>

#include "convert/registry.h"

namespace ingot::convert {
namespace {

using Matrix = std::vector<std::vector<double>>;  // [out][in]

// y = the map A applied along `axis` of x (x has static dims from `axis` on).
Expected<int> apply_along(Context& ctx, const ir::Node& n, int x, size_t axis, const Matrix& a, const std::string& tag) {
  const ir::TensorType t = ctx.type(x);
  const int64_t out = static_cast<int64_t>(a.size());
  const int64_t in = a.empty() ? 0 : static_cast<int64_t>(a[0].size());
  const size_t rank = t.rank();
  if (axis + 1 == rank) {
    // x [..., in] @ A^T [in, out]
    std::vector<double> at(static_cast<size_t>(in * out));
    for (int64_t j = 0; j < out; ++j)
      for (int64_t i = 0; i < in; ++i) at[static_cast<size_t>(i * out + j)] = a[static_cast<size_t>(j)][static_cast<size_t>(i)];
    int m = ctx.values(n.name() + "_" + tag, t.dtype, {in, out}, at);
    return ctx.add(n, net::MatMulParams{}, {x, m}, tag);
  }
  // A [out, in] @ x viewed as [..., in, rest]
  SymExpr rest(1);
  for (size_t d = axis + 1; d < rank; ++d) rest = rest * t.shape[d];
  Shape viewed(t.shape.begin(), t.shape.begin() + static_cast<std::ptrdiff_t>(axis) + 1);
  viewed.push_back(rest);
  INGOT_ASSIGN_OR_RETURN(int xv, ctx.reshape(n, x, viewed, tag + "_view"));
  std::vector<double> flat;
  for (const auto& row : a) flat.insert(flat.end(), row.begin(), row.end());
  int m = ctx.values(n.name() + "_" + tag, t.dtype, {out, in}, flat);
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, net::MatMulParams{}, {m, xv}, tag));
  Shape back = t.shape;
  back[axis] = SymExpr(out);
  return ctx.reshape(n, y, back, tag + "_unview");
}

// PyTorch's source-coordinate scale (area_pixel_compute_scale).
double pixel_scale(int64_t in, int64_t out, bool align_corners, std::optional<double> scale_factor) {
  if (align_corners) return out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
  if (scale_factor && *scale_factor > 0) return 1.0 / *scale_factor;
  return static_cast<double>(in) / static_cast<double>(out);
}

Matrix nearest_map(int64_t in, int64_t out, std::optional<double> sf, bool exact) {
  Matrix a(static_cast<size_t>(out), std::vector<double>(static_cast<size_t>(in), 0.0));
  double scale = pixel_scale(in, out, false, sf);
  for (int64_t j = 0; j < out; ++j) {
    // float arithmetic, as PyTorch's kernels compute the source index
    const float fs = static_cast<float>(scale), fj = static_cast<float>(j);
    double src = exact ? std::floor((fj + 0.5f) * fs) : std::floor(fj * fs);
    int64_t i = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
    a[static_cast<size_t>(j)][static_cast<size_t>(i)] = 1.0;
  }
  return a;
}

Matrix linear_map(int64_t in, int64_t out, bool align_corners, std::optional<double> sf) {
  Matrix a(static_cast<size_t>(out), std::vector<double>(static_cast<size_t>(in), 0.0));
  double scale = pixel_scale(in, out, align_corners, sf);
  for (int64_t j = 0; j < out; ++j) {
    double src = align_corners ? static_cast<double>(j) * scale
                               : std::max(0.0, (static_cast<double>(j) + 0.5) * scale - 0.5);
    int64_t i0 = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
    int64_t i1 = std::min<int64_t>(i0 + 1, in - 1);
    double w1 = src - static_cast<double>(i0);
    a[static_cast<size_t>(j)][static_cast<size_t>(i0)] += 1.0 - w1;
    a[static_cast<size_t>(j)][static_cast<size_t>(i1)] += w1;
  }
  return a;
}

// Bicubic convolution (A = -0.75), taps clamped to the border, as PyTorch's upsample_bicubic2d.
Matrix cubic_map(int64_t in, int64_t out, bool align_corners, std::optional<double> sf) {
  Matrix a(static_cast<size_t>(out), std::vector<double>(static_cast<size_t>(in), 0.0));
  const double A = -0.75;
  auto near = [&](double x) { return ((A + 2) * x - (A + 3)) * x * x + 1; };      // |x| <= 1
  auto far = [&](double x) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; };  // 1 < |x| < 2
  double scale = pixel_scale(in, out, align_corners, sf);
  for (int64_t j = 0; j < out; ++j) {
    double src = align_corners ? static_cast<double>(j) * scale : (static_cast<double>(j) + 0.5) * scale - 0.5;
    double base = std::floor(src);
    double t = src - base;
    const double w[4] = {far(t + 1), near(t), near(1 - t), far(2 - t)};
    for (int k = 0; k < 4; ++k) {
      int64_t i = std::clamp<int64_t>(static_cast<int64_t>(base) - 1 + k, 0, in - 1);
      a[static_cast<size_t>(j)][static_cast<size_t>(i)] += w[k];
    }
  }
  return a;
}

Matrix adaptive_avg_map(int64_t in, int64_t out) {
  Matrix a(static_cast<size_t>(out), std::vector<double>(static_cast<size_t>(in), 0.0));
  for (int64_t j = 0; j < out; ++j) {
    int64_t start = (j * in) / out;
    int64_t end = ((j + 1) * in + out - 1) / out;
    for (int64_t i = start; i < end; ++i) a[static_cast<size_t>(j)][static_cast<size_t>(i)] = 1.0 / static_cast<double>(end - start);
  }
  return a;
}

enum class Mode { kNearest, kNearestExact, kLinear, kCubic };

// Output sizes and per-axis scale factors of an upsample.vec node.
Status upsample_sizes(Context& ctx, const ir::Node& n, size_t size_arg, size_t scales_arg, const std::vector<int64_t>& in,
                      std::vector<int64_t>* out, std::vector<std::optional<double>>* sf) {
  const size_t k = in.size();
  sf->assign(k, std::nullopt);
  if (!n.arg(size_arg).is_none()) {
    INGOT_ASSIGN_OR_RETURN(*out, ctx.ints_arg(n, size_arg));
    if (out->size() != k) return ctx.fail(n, "output_size has ", out->size(), " entries for ", k, " spatial dims");
  } else {
    const ir::Arg& s = n.arg(scales_arg);
    if (s.is_none()) return ctx.fail(n, "needs output_size or scale_factors");
    std::vector<double> scales = s.floats();
    if (scales.size() != k) return ctx.fail(n, "scale_factors has ", scales.size(), " entries for ", k, " spatial dims");
    out->clear();
    for (size_t i = 0; i < k; ++i) {
      out->push_back(static_cast<int64_t>(std::floor(static_cast<double>(in[i]) * scales[i])));
      (*sf)[i] = scales[i];
    }
  }
  for (int64_t o : *out) {
    if (o <= 0) return ctx.fail(n, "output size ", ingot::shape_str(*out), " must be positive");
  }
  return Status::ok();
}

Expected<std::vector<int64_t>> spatial_dims(Context& ctx, const ir::Node& n, int x, size_t k) {
  const ir::TensorType t = ctx.type(x);
  if (t.rank() != k + 2) return ctx.fail(n, "expects a rank-", k + 2, " input, got ", t.str());
  if (!ir::is_floating(t.dtype)) return ctx.fail(n, "needs a floating input, got ", t.str());
  std::vector<int64_t> dims;
  for (size_t d = 2; d < t.rank(); ++d) {
    auto v = t.shape[d].as_constant();
    if (!v) return ctx.fail(n, "spatial dims of ", t.str(), " must be static");
    if (*v <= 0) return ctx.fail(n, "empty spatial dim in ", t.str());
    dims.push_back(*v);
  }
  return dims;
}

Status emit_upsample(Context& ctx, const ir::Node& n, size_t k, Mode mode) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> in, spatial_dims(ctx, n, x, k));
  bool align = false;
  size_t scales_arg = 2;
  if (mode == Mode::kLinear || mode == Mode::kCubic) {
    INGOT_ASSIGN_OR_RETURN(align, ctx.bool_arg(n, 2));
    scales_arg = 3;
  }
  std::vector<int64_t> out;
  std::vector<std::optional<double>> sf;
  INGOT_RETURN_IF_ERROR(upsample_sizes(ctx, n, 1, scales_arg, in, &out, &sf));
  int y = x;
  for (size_t i = 0; i < k; ++i) {
    Matrix a = mode == Mode::kLinear  ? linear_map(in[i], out[i], align, sf[i])
               : mode == Mode::kCubic ? cubic_map(in[i], out[i], align, sf[i])
                                      : nearest_map(in[i], out[i], sf[i], mode == Mode::kNearestExact);
    INGOT_ASSIGN_OR_RETURN(y, apply_along(ctx, n, y, 2 + i, a, "axis" + std::to_string(2 + i)));
  }
  ctx.bind(n.output(), y);
  return Status::ok();
}

Status emit_adaptive_avg(Context& ctx, const ir::Node& n, size_t k) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(std::vector<int64_t> out, ctx.ints_arg(n, 1));
  const ir::TensorType t = ctx.type(x);
  if (t.rank() < k + 1 || out.size() != k) return ctx.fail(n, "input ", t.str(), " does not fit output size ", ingot::shape_str(out));
  if (!ir::is_floating(t.dtype)) return ctx.fail(n, "needs a floating input, got ", t.str());
  const size_t first = t.rank() - k;
  bool global = true, divisible = true;
  std::vector<int64_t> in;
  for (size_t i = 0; i < k; ++i) {
    auto v = t.shape[first + i].as_constant();
    if (out[i] <= 0) return ctx.fail(n, "output size ", ingot::shape_str(out), " must be positive");
    global &= out[i] == 1;
    if (!v) {
      if (out[i] != 1) return ctx.fail(n, "spatial dims of ", t.str(), " must be static unless the output is 1");
      in.push_back(0);
      continue;
    }
    in.push_back(*v);
    divisible &= *v % out[i] == 0;
  }
  if (global) {
    net::ReduceParams r;
    r.op = net::ReduceOp::kMean;
    for (size_t d = first; d < t.rank(); ++d) r.axes.push_back(static_cast<int64_t>(d));
    r.keepdim = true;
    INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, r, {x}));
    ctx.bind(n.output(), y);
    return Status::ok();
  }
  if (divisible && first == 2) {
    net::PoolingParams p;
    p.kind = net::PoolKind::kAvg;
    for (size_t i = 0; i < k; ++i) p.kernel.push_back(in[i] / out[i]);
    p.stride = p.kernel;
    p.padding.assign(k, 0);
    p.dilation.assign(k, 1);
    INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
    ctx.bind(n.output(), y);
    return Status::ok();
  }
  int y = x;
  for (size_t i = 0; i < k; ++i) {
    if (in[i] == out[i]) continue;
    INGOT_ASSIGN_OR_RETURN(y, apply_along(ctx, n, y, first + i, adaptive_avg_map(in[i], out[i]), "axis" + std::to_string(first + i)));
  }
  if (y == x) { INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::IdentityParams{}, {x})); }
  ctx.bind(n.output(), y);
  return Status::ok();
}

Status convert_nearest1d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 1, Mode::kNearest); }
Status convert_nearest2d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 2, Mode::kNearest); }
Status convert_nearest3d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 3, Mode::kNearest); }
Status convert_nearest_exact1d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 1, Mode::kNearestExact); }
Status convert_nearest_exact2d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 2, Mode::kNearestExact); }
Status convert_nearest_exact3d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 3, Mode::kNearestExact); }
Status convert_linear1d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 1, Mode::kLinear); }
Status convert_bilinear2d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 2, Mode::kLinear); }
Status convert_bicubic2d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 2, Mode::kCubic); }
Status convert_trilinear3d(Context& ctx, const ir::Node& n) { return emit_upsample(ctx, n, 3, Mode::kLinear); }
Status convert_adaptive_avg1d(Context& ctx, const ir::Node& n) { return emit_adaptive_avg(ctx, n, 1); }
Status convert_adaptive_avg2d(Context& ctx, const ir::Node& n) { return emit_adaptive_avg(ctx, n, 2); }
Status convert_adaptive_avg3d(Context& ctx, const ir::Node& n) { return emit_adaptive_avg(ctx, n, 3); }

}  // namespace

INGOT_CONVERTER("aten::upsample_nearest1d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor", convert_nearest1d);
INGOT_CONVERTER("aten::upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor", convert_nearest2d);
INGOT_CONVERTER("aten::upsample_nearest3d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor", convert_nearest3d);
INGOT_CONVERTER("aten::_upsample_nearest_exact1d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor", convert_nearest_exact1d);
INGOT_CONVERTER("aten::_upsample_nearest_exact2d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor", convert_nearest_exact2d);
INGOT_CONVERTER("aten::_upsample_nearest_exact3d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor", convert_nearest_exact3d);
INGOT_CONVERTER("aten::upsample_linear1d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor", convert_linear1d);
INGOT_CONVERTER("aten::upsample_bilinear2d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor", convert_bilinear2d);
INGOT_CONVERTER("aten::upsample_bicubic2d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor", convert_bicubic2d);
INGOT_CONVERTER("aten::upsample_trilinear3d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor", convert_trilinear3d);
INGOT_CONVERTER("aten::adaptive_avg_pool1d(Tensor self, int[1] output_size) -> Tensor", convert_adaptive_avg1d);
INGOT_CONVERTER("aten::_adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor", convert_adaptive_avg2d);
INGOT_CONVERTER("aten::_adaptive_avg_pool3d(Tensor self, SymInt[3] output_size) -> Tensor", convert_adaptive_avg3d);

}  // namespace ingot::convert
