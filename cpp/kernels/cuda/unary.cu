#include <cmath>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/unary.cuh"
#include "support/half.h"

namespace ingot::kernels::cuda::detail {

namespace {

using net::UnaryOp;

constexpr int kThreads = 256;

// ---------------------------------------------------------------- floating ops (CPU unary.cpp)

// The activations are activation.cuh's; the rarer ops' helpers:
__device__ __forceinline__ float op_sign(float v) { return static_cast<float>((0.0f < v) - (v < 0.0f)); }
__device__ __forceinline__ float op_softplus(float v, float beta, float threshold) {
  return v * beta > threshold ? v : log1pf(expf(v * beta)) / beta;
}

struct UnaryArgs {
  UnaryOp op = UnaryOp::kIdentity;
  float alpha = 0.0f, beta = 0.0f;  // floating ops' parameters
  int64_t lo = 0, hi = 0;           // integer clamp bounds
  int64_t n = 0;
  const void* in = nullptr;
  void* out = nullptr;
  bool vec_in = false, vec_out = false;
};

// Every floating op; the per-element fallback of apply_float.
__device__ INGOT_NOINLINE float unary_float_any(UnaryOp op, float v, float alpha, float beta) {
  switch (op) {
    case UnaryOp::kIdentity: return v;
    case UnaryOp::kRelu: return op_relu(v);
    case UnaryOp::kSigmoid: return op_sigmoid(v);
    case UnaryOp::kTanh: return tanhf(v);
    case UnaryOp::kGeluErf: return op_gelu_erf(v);
    case UnaryOp::kGeluTanh: return op_gelu_tanh(v);
    case UnaryOp::kSilu: return op_silu(v);
    case UnaryOp::kExp: return expf(v);
    case UnaryOp::kLog: return logf(v);
    case UnaryOp::kSqrt: return sqrtf(v);
    case UnaryOp::kRsqrt: return 1.0f / sqrtf(v);
    case UnaryOp::kNeg: return -v;
    case UnaryOp::kAbs: return fabsf(v);
    case UnaryOp::kErf: return erff(v);
    case UnaryOp::kSin: return sinf(v);
    case UnaryOp::kCos: return cosf(v);
    case UnaryOp::kReciprocal: return 1.0f / v;
    case UnaryOp::kFloor: return floorf(v);
    case UnaryOp::kCeil: return ceilf(v);
    case UnaryOp::kRound: return rintf(v);  // half to even, as nearbyint
    case UnaryOp::kSign: return op_sign(v);
    case UnaryOp::kLeakyRelu: return op_leaky_relu(v, alpha);
    case UnaryOp::kElu: return op_elu(v, alpha, beta);
    case UnaryOp::kClamp: return op_clamp(v, alpha, beta);
    case UnaryOp::kHardSigmoid: return op_hard_sigmoid(v);
    case UnaryOp::kHardSwish: return op_hard_swish(v);
    case UnaryOp::kSoftplus: return op_softplus(v, alpha, beta);
    case UnaryOp::kMish: return v * tanhf(log1pf(expf(v)));
    case UnaryOp::kLog1p: return log1pf(v);
    case UnaryOp::kExpm1: return expm1f(v);
    case UnaryOp::kTan: return tanf(v);
    case UnaryOp::kAsin: return asinf(v);
    case UnaryOp::kAcos: return acosf(v);
    case UnaryOp::kAtan: return atanf(v);
    case UnaryOp::kSinh: return sinhf(v);
    case UnaryOp::kCosh: return coshf(v);
    case UnaryOp::kAsinh: return asinhf(v);
    case UnaryOp::kAcosh: return acoshf(v);
    case UnaryOp::kAtanh: return atanhf(v);
    case UnaryOp::kLog2: return log2f(v);
    case UnaryOp::kLog10: return log10f(v);
    case UnaryOp::kExp2: return exp2f(v);
    case UnaryOp::kTrunc: return truncf(v);
    case UnaryOp::kFrac: return v - truncf(v);
    case UnaryOp::kSquare: return v * v;
    default: return __int_as_float(0x7fffffff);
  }
}

template <int VEC, typename Fn>
__device__ __forceinline__ void map1(float (&v)[VEC], Fn fn) {
#pragma unroll
  for (int j = 0; j < VEC; ++j) v[j] = fn(v[j]);
}

// kInline: the frequent ops (is_inline_op) expanded over the group; otherwise every op through
// unary_float_any. Two kernels, so that the frequent ops' kernel makes no call (a call costs
// registers and a stack frame even when not taken).
template <int VEC, bool kInline>
__device__ __forceinline__ void apply_float(const UnaryArgs& p, float (&v)[VEC]) {
  const float alpha = p.alpha, beta = p.beta;
  if constexpr (!kInline) {
    map1(v, [&](float x) { return unary_float_any(p.op, x, alpha, beta); });
    return;
  }
  switch (p.op) {
    case UnaryOp::kIdentity: break;
    case UnaryOp::kRelu: map1(v, op_relu); break;
    case UnaryOp::kSigmoid: map1(v, op_sigmoid); break;
    case UnaryOp::kTanh: map1(v, [](float x) { return tanhf(x); }); break;
    case UnaryOp::kGeluErf: map1(v, op_gelu_erf); break;
    case UnaryOp::kGeluTanh: map1(v, op_gelu_tanh); break;
    case UnaryOp::kSilu: map1(v, op_silu); break;
    case UnaryOp::kExp: map1(v, [](float x) { return expf(x); }); break;
    case UnaryOp::kNeg: map1(v, [](float x) { return -x; }); break;
    case UnaryOp::kAbs: map1(v, [](float x) { return fabsf(x); }); break;
    case UnaryOp::kSqrt: map1(v, [](float x) { return sqrtf(x); }); break;
    case UnaryOp::kRsqrt: map1(v, [](float x) { return 1.0f / sqrtf(x); }); break;
    case UnaryOp::kReciprocal: map1(v, [](float x) { return 1.0f / x; }); break;
    case UnaryOp::kSquare: map1(v, [](float x) { return x * x; }); break;
    case UnaryOp::kLeakyRelu: map1(v, [=](float x) { return op_leaky_relu(x, alpha); }); break;
    case UnaryOp::kClamp: map1(v, [=](float x) { return op_clamp(x, alpha, beta); }); break;
    case UnaryOp::kHardSigmoid: map1(v, op_hard_sigmoid); break;
    case UnaryOp::kHardSwish: map1(v, op_hard_swish); break;
    default: map1(v, [](float) { return __int_as_float(0x7fffffff); }); break;  // not launched
  }
}

// The ops apply_float<VEC, true> expands.
bool is_inline_op(UnaryOp op) {
  switch (op) {
    case UnaryOp::kIdentity: case UnaryOp::kRelu: case UnaryOp::kSigmoid: case UnaryOp::kTanh:
    case UnaryOp::kGeluErf: case UnaryOp::kGeluTanh: case UnaryOp::kSilu: case UnaryOp::kExp:
    case UnaryOp::kNeg: case UnaryOp::kAbs: case UnaryOp::kSqrt: case UnaryOp::kRsqrt:
    case UnaryOp::kReciprocal: case UnaryOp::kSquare: case UnaryOp::kLeakyRelu: case UnaryOp::kClamp:
    case UnaryOp::kHardSigmoid: case UnaryOp::kHardSwish:
      return true;
    default:
      return false;
  }
}

__device__ __forceinline__ int64_t wrap_neg(int64_t v) { return static_cast<int64_t>(0 - static_cast<uint64_t>(v)); }

// Integer and bool ops, exact in int64 (the store wraps to the dtype).
template <int VEC>
__device__ __forceinline__ void apply_int(const UnaryArgs& p, bool is_bool, int64_t (&v)[VEC]) {
#pragma unroll
  for (int j = 0; j < VEC; ++j) {
    int64_t x = v[j];
    switch (p.op) {
      case UnaryOp::kRelu: x = x < 0 ? 0 : x; break;
      case UnaryOp::kNeg: x = wrap_neg(x); break;
      case UnaryOp::kAbs: x = x < 0 ? wrap_neg(x) : x; break;
      case UnaryOp::kSquare: x = static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(x)); break;
      case UnaryOp::kSign: x = (0 < x) - (x < 0); break;
      case UnaryOp::kFrac: x = 0; break;
      case UnaryOp::kBitwiseNot: x = is_bool ? (x == 0 ? 1 : 0) : ~x; break;
      case UnaryOp::kClamp: x = x < p.lo ? p.lo : x; x = x > p.hi ? p.hi : x; break;
      default: break;  // identity, floor, ceil, round, trunc
    }
    v[j] = x;
  }
}

// logical_not, isnan, isinf on float or int64 values.
template <int VEC, typename C>
__device__ __forceinline__ void apply_predicate(UnaryOp op, const C (&v)[VEC], BoolByte (&r)[VEC]) {
#pragma unroll
  for (int j = 0; j < VEC; ++j) {
    bool b = false;
    if (op == UnaryOp::kLogicalNot) b = v[j] == C(0);
    if constexpr (std::is_same_v<C, float>) {
      if (op == UnaryOp::kIsNan) b = v[j] != v[j];
      if (op == UnaryOp::kIsInf) b = fabsf(v[j]) == __int_as_float(0x7f800000);
    }
    r[j] = BoolByte{static_cast<uint8_t>(b ? 1 : 0)};
  }
}

template <typename T>
using ComputeType = std::conditional_t<kIsFloat<T>, float, int64_t>;

template <typename T>
__device__ __forceinline__ ComputeType<T> to_compute(T v) {
  if constexpr (kIsFloat<T>) return to_float(v);
  else return to_int(v);
}

template <typename T>
__device__ __forceinline__ T from_compute(ComputeType<T> v) {
  if constexpr (kIsFloat<T>) return from_float<T>(v);
  else return from_int<T>(v);
}

// Group i of a contiguous run of n elements: VEC elements from i * VEC (fewer at the end).
template <int VEC, typename T, typename C>
__device__ __forceinline__ void load_run(const T* p, int64_t base, int count, bool vector, C (&v)[VEC]) {
  if constexpr (VEC > 1) {
    if (vector && count == VEC) {
      Vec<T, VEC> x = *vec_ptr<const Vec<T, VEC>>(p + base);
#pragma unroll
      for (int j = 0; j < VEC; ++j) v[j] = to_compute(x.v[j]);
      return;
    }
  }
#pragma unroll
  for (int j = 0; j < VEC; ++j) v[j] = j < count ? to_compute(p[base + j]) : C(0);
}

template <int VEC, typename T>
__device__ __forceinline__ void store_run(T* p, int64_t base, int count, bool vector, const T (&v)[VEC]) {
  if constexpr (VEC > 1) {
    if (vector && count == VEC) {
      Vec<T, VEC> x;
#pragma unroll
      for (int j = 0; j < VEC; ++j) x.v[j] = v[j];
      *vec_ptr<Vec<T, VEC>>(p + base) = x;
      return;
    }
  }
#pragma unroll
  for (int j = 0; j < VEC; ++j) {
    if (j < count) p[base + j] = v[j];
  }
}

template <typename T, int VEC, bool kInline>
__global__ void __launch_bounds__(kThreads) unary_kernel(const __grid_constant__ UnaryArgs args) {
  using C = ComputeType<T>;
  const T* in = static_cast<const T*>(args.in);
  const bool predicate = args.op == UnaryOp::kLogicalNot || args.op == UnaryOp::kIsNan || args.op == UnaryOp::kIsInf;
  int64_t groups = (args.n + VEC - 1) / VEC;
  for (int64_t g = global_thread(); g < groups; g += grid_threads()) {
    int64_t base = g * VEC;
    int count = static_cast<int>(args.n - base < VEC ? args.n - base : VEC);
    C v[VEC];
    load_run<VEC>(in, base, count, args.vec_in, v);
    if (predicate) {
      BoolByte r[VEC];
      apply_predicate<VEC>(args.op, v, r);
      store_run<VEC>(static_cast<BoolByte*>(args.out), base, count, args.vec_out, r);
      continue;
    }
    if constexpr (kIsFloat<T>) apply_float<VEC, kInline>(args, v);
    else apply_int<VEC>(args, std::is_same_v<T, BoolByte>, v);
    T r[VEC];
#pragma unroll
    for (int j = 0; j < VEC; ++j) r[j] = from_compute<T>(v[j]);
    store_run<VEC>(static_cast<T*>(args.out), base, count, args.vec_out, r);
  }
}

template <typename T>
constexpr int kComputeVec = kVec16<T> < 8 ? kVec16<T> : 8;

// ---------------------------------------------------------------- casts

// One element converted to the storage type U (the CPU's store rules).
template <typename U, typename S>
__device__ __forceinline__ U convert(S x) {
  if constexpr (kIsFloat<S>) {
    float v = to_float(x);
    if constexpr (kIsFloat<U>) return from_float<U>(v);
    else return float_to_int_storage<U>(v);
  } else {
    int64_t v = to_int(x);
    if constexpr (kIsFloat<U>) return from_float<U>(static_cast<float>(v));
    else return from_int<U>(v);
  }
}

// Floating to floating, vectorized on the input's 16 bytes (the frequent casts).
template <typename S, typename U, int VEC>
__global__ void __launch_bounds__(kThreads) cast_float_kernel(const S* in, U* out, int64_t n, bool vec_in, bool vec_out) {
  int64_t groups = (n + VEC - 1) / VEC;
  for (int64_t g = global_thread(); g < groups; g += grid_threads()) {
    int64_t base = g * VEC;
    int count = static_cast<int>(n - base < VEC ? n - base : VEC);
    float v[VEC];
    load_run<VEC>(in, base, count, vec_in, v);
    U r[VEC];
#pragma unroll
    for (int j = 0; j < VEC; ++j) r[j] = from_float<U>(v[j]);
    store_run<VEC>(out, base, count, vec_out, r);
  }
}

// Any source to a destination dtype chosen at run time (uniform switch per element).
template <typename S>
__global__ void __launch_bounds__(kThreads) cast_any_kernel(const S* in, void* out, int64_t n, DType to) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    S x = in[i];
    switch (to) {
      case DType::kFloat32: static_cast<float*>(out)[i] = convert<float>(x); break;
      case DType::kFloat16: static_cast<__half*>(out)[i] = convert<__half>(x); break;
      case DType::kBFloat16: static_cast<__nv_bfloat16*>(out)[i] = convert<__nv_bfloat16>(x); break;
      case DType::kInt8: static_cast<int8_t*>(out)[i] = convert<int8_t>(x); break;
      case DType::kUInt8: static_cast<uint8_t*>(out)[i] = convert<uint8_t>(x); break;
      case DType::kInt32: static_cast<int32_t*>(out)[i] = convert<int32_t>(x); break;
      case DType::kInt64: static_cast<int64_t*>(out)[i] = convert<int64_t>(x); break;
      case DType::kBool: static_cast<BoolByte*>(out)[i] = convert<BoolByte>(x); break;
      default: break;
    }
  }
}

