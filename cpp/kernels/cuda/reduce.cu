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

// ---------------------------------------------------------------- split columns kernel

// Input [k0, r, k1] (dense), output [k0, k1], for every op but var: a block covers a tile of
// lanes * V consecutive k1 (V per thread: 16-byte loads when k1 and the pointer allow) and
// 256 / lanes rows at a time, combined by a tree in shared memory. With a workspace, the r rows
// are split over several blocks (a mean over the H * W of a channels-last activation has few
// output columns and long columns); their partial results go to the workspace, [k0, splits, k1]
// of Acc, and a second kernel combines them.
struct SplitArgs {
  const void* x = nullptr;
  void* y = nullptr;
  void* partial = nullptr;  // when splits > 1
  ReduceOp op = ReduceOp::kSum;
  int64_t k0 = 0, r = 0, k1 = 0;
  int64_t col_tiles = 0, splits = 1, chunk = 0;  // chunk: rows per split
  int64_t items = 0;                             // k0 * col_tiles * splits
  int lanes = 1;
  bool out_bool = false;
  bool partial_only = false;  // write the partial results even with one split (launch_column_sums)
  bool add_atomic = false;    // add them into partial [k0, k1] instead (launch_column_sums_add)
};

constexpr int kSplitThreads = 256;
// The split count aims at one wave of the kernel's blocks (split_wave); 264 (two blocks an SM of
// an H100 / H200) where that is unknown. More than a wave was slower (note 16).
constexpr int64_t kSplitTargetBlocks = 264;
constexpr int kRowLoads = 4;                 // rows a thread loads before it adds them (8 was slower, note 19)
constexpr int64_t kMaxSplits = 64;

template <typename T>
__device__ __forceinline__ Acc<T> finish_split(const SplitArgs& a, Acc<T> v) {
  if constexpr (kIsFloat<T>) {
    if (a.op == ReduceOp::kMean) return v / static_cast<double>(a.r);
  }
  return v;
}

// Sums of 16-bit floats add each round of kRowLoads rows in float before the double.
template <typename T, typename Op>
constexpr bool kRoundsInFloat = (std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) && std::is_same_v<Op, SumOp<double>>;

