// Unary elementwise ops (activations, math functions, rounding, predicates) and casts.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

using net::UnaryOp;

template <typename T, typename R, typename Op>
void map(const T* x, R* y, int64_t n, Op op) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<R>(op(x[i]));
}

float sign_of(float x) { return static_cast<float>((0.0f < x) - (x < 0.0f)); }

// min(max(x + 3, 0), 6), NaN propagating (std::max / std::min return their first argument
// when the comparison is false).
float relu6_shifted(float x) { return std::min(std::max(x + 3.0f, 0.0f), 6.0f); }

// Floating ops in float, as eager PyTorch computes them (f16/bf16 upcast to float).
Status unary_float(const net::UnaryParams& p, const float* x, float* y, int64_t n) {
  const float alpha = static_cast<float>(p.alpha), beta = static_cast<float>(p.beta);
  switch (p.op) {
    case UnaryOp::kIdentity: map(x, y, n, [](float v) { return v; }); break;
    case UnaryOp::kRelu: map(x, y, n, [](float v) { return v < 0.0f ? 0.0f : v; }); break;
    case UnaryOp::kSigmoid: map(x, y, n, [](float v) { return 1.0f / (1.0f + std::exp(-v)); }); break;
    case UnaryOp::kTanh: map(x, y, n, [](float v) { return std::tanh(v); }); break;
    case UnaryOp::kGeluErf:
      map(x, y, n, [](float v) { return 0.5f * v * (1.0f + std::erf(v * static_cast<float>(M_SQRT1_2))); });
      break;
    case UnaryOp::kGeluTanh:
      map(x, y, n, [](float v) {
        const float k = static_cast<float>(M_SQRT2 * M_2_SQRTPI * 0.5);  // sqrt(2 / pi)
        return 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
      });
      break;
    case UnaryOp::kSilu: map(x, y, n, [](float v) { return v / (1.0f + std::exp(-v)); }); break;
    case UnaryOp::kExp: map(x, y, n, [](float v) { return std::exp(v); }); break;
    case UnaryOp::kLog: map(x, y, n, [](float v) { return std::log(v); }); break;
    case UnaryOp::kSqrt: map(x, y, n, [](float v) { return std::sqrt(v); }); break;
    case UnaryOp::kRsqrt: map(x, y, n, [](float v) { return 1.0f / std::sqrt(v); }); break;
    case UnaryOp::kNeg: map(x, y, n, [](float v) { return -v; }); break;
    case UnaryOp::kAbs: map(x, y, n, [](float v) { return std::fabs(v); }); break;
    case UnaryOp::kErf: map(x, y, n, [](float v) { return std::erf(v); }); break;
    case UnaryOp::kSin: map(x, y, n, [](float v) { return std::sin(v); }); break;
    case UnaryOp::kCos: map(x, y, n, [](float v) { return std::cos(v); }); break;
    case UnaryOp::kReciprocal: map(x, y, n, [](float v) { return 1.0f / v; }); break;
    case UnaryOp::kFloor: map(x, y, n, [](float v) { return std::floor(v); }); break;
    case UnaryOp::kCeil: map(x, y, n, [](float v) { return std::ceil(v); }); break;
    case UnaryOp::kRound: map(x, y, n, [](float v) { return std::nearbyint(v); }); break;
    case UnaryOp::kSign: map(x, y, n, sign_of); break;
    case UnaryOp::kLeakyRelu: map(x, y, n, [=](float v) { return v > 0.0f ? v : v * alpha; }); break;
    case UnaryOp::kElu:  // alpha, beta = scale
      map(x, y, n, [=](float v) { return v > 0.0f ? v * beta : std::expm1(v) * alpha * beta; });
      break;
    case UnaryOp::kClamp:
      map(x, y, n, [=](float v) {
        if (std::isnan(alpha) || std::isnan(beta)) return std::nanf("");
        float r = v < alpha ? alpha : v;
        return r > beta ? beta : r;
      });
      break;
    case UnaryOp::kHardSigmoid:
      map(x, y, n, [](float v) { return relu6_shifted(v) / 6.0f; });
      break;
    case UnaryOp::kHardSwish:
      map(x, y, n, [](float v) { return v * relu6_shifted(v) / 6.0f; });
      break;
    case UnaryOp::kSoftplus:  // alpha = beta, beta = threshold
      map(x, y, n, [=](float v) { return v * alpha > beta ? v : std::log1p(std::exp(v * alpha)) / alpha; });
      break;
    case UnaryOp::kMish: map(x, y, n, [](float v) { return v * std::tanh(std::log1p(std::exp(v))); }); break;
    case UnaryOp::kLog1p: map(x, y, n, [](float v) { return std::log1p(v); }); break;
    case UnaryOp::kExpm1: map(x, y, n, [](float v) { return std::expm1(v); }); break;
    case UnaryOp::kTan: map(x, y, n, [](float v) { return std::tan(v); }); break;
    case UnaryOp::kAsin: map(x, y, n, [](float v) { return std::asin(v); }); break;
    case UnaryOp::kAcos: map(x, y, n, [](float v) { return std::acos(v); }); break;
    case UnaryOp::kAtan: map(x, y, n, [](float v) { return std::atan(v); }); break;
    case UnaryOp::kSinh: map(x, y, n, [](float v) { return std::sinh(v); }); break;
    case UnaryOp::kCosh: map(x, y, n, [](float v) { return std::cosh(v); }); break;
    case UnaryOp::kAsinh: map(x, y, n, [](float v) { return std::asinh(v); }); break;
    case UnaryOp::kAcosh: map(x, y, n, [](float v) { return std::acosh(v); }); break;
    case UnaryOp::kAtanh: map(x, y, n, [](float v) { return std::atanh(v); }); break;
    case UnaryOp::kLog2: map(x, y, n, [](float v) { return std::log2(v); }); break;
    case UnaryOp::kLog10: map(x, y, n, [](float v) { return std::log10(v); }); break;
    case UnaryOp::kExp2: map(x, y, n, [](float v) { return std::exp2(v); }); break;
    case UnaryOp::kTrunc: map(x, y, n, [](float v) { return std::trunc(v); }); break;
    case UnaryOp::kFrac: map(x, y, n, [](float v) { return v - std::trunc(v); }); break;
    case UnaryOp::kSquare: map(x, y, n, [](float v) { return v * v; }); break;
    default: return invalid_argument("unary: ", net::enum_name(p.op), " is not defined for floating inputs");
  }
  return Status::ok();
}

