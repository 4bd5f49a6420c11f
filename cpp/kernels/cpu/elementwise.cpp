// Binary elementwise ops with numpy broadcasting, and select (torch.where).
//
// Floating inputs (f32/f16/bf16) compute in float and round once on store; integer and bool
// inputs compute exactly in int64 with two's-complement wrap-around, then wrap to the dtype.
#include <cmath>
#include <cstring>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

using net::BinaryOp;

// out[i] = op(a[i], b[i]) over a broadcast walk whose operands are (a, b).
template <typename T, typename R, typename Op>
void apply(const StridedWalk& walk, const T* a, const T* b, R* out, Op op) {
  int64_t sa = walk.inner_stride(0), sb = walk.inner_stride(1);
  walk.for_each_run([&](int64_t o, const int64_t* offs, int64_t n) {
    const T* pa = a + offs[0];
    const T* pb = b + offs[1];
    R* po = out + o;
    for (int64_t i = 0; i < n; ++i) po[i] = static_cast<R>(op(pa[i * sa], pb[i * sb]));
  });
}

// Comparisons and logical ops: any element type in, bool (0/1) out.
template <typename T>
Status compare(BinaryOp op, const StridedWalk& w, const T* a, const T* b, uint8_t* out) {
  switch (op) {
    case BinaryOp::kEq: apply(w, a, b, out, [](T x, T y) { return x == y; }); break;
    case BinaryOp::kNe: apply(w, a, b, out, [](T x, T y) { return x != y; }); break;
    case BinaryOp::kLt: apply(w, a, b, out, [](T x, T y) { return x < y; }); break;
    case BinaryOp::kLe: apply(w, a, b, out, [](T x, T y) { return x <= y; }); break;
    case BinaryOp::kGt: apply(w, a, b, out, [](T x, T y) { return x > y; }); break;
    case BinaryOp::kGe: apply(w, a, b, out, [](T x, T y) { return x >= y; }); break;
    case BinaryOp::kLogicalAnd: apply(w, a, b, out, [](T x, T y) { return x != T(0) && y != T(0); }); break;
    case BinaryOp::kLogicalOr: apply(w, a, b, out, [](T x, T y) { return x != T(0) || y != T(0); }); break;
    case BinaryOp::kLogicalXor: apply(w, a, b, out, [](T x, T y) { return (x != T(0)) != (y != T(0)); }); break;
    default: return invalid_argument("elementwise: ", net::enum_name(op), " is not a comparison");
  }
  return Status::ok();
}

// torch.floor_divide for floating values (ATen's div_floor_floating).
float floor_div_float(float a, float b) {
  if (b == 0.0f) return a / b;
  float mod = std::fmod(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f && (b < 0.0f) != (mod < 0.0f)) div -= 1.0f;
  if (div == 0.0f) return std::copysign(0.0f, a / b);
  float floored = std::floor(div);
  if (div - floored > 0.5f) floored += 1.0f;
  return floored;
}

// torch.remainder for floating values: the result takes the divisor's sign.
float remainder_float(float a, float b) {
  float mod = std::fmod(a, b);
  if (mod != 0.0f && (b < 0.0f) != (mod < 0.0f)) mod += b;
  return mod;
}

// torch.maximum / torch.minimum: NaN wins; between equal values (-0 and +0) the first.
float max_nan(float a, float b) {
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  return a < b ? b : a;
}

float min_nan(float a, float b) {
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  return a > b ? b : a;
}

Status binary_float(BinaryOp op, const StridedWalk& w, const TensorView& a, const TensorView& b, const TensorView& y) {
  FloatInput fa(a), fb(b);
  if (net::is_comparison(op)) return compare(op, w, fa.data(), fb.data(), static_cast<uint8_t*>(y.data));
  FloatOutput fy(y);
  const float *pa = fa.data(), *pb = fb.data();
  float* py = fy.data();
  switch (op) {
    case BinaryOp::kAdd: apply(w, pa, pb, py, [](float x, float z) { return x + z; }); break;
    case BinaryOp::kSub: apply(w, pa, pb, py, [](float x, float z) { return x - z; }); break;
    case BinaryOp::kMul: apply(w, pa, pb, py, [](float x, float z) { return x * z; }); break;
    case BinaryOp::kDiv: apply(w, pa, pb, py, [](float x, float z) { return x / z; }); break;
    case BinaryOp::kFloorDiv: apply(w, pa, pb, py, floor_div_float); break;
    case BinaryOp::kRemainder: apply(w, pa, pb, py, remainder_float); break;
    case BinaryOp::kPow: apply(w, pa, pb, py, [](float x, float z) { return std::pow(x, z); }); break;
    case BinaryOp::kMax: apply(w, pa, pb, py, max_nan); break;
    case BinaryOp::kMin: apply(w, pa, pb, py, min_nan); break;
    case BinaryOp::kTruncDiv: apply(w, pa, pb, py, [](float x, float z) { return std::trunc(x / z); }); break;
    case BinaryOp::kAtan2: apply(w, pa, pb, py, [](float x, float z) { return std::atan2(x, z); }); break;
    default:
      return invalid_argument("elementwise: ", net::enum_name(op), " needs integer or bool inputs, got ",
                              ir::dtype_name(a.dtype));
  }
  fy.commit();
  return Status::ok();
}

// Wrap-around arithmetic on int64 without undefined behaviour.
int64_t wrap_add(int64_t x, int64_t y) { return static_cast<int64_t>(static_cast<uint64_t>(x) + static_cast<uint64_t>(y)); }
int64_t wrap_sub(int64_t x, int64_t y) { return static_cast<int64_t>(static_cast<uint64_t>(x) - static_cast<uint64_t>(y)); }
int64_t wrap_mul(int64_t x, int64_t y) { return static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y)); }