template <typename T, int V, typename Op>
__device__ __forceinline__ void reduce_split(const SplitArgs& a, Acc<T>* part) {
  using A = Acc<T>;
  const int L = a.lanes, R = kSplitThreads / L;  // threads past L * R stay idle (L need not divide 256)
  const int tx = static_cast<int>(threadIdx.x) % L, ty = static_cast<int>(threadIdx.x) / L;
  for (int64_t item = blockIdx.x; item < a.items; item += gridDim.x) {
    int64_t s = item % a.splits, rest = item / a.splits;
    int64_t tile = rest % a.col_tiles, i0 = rest / a.col_tiles;
    int64_t c0 = (tile * L + tx) * V;
    int64_t r_begin = s * a.chunk, r_end = r_begin + a.chunk < a.r ? r_begin + a.chunk : a.r;
    A acc[V];
#pragma unroll
    for (int j = 0; j < V; ++j) acc[j] = Op::init();
    if (c0 < a.k1 && ty < R) {  // kRowLoads rows' loads in flight a thread (one at a time ran at ~25% of DRAM bandwidth)
      const T* col = static_cast<const T*>(a.x) + i0 * a.r * a.k1 + c0;
      for (int64_t row0 = r_begin + ty; row0 < r_end; row0 += kRowLoads * R) {
        Vec<T, V> v[kRowLoads];
#pragma unroll
        for (int u = 0; u < kRowLoads; ++u) {
          const int64_t row = row0 + u * R;
          if (row >= r_end) break;
          if constexpr (V > 1) v[u] = *vec_ptr<const Vec<T, V>>(col + row * a.k1);
          else v[u].v[0] = col[row * a.k1];
        }
        if constexpr (kRoundsInFloat<T, Op>) {
          // A round's rows added in float first (exact for a handful of 16-bit values), then once
          // to the double: a conversion to double an element ran at the 64-bit conversion rate
          // (16 a clock an SM), a quarter of the element rate at bandwidth (note 28).
          float f[V];
#pragma unroll
          for (int j = 0; j < V; ++j) f[j] = 0.0f;
#pragma unroll
          for (int u = 0; u < kRowLoads; ++u) {
            if (row0 + u * R >= r_end) break;
#pragma unroll
            for (int j = 0; j < V; ++j) f[j] += to_float(v[u].v[j]);
          }
#pragma unroll
          for (int j = 0; j < V; ++j) acc[j] += static_cast<double>(f[j]);
        } else {
#pragma unroll
          for (int u = 0; u < kRowLoads; ++u) {
            if (row0 + u * R >= r_end) break;
#pragma unroll
            for (int j = 0; j < V; ++j) acc[j] = Op::combine(acc[j], acc_value(v[u].v[j]));
          }
        }
      }
    }
#pragma unroll
    for (int j = 0; j < V; ++j) part[threadIdx.x * V + j] = acc[j];
    __syncthreads();
    for (int rows = R; rows > 1;) {  // rows [half, rows) fold onto [0, rows - half)
      const int half = (rows + 1) / 2;
      if (ty < rows - half) {
        A* mine = part + (ty * L + tx) * V;
        const A* other = part + ((ty + half) * L + tx) * V;
#pragma unroll
        for (int j = 0; j < V; ++j) mine[j] = Op::combine(mine[j], other[j]);
      }
      rows = half;
      __syncthreads();
    }
    if (ty == 0 && c0 < a.k1) {
#pragma unroll
      for (int j = 0; j < V; ++j) {
        A v = part[tx * V + j];
        if constexpr (std::is_same_v<A, double>) {
          if (a.add_atomic) {
            atomicAdd(static_cast<double*>(a.partial) + i0 * a.k1 + c0 + j, v);
            continue;
          }
        }
        if (a.splits > 1 || a.partial_only) static_cast<A*>(a.partial)[(i0 * a.splits + s) * a.k1 + c0 + j] = v;
        else store_result<T>(a.y, i0 * a.k1 + c0 + j, finish_split<T>(a, v), a.out_bool);
      }
    }
    __syncthreads();  // part[] is rewritten by the next item
  }
}

template <typename T, int V>
__global__ void __launch_bounds__(kSplitThreads) reduce_split_kernel(const __grid_constant__ SplitArgs a) {
  __shared__ Acc<T> part[kSplitThreads * V];
  visit_op<Acc<T>>(a.op, [&](auto op) { reduce_split<T, V, decltype(op)>(a, part); });
}

// Combines the splits' partial results of each output element.
template <typename T>
__global__ void __launch_bounds__(256) reduce_split_finish_kernel(const __grid_constant__ SplitArgs a) {
  visit_op<Acc<T>>(a.op, [&](auto op) {
    using Op = decltype(op);
    for (int64_t i = global_thread(); i < a.k0 * a.k1; i += grid_threads()) {
      int64_t i0 = i / a.k1, c = i - i0 * a.k1;
      const Acc<T>* p = static_cast<const Acc<T>*>(a.partial) + i0 * a.splits * a.k1 + c;
      Acc<T> v = Op::init();
      for (int64_t sp = 0; sp < a.splits; ++sp) v = Op::combine(v, p[sp * a.k1]);
      store_result<T>(a.y, i, finish_split<T>(a, v), a.out_bool);
    }
  });
}

// Elements per thread of the split kernel for a row of k1 elements of `elem_bytes` each when the
// pointer is 16-byte aligned (1 otherwise).
int split_vector(int64_t k1, size_t elem_bytes) {
  if (elem_bytes != 2 && elem_bytes != 4) return 1;
  int v = static_cast<int>(16 / elem_bytes);
  return k1 % v == 0 ? v : 1;
}