bool is_predicate(UnaryOp op) { return net::unary_result_is_bool(op); }

}  // namespace

bool unary_supports(UnaryOp op, DType dtype) {
  if (op >= UnaryOp::kCount) return false;
  if (is_predicate(op)) return true;
  if (is_float_dtype(dtype)) return op != UnaryOp::kBitwiseNot;
  switch (op) {
    case UnaryOp::kIdentity: case UnaryOp::kFloor: case UnaryOp::kCeil: case UnaryOp::kRound:
    case UnaryOp::kTrunc: case UnaryOp::kRelu: case UnaryOp::kNeg: case UnaryOp::kAbs:
    case UnaryOp::kSquare: case UnaryOp::kSign: case UnaryOp::kFrac: case UnaryOp::kBitwiseNot:
    case UnaryOp::kClamp:
      return true;
    default:
      return false;
  }
}

Status launch_unary(const net::UnaryParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "unary";
  if (in.size() != 1 || out.size() != 1) return invalid_argument(L, ": takes 1 input and 1 output");
  const DeviceTensor &x = in[0], &y = out[0];
  if (!unary_supports(p.op, x.dtype)) {
    return invalid_argument(L, ": ", net::enum_name(p.op), " is not defined for ", ir::dtype_name(x.dtype), " inputs");
  }
  bool predicate = is_predicate(p.op);
  if (y.dtype != (predicate ? DType::kBool : x.dtype) || y.numel() != x.numel()) {
    return invalid_argument(L, ": output ", ir::dtype_name(y.dtype), ingot::shape_str(y.dims), " does not match input ",
                            ir::dtype_name(x.dtype), ingot::shape_str(x.dims));
  }
  int64_t n = x.numel();
  if (n == 0) return Status::ok();

  UnaryArgs args;
  args.op = p.op;
  args.alpha = static_cast<float>(p.alpha);
  args.beta = static_cast<float>(p.beta);
  if (p.op == UnaryOp::kClamp && !is_float_dtype(x.dtype)) {
    if (std::isnan(p.alpha) || std::isnan(p.beta)) return invalid_argument(L, ": clamp bound is NaN for an integer input");
    // The integers within [alpha, beta]; an infinite bound is no bound.
    double lo = std::ceil(p.alpha), hi = std::floor(p.beta);
    args.lo = lo <= -9.2e18 ? INT64_MIN : lo >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(lo);
    args.hi = hi >= 9.2e18 ? INT64_MAX : hi <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(hi);
  }
  args.n = n;
  args.in = x.data;
  args.out = y.data;
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int V = kComputeVec<T>;
    args.vec_in = aligned_to(x.data, V * sizeof(T));
    args.vec_out = aligned_to(y.data, V * (predicate ? 1 : sizeof(T)));
    // Integer ops and predicates never reach apply_float: one kernel per (T, V) for them.
    bool inline_ops = !kIsFloat<T> || predicate || is_inline_op(p.op);
    bool vector = V > 1 && args.vec_in && args.vec_out;
    if (!vector) args.vec_in = args.vec_out = false;
    unsigned grid = vector ? grid_for((n + V - 1) / V, kThreads) : grid_for(n, kThreads);
    if (vector && inline_ops) launch_kernel(unary_kernel<T, V, true>, grid, kThreads, 0, stream, args);
    if (vector && !inline_ops) {
      if constexpr (kIsFloat<T>) launch_kernel(unary_kernel<T, V, false>, grid, kThreads, 0, stream, args);
    }
    if (!vector && inline_ops) launch_kernel(unary_kernel<T, 1, true>, grid, kThreads, 0, stream, args);
    if (!vector && !inline_ops) {
      if constexpr (kIsFloat<T>) launch_kernel(unary_kernel<T, 1, false>, grid, kThreads, 0, stream, args);
    }
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

Status launch_cast(const net::CastParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "cast";
  if (in.size() != 1 || out.size() != 1) return invalid_argument(L, ": takes 1 input and 1 output");
  const DeviceTensor &x = in[0], &y = out[0];
  if (y.dtype != p.to || y.numel() != x.numel()) {
    return invalid_argument(L, ": output ", ir::dtype_name(y.dtype), ingot::shape_str(y.dims), " does not match ",
                            ir::dtype_name(p.to), ingot::shape_str(x.dims));
  }
  int64_t n = x.numel();
  if (n == 0) return Status::ok();
  if (x.dtype == y.dtype && x.dtype != DType::kBool) {
    // Same dtype: a copy (bool is normalized to 0/1 by the kernel below).
    if (x.data == y.data) return Status::ok();
    INGOT_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(y.data, x.data, static_cast<size_t>(n) * ir::dtype_size(x.dtype),
                                               cudaMemcpyDeviceToDevice, stream), L);
    return Status::ok();
  }
  bool dispatched = false;
  if (is_float_dtype(x.dtype) && is_float_dtype(y.dtype)) {
    dispatched = visit_dtype(x.dtype, [&](auto in_tag) {
      using S = decltype(in_tag);
      if constexpr (kIsFloat<S>) {
        visit_dtype(y.dtype, [&](auto out_tag) {
          using U = decltype(out_tag);
          if constexpr (kIsFloat<U>) {
            constexpr int V = kComputeVec<S> < kComputeVec<U> ? kComputeVec<S> : kComputeVec<U>;
            bool vin = aligned_to(x.data, V * sizeof(S)), vout = aligned_to(y.data, V * sizeof(U));
            if (vin && vout) {
              launch_kernel(cast_float_kernel<S, U, V>, grid_for((n + V - 1) / V, kThreads), kThreads, 0, stream,
                            static_cast<const S*>(x.data), static_cast<U*>(y.data), n, true, true);
            } else {
              launch_kernel(cast_float_kernel<S, U, 1>, grid_for(n, kThreads), kThreads, 0, stream,
                            static_cast<const S*>(x.data), static_cast<U*>(y.data), n, false, false);
            }
          }
        });
      }
    });
  } else {
    dispatched = visit_dtype(x.dtype, [&](auto in_tag) {
      using S = decltype(in_tag);
      launch_kernel(cast_any_kernel<S>, grid_for(n, kThreads), kThreads, 0, stream, static_cast<const S*>(x.data), y.data, n, y.dtype);
    });
  }
  if (!dispatched) return unsupported(L, ": from ", ir::dtype_name(x.dtype), " to ", ir::dtype_name(y.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
