#include <algorithm>

#include "kernels/cuda/reduce.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

using net::ReduceOp;

// ---------------------------------------------------------------- reduction ops

template <typename T>
using Acc = std::conditional_t<kIsFloat<T>, double, int64_t>;

template <typename T>
__device__ __forceinline__ Acc<T> acc_value(T v) {
  if constexpr (kIsFloat<T>) return static_cast<double>(to_float(v));
  else return to_int(v);
}

__device__ __forceinline__ double nan_max_d(double a, double b) {
  if (a != a) return a;
  if (b != b) return b;
  return a < b ? b : a;
}
__device__ __forceinline__ double nan_min_d(double a, double b) {
  if (a != a) return a;
  if (b != b) return b;
  return a > b ? b : a;
}

template <typename A>
struct SumOp {
  static __device__ __forceinline__ A init() { return A(0); }
  static __device__ __forceinline__ A combine(A a, A b) {
    if constexpr (std::is_same_v<A, int64_t>) return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
    else return a + b;
  }
};
template <typename A>
struct ProdOp {
  static __device__ __forceinline__ A init() { return A(1); }
  static __device__ __forceinline__ A combine(A a, A b) {
    if constexpr (std::is_same_v<A, int64_t>) return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
    else return a * b;
  }
};
template <typename A>
struct MaxOp {
  static __device__ __forceinline__ A init() {
    if constexpr (std::is_same_v<A, int64_t>) return INT64_MIN;
    else return -__longlong_as_double(0x7ff0000000000000ll);
  }
  static __device__ __forceinline__ A combine(A a, A b) {
    if constexpr (std::is_same_v<A, int64_t>) return a > b ? a : b;
    else return nan_max_d(a, b);
  }
};
template <typename A>
struct MinOp {
  static __device__ __forceinline__ A init() {
    if constexpr (std::is_same_v<A, int64_t>) return INT64_MAX;
    else return __longlong_as_double(0x7ff0000000000000ll);
  }
  static __device__ __forceinline__ A combine(A a, A b) {
    if constexpr (std::is_same_v<A, int64_t>) return a < b ? a : b;
    else return nan_min_d(a, b);
  }
};
template <typename A>
struct AnyOp {
  static __device__ __forceinline__ A init() { return A(0); }
  static __device__ __forceinline__ A combine(A a, A b) { return (a != A(0) || b != A(0)) ? A(1) : A(0); }
};
template <typename A>
struct AllOp {
  static __device__ __forceinline__ A init() { return A(1); }
  static __device__ __forceinline__ A combine(A a, A b) { return (a != A(0) && b != A(0)) ? A(1) : A(0); }
};

// Calls fn(Op{}) with the combining op of `op` (sum for mean and var).
template <typename A, typename Fn>
__device__ __forceinline__ void visit_op(ReduceOp op, Fn&& fn) {
  switch (op) {
    case ReduceOp::kProd: fn(ProdOp<A>{}); break;
    case ReduceOp::kMax: fn(MaxOp<A>{}); break;
    case ReduceOp::kMin: fn(MinOp<A>{}); break;
    case ReduceOp::kAny: fn(AnyOp<A>{}); break;
    case ReduceOp::kAll: fn(AllOp<A>{}); break;
    default: fn(SumOp<A>{}); break;
  }
}

template <typename T>
__device__ __forceinline__ void store_result(void* y, int64_t i, Acc<T> v, bool out_bool) {
  if (out_bool) {
    static_cast<BoolByte*>(y)[i] = BoolByte{static_cast<uint8_t>(v != Acc<T>(0) ? 1 : 0)};
  } else if constexpr (kIsFloat<T>) {
    static_cast<T*>(y)[i] = from_float<T>(static_cast<float>(v));
  } else {
    static_cast<T*>(y)[i] = from_int<T>(v);
  }
}

// ---------------------------------------------------------------- rows kernel

struct ReduceArgs {
  const void* x = nullptr;
  void* y = nullptr;
  ReduceOp op = ReduceOp::kSum;
  double correction = 0.0;
  int64_t rows = 0;   // output elements
  int64_t count = 0;  // input elements per output element
  Indexer kept;       // output index -> input offset of its first element
  Indexer reduced;    // reduced index -> offset from there (unused when contiguous)
  bool contiguous = false;
  bool vec = false;  // contiguous rows take aligned 16-byte loads
  bool block_per_row = false;
  bool narrow = true;
  bool out_bool = false;
};