// Threads a block puts along a row: all of its vectors up to 32, else as many per column tile as
// balanced tiles of at most 32 need (144 vectors: 5 tiles of 29). Not a power of two in general:
// a power of two left up to 14 of 32 lanes idle (C = 144 in fp16, 18 vectors, note 26).
int split_lanes(int64_t vectors) {
  if (vectors <= 32) return static_cast<int>(vectors < 1 ? 1 : vectors);
  const int64_t tiles = (vectors + 31) / 32;
  return static_cast<int>((vectors + tiles - 1) / tiles);
}

// Blocks of the split kernel for `dtype` at vector width v that the device holds at once.
int64_t split_wave(DType dtype, int v) {
  int64_t wave = kSplitTargetBlocks;
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if (v == 8) wave = resident_blocks(reduce_split_kernel<T, 8>, kSplitThreads, 0);
    else if (v == 4) wave = resident_blocks(reduce_split_kernel<T, 4>, kSplitThreads, 0);
    else wave = resident_blocks(reduce_split_kernel<T, 1>, kSplitThreads, 0);
  });
  return wave;
}

// How many blocks share the rows of one column tile: as many as one wave of the kernel holds
// (split_wave), while each row-thread keeps two rows at least. It depends on the shapes, the
// dtype and the device alone (not on the pointers), so that the workspace a runner reserves at
// prepare time fits every launch.
int64_t split_count(int64_t k0, int64_t r, int64_t k1, DType dtype) {
  if (r <= 0 || k0 <= 0 || k1 <= 0) return 1;
  int v = split_vector(k1, ir::dtype_size(dtype));
  int64_t vectors = (k1 + v - 1) / v;
  int lanes = split_lanes(vectors);
  int64_t work = k0 * ((vectors + lanes - 1) / lanes);
  int64_t want = split_wave(dtype, v) / work;  // whole waves: a partial second wave pays a whole row walk
  int64_t most = r / (2 * (kSplitThreads / lanes));
  int64_t splits = std::max<int64_t>(1, std::min({want, most, kMaxSplits}));
  int64_t chunk = (r + splits - 1) / splits;
  return std::max<int64_t>(1, (r + chunk - 1) / chunk);  // no empty split
}