int64_t wrap_neg(int64_t v) { return static_cast<int64_t>(0 - static_cast<uint64_t>(v)); }

// Integer and bool ops, exact in int64; the store wraps to the dtype.
Status unary_int(const net::UnaryParams& p, DType dtype, const int64_t* x, int64_t* y, int64_t n) {
  switch (p.op) {
    case UnaryOp::kIdentity:
    case UnaryOp::kFloor:
    case UnaryOp::kCeil:
    case UnaryOp::kRound:
    case UnaryOp::kTrunc: map(x, y, n, [](int64_t v) { return v; }); break;
    case UnaryOp::kRelu: map(x, y, n, [](int64_t v) { return v < 0 ? int64_t{0} : v; }); break;
    case UnaryOp::kNeg: map(x, y, n, wrap_neg); break;
    case UnaryOp::kAbs: map(x, y, n, [](int64_t v) { return v < 0 ? wrap_neg(v) : v; }); break;
    case UnaryOp::kSquare:
      map(x, y, n, [](int64_t v) { return static_cast<int64_t>(static_cast<uint64_t>(v) * static_cast<uint64_t>(v)); });
      break;
    case UnaryOp::kSign: map(x, y, n, [](int64_t v) { return int64_t{(0 < v) - (v < 0)}; }); break;
    case UnaryOp::kFrac: map(x, y, n, [](int64_t) { return int64_t{0}; }); break;
    case UnaryOp::kBitwiseNot:
      if (dtype == DType::kBool) map(x, y, n, [](int64_t v) { return int64_t{v == 0}; });
      else map(x, y, n, [](int64_t v) { return ~v; });
      break;
    case UnaryOp::kClamp: {
      // The integers within [alpha, beta]; an infinite bound is no bound.
      double lo_d = std::ceil(p.alpha), hi_d = std::floor(p.beta);
      int64_t lo = lo_d <= -9.2e18 ? INT64_MIN : lo_d >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(lo_d);
      int64_t hi = hi_d >= 9.2e18 ? INT64_MAX : hi_d <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(hi_d);
      if (std::isnan(p.alpha) || std::isnan(p.beta)) return invalid_argument("unary: clamp bound is NaN for an integer input");
      map(x, y, n, [=](int64_t v) { return std::min(std::max(v, lo), hi); });
      break;
    }
    default:
      return invalid_argument("unary: ", net::enum_name(p.op), " needs a floating input, got ", ir::dtype_name(dtype));
  }
  return Status::ok();
}

// logical_not, isnan, isinf: bool results for any input dtype.
void unary_predicate(UnaryOp op, const TensorView& x, uint8_t* y) {
  int64_t n = x.numel();
  if (is_float_dtype(x.dtype)) {
    FloatInput fx(x);
    const float* v = fx.data();
    if (op == UnaryOp::kLogicalNot) map(v, y, n, [](float a) { return a == 0.0f; });
    if (op == UnaryOp::kIsNan) map(v, y, n, [](float a) { return std::isnan(a); });
    if (op == UnaryOp::kIsInf) map(v, y, n, [](float a) { return std::isinf(a); });
    return;
  }
  std::vector<int64_t> v = load_ints(x);
  if (op == UnaryOp::kLogicalNot) map(v.data(), y, n, [](int64_t a) { return a == 0; });
  else map(v.data(), y, n, [](int64_t) { return false; });
}

}  // namespace

Status run(const net::UnaryParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &x = in[0], &y = out[0];
  int64_t n = x.numel();
  if (net::unary_result_is_bool(p.op)) {
    unary_predicate(p.op, x, static_cast<uint8_t*>(y.data));
    return Status::ok();
  }
  if (is_float_dtype(x.dtype)) {
    if (p.op == UnaryOp::kBitwiseNot) return invalid_argument("unary: bitwise_not needs an integer or bool input");
    FloatInput fx(x);
    FloatOutput fy(y);
    INGOT_RETURN_IF_ERROR(unary_float(p, fx.data(), fy.data(), n));
    fy.commit();
    return Status::ok();
  }
  std::vector<int64_t> vx = load_ints(x), vy(static_cast<size_t>(n));
  INGOT_RETURN_IF_ERROR(unary_int(p, x.dtype, vx.data(), vy.data(), n));
  store_ints(vy.data(), y);
  return Status::ok();
}

Status run(const net::CastParams&, const Tensors& in, const Tensors& out) {
  const TensorView &x = in[0], &y = out[0];
  if (is_float_dtype(x.dtype)) {
    if (is_float_dtype(y.dtype)) {
      FloatInput fx(x);
      store_floats(fx.data(), y);
      return Status::ok();
    }
    std::vector<double> v = load_doubles(x);
    store_doubles(v.data(), y);
    return Status::ok();
  }
  std::vector<int64_t> v = load_ints(x);
  store_ints(v.data(), y);
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