constexpr int kRowsWarpThreads = 256;
constexpr int kRowsBlockThreads = 512;

// Partial result of thread t of a team of S threads over one output element's inputs.
template <typename T, typename Op, typename Map>
__device__ __forceinline__ Acc<T> accumulate(const ReduceArgs& a, int64_t base, int t, int S, Map map) {
  const T* x = static_cast<const T*>(a.x) + base;
  Acc<T> acc = Op::init();
  if (a.contiguous) {
    constexpr int V = kVec16<T>;
    if (a.vec) {
      int64_t chunks = a.count / V;
      for (int64_t c = t; c < chunks; c += S) {
        Vec<T, V> v = *vec_ptr<const Vec<T, V>>(x + c * V);
#pragma unroll
        for (int j = 0; j < V; ++j) acc = Op::combine(acc, map(acc_value(v.v[j])));
      }
      return acc;
    }
    for (int64_t r = t; r < a.count; r += S) acc = Op::combine(acc, map(acc_value(x[r])));
    return acc;
  }
  for (int64_t r = t; r < a.count; r += S) acc = Op::combine(acc, map(acc_value(x[a.reduced.offset(r, a.narrow)])));
  return acc;
}

template <typename Op, typename A>
__device__ __forceinline__ A team_reduce(A v, bool block) {
  auto combine = [](A p, A q) { return Op::combine(p, q); };
  if (block) return block_reduce(v, combine, Op::init());
  return warp_reduce(v, combine);
}

template <typename T, typename Op>
__device__ __forceinline__ void reduce_rows(const ReduceArgs& a) {
  using A = Acc<T>;
  const bool block = a.block_per_row;
  const int S = block ? static_cast<int>(blockDim.x) : 32;
  const int t = block ? static_cast<int>(threadIdx.x) : static_cast<int>(threadIdx.x & 31);
  const int64_t teams = block ? 1 : blockDim.x / 32;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * teams + (block ? 0 : threadIdx.x / 32);
  const int64_t step = static_cast<int64_t>(gridDim.x) * teams;
  for (int64_t row = first; row < a.rows; row += step) {
    int64_t base = a.kept.offset(row, a.narrow);
    A acc = accumulate<T, Op>(a, base, t, S, [](A v) { return v; });
    acc = team_reduce<Op>(acc, block);
    if constexpr (kIsFloat<T>) {
      if (a.op == ReduceOp::kMean || a.op == ReduceOp::kVar) {
        double n = static_cast<double>(a.count);
        double mean = acc / n;
        acc = mean;
        if (a.op == ReduceOp::kVar) {
          double m2 = accumulate<T, SumOp<double>>(a, base, t, S, [mean](double v) { return (v - mean) * (v - mean); });
          m2 = team_reduce<SumOp<double>>(m2, block);
          double divisor = n - a.correction > 0.0 ? n - a.correction : 0.0;
          acc = m2 / divisor;
        }
      }
    }
    if (t == 0) store_result<T>(a.y, row, acc, a.out_bool);
  }
}

template <typename T>
__global__ void __launch_bounds__(kRowsBlockThreads) reduce_rows_kernel(const __grid_constant__ ReduceArgs a) {
  visit_op<Acc<T>>(a.op, [&](auto op) { reduce_rows<T, decltype(op)>(a); });
}

// ---------------------------------------------------------------- columns kernel

// Input [k0, r, k1] (dense), output [k0, k1]: a block covers 32 consecutive k1 (threadIdx.x)
// and splits r over kColsRows thread rows (threadIdx.y).
struct ColsArgs {
  const void* x = nullptr;
  void* y = nullptr;
  ReduceOp op = ReduceOp::kSum;
  double correction = 0.0;
  int64_t k0 = 0, r = 0, k1 = 0;
  int64_t tiles = 0;
  Divisor col_tiles;
  bool narrow = true;
  bool out_bool = false;
};

constexpr int kColsRows = 16;