// Truncating division; INT64_MIN / -1 wraps to INT64_MIN.
int64_t trunc_div_int(int64_t x, int64_t y) { return y == -1 ? wrap_sub(0, x) : x / y; }

int64_t floor_div_int(int64_t x, int64_t y) {
  if (y == -1) return wrap_sub(0, x);
  int64_t q = x / y;
  if (x % y != 0 && ((x < 0) != (y < 0))) --q;
  return q;
}

int64_t remainder_int(int64_t x, int64_t y) {
  if (y == -1) return 0;
  int64_t r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

// torch.pow for integers: exact with wrap-around; negative exponents give 1 / x^|e| truncated.
int64_t pow_int(int64_t base, int64_t exp) {
  if (exp < 0) {
    if (base == 1) return 1;
    if (base == -1) return exp % 2 == 0 ? 1 : -1;
    return 0;
  }
  int64_t result = 1;
  while (exp) {
    if (exp & 1) result = wrap_mul(result, base);
    exp >>= 1;
    base = wrap_mul(base, base);
  }
  return result;
}

Status binary_int(BinaryOp op, const StridedWalk& w, const TensorView& a, const TensorView& b, const TensorView& y) {
  std::vector<int64_t> va = load_ints(a), vb = load_ints(b);
  if (net::is_comparison(op)) return compare(op, w, va.data(), vb.data(), static_cast<uint8_t*>(y.data));
  if (op == BinaryOp::kFloorDiv || op == BinaryOp::kRemainder || op == BinaryOp::kTruncDiv) {
    for (int64_t v : vb) {
      if (v == 0 && y.numel() > 0) return invalid_argument("elementwise: ", net::enum_name(op), ": integer division by zero");
    }
  }
  std::vector<int64_t> vy(static_cast<size_t>(y.numel()));
  const int64_t *pa = va.data(), *pb = vb.data();
  int64_t* py = vy.data();
  switch (op) {
    case BinaryOp::kAdd: apply(w, pa, pb, py, wrap_add); break;
    case BinaryOp::kSub: apply(w, pa, pb, py, wrap_sub); break;
    case BinaryOp::kMul: apply(w, pa, pb, py, wrap_mul); break;
    case BinaryOp::kFloorDiv: apply(w, pa, pb, py, floor_div_int); break;
    case BinaryOp::kRemainder: apply(w, pa, pb, py, remainder_int); break;
    case BinaryOp::kTruncDiv: apply(w, pa, pb, py, trunc_div_int); break;
    case BinaryOp::kPow: apply(w, pa, pb, py, pow_int); break;
    case BinaryOp::kMax: apply(w, pa, pb, py, [](int64_t x, int64_t z) { return x > z ? x : z; }); break;
    case BinaryOp::kMin: apply(w, pa, pb, py, [](int64_t x, int64_t z) { return x < z ? x : z; }); break;
    case BinaryOp::kBitwiseAnd: apply(w, pa, pb, py, [](int64_t x, int64_t z) { return x & z; }); break;
    case BinaryOp::kBitwiseOr: apply(w, pa, pb, py, [](int64_t x, int64_t z) { return x | z; }); break;
    case BinaryOp::kBitwiseXor: apply(w, pa, pb, py, [](int64_t x, int64_t z) { return x ^ z; }); break;
    default:
      return invalid_argument("elementwise: ", net::enum_name(op), " needs floating inputs, got ",
                              ir::dtype_name(a.dtype), " (cast first)");
  }
  store_ints(vy.data(), y);
  return Status::ok();
}

// out = cond ? a : b, moving elements of one storage type U.
template <typename U>
void select_copy(const StridedWalk& w, const uint8_t* cond, const U* a, const U* b, U* out) {
  int64_t sc = w.inner_stride(0), sa = w.inner_stride(1), sb = w.inner_stride(2);
  w.for_each_run([&](int64_t o, const int64_t* offs, int64_t n) {
    const uint8_t* pc = cond + offs[0];
    const U* pa = a + offs[1];
    const U* pb = b + offs[2];
    for (int64_t i = 0; i < n; ++i) out[o + i] = pc[i * sc] ? pa[i * sa] : pb[i * sb];
  });
}

}  // namespace

Status run(const net::ElementwiseParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &a = in[0], &b = in[1], &y = out[0];
  StridedWalk walk = broadcast_walk(y.dims, {a.dims, b.dims});
  if (is_float_dtype(a.dtype)) return binary_float(p.op, walk, a, b, y);
  return binary_int(p.op, walk, a, b, y);
}

Status run(const net::SelectParams&, const Tensors& in, const Tensors& out) {
  const TensorView &c = in[0], &a = in[1], &b = in[2], &y = out[0];
  StridedWalk walk = broadcast_walk(y.dims, {c.dims, a.dims, b.dims});
  const auto* pc = static_cast<const uint8_t*>(c.data);
  switch (ir::dtype_size(y.dtype)) {
    case 1: select_copy(walk, pc, static_cast<const uint8_t*>(a.data), static_cast<const uint8_t*>(b.data), static_cast<uint8_t*>(y.data)); break;
    case 2: select_copy(walk, pc, static_cast<const uint16_t*>(a.data), static_cast<const uint16_t*>(b.data), static_cast<uint16_t*>(y.data)); break;
    case 4: select_copy(walk, pc, static_cast<const uint32_t*>(a.data), static_cast<const uint32_t*>(b.data), static_cast<uint32_t*>(y.data)); break;
    case 8: select_copy(walk, pc, static_cast<const uint64_t*>(a.data), static_cast<const uint64_t*>(b.data), static_cast<uint64_t*>(y.data)); break;
    default: return unsupported("select: dtype ", ir::dtype_name(y.dtype));
  }
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