// Completes `a` (x, k0, r, k1, splits set) with the geometry of its launch and launches the
// split kernel.
template <typename T>
void launch_split(SplitArgs& a, cudaStream_t stream) {
  int v = split_vector(a.k1, sizeof(T));
  if (!aligned_to(a.x, 16)) v = 1;
  int64_t vectors = (a.k1 + v - 1) / v;
  a.lanes = split_lanes(vectors);
  a.col_tiles = (vectors + a.lanes - 1) / a.lanes;
  a.chunk = (a.r + a.splits - 1) / a.splits;
  a.items = a.k0 * a.col_tiles * a.splits;
  unsigned grid = static_cast<unsigned>(std::min(a.items, kMaxGridBlocks));
  if (v == 8) launch_kernel(reduce_split_kernel<T, 8>, grid, kSplitThreads, 0, stream, a);
  else if (v == 4) launch_kernel(reduce_split_kernel<T, 4>, grid, kSplitThreads, 0, stream, a);
  else launch_kernel(reduce_split_kernel<T, 1>, grid, kSplitThreads, 0, stream, a);
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

namespace {

// A reduction's axes as runs (reduce.cuh) and the counts the kernels take.
struct ReduceShape {
  std::vector<Run> runs, kept, reduced;
  int64_t kept_count = 1, count = 1;
  bool last_reduced = false;
  bool out_bool = false;
  // [k0, r, k1] with k1 > 1: the columns kernels.
  bool columns() const { return reduced.size() == 1 && !last_reduced; }
};

Expected<ReduceShape> analyze(const net::ReduceParams& p, const Tensors& in, const Tensors& out) {
  const char* L = "reduce";
  if (in.size() != 1 || out.size() != 1) return invalid_argument(L, ": takes 1 input and 1 output");
  const DeviceTensor &x = in[0], &y = out[0];
  if (!reduce_supports(p.op, x.dtype)) return invalid_argument(L, ": ", net::enum_name(p.op), " is not defined for ", ir::dtype_name(x.dtype));
  ReduceShape sh;
  sh.out_bool = p.op == ReduceOp::kAny || p.op == ReduceOp::kAll;
  if (y.dtype != (sh.out_bool ? DType::kBool : x.dtype)) return invalid_argument(L, ": output dtype ", ir::dtype_name(y.dtype), " does not match");
  std::vector<int64_t> dims = x.dims.empty() ? std::vector<int64_t>{1} : x.dims;
  std::vector<bool> is_reduced(dims.size(), false);
  for (size_t i = 0; i < p.axes.size(); ++i) {
    int64_t a = p.axes[i];
    if (a < 0 || a >= static_cast<int64_t>(dims.size()) || (i > 0 && a <= p.axes[i - 1])) {
      return invalid_argument(L, ": axes ", ingot::shape_str(p.axes), " must be sorted, unique and within rank ", x.dims.size());
    }
    is_reduced[static_cast<size_t>(a)] = true;
  }
  for (size_t d = 0; d < dims.size(); ++d) (is_reduced[d] ? sh.count : sh.kept_count) *= dims[d];
  if (y.numel() != sh.kept_count) return invalid_argument(L, ": output ", ingot::shape_str(y.dims), " does not match the kept dims");
  if ((p.op == ReduceOp::kMax || p.op == ReduceOp::kMin) && sh.count == 0 && sh.kept_count > 0) {
    return invalid_argument(L, ": ", net::enum_name(p.op), " over an empty set of elements (input ", ingot::shape_str(x.dims), ")");
  }
  std::vector<int64_t> strides = dense_strides(dims);
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) continue;
    if (!sh.runs.empty() && sh.runs.back().reduced == is_reduced[d]) {
      sh.runs.back().size *= dims[d];
      sh.runs.back().stride = strides[d];
      continue;
    }
    sh.runs.push_back(Run{dims[d], strides[d], is_reduced[d]});
  }
  for (const Run& r : sh.runs) (r.reduced ? sh.reduced : sh.kept).push_back(r);
  if (sh.kept.size() > static_cast<size_t>(kMaxRank) || sh.reduced.size() > static_cast<size_t>(kMaxRank)) {
    return unsupported(L, ": too many separate runs of axes in ", ingot::shape_str(x.dims));
  }
  sh.last_reduced = !sh.runs.empty() && sh.runs.back().reduced;
  return sh;
}

// The split columns kernel serves every columns reduction but var (two passes).
bool uses_split(const net::ReduceParams& p, const ReduceShape& sh) { return sh.columns() && p.op != ReduceOp::kVar; }

}  // namespace

int64_t column_splits(int64_t k0, int64_t r, int64_t k1, DType dtype) { return split_count(k0, r, k1, dtype); }

namespace {

// The column sums' split launch: into `out` as [k0, splits, k1] partial sums, or with
// `add_atomic` added into [k0, k1].
Status launch_sums(const DeviceTensor& x, int64_t k0, int64_t r, int64_t k1, void* out, bool add_atomic,
                   cudaStream_t stream) {
  if (k0 * r * k1 != x.numel()) return invalid_argument("column sums: ", ingot::shape_str(x.dims), " is not [", k0, ", ", r, ", ", k1, "]");
  if (!out && k0 * k1 > 0) return invalid_argument("column sums: no ", add_atomic ? "output" : "workspace");
  if (x.numel() == 0) return Status::ok();
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      SplitArgs a;
      a.x = x.data;
      a.op = ReduceOp::kSum;
      a.k0 = k0, a.r = r, a.k1 = k1;
      a.splits = column_splits(k0, r, k1, x.dtype);
      a.partial = out;
      a.partial_only = !add_atomic;
      a.add_atomic = add_atomic;
      launch_split<T>(a, stream);
    }
  });
  if (!dispatched || !ir::is_floating(x.dtype)) return unsupported("column sums of ", ir::dtype_name(x.dtype));
  return check_launch("column sums");
}

}  // namespace