template <typename T, typename Op>
__device__ __forceinline__ void reduce_cols(const ColsArgs& a, Acc<T> (*part)[33], double* mean_of) {
  using A = Acc<T>;
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t tile = blockIdx.x; tile < a.tiles; tile += gridDim.x) {
    int64_t i0 = a.col_tiles.div(tile, a.narrow);
    int64_t k1 = (tile - i0 * a.col_tiles.value) * 32 + tx;
    bool valid = k1 < a.k1;
    const T* col = static_cast<const T*>(a.x) + i0 * a.r * a.k1 + k1;
    A acc = Op::init();
    if (valid) {
      for (int64_t r = ty; r < a.r; r += kColsRows) acc = Op::combine(acc, acc_value(col[r * a.k1]));
    }
    part[ty][tx] = acc;
    __syncthreads();
    if (ty == 0) {
      for (int k = 1; k < kColsRows; ++k) acc = Op::combine(acc, part[k][tx]);
    }
    if constexpr (kIsFloat<T>) {
      if (a.op == ReduceOp::kMean || a.op == ReduceOp::kVar) {
        double n = static_cast<double>(a.r);
        if (ty == 0) {
          acc = acc / n;
          mean_of[tx] = acc;
        }
        if (a.op == ReduceOp::kVar) {
          __syncthreads();
          double mean = mean_of[tx];
          double m2 = 0.0;
          if (valid) {
            for (int64_t r = ty; r < a.r; r += kColsRows) {
              double d = acc_value(col[r * a.k1]) - mean;
              m2 += d * d;
            }
          }
          __syncthreads();  // everyone is done with part[] of the first pass
          part[ty][tx] = m2;
          __syncthreads();
          if (ty == 0) {
            for (int k = 1; k < kColsRows; ++k) m2 += part[k][tx];
            double divisor = n - a.correction > 0.0 ? n - a.correction : 0.0;
            acc = m2 / divisor;
          }
        }
      }
    }
    if (ty == 0 && valid) store_result<T>(a.y, i0 * a.k1 + k1, acc, a.out_bool);
    __syncthreads();  // part[] is rewritten by the next tile
  }
}

template <typename T>
__global__ void __launch_bounds__(32 * kColsRows) reduce_cols_kernel(const __grid_constant__ ColsArgs a) {
  __shared__ Acc<T> part[kColsRows][33];
  __shared__ double mean_of[32];
  visit_op<Acc<T>>(a.op, [&](auto op) { reduce_cols<T, decltype(op)>(a, part, mean_of); });
}

// ---------------------------------------------------------------- softmax

struct SoftmaxArgs {
  const void* x = nullptr;
  void* y = nullptr;
  int64_t rows = 0;  // outer (times inner for the columns kernel)
  int64_t len = 0;   // elements along the axis
  int64_t inner = 1;
  Divisor inner_div;
  bool log = false;
  bool vec = false;
  bool narrow = true;
};

constexpr int kSoftmaxWarpThreads = 128;
constexpr float kNegInf = -__builtin_huge_valf();

template <typename T, int E>
__global__ void __launch_bounds__(kSoftmaxWarpThreads) softmax_warp_kernel(const __grid_constant__ SoftmaxArgs a) {
  constexpr int V = kRowVec<T, E>;
  const int lane = threadIdx.x & 31;
  const int64_t warps = blockDim.x / 32;
  for (int64_t row = blockIdx.x * warps + threadIdx.x / 32; row < a.rows; row += gridDim.x * warps) {
    const T* x = static_cast<const T*>(a.x) + row * a.len;
    T* y = static_cast<T*>(a.y) + row * a.len;
    float v[E];
    load_row<T, E>(x, a.len, lane, a.vec, kNegInf, v);
    float m = kNegInf;
#pragma unroll
    for (int i = 0; i < E; ++i) m = nan_max(m, v[i]);
    m = warp_max(m);
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < E; ++i) {
      float e = slot<E, V>(i, lane, a.vec) < a.len ? expf(v[i] - m) : 0.0f;
      s += e;
      if (!a.log) v[i] = e;
    }
    s = warp_sum(s);
    if (a.log) {
      float ls = logf(s);
#pragma unroll
      for (int i = 0; i < E; ++i) v[i] = (v[i] - m) - ls;
    } else {
#pragma unroll
      for (int i = 0; i < E; ++i) v[i] = v[i] / s;
    }
    store_row<T, E>(y, a.len, lane, a.vec, v);
  }
}

