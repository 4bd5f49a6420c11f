#include "kernels/cuda/elementwise.cuh"

#include "kernels/cuda/float_ops.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

using net::BinaryOp;

constexpr int kThreads = 256;

// ---------------------------------------------------------------- per-element ops

__device__ __forceinline__ int64_t wrap_add(int64_t x, int64_t y) {
  return static_cast<int64_t>(static_cast<uint64_t>(x) + static_cast<uint64_t>(y));
}
__device__ __forceinline__ int64_t wrap_sub(int64_t x, int64_t y) {
  return static_cast<int64_t>(static_cast<uint64_t>(x) - static_cast<uint64_t>(y));
}
__device__ __forceinline__ int64_t wrap_mul(int64_t x, int64_t y) {
  return static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y));
}

// Integer division family; y == -1 is special-cased (INT64_MIN / -1 wraps), y == 0 gives 0.
__device__ __forceinline__ int64_t trunc_div_int(int64_t x, int64_t y) {
  if (y == 0) return 0;
  return y == -1 ? wrap_sub(0, x) : x / y;
}
__device__ __forceinline__ int64_t floor_div_int(int64_t x, int64_t y) {
  if (y == 0) return 0;
  if (y == -1) return wrap_sub(0, x);
  int64_t q = x / y;
  if (x % y != 0 && ((x < 0) != (y < 0))) --q;
  return q;
}
__device__ __forceinline__ int64_t remainder_int(int64_t x, int64_t y) {
  if (y == 0 || y == -1) return 0;
  int64_t r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

// torch.pow for integers: exact with wrap-around; negative exponents give 1 / x^|e| truncated.
__device__ __forceinline__ int64_t pow_int(int64_t base, int64_t exp) {
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

template <int VEC, typename C, typename Fn>
__device__ __forceinline__ void map2(const C (&a)[VEC], const C (&b)[VEC], C (&r)[VEC], Fn fn) {
#pragma unroll
  for (int j = 0; j < VEC; ++j) r[j] = fn(a[j], b[j]);
}

template <int VEC, typename C, typename Fn>
__device__ __forceinline__ void map2b(const C (&a)[VEC], const C (&b)[VEC], bool (&r)[VEC], Fn fn) {
#pragma unroll
  for (int j = 0; j < VEC; ++j) r[j] = fn(a[j], b[j]);
}

// The op switch runs once per group of VEC elements; the op is uniform across the grid.
template <int VEC>
__device__ __forceinline__ void apply_float(BinaryOp op, const float (&a)[VEC], const float (&b)[VEC], float (&r)[VEC]) {
  switch (op) {
    case BinaryOp::kAdd: map2(a, b, r, [](float x, float y) { return x + y; }); break;
    case BinaryOp::kSub: map2(a, b, r, [](float x, float y) { return x - y; }); break;
    case BinaryOp::kMul: map2(a, b, r, [](float x, float y) { return x * y; }); break;
    case BinaryOp::kDiv: map2(a, b, r, [](float x, float y) { return x / y; }); break;
    case BinaryOp::kFloorDiv: map2(a, b, r, [](float x, float y) { return ingot_float_ops::floor_div(x, y); }); break;
    case BinaryOp::kRemainder: map2(a, b, r, [](float x, float y) { return ingot_float_ops::remainder_of(x, y); }); break;
    case BinaryOp::kPow: map2(a, b, r, [](float x, float y) { return powf(x, y); }); break;
    case BinaryOp::kMax: map2(a, b, r, [](float x, float y) { return ingot_float_ops::max_nan(x, y); }); break;
    case BinaryOp::kMin: map2(a, b, r, [](float x, float y) { return ingot_float_ops::min_nan(x, y); }); break;
    case BinaryOp::kTruncDiv: map2(a, b, r, [](float x, float y) { return truncf(x / y); }); break;
    case BinaryOp::kAtan2: map2(a, b, r, [](float x, float y) { return atan2f(x, y); }); break;
    default: map2(a, b, r, [](float, float) { return __int_as_float(0x7fffffff); }); break;
  }
}

template <int VEC>
__device__ __forceinline__ void apply_int(BinaryOp op, const int64_t (&a)[VEC], const int64_t (&b)[VEC], int64_t (&r)[VEC]) {
  switch (op) {
    case BinaryOp::kAdd: map2(a, b, r, [](int64_t x, int64_t y) { return wrap_add(x, y); }); break;
    case BinaryOp::kSub: map2(a, b, r, [](int64_t x, int64_t y) { return wrap_sub(x, y); }); break;
    case BinaryOp::kMul: map2(a, b, r, [](int64_t x, int64_t y) { return wrap_mul(x, y); }); break;
    case BinaryOp::kFloorDiv: map2(a, b, r, [](int64_t x, int64_t y) { return floor_div_int(x, y); }); break;
    case BinaryOp::kRemainder: map2(a, b, r, [](int64_t x, int64_t y) { return remainder_int(x, y); }); break;
    case BinaryOp::kTruncDiv: map2(a, b, r, [](int64_t x, int64_t y) { return trunc_div_int(x, y); }); break;
    case BinaryOp::kPow: map2(a, b, r, [](int64_t x, int64_t y) { return pow_int(x, y); }); break;
    case BinaryOp::kMax: map2(a, b, r, [](int64_t x, int64_t y) { return x > y ? x : y; }); break;
    case BinaryOp::kMin: map2(a, b, r, [](int64_t x, int64_t y) { return x < y ? x : y; }); break;
    case BinaryOp::kBitwiseAnd: map2(a, b, r, [](int64_t x, int64_t y) { return x & y; }); break;
    case BinaryOp::kBitwiseOr: map2(a, b, r, [](int64_t x, int64_t y) { return x | y; }); break;
    case BinaryOp::kBitwiseXor: map2(a, b, r, [](int64_t x, int64_t y) { return x ^ y; }); break;
    default: map2(a, b, r, [](int64_t, int64_t) { return int64_t{0}; }); break;
  }
}

// Comparisons and logical ops (bool results) on float or int64 values.
template <int VEC, typename C>
__device__ __forceinline__ void apply_compare(BinaryOp op, const C (&a)[VEC], const C (&b)[VEC], bool (&r)[VEC]) {
  switch (op) {
    case BinaryOp::kEq: map2b(a, b, r, [](C x, C y) { return x == y; }); break;
    case BinaryOp::kNe: map2b(a, b, r, [](C x, C y) { return x != y; }); break;
    case BinaryOp::kLt: map2b(a, b, r, [](C x, C y) { return x < y; }); break;
    case BinaryOp::kLe: map2b(a, b, r, [](C x, C y) { return x <= y; }); break;
    case BinaryOp::kGt: map2b(a, b, r, [](C x, C y) { return x > y; }); break;
    case BinaryOp::kGe: map2b(a, b, r, [](C x, C y) { return x >= y; }); break;
    case BinaryOp::kLogicalAnd: map2b(a, b, r, [](C x, C y) { return x != C(0) && y != C(0); }); break;
    case BinaryOp::kLogicalOr: map2b(a, b, r, [](C x, C y) { return x != C(0) || y != C(0); }); break;
    case BinaryOp::kLogicalXor: map2b(a, b, r, [](C x, C y) { return (x != C(0)) != (y != C(0)); }); break;
    default: map2b(a, b, r, [](C, C) { return false; }); break;
  }
}

// ---------------------------------------------------------------- group loads and stores

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

// Reads the `count` (1..VEC) elements of one group starting at p with element stride `stride`
// (0 broadcasts one element): one vector load when `vector` (stride 1, aligned) and the group
// is full. Lanes past `count` are left as zero.
template <int VEC, typename T, typename C>
__device__ __forceinline__ void load_group(const T* p, int64_t stride, int count, bool vector, C (&v)[VEC]) {
  if constexpr (VEC > 1) {
    if (vector && count == VEC) {
      Vec<T, VEC> x = *vec_ptr<const Vec<T, VEC>>(p);
#pragma unroll
      for (int j = 0; j < VEC; ++j) v[j] = to_compute(x.v[j]);
      return;
    }
  }
  if (stride == 0) {
    C s = to_compute(p[0]);
#pragma unroll
    for (int j = 0; j < VEC; ++j) v[j] = s;
    return;
  }
#pragma unroll
  for (int j = 0; j < VEC; ++j) v[j] = j < count ? to_compute(p[j * stride]) : C(0);
}

// ---------------------------------------------------------------- binary kernel

struct BinaryArgs {
  StridedLayout<2> layout;
  Divisor groups_per_row;
  int64_t groups = 0;
  const void* a = nullptr;
  const void* b = nullptr;
  void* out = nullptr;
  BinaryOp op = BinaryOp::kAdd;
  bool out_bool = false;
  bool narrow = true;
  bool vec_a = false, vec_b = false, vec_out = false;
};

template <typename T, int VEC>
__global__ void __launch_bounds__(kThreads) binary_kernel(const __grid_constant__ BinaryArgs args) {
  using C = ComputeType<T>;
  const T* a = static_cast<const T*>(args.a);
  const T* b = static_cast<const T*>(args.b);
  const StridedLayout<2>& l = args.layout;
  for (int64_t g = global_thread(); g < args.groups; g += grid_threads()) {
    int64_t row = args.groups_per_row.div(g, args.narrow);
    int64_t col = (g - row * args.groups_per_row.value) * VEC;
    int count = static_cast<int>(l.inner - col < VEC ? l.inner - col : VEC);
    int64_t off[2];
    l.row_offsets(row, off, args.narrow);
    C va[VEC], vb[VEC];
    load_group<VEC>(a + off[0] + col * l.inner_stride[0], l.inner_stride[0], count, args.vec_a, va);
    load_group<VEC>(b + off[1] + col * l.inner_stride[1], l.inner_stride[1], count, args.vec_b, vb);
    int64_t o = row * l.inner + col;
    if (args.out_bool) {
      bool r[VEC];
      apply_compare<VEC>(args.op, va, vb, r);
      BoolByte s[VEC];
#pragma unroll
      for (int j = 0; j < VEC; ++j) s[j] = BoolByte{static_cast<uint8_t>(r[j] ? 1 : 0)};
      store_group_raw<VEC>(static_cast<BoolByte*>(args.out) + o, count, args.vec_out, s);
    } else {
      C r[VEC];
      if constexpr (kIsFloat<T>) apply_float<VEC>(args.op, va, vb, r);
      else apply_int<VEC>(args.op, va, vb, r);
      T s[VEC];
#pragma unroll
      for (int j = 0; j < VEC; ++j) s[j] = from_compute<T>(r[j]);
      store_group_raw<VEC>(static_cast<T*>(args.out) + o, count, args.vec_out, s);
    }
  }
}

// Elements per thread group for computing kernels: 16 bytes, at most 8 elements (int64
// compute values of 1-byte types would otherwise crowd the registers).
template <typename T>
constexpr int kComputeVec = kVec16<T> < 8 ? kVec16<T> : 8;

// ---------------------------------------------------------------- select kernel

struct SelectArgs {
  StridedLayout<3> layout;
  Divisor groups_per_row;
  int64_t groups = 0;
  const BoolByte* cond = nullptr;
  const void* a = nullptr;
  const void* b = nullptr;
  void* out = nullptr;
  bool narrow = true;
  bool vec_c = false, vec_a = false, vec_b = false, vec_out = false;
};

template <typename U, int VEC>
__global__ void __launch_bounds__(kThreads) select_kernel(const __grid_constant__ SelectArgs args) {
  const U* a = static_cast<const U*>(args.a);
  const U* b = static_cast<const U*>(args.b);
  const StridedLayout<3>& l = args.layout;
  for (int64_t g = global_thread(); g < args.groups; g += grid_threads()) {
    int64_t row = args.groups_per_row.div(g, args.narrow);
    int64_t col = (g - row * args.groups_per_row.value) * VEC;
    int count = static_cast<int>(l.inner - col < VEC ? l.inner - col : VEC);
    int64_t off[3];
    l.row_offsets(row, off, args.narrow);
    uint8_t c[VEC];
    load_group_raw<VEC>(reinterpret_cast<const uint8_t*>(args.cond) + off[0] + col * l.inner_stride[0], l.inner_stride[0],
                  count, args.vec_c, c);
    U va[VEC], vb[VEC], r[VEC];
    load_group_raw<VEC>(a + off[1] + col * l.inner_stride[1], l.inner_stride[1], count, args.vec_a, va);
    load_group_raw<VEC>(b + off[2] + col * l.inner_stride[2], l.inner_stride[2], count, args.vec_b, vb);
#pragma unroll
    for (int j = 0; j < VEC; ++j) r[j] = c[j] ? va[j] : vb[j];
    store_group_raw<VEC>(static_cast<U*>(args.out) + row * l.inner + col, count, args.vec_out, r);
  }
}

// ---------------------------------------------------------------- host side

bool is_bool_result(BinaryOp op) { return net::is_comparison(op); }

// Builds the broadcast layout of `out` reading each input; false if an input does not
// broadcast to the output.
template <int N>
Status broadcast_layout(const char* layer, const Tensors& in, const DeviceTensor& out, StridedLayout<N>* layout) {
  std::vector<std::vector<int64_t>> strides(N);
  for (int k = 0; k < N; ++k) {
    if (!broadcast_strides(in[static_cast<size_t>(k)].dims, out.dims, &strides[static_cast<size_t>(k)])) {
      return invalid_argument(layer, ": input #", k, " ", ingot::shape_str(in[static_cast<size_t>(k)].dims),
                              " does not broadcast to the output ", ingot::shape_str(out.dims));
    }
  }
  return make_layout<N>(layer, out.dims, std::move(strides), layout);
}

// An operand can take part in a vectorized group if it is vector-readable or broadcast along
// the row (inner stride 0).
template <int N>
bool group_friendly(const StridedLayout<N>& l, int k, const void* p, int vec, size_t bytes, bool* vector) {
  *vector = vector_readable(l, k, p, vec, bytes);
  return *vector || l.inner_stride[k] == 0;
}

}  // namespace

bool elementwise_supports(BinaryOp op, DType dtype) {
  if (op >= BinaryOp::kCount) return false;
  if (is_bool_result(op)) return true;
  switch (op) {
    case BinaryOp::kBitwiseAnd:
    case BinaryOp::kBitwiseOr:
    case BinaryOp::kBitwiseXor: return !is_float_dtype(dtype);
    case BinaryOp::kDiv:
    case BinaryOp::kAtan2: return is_float_dtype(dtype);
    default: return true;
  }
}

Status launch_elementwise(const net::ElementwiseParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "elementwise";
  if (in.size() != 2 || out.size() != 1) return invalid_argument(L, ": takes 2 inputs and 1 output");
  const DeviceTensor &a = in[0], &b = in[1], &y = out[0];
  if (a.dtype != b.dtype) return invalid_argument(L, ": inputs differ in dtype");
  if (!elementwise_supports(p.op, a.dtype)) {
    return invalid_argument(L, ": ", net::enum_name(p.op), " is not defined for ", ir::dtype_name(a.dtype), " inputs");
  }
  bool out_bool = is_bool_result(p.op);
  if (y.dtype != (out_bool ? DType::kBool : a.dtype)) {
    return invalid_argument(L, ": output dtype ", ir::dtype_name(y.dtype), " does not match the op");
  }
  int64_t n = y.numel();
  if (n == 0) return Status::ok();

  BinaryArgs args;
  INGOT_RETURN_IF_ERROR(broadcast_layout<2>(L, in, y, &args.layout));
  args.a = a.data;
  args.b = b.data;
  args.out = y.data;
  args.op = p.op;
  args.out_bool = out_bool;
  args.narrow = n < kNarrowLimit;
  bool dispatched = visit_dtype(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int V = kComputeVec<T>;
    const StridedLayout<2>& l = args.layout;
    bool ok = V > 1 && group_friendly(l, 0, a.data, V, sizeof(T), &args.vec_a) &&
              group_friendly(l, 1, b.data, V, sizeof(T), &args.vec_b) &&
              vector_writable(l, y.data, V, out_bool ? 1 : sizeof(T));
    if (ok && (args.vec_a || args.vec_b)) {
      args.vec_out = true;
      int64_t gpr = (l.inner + V - 1) / V;
      args.groups_per_row = Divisor::make(gpr);
      args.groups = gpr * l.rows;
      launch_kernel(binary_kernel<T, V>, grid_for(args.groups, kThreads), kThreads, 0, stream, args);
      return;
    }
    args.vec_a = args.vec_b = args.vec_out = false;
    args.groups_per_row = Divisor::make(l.inner);
    args.groups = n;
    launch_kernel(binary_kernel<T, 1>, grid_for(n, kThreads), kThreads, 0, stream, args);
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(a.dtype));
  return check_launch(L);
}

Status launch_select(const net::SelectParams&, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "select";
  if (in.size() != 3 || out.size() != 1) return invalid_argument(L, ": takes 3 inputs and 1 output");
  const DeviceTensor &c = in[0], &a = in[1], &b = in[2], &y = out[0];
  if (c.dtype != DType::kBool) return invalid_argument(L, ": condition must be bool");
  if (a.dtype != b.dtype || y.dtype != a.dtype) return invalid_argument(L, ": branches and output differ in dtype");
  int64_t n = y.numel();
  if (n == 0) return Status::ok();

  SelectArgs args;
  INGOT_RETURN_IF_ERROR(broadcast_layout<3>(L, in, y, &args.layout));
  args.cond = static_cast<const BoolByte*>(c.data);
  args.a = a.data;
  args.b = b.data;
  args.out = y.data;
  args.narrow = n < kNarrowLimit;
  bool dispatched = visit_size(ir::dtype_size(y.dtype), [&](auto tag) {
    using U = decltype(tag);
    constexpr int V = kVec16<U>;
    const StridedLayout<3>& l = args.layout;
    bool ok = group_friendly(l, 0, c.data, V, 1, &args.vec_c) && group_friendly(l, 1, a.data, V, sizeof(U), &args.vec_a) &&
              group_friendly(l, 2, b.data, V, sizeof(U), &args.vec_b) && vector_writable(l, y.data, V, sizeof(U));
    if (ok && (args.vec_c || args.vec_a || args.vec_b)) {
      args.vec_out = true;
      int64_t gpr = (l.inner + V - 1) / V;
      args.groups_per_row = Divisor::make(gpr);
      args.groups = gpr * l.rows;
      launch_kernel(select_kernel<U, V>, grid_for(args.groups, kThreads), kThreads, 0, stream, args);
      return;
    }
    args.vec_c = args.vec_a = args.vec_b = args.vec_out = false;
    args.groups_per_row = Divisor::make(l.inner);
    args.groups = n;
    launch_kernel(select_kernel<U, 1>, grid_for(n, kThreads), kThreads, 0, stream, args);
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(y.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