Status launch_column_sums(const DeviceTensor& x, int64_t k0, int64_t r, int64_t k1, void* partial, cudaStream_t stream) {
  return launch_sums(x, k0, r, k1, partial, false, stream);
}

Status launch_column_sums_add(const DeviceTensor& x, int64_t k0, int64_t r, int64_t k1, double* sums, cudaStream_t stream) {
  return launch_sums(x, k0, r, k1, sums, true, stream);
}

size_t reduce_workspace(const net::ReduceParams& p, const Tensors& in, const Tensors& out) {
  Expected<ReduceShape> sh = analyze(p, in, out);
  if (!sh.has_value() || !uses_split(p, *sh) || out[0].numel() == 0) return 0;
  int64_t r = sh->reduced[0].size, k1 = sh->runs.back().size, k0 = sh->kept_count / k1;
  int64_t splits = split_count(k0, r, k1, in[0].dtype);
  return splits > 1 ? static_cast<size_t>(k0 * splits * k1) * sizeof(int64_t) : 0;  // Acc is 8 bytes
}

Status launch_reduce(const net::ReduceParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream,
                     void* workspace) {
  const char* L = "reduce";
  INGOT_ASSIGN_OR_RETURN(ReduceShape sh, analyze(p, in, out));
  const DeviceTensor &x = in[0], &y = out[0];
  if (y.numel() == 0) return Status::ok();
  bool narrow = std::max(x.numel(), sh.kept_count) < kNarrowLimit;

  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if (uses_split(p, sh)) {
      SplitArgs a;
      a.x = x.data;
      a.y = y.data;
      a.op = p.op;
      a.r = sh.reduced[0].size;
      a.k1 = sh.runs.back().size;
      a.k0 = sh.kept_count / a.k1;
      a.out_bool = sh.out_bool;
      a.splits = workspace ? split_count(a.k0, a.r, a.k1, x.dtype) : 1;
      a.partial = workspace;
      launch_split<T>(a, stream);
      if (a.splits > 1) launch_kernel(reduce_split_finish_kernel<T>, grid_for(a.k0 * a.k1, 256), 256, 0, stream, a);
      return;
    }
    if (sh.columns()) {
      // [k0, r, k1] with k1 > 1 (var).
      ColsArgs a;
      a.x = x.data;
      a.y = y.data;
      a.op = p.op;
      a.correction = p.correction;
      a.r = sh.reduced[0].size;
      a.k1 = sh.runs.back().size;
      a.k0 = sh.kept_count / a.k1;
      int64_t col_tiles = (a.k1 + 31) / 32;
      a.col_tiles = Divisor::make(col_tiles);
      a.tiles = a.k0 * col_tiles;
      a.narrow = narrow;
      a.out_bool = sh.out_bool;
      unsigned grid = static_cast<unsigned>(std::min(a.tiles, kMaxGridBlocks));
      launch_kernel(reduce_cols_kernel<T>, grid, dim3(32, kColsRows), 0, stream, a);
      return;
    }
    ReduceArgs a;
    a.x = x.data;
    a.y = y.data;
    a.op = p.op;
    a.correction = p.correction;
    a.rows = sh.kept_count;
    a.count = sh.count;
    a.kept = make_indexer(sh.kept);
    a.reduced = make_indexer(sh.reduced);
    a.contiguous = sh.reduced.empty() || (sh.reduced.size() == 1 && sh.last_reduced);
    a.vec = a.contiguous && sh.count % kVec16<T> == 0 && aligned_to(x.data, 16);
    a.narrow = narrow;
    a.out_bool = sh.out_bool;
    a.block_per_row = sh.count > 4096 || (sh.count > 256 && sh.kept_count < 1024);
    if (a.block_per_row) {
      unsigned grid = static_cast<unsigned>(std::min(sh.kept_count, kMaxGridBlocks));
      launch_kernel(reduce_rows_kernel<T>, grid, kRowsBlockThreads, 0, stream, a);
    } else {
      launch_kernel(reduce_rows_kernel<T>, grid_for(sh.kept_count, kRowsWarpThreads / 32), kRowsWarpThreads, 0, stream, a);
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