constexpr int kMaxCachedFloats = 11776;  // 46 KiB of dynamic shared memory

template <typename T>
__global__ void __launch_bounds__(1024) softmax_block_kernel(const __grid_constant__ SoftmaxArgs a) {
  float* cache = dynamic_smem<float>();  // a.len floats when the launch provides them, else none
  const bool cached = a.len <= kMaxCachedFloats;
  const int t = threadIdx.x, S = blockDim.x;
  auto max_op = [](float p, float q) { return nan_max(p, q); };
  auto sum_op = [](float p, float q) { return p + q; };
  for (int64_t row = blockIdx.x; row < a.rows; row += gridDim.x) {
    const T* x = static_cast<const T*>(a.x) + row * a.len;
    T* y = static_cast<T*>(a.y) + row * a.len;
    float m = kNegInf;
    for (int64_t i = t; i < a.len; i += S) {
      float v = to_float(x[i]);
      if (cached) cache[i] = v;
      m = nan_max(m, v);
    }
    m = block_reduce(m, max_op, kNegInf);
    float s = 0.0f;
    for (int64_t i = t; i < a.len; i += S) {
      float e = expf((cached ? cache[i] : to_float(x[i])) - m);
      if (cached && !a.log) cache[i] = e;
      s += e;
    }
    s = block_reduce(s, sum_op, 0.0f);
    float ls = logf(s);
    for (int64_t i = t; i < a.len; i += S) {
      float r;
      if (a.log) r = ((cached ? cache[i] : to_float(x[i])) - m) - ls;
      else r = (cached ? cache[i] : expf(to_float(x[i]) - m)) / s;
      y[i] = from_float<T>(r);
    }
  }
}

// Softmax along a non-innermost axis: a thread per (outer, inner) column.
template <typename T>
__global__ void __launch_bounds__(256) softmax_cols_kernel(const __grid_constant__ SoftmaxArgs a) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  for (int64_t c = global_thread(); c < a.rows; c += grid_threads()) {
    int64_t o = a.inner_div.div(c, a.narrow);
    int64_t base = o * a.len * a.inner + (c - o * a.inner);
    float m = kNegInf;
    for (int64_t l = 0; l < a.len; ++l) m = nan_max(m, to_float(x[base + l * a.inner]));
    float s = 0.0f;
    for (int64_t l = 0; l < a.len; ++l) s += expf(to_float(x[base + l * a.inner]) - m);
    float ls = logf(s);
    for (int64_t l = 0; l < a.len; ++l) {
      float v = to_float(x[base + l * a.inner]);
      y[base + l * a.inner] = from_float<T>(a.log ? (v - m) - ls : expf(v - m) / s);
    }
  }
}

template <typename Fn>
bool visit_float_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::kFloat32: fn(float{}); return true;
    case DType::kFloat16: fn(__half{}); return true;
    case DType::kBFloat16: fn(__nv_bfloat16{}); return true;
    default: return false;
  }
}

// Launches the warp-per-row softmax with E elements per lane (E a power of two, 1..32).
template <typename T>
void launch_softmax_warp(const SoftmaxArgs& a, int e, cudaStream_t stream) {
  unsigned grid = grid_for(a.rows, kSoftmaxWarpThreads / 32);
  switch (e) {
    case 1: launch_kernel(softmax_warp_kernel<T, 1>, grid, kSoftmaxWarpThreads, 0, stream, a); break;
    case 2: launch_kernel(softmax_warp_kernel<T, 2>, grid, kSoftmaxWarpThreads, 0, stream, a); break;
    case 4: launch_kernel(softmax_warp_kernel<T, 4>, grid, kSoftmaxWarpThreads, 0, stream, a); break;
    case 8: launch_kernel(softmax_warp_kernel<T, 8>, grid, kSoftmaxWarpThreads, 0, stream, a); break;
    case 16: launch_kernel(softmax_warp_kernel<T, 16>, grid, kSoftmaxWarpThreads, 0, stream, a); break;
    default: launch_kernel(softmax_warp_kernel<T, 32>, grid, kSoftmaxWarpThreads, 0, stream, a); break;
  }
}

int64_t product(const std::vector<int64_t>& d, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end && i < d.size(); ++i) n *= d[i];
  return n;
}

// Runs of kept or reduced axes (size-1 axes dropped, neighbours of one kind merged).
struct Run {
  int64_t size;
  int64_t stride;
  bool reduced;
};

Indexer make_indexer(const std::vector<Run>& runs) {  // runs outermost first
  Indexer ix;
  ix.rank = static_cast<int>(runs.size());
  for (int d = 0; d < ix.rank; ++d) {
    const Run& r = runs[runs.size() - 1 - static_cast<size_t>(d)];
    ix.dims[d] = Divisor::make(r.size);
    ix.strides[d] = r.stride;
  }
  return ix;
}

}  // namespace

bool reduce_supports(ReduceOp op, DType dtype) {
  if (op >= ReduceOp::kCount) return false;
  if (op == ReduceOp::kMean || op == ReduceOp::kVar) return is_float_dtype(dtype);
  return true;
}

Status launch_reduce(const net::ReduceParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "reduce";
  if (in.size() != 1 || out.size() != 1) return invalid_argument(L, ": takes 1 input and 1 output");
  const DeviceTensor &x = in[0], &y = out[0];
  if (!reduce_supports(p.op, x.dtype)) return invalid_argument(L, ": ", net::enum_name(p.op), " is not defined for ", ir::dtype_name(x.dtype));
  bool out_bool = p.op == ReduceOp::kAny || p.op == ReduceOp::kAll;
  if (y.dtype != (out_bool ? DType::kBool : x.dtype)) return invalid_argument(L, ": output dtype ", ir::dtype_name(y.dtype), " does not match");
  std::vector<int64_t> dims = x.dims.empty() ? std::vector<int64_t>{1} : x.dims;
  std::vector<bool> is_reduced(dims.size(), false);
  for (size_t i = 0; i < p.axes.size(); ++i) {
    int64_t a = p.axes[i];
    if (a < 0 || a >= static_cast<int64_t>(dims.size()) || (i > 0 && a <= p.axes[i - 1])) {
      return invalid_argument(L, ": axes ", ingot::shape_str(p.axes), " must be sorted, unique and within rank ", x.dims.size());
    }
    is_reduced[static_cast<size_t>(a)] = true;
  }
  int64_t kept_count = 1, count = 1;
  for (size_t d = 0; d < dims.size(); ++d) (is_reduced[d] ? count : kept_count) *= dims[d];
  if (y.numel() != kept_count) return invalid_argument(L, ": output ", ingot::shape_str(y.dims), " does not match the kept dims");
  if (y.numel() == 0) return Status::ok();
  if ((p.op == ReduceOp::kMax || p.op == ReduceOp::kMin) && count == 0) {
    return invalid_argument(L, ": ", net::enum_name(p.op), " over an empty set of elements (input ", ingot::shape_str(x.dims), ")");
  }

  std::vector<int64_t> strides = dense_strides(dims);
  std::vector<Run> runs;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) continue;
    if (!runs.empty() && runs.back().reduced == is_reduced[d]) {
      runs.back().size *= dims[d];
      runs.back().stride = strides[d];
      continue;
    }
    runs.push_back(Run{dims[d], strides[d], is_reduced[d]});
  }
  std::vector<Run> kept, reduced;
  for (const Run& r : runs) (r.reduced ? reduced : kept).push_back(r);
  if (kept.size() > static_cast<size_t>(kMaxRank) || reduced.size() > static_cast<size_t>(kMaxRank)) {
    return unsupported(L, ": too many separate runs of axes in ", ingot::shape_str(x.dims));
  }
  bool last_reduced = !runs.empty() && runs.back().reduced;
  bool narrow = std::max(x.numel(), kept_count) < kNarrowLimit;

  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if (reduced.size() == 1 && !last_reduced) {
      // [k0, r, k1] with k1 > 1.
      ColsArgs a;
      a.x = x.data;
      a.y = y.data;
      a.op = p.op;
      a.correction = p.correction;
      a.r = reduced[0].size;
      a.k1 = runs.back().size;
      a.k0 = kept_count / a.k1;
      int64_t col_tiles = (a.k1 + 31) / 32;
      a.col_tiles = Divisor::make(col_tiles);
      a.tiles = a.k0 * col_tiles;
      a.narrow = narrow;
      a.out_bool = out_bool;
      unsigned grid = static_cast<unsigned>(std::min(a.tiles, kMaxGridBlocks));
      launch_kernel(reduce_cols_kernel<T>, grid, dim3(32, kColsRows), 0, stream, a);
      return;
    }
    ReduceArgs a;
    a.x = x.data;
    a.y = y.data;
    a.op = p.op;
    a.correction = p.correction;
    a.rows = kept_count;
    a.count = count;
    a.kept = make_indexer(kept);
    a.reduced = make_indexer(reduced);
    a.contiguous = reduced.empty() || (reduced.size() == 1 && last_reduced);
    a.vec = a.contiguous && count % kVec16<T> == 0 && aligned_to(x.data, 16);
    a.narrow = narrow;
    a.out_bool = out_bool;
    a.block_per_row = count > 4096 || (count > 256 && kept_count < 1024);
    if (a.block_per_row) {
      unsigned grid = static_cast<unsigned>(std::min(kept_count, kMaxGridBlocks));
      launch_kernel(reduce_rows_kernel<T>, grid, kRowsBlockThreads, 0, stream, a);
    } else {
      launch_kernel(reduce_rows_kernel<T>, grid_for(kept_count, kRowsWarpThreads / 32), kRowsWarpThreads, 0, stream, a);
    }
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

Status launch_softmax(const net::SoftmaxParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "softmax";
  if (in.size() != 1 || out.size() != 1) return invalid_argument(L, ": takes 1 input and 1 output");
  const DeviceTensor &x = in[0], &y = out[0];
  if (!is_float_dtype(x.dtype) || y.dtype != x.dtype || y.numel() != x.numel()) {
    return invalid_argument(L, ": needs a floating input and a matching output, got ", ir::dtype_name(x.dtype), " -> ",
                            ir::dtype_name(y.dtype));
  }
  std::vector<int64_t> dims = x.dims.empty() ? std::vector<int64_t>{1} : x.dims;
  int64_t rank = static_cast<int64_t>(dims.size());
  if (p.axis < -rank || p.axis >= rank) return invalid_argument(L, ": axis ", p.axis, " out of range for rank ", x.dims.size());
  size_t axis = static_cast<size_t>(p.axis < 0 ? p.axis + rank : p.axis);
  if (x.numel() == 0) return Status::ok();

  SoftmaxArgs a;
  a.x = x.data;
  a.y = y.data;
  a.log = p.log;
  a.len = dims[axis];
  a.inner = product(dims, axis + 1, dims.size());
  int64_t outer = product(dims, 0, axis);
  a.narrow = x.numel() < kNarrowLimit;
  bool dispatched = visit_float_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if (a.inner > 1) {
      a.rows = outer * a.inner;
      a.inner_div = Divisor::make(a.inner);
      launch_kernel(softmax_cols_kernel<T>, grid_for(a.rows, 256), 256, 0, stream, a);
      return;
    }
    a.rows = outer;
    if (a.len <= 1024) {
      int e = 1;
      while (e * 32 < a.len) e *= 2;
      int v = std::min(e, kVec16<T>);
      a.vec = a.len % v == 0 && aligned_to(x.data, static_cast<size_t>(v) * sizeof(T)) &&
              aligned_to(y.data, static_cast<size_t>(v) * sizeof(T));
      launch_softmax_warp<T>(a, e, stream);
      return;
    }
    int threads = static_cast<int>(std::clamp<int64_t>((a.len / 8 + 31) / 32 * 32, 128, 1024));
    size_t smem = a.len <= kMaxCachedFloats ? static_cast<size_t>(a.len) * sizeof(float) : 0;
    unsigned grid = static_cast<unsigned>(std::min(outer, kMaxGridBlocks));
    launch_kernel(softmax_block_kernel<T>, grid, threads, smem, stream, a);
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
