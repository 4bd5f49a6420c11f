#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/divisor.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/squeeze_excite.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

struct GateArgs {
  const double* partial = nullptr;  // [n, splits, c]
  double* tile_sums = nullptr;      // the fused launch writes them: [n, tiles, c], the same as partial
  float* hidden = nullptr;          // [n, r] in the workspace (the path with a hidden-layer kernel)
  const void *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr;
  const void* x = nullptr;  // [n, hw, c] when the output is x * gate
  void* y = nullptr;        // [n, c], or [n, hw, c] with x
  int64_t n = 0, hw = 0, c = 0, r = 0, splits = 1;
  int64_t chunks = 1;                    // blocks of kGateChannels channels per sample
  int64_t tiles = 1, tile_rows = 0;      // blocks of tile_rows pixels per chunk (with x)
  bool vector = false;                   // x and y in 16-byte accesses
  bool w1_vector = false;                // w1 in 16-byte loads
  bool w2_shared = false;                // the block's rows of w2 copied to shared memory first
  bool w2_vector = false;                // ... in 16-byte loads (w2 aligned)
  net::UnaryOp act1 = net::UnaryOp::kIdentity, act2 = net::UnaryOp::kIdentity;
  float act1_alpha = 0, act1_beta = 0, act2_alpha = 0, act2_beta = 0;
};

constexpr int kGateThreads = 256;
constexpr int kGateWarps = kGateThreads / 32;
constexpr int kGateChannels = 64;                          // gate channels per block
constexpr int kGateParts = kGateThreads / kGateChannels;   // threads that add one gate channel's products
constexpr int64_t kW2Stride = kGateChannels + 1;           // w2's rows in shared memory as [r][65]
// The in-gate multiply spreads over the blocks that the device holds at once (resident_blocks:
// every further wave pays the dependent chain pool -> hidden -> gate again, notes 16 and 21).
// Before the kernel is chosen, this estimate of that number decides whether the blocks compute
// the hidden layer themselves.
constexpr int64_t kTargetBlocks = 264;
// Each gate block computes the hidden layer itself (w1 read again, from L2) while all blocks
// together do at most this many multiply-adds for it; beyond, a first kernel writes the hidden
// layer to the workspace once per sample.
constexpr int64_t kSelfContainedMacs = int64_t{1} << 22;
constexpr int kUnitsPerWarp = 8;                                   // hidden units a warp computes at once
constexpr int64_t kHiddenBlockUnits = kGateWarps * kUnitsPerWarp;  // per pass of a gate block's warps
constexpr int kPoolScratch = 2 * kGateThreads;                     // doubles: split groups x channels
constexpr int kPrefetch = 4;  // 16-byte vectors of x a thread loads before its gate is known
// The shared memory without opt-in (48 KiB) as floats, the pool scratch's doubles taken out.
constexpr int64_t kSmemFloats = 12 * 1024 - 2 * kPoolScratch;
static_assert(kSqueezeExciteMaxFloats == kSmemFloats - 6 * kGateChannels, "kernels.h's limit is this layout's");

struct Geometry {
  int64_t chunks = 1, tiles = 1, tile_rows = 0;
  bool self_contained = true;
  bool w2_shared = false;
};

// The gate kernel's floats in shared memory, after the kPoolScratch doubles: gate, b2 and the
// partial gate sums (kGateChannels, kGateChannels, kGateParts x kGateChannels), then hidden and
// b1 (r each), pooled (c, when the block computes the hidden layer), then w2's rows of the
// block, transposed ([r][kW2Stride], when w2_shared).
__host__ __device__ constexpr int64_t gate_floats(int64_t c, int64_t r, bool self_contained, bool w2_shared) {
  return (2 + kGateParts) * kGateChannels + 2 * r + (self_contained ? c : 0) + (w2_shared ? r * kW2Stride : 0);
}

// The in-gate multiply's tiles: about `target` blocks, 32 pixels or more each.
void set_tiles(Geometry& g, int64_t n, int64_t hw, int64_t target) {
  const int64_t tiles = std::clamp<int64_t>(ceil_div(target, n * g.chunks), 1, ceil_div(hw, 32));
  g.tile_rows = ceil_div(hw, tiles);
  g.tiles = ceil_div(hw, g.tile_rows);
}

Geometry geometry(int64_t n, int64_t hw, int64_t c, int64_t r, bool scale) {
  Geometry g;
  g.chunks = ceil_div(c, kGateChannels);
  if (scale) set_tiles(g, n, hw, kTargetBlocks);
  g.self_contained = n * g.chunks * g.tiles * r * c <= kSelfContainedMacs;
  g.w2_shared = gate_floats(c, r, g.self_contained, true) <= kSmemFloats;
  return g;
}

// Shared memory of a block that pools a sample: kPoolScratch doubles, then the floats.
size_t pool_smem(int64_t floats) { return kPoolScratch * sizeof(double) + static_cast<size_t>(floats) * sizeof(float); }

// pooled[k] = the mean over H * W of sample b, channel k, from the split partial sums (up to 64
// splits of C doubles). Every thread of the block takes a share of the loads and keeps
// kPoolLoads of them in flight: pairs of channels by 16-byte loads where C is even, and where
// the block has threads to spare (C / 2 < 256) groups of threads add disjoint splits, the
// groups' sums meeting in `scratch`. (One thread a channel walking all splits one load at a
// time cost ~64 L2 round trips: 11 us a gate launch at batch 1 on the H200, note 16.)
constexpr int kPoolLoads = 8;

template <int W>  // channels per load: 2 (double2) or 1
__device__ __forceinline__ void pool_columns(const GateArgs& a, const double* part, float* pooled, double* scratch) {
  using D = std::conditional_t<W == 2, double2, double>;
  const D* p = reinterpret_cast<const D*>(part);
  const int64_t cols = a.c / W;
  const double inv = 1.0 / static_cast<double>(a.hw);
  int64_t groups = kGateThreads / cols;
  if (groups > a.splits) groups = a.splits;
  if (groups < 1) groups = 1;
  auto add = [](double (&s)[W], D v) {
    if constexpr (W == 2) s[0] += v.x, s[1] += v.y;
    else s[0] += v;
  };
  // The sum over splits g, g + groups, ... of column k, kPoolLoads loads at a time.
  auto column = [&](int64_t k, int64_t g, double (&s)[W]) {
    for (int e = 0; e < W; ++e) s[e] = 0;
    for (int64_t sp0 = g; sp0 < a.splits; sp0 += kPoolLoads * groups) {
      D v[kPoolLoads];
#pragma unroll
      for (int u = 0; u < kPoolLoads; ++u) {
        const int64_t sp = sp0 + u * groups;
        if (sp < a.splits) v[u] = p[sp * cols + k];
      }
#pragma unroll
      for (int u = 0; u < kPoolLoads; ++u) {
        if (sp0 + u * groups < a.splits) add(s, v[u]);
      }
    }
  };
  const int64_t t = threadIdx.x;
  if (groups == 1) {
    for (int64_t k = t; k < cols; k += blockDim.x) {
      double s[W];
      column(k, 0, s);
      for (int e = 0; e < W; ++e) pooled[k * W + e] = static_cast<float>(s[e] * inv);
    }
    return;
  }
  if (t < groups * cols) {  // groups * cols * W <= 2 * kGateThreads = kPoolScratch doubles
    double s[W];
    column(t % cols, t / cols, s);
    for (int e = 0; e < W; ++e) scratch[t * W + e] = s[e];
  }
  __syncthreads();
  for (int64_t k = t; k < a.c; k += blockDim.x) {
    double s = 0;
    for (int64_t g = 0; g < groups; ++g) s += scratch[g * a.c + k];
    pooled[k] = static_cast<float>(s * inv);
  }
}

__device__ __forceinline__ void pool_sample(const GateArgs& a, int64_t b, float* pooled, double* scratch) {
  const double* part = a.partial + b * a.splits * a.c;
  if (a.c % 2 == 0 && reinterpret_cast<uintptr_t>(part) % 16 == 0) pool_columns<2>(a, part, pooled, scratch);
  else pool_columns<1>(a, part, pooled, scratch);
}

// w1[j, k0:k1] . pooled[k0:k1] for the hidden units j0 .. j0 + kUnitsPerWarp - 1 (those below
// r) of one sample, by one warp: lanes along C (16-byte loads of w1 where C allows; k0 and k1
// then multiples of V), the units' loads interleaved so that they are in flight together,
// kSteps vector steps at a time: two steps hold more loads in flight, one keeps the hidden
// kernel and the gate kernel without the multiply at 128 registers (two blocks an SM, note 23).
// Every lane gets the sums in out[u].
template <typename T, int kSteps>
__device__ __forceinline__ void hidden_sums(const GateArgs& a, int64_t j0, const float* pooled, int lane,
                                            float (&out)[kUnitsPerWarp], int64_t k0, int64_t k1) {
  constexpr int V = kVec16<T>;
  const T* w1 = static_cast<const T*>(a.w1);
  const T* rows[kUnitsPerWarp];
#pragma unroll
  for (int u = 0; u < kUnitsPerWarp; ++u) {
    out[u] = 0;
    rows[u] = w1 + (j0 + u < a.r ? j0 + u : j0) * a.c;  // past r: a valid row, result dropped
  }
  if (a.w1_vector) {  // C % V == 0 and w1 aligned: every row starts 16-byte aligned
#pragma unroll kSteps
    for (int64_t v = k0 / V + lane; v < k1 / V; v += 32) {
      float p[V];
#pragma unroll
      for (int e = 0; e < V; ++e) p[e] = pooled[v * V + e];
#pragma unroll
      for (int u = 0; u < kUnitsPerWarp; ++u) {
        Vec<T, V> w = *vec_ptr<const Vec<T, V>>(rows[u] + v * V);
#pragma unroll
        for (int e = 0; e < V; ++e) out[u] += to_float(w.v[e]) * p[e];
      }
    }
  } else {
#pragma unroll kSteps
    for (int64_t k = k0 + lane; k < k1; k += 32) {
      const float p = pooled[k];
#pragma unroll
      for (int u = 0; u < kUnitsPerWarp; ++u) out[u] += to_float(rows[u][k]) * p;
    }
  }
#pragma unroll
  for (int u = 0; u < kUnitsPerWarp; ++u) out[u] = warp_reduce(out[u], [](float x, float y) { return x + y; });
}

// h[lane] for lanes below kUnitsPerWarp (selects, not a dynamic index into registers).
__device__ __forceinline__ float lane_value(const float (&h)[kUnitsPerWarp], int lane) {
  float v = h[0];
#pragma unroll
  for (int u = 1; u < kUnitsPerWarp; ++u) v = lane == u ? h[u] : v;
  return v;
}

// The first launch where the gate blocks do not compute the hidden layer: a block per (sample,
// kUnitsPerWarp hidden units), its warps over slices of C (many blocks even at batch 32 with
// r = 48: a block per 64 units, one warp over all of C each, was latency-bound at 10 us).
template <typename T>
__global__ void __launch_bounds__(kGateThreads) squeeze_excite_hidden_kernel(const __grid_constant__ GateArgs a) {
  double* scratch = dynamic_smem<double>();  // [kPoolScratch], then pooled [c], then sums [warps][units]
  float* pooled = reinterpret_cast<float*>(scratch + kPoolScratch);
  float* sums = pooled + a.c;
  const int lane = static_cast<int>(threadIdx.x & 31), warp = static_cast<int>(threadIdx.x >> 5);
  const int64_t unit_blocks = ceil_div(a.r, kUnitsPerWarp);
  const int64_t step = a.w1_vector ? kVec16<T> : 1;  // slice bounds stay multiples of the vector
  const int64_t slice = ceil_div(ceil_div(a.c, step), kGateWarps) * step;
  const int64_t k0 = warp * slice < a.c ? warp * slice : a.c, k1 = k0 + slice < a.c ? k0 + slice : a.c;
  for (int64_t item = blockIdx.x; item < a.n * unit_blocks; item += gridDim.x) {
    const int64_t b = item / unit_blocks, j0 = item % unit_blocks * kUnitsPerWarp;
    pool_sample(a, b, pooled, scratch);
    __syncthreads();
    float h[kUnitsPerWarp];
    hidden_sums<T, 1>(a, j0, pooled, lane, h, k0, k1);
    if (lane < kUnitsPerWarp) sums[warp * kUnitsPerWarp + lane] = lane_value(h, lane);
    __syncthreads();
    if (threadIdx.x < kUnitsPerWarp && j0 + threadIdx.x < a.r) {
      const int u = static_cast<int>(threadIdx.x);
      float s = a.b1 ? to_float(static_cast<const T*>(a.b1)[j0 + u]) : 0.0f;
      for (int w = 0; w < kGateWarps; ++w) s += sums[w * kUnitsPerWarp + u];
      a.hidden[b * a.r + j0 + u] = activate(a.act1, s, a.act1_alpha, a.act1_beta);  // one call site (activation.cuh)
    }
    __syncthreads();  // pooled[], sums[] and scratch[] are rewritten for the next item
  }
}

// The block's tile of x and y in 16-byte vectors: vector e of the tile is row row0 + e / lanes,
// channels k0 + (e % lanes) * V. The block's first `step` threads take them, thread t the
// vectors t, t + step, ...: step is the largest multiple of lanes within the block, so that all
// of a thread's vectors hold the same channels (the fused launch sums them in registers).
template <typename T>
struct ScaleTile {
  static constexpr int V = kVec16<T>;
  const T* x;
  T* y;
  int64_t c, row0, count;  // count: vectors in the tile
  int lanes, step;         // vectors per row (the block's channels / V); threads that take vectors
  __device__ __forceinline__ int64_t offset(int64_t e) const { return (row0 + e / lanes) * c + e % lanes * V; }
};

template <typename T>
__device__ __forceinline__ ScaleTile<T> scale_tile(const GateArgs& a, int64_t b, int64_t k0, int kn, int64_t row0,
                                                   int64_t rows) {
  constexpr int V = kVec16<T>;
  const int lanes = kn / V;
  const int64_t base = b * a.hw * a.c + k0;
  return ScaleTile<T>{static_cast<const T*>(a.x) + base, static_cast<T*>(a.y) + base, a.c, row0, rows * lanes, lanes,
                      lanes > 0 ? kGateThreads / lanes * lanes : kGateThreads};
}

// The tile's vectors e0, e0 + step, ... (kPrefetch of them, those below count) into v.
template <typename T>
__device__ __forceinline__ void load_group(const ScaleTile<T>& tile, int64_t e0, Vec<T, kVec16<T>> (&v)[kPrefetch]) {
#pragma unroll
  for (int i = 0; i < kPrefetch; ++i) {
    const int64_t e = e0 + static_cast<int64_t>(i) * tile.step;
    if (e < tile.count) v[i] = *vec_ptr<const Vec<T, kVec16<T>>>(tile.x + tile.offset(e));
  }
}

// Thread t's first kPrefetch vectors of the tile, loaded before its gates are known.
template <typename T>
__device__ __forceinline__ void prefetch_tile(const ScaleTile<T>& tile, int t, Vec<T, kVec16<T>> (&xv)[kPrefetch]) {
  if (t < tile.step) load_group(tile, t, xv);
}

// f(e, v) over thread t's vectors of the tile: the prefetched ones in xv, then the rest
// kPrefetch at a time into v (each group's loads before f sees any of them).
template <typename T, typename F>
__device__ __forceinline__ void for_each_vector(const ScaleTile<T>& tile, int t, Vec<T, kVec16<T>> (&xv)[kPrefetch],
                                                Vec<T, kVec16<T>> (&v)[kPrefetch], F&& f) {
  auto apply = [&](int64_t e0, Vec<T, kVec16<T>>(&group)[kPrefetch]) {
#pragma unroll
    for (int i = 0; i < kPrefetch; ++i) {
      const int64_t e = e0 + static_cast<int64_t>(i) * tile.step;
      if (e < tile.count) f(e, group[i]);
    }
  };
  apply(t, xv);
  const int64_t stride = int64_t{kPrefetch} * tile.step;
  for (int64_t e0 = t + stride; e0 < tile.count; e0 += stride) {
    load_group(tile, e0, v);
    apply(e0, v);
  }
}

// y = x * gate over thread t's vectors of the tile (the prefetched ones first).
template <typename T>
__device__ __forceinline__ void multiply_tile(const ScaleTile<T>& tile, int t, Vec<T, kVec16<T>> (&xv)[kPrefetch],
                                              const float* gate) {
  constexpr int V = kVec16<T>;
  if (t >= tile.step) return;
  float g[V];  // the thread's gates: all its vectors hold the same channels
#pragma unroll
  for (int j = 0; j < V; ++j) g[j] = gate[t % tile.lanes * V + j];
  for_each_vector(tile, t, xv, xv, [&](int64_t e, Vec<T, V>& v) {
#pragma unroll
    for (int j = 0; j < V; ++j) v.v[j] = from_float<T>(to_float(v.v[j]) * g[j]);
    *vec_ptr<Vec<T, V>>(tile.y + tile.offset(e)) = v;
  });
}

// The gate block's shared memory after the kPoolScratch doubles (gate_floats' layout).
struct GateSmem {
  float *gate, *b2s, *parts, *hidden, *b1s, *pooled, *w2t;
  __device__ GateSmem(double* scratch, const GateArgs& a, bool pool) {
    gate = reinterpret_cast<float*>(scratch + kPoolScratch);
    b2s = gate + kGateChannels;
    parts = b2s + kGateChannels;
    hidden = parts + kGateParts * kGateChannels;
    b1s = hidden + a.r;
    pooled = b1s + a.r;
    w2t = pooled + (pool ? a.c : 0);
  }
};

// The loads that do not depend on the gate: w2's rows of the block (into shared memory,
// transposed, where w2_shared), b2's and b1's values, and with !kPool the hidden layer that a
// kernel before computed. Readers wait for a barrier.
template <typename T, bool kPool>
__device__ __forceinline__ void load_gate_operands(const GateArgs& a, int64_t b, int64_t k0, int kn, const GateSmem& s,
                                                   int t) {
  constexpr int V = kVec16<T>;
  if (a.w2_shared) {  // the block's rows are contiguous: 16-byte loads, kPrefetch a thread in flight
    const int r = static_cast<int>(a.r), count = kn * r, vectors = a.w2_vector ? count / V : 0;
    const T* rows_w2 = static_cast<const T*>(a.w2) + k0 * a.r;
    auto put = [&](int i, T w) {
      const int ch = i / r, j = i - ch * r;
      s.w2t[j * kW2Stride + ch] = to_float(w);
    };
    for (int i0 = t; i0 < vectors; i0 += kPrefetch * kGateThreads) {
      Vec<T, V> w[kPrefetch];
#pragma unroll
      for (int q = 0; q < kPrefetch; ++q) {
        if (i0 + q * kGateThreads < vectors) w[q] = *vec_ptr<const Vec<T, V>>(rows_w2 + (i0 + q * kGateThreads) * V);
      }
#pragma unroll
      for (int q = 0; q < kPrefetch; ++q) {
        if (i0 + q * kGateThreads >= vectors) break;
#pragma unroll
        for (int e = 0; e < V; ++e) put((i0 + q * kGateThreads) * V + e, w[q].v[e]);
      }
    }
    for (int i = vectors * V + t; i < count; i += kGateThreads) put(i, rows_w2[i]);
  }
  if (t < kn) s.b2s[t] = a.b2 ? to_float(static_cast<const T*>(a.b2)[k0 + t]) : 0.0f;
  for (int64_t j = t; j < a.r; j += kGateThreads) {
    s.b1s[j] = a.b1 ? to_float(static_cast<const T*>(a.b1)[j]) : 0.0f;
    if constexpr (!kPool) s.hidden[j] = a.hidden[b * a.r + j];
  }
}

// The block pools sample b and computes its whole hidden layer into s.hidden, kUnitsPerWarp
// units a warp at a time (b1s loaded before). Readers wait for a barrier.
template <typename T, int kSteps>
__device__ __forceinline__ void block_hidden(const GateArgs& a, int64_t b, const GateSmem& s, double* scratch, int warp,
                                             int lane) {
  pool_sample(a, b, s.pooled, scratch);
  __syncthreads();  // pooled and b1s
  for (int64_t j0 = warp * kUnitsPerWarp; j0 < a.r; j0 += kHiddenBlockUnits) {
    float h[kUnitsPerWarp];
    hidden_sums<T, kSteps>(a, j0, s.pooled, lane, h, 0, a.c);
    const float v = lane_value(h, lane);
    if (lane < kUnitsPerWarp && j0 + lane < a.r) {
      s.hidden[j0 + lane] = activate(a.act1, v + s.b1s[j0 + lane], a.act1_alpha, a.act1_beta);
    }
  }
}

// The block's gates once s.hidden, s.w2t and s.b2s are in place: kGateParts threads' sums per
// channel into s.parts, a barrier, then thread t < kn's gate, rounded to T (the separate
// multiply reads the same bytes).
template <typename T>
__device__ __forceinline__ T block_gate(const GateArgs& a, int64_t k0, int kn, const GateSmem& s, int t) {
  const int ch = t % kGateChannels, part = t / kGateChannels;
  float sum = 0;
  if (ch < kn) {
    if (a.w2_shared) {
#pragma unroll 4
      for (int64_t j = part; j < a.r; j += kGateParts) sum += s.w2t[j * kW2Stride + ch] * s.hidden[j];
    } else {
      const T* row = static_cast<const T*>(a.w2) + (k0 + ch) * a.r;
#pragma unroll 4
      for (int64_t j = part; j < a.r; j += kGateParts) sum += to_float(row[j]) * s.hidden[j];
    }
  }
  s.parts[part * kGateChannels + ch] = sum;
  __syncthreads();
  if (t >= kn) return T{};
  float g = s.b2s[t];
#pragma unroll
  for (int q = 0; q < kGateParts; ++q) g += s.parts[q * kGateChannels + t];
  return from_float<T>(activate_stored<T>(a.act2, g, a.act2_alpha, a.act2_beta));
}

// A block per (sample, kGateChannels channels[, tile of pixels]). Loads that do not depend on
// the gate are issued first: the first kPrefetch vectors of x a thread multiplies, then
// load_gate_operands. With kPool the block then pools the sample and computes the whole hidden
// layer (else a.hidden holds it); the gate channels are then kGateParts threads' sums each.
// With kScale the block multiplies its tile of x (a.x) by them, else it writes them to a.y.
// The modes are template arguments so that each kernel holds only its own registers: with all
// four paths in one kernel every launch held 230 (one block an SM, note 21).
template <typename T, bool kPool, bool kScale>
__global__ void __launch_bounds__(kGateThreads) squeeze_excite_gate_kernel(const __grid_constant__ GateArgs a) {
  constexpr int V = kVec16<T>;
  double* scratch = dynamic_smem<double>();
  const GateSmem s(scratch, a, kPool);
  const int t = static_cast<int>(threadIdx.x), lane = t & 31, warp = t >> 5;
  const int64_t per_sample = a.chunks * a.tiles;
  for (int64_t item = blockIdx.x; item < a.n * per_sample; item += gridDim.x) {
    const int64_t b = item / per_sample, k0 = item % per_sample / a.tiles * kGateChannels;
    const int kn = static_cast<int>(a.c - k0 < kGateChannels ? a.c - k0 : kGateChannels);
    const int64_t row0 = item % a.tiles * a.tile_rows;
    const int64_t rows = kScale ? (row0 + a.tile_rows < a.hw ? a.tile_rows : a.hw - row0) : 0;
    Vec<T, V> xv[kPrefetch];
    const ScaleTile<T> tile = scale_tile<T>(a, b, k0, kn, row0, rows);  // rows == 0 without kScale
    if (kScale && a.vector) prefetch_tile(tile, t, xv);
    load_gate_operands<T, kPool>(a, b, k0, kn, s, t);
    if constexpr (kPool) block_hidden<T, kScale ? 2 : 1>(a, b, s, scratch, warp, lane);  // kScale: > 128 registers anyway
    __syncthreads();  // hidden, w2t, b2s
    const T g = block_gate<T>(a, k0, kn, s, t);
    if (t < kn) {
      if constexpr (kScale) s.gate[t] = to_float(g);
      else static_cast<T*>(a.y)[b * a.c + k0 + t] = g;
    }
    if constexpr (kScale) {
      __syncthreads();  // gate
      if (a.vector) {
        multiply_tile(tile, t, xv, s.gate);
      } else {
        const T* x = static_cast<const T*>(a.x) + b * a.hw * a.c + k0;
        T* y = static_cast<T*>(a.y) + b * a.hw * a.c + k0;
        for (int64_t e = t; e < rows * kn; e += kGateThreads) {
          const int64_t off = (row0 + e / kn) * a.c + e % kn;
          y[off] = from_float<T>(to_float(x[off]) * s.gate[e % kn]);
        }
      }
    }
    __syncthreads();  // the shared arrays are rewritten for the next item
  }
}

// The fused launch (SqueezeExciteMultiply::kFused): a cooperative grid of exactly n * chunks *
// tiles blocks, one item each, all resident at once. A block first sums its tile of x over the
// pixels (the first kPrefetch vectors of each thread stay in registers for the multiply) and
// writes the sums as split `tile` of the sample's partial sums, issues its gate operands'
// loads, and waits at the grid barrier. After it every split is written: the block pools its
// sample, computes the hidden layer and its gates as the gate kernel with kPool does, and
// multiplies its tile. One launch instead of the column sums' and the gate's; where a tile fits
// in kPrefetch vectors a thread (batch 1), x is read once.
template <typename T>
__global__ void __launch_bounds__(kGateThreads, 2) squeeze_excite_fused_kernel(const __grid_constant__ GateArgs a) {
  constexpr int V = kVec16<T>;
  double* scratch = dynamic_smem<double>();
  const GateSmem s(scratch, a, true);
  const int t = static_cast<int>(threadIdx.x), lane = t & 31, warp = t >> 5;
  const int64_t per_sample = a.chunks * a.tiles, item = blockIdx.x;
  const int64_t b = item / per_sample, k0 = item % per_sample / a.tiles * kGateChannels, tile_index = item % a.tiles;
  const int kn = static_cast<int>(a.c - k0 < kGateChannels ? a.c - k0 : kGateChannels);
  const int64_t row0 = tile_index * a.tile_rows;
  const ScaleTile<T> tile = scale_tile<T>(a, b, k0, kn, row0, row0 + a.tile_rows < a.hw ? a.tile_rows : a.hw - row0);
  Vec<T, V> xv[kPrefetch];
  prefetch_tile(tile, t, xv);
  float sums[V] = {};
  if (t < tile.step) {
    Vec<T, V> v[kPrefetch];
    for_each_vector(tile, t, xv, v, [&](int64_t, const Vec<T, V>& x) {
#pragma unroll
      for (int j = 0; j < V; ++j) sums[j] += to_float(x.v[j]);
    });
    // The threads' sums meet in shared memory ([thread][V] floats where the gate arrays go
    // later: the launch's shared memory covers both).
#pragma unroll
    for (int j = 0; j < V; ++j) s.gate[t * V + j] = sums[j];
  }
  __syncthreads();
  if (t < kn) {  // channel k0 + t: the threads t / V, t / V + lanes, ... of the block
    float sum = 0;
    for (int q = t / V; q < tile.step; q += tile.lanes) sum += s.gate[q * V + t % V];
    a.tile_sums[(b * a.tiles + tile_index) * a.c + k0 + t] = sum;
  }
  __syncthreads();  // the sums' shared memory becomes the gate arrays
  load_gate_operands<T, true>(a, b, k0, kn, s, t);
  grid_sync();  // every tile's sums of every sample are written
  block_hidden<T, 1>(a, b, s, scratch, warp, lane);
  __syncthreads();  // hidden, w2t, b2s
  const T g = block_gate<T>(a, k0, kn, s, t);
  if (t < kn) s.gate[t] = to_float(g);
  __syncthreads();
  multiply_tile(tile, t, xv, s.gate);
}

// The separate multiply: y = x * gates[b, k] over x [n, hw, c] as V-element groups (V = 16 bytes
// of T where C allows, else 1), kScaleLoads groups a thread in flight; `groups` of them in
// all, `row` (C / V) a pixel. The gates are T, as the gate kernel rounds them when it
// multiplies itself: both ways give the same bytes.
constexpr int kScaleThreads = 256;
constexpr int kScaleLoads = 4;
// 8 blocks an SM of an H100/H200 (132 SMs). At 64 registers (fp16; 92 in bf16, NOTES 21) 4 are
// resident at once, so this is two waves of short grid-stride loops. In the trace of NOTES 18
// the 16 multiplies took 85 us for ~290 MB read and written (~3.4 TB/s).
constexpr int64_t kScaleTargetBlocks = 132 * 8;

struct ScaleArgs {
  const void* x = nullptr;
  const void* gates = nullptr;  // [n, c]
  void* y = nullptr;
  int64_t groups = 0, c = 0;
  Divisor row, hw;  // groups a pixel (C / V); pixels a sample
  bool narrow = true;
};

template <typename T, int V>
__global__ void __launch_bounds__(kScaleThreads) squeeze_excite_scale_kernel(const __grid_constant__ ScaleArgs a) {
  using G = Vec<T, V>;
  const G* x = static_cast<const G*>(a.x);
  G* y = static_cast<G*>(a.y);
  const T* gates = static_cast<const T*>(a.gates);
  const int64_t stride = grid_threads();
  for (int64_t e0 = global_thread(); e0 < a.groups; e0 += kScaleLoads * stride) {
    G xv[kScaleLoads], gv[kScaleLoads];
#pragma unroll
    for (int u = 0; u < kScaleLoads; ++u) {
      const int64_t e = e0 + u * stride;
      if (e >= a.groups) break;
      const int64_t pixel = a.row.div(e, a.narrow), k = e - pixel * a.row.value;
      xv[u] = *vec_ptr<const G>(x + e);
      gv[u] = *vec_ptr<const G>(gates + a.hw.div(pixel, a.narrow) * a.c + k * V);
    }
#pragma unroll
    for (int u = 0; u < kScaleLoads; ++u) {
      const int64_t e = e0 + u * stride;
      if (e >= a.groups) break;
#pragma unroll
      for (int j = 0; j < V; ++j) xv[u].v[j] = from_float<T>(to_float(xv[u].v[j]) * to_float(gv[u].v[j]));
      *vec_ptr<G>(y + e) = xv[u];
    }
  }
}

// Where the launch keeps its intermediates in the workspace: the split partial sums (doubles),
// the hidden layer (floats, when a kernel computes it ahead of the gate blocks) and the gates
// of the separate multiply (T, 16-byte aligned). Both multiply modes fit in the same bytes.
struct WorkspaceLayout {
  size_t hidden = 0, gates = 0, total = 0;  // byte offsets, size
};

WorkspaceLayout workspace_layout(int64_t n, int64_t hw, int64_t c, int64_t r, DType dtype) {
  const size_t elem = ir::dtype_size(dtype);
  WorkspaceLayout w;
  // The column sums' splits, or the fused launch's tiles (at most one per 32 pixels, set_tiles).
  const int64_t splits = std::max(column_splits(n, hw, c, dtype), ceil_div(hw, 32));
  w.hidden = static_cast<size_t>(n * splits * c) * sizeof(double);
  w.gates = (w.hidden + static_cast<size_t>(n * r) * sizeof(float) + 15) / 16 * 16;
  w.total = w.gates + static_cast<size_t>(n * c) * elem;
  return w;
}

// The fused launch's plan for these shapes (GateArgs a with n, hw, c, r set) and kernel, or
// applies == false: it needs the multiply with 16-byte accesses (`vector`), every (sample,
// chunk) pair among the cooperative grid's blocks, and gate blocks that compute the hidden
// layer themselves (a second grid barrier would be the other way; not built).
struct FusedPlan {
  bool applies = false;
  Geometry g;
  size_t smem = 0;
};

template <typename T>
FusedPlan fused_plan(const GateArgs& a, bool vector) {
  FusedPlan f;
  if (!vector) return f;
  Geometry& g = f.g;
  g.chunks = ceil_div(a.c, kGateChannels);
  g.w2_shared = gate_floats(a.c, a.r, true, true) <= kSmemFloats;
  f.smem = std::max(pool_smem(gate_floats(a.c, a.r, true, g.w2_shared)), pool_smem(int64_t{kGateThreads} * kVec16<T>));
  const int64_t capacity = cooperative_blocks(squeeze_excite_fused_kernel<T>, kGateThreads, f.smem);
  if (a.n * g.chunks > capacity) return f;
  const int64_t tiles = std::clamp<int64_t>(capacity / (a.n * g.chunks), 1, ceil_div(a.hw, 32));
  g.tile_rows = ceil_div(a.hw, tiles);
  g.tiles = ceil_div(a.hw, g.tile_rows);
  g.self_contained = a.n * g.chunks * g.tiles * a.r * a.c <= kSelfContainedMacs;
  f.applies = g.self_contained;
  return f;
}

// Whether the 16-byte path of the multiply applies: C a multiple of the vector, x and y aligned.
bool vector_io(const DeviceTensor& x, const DeviceTensor& y) {
  const int64_t vec = 16 / static_cast<int64_t>(ir::dtype_size(x.dtype));
  return x.dims[3] % vec == 0 && aligned_to(x.data, 16) && aligned_to(y.data, 16);
}

GateArgs shape_args(const Tensors& in) {
  const DeviceTensor& x = in[0];
  GateArgs a;
  a.n = x.dims[0], a.hw = x.dims[1] * x.dims[2], a.c = x.dims[3], a.r = in[1].dims[0];
  return a;
}

// The sums over H and W that the convolution writing x added (input #5), or null.
const double* given_sums(const Tensors& in) {
  return in.size() > 5 ? static_cast<const double*>(in[5].data) : nullptr;
}

}  // namespace

bool squeeze_excite_fuses(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out) {
  // (With the sums given, the fused launch still sums x itself: the runner times it against the
  // gate blocks that pool the given sums, and keeps the faster.)
  if (!p.scale_input || !squeeze_excite_supported(p, in, out).is_ok()) return false;
  const GateArgs a = shape_args(in);
  if (a.n == 0 || a.c == 0 || a.hw == 0) return false;
  const bool vector = vector_io(in[0], out[0]);
  bool applies = false;
  visit_dtype(in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) applies = fused_plan<T>(a, vector).applies;
  });
  return applies;
}

Status squeeze_excite_supported(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out) {
  const char* L = "squeeze_excite";
  if ((in.size() != 5 && in.size() != 6) || out.size() != 1) {
    return invalid_argument(L, ": takes x, w1, b1?, w2, b2?, sums? and one output");
  }
  const DeviceTensor &x = in[0], &w1 = in[1], &w2 = in[3], &y = out[0];
  if (x.dims.size() != 4 || w1.dims.size() != 2 || w2.dims.size() != 2) {
    return invalid_argument(L, ": x must be [N, H, W, C] and the weights 2-D, got ", ingot::shape_str(x.dims), ", ",
                            ingot::shape_str(w1.dims), ", ", ingot::shape_str(w2.dims));
  }
  int64_t c = x.dims[3], r = w1.dims[0];
  if (w1.dims[1] != c || w2.dims[0] != c || w2.dims[1] != r || y.numel() != (p.scale_input ? x.numel() : x.dims[0] * c)) {
    return invalid_argument(L, ": shapes do not match (x ", ingot::shape_str(x.dims), ", w1 ", ingot::shape_str(w1.dims),
                            ", w2 ", ingot::shape_str(w2.dims), ", out ", ingot::shape_str(y.dims), ")");
  }
  if ((in[2].data && in[2].numel() != r) || (in[4].data && in[4].numel() != c)) return invalid_argument(L, ": bias sizes do not match");
  if (given_sums(in) && (in[5].dtype != DType::kFloat64 || in[5].numel() != x.dims[0] * c || !aligned_to(in[5].data, 8))) {
    return invalid_argument(L, ": sums must be f64 [", x.dims[0], ", ", c, "] (8-byte aligned), got ", ir::dtype_name(in[5].dtype),
                            " ", ingot::shape_str(in[5].dims));
  }
  for (const DeviceTensor* t : {&w1, &in[2], &w2, &in[4], &y}) {
    if (t->data && t->dtype != x.dtype) return invalid_argument(L, ": every tensor must be ", ir::dtype_name(x.dtype));
  }
  if (!ir::is_floating(x.dtype)) return unsupported(L, " on ", ir::dtype_name(x.dtype));
  if (!is_epilogue_activation(p.act1) || !is_epilogue_activation(p.act2)) {
    return unsupported(L, ": activations ", net::enum_name(p.act1), " / ", net::enum_name(p.act2));
  }
  if (!squeeze_excite_fits(c, r)) return unsupported(L, ": ", c, " channels and ", r, " hidden units do not fit");
  return Status::ok();
}

size_t squeeze_excite_workspace(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out) {
  if (!squeeze_excite_supported(p, in, out).is_ok()) return 0;
  const DeviceTensor& x = in[0];
  return workspace_layout(x.dims[0], x.dims[1] * x.dims[2], x.dims[3], in[1].dims[0], x.dtype).total;
}

Status launch_squeeze_excite(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out, void* workspace,
                             cudaStream_t stream, SqueezeExciteMultiply multiply) {
  const char* L = "squeeze_excite";
  INGOT_RETURN_IF_ERROR(squeeze_excite_supported(p, in, out));
  if (!workspace) return invalid_argument(L, ": needs a workspace of ", squeeze_excite_workspace(p, in, out), " bytes");
  const DeviceTensor& x = in[0];
  GateArgs a = shape_args(in);
  if (a.n == 0 || a.c == 0) return Status::ok();
  if (a.hw == 0) return unsupported(L, ": a mean over empty spatial dims");
  const size_t elem = ir::dtype_size(x.dtype);
  const WorkspaceLayout ws = workspace_layout(a.n, a.hw, a.c, a.r, x.dtype);
  char* base = static_cast<char*>(workspace);
  a.w1 = in[1].data, a.b1 = in[2].data, a.w2 = in[3].data, a.b2 = in[4].data, a.y = out[0].data;
  a.act1 = p.act1, a.act2 = p.act2;
  a.act1_alpha = static_cast<float>(p.act1_alpha), a.act1_beta = static_cast<float>(p.act1_beta);
  a.act2_alpha = static_cast<float>(p.act2_alpha), a.act2_beta = static_cast<float>(p.act2_beta);
  const int64_t vec = 16 / static_cast<int64_t>(elem);
  const bool x_vector = vector_io(x, out[0]);
  a.w1_vector = a.c % vec == 0 && aligned_to(a.w1, 16);
  a.w2_vector = aligned_to(a.w2, 16);  // the rows of a block start at a multiple of 64 * R elements
  if (p.scale_input && multiply == SqueezeExciteMultiply::kFused) {
    // One cooperative launch where it applies (else the in-gate multiply below).
    bool launched = false;
    visit_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (kIsFloat<T>) {
        const FusedPlan f = fused_plan<T>(a, x_vector);
        if (!f.applies) return;
        a.x = x.data, a.vector = true;
        a.chunks = f.g.chunks, a.tiles = f.g.tiles, a.tile_rows = f.g.tile_rows, a.w2_shared = f.g.w2_shared;
        a.tile_sums = static_cast<double*>(workspace);
        a.partial = a.tile_sums, a.splits = a.tiles;
        launch_cooperative(squeeze_excite_fused_kernel<T>, static_cast<unsigned>(a.n * a.chunks * a.tiles), kGateThreads,
                           f.smem, stream, a);
        launched = true;
      }
    });
    if (launched) return check_launch(L);
    multiply = SqueezeExciteMultiply::kInGate;
  }
  if (const double* sums = given_sums(in)) {
    a.partial = sums;  // [n, 1, c]: one split
    a.splits = 1;
  } else {
    INGOT_RETURN_IF_ERROR(launch_column_sums(x, a.n, a.hw, a.c, workspace, stream));
    a.partial = static_cast<const double*>(workspace);
    a.splits = column_splits(a.n, a.hw, a.c, x.dtype);
  }
  // The separate multiply: the gate blocks write the gates [n, c] to the workspace, a streaming
  // kernel then multiplies x by them.
  const bool separate = p.scale_input && multiply == SqueezeExciteMultiply::kSeparate;
  const bool in_gate = p.scale_input && !separate;
  Geometry g = geometry(a.n, a.hw, a.c, a.r, in_gate);
  a.chunks = g.chunks;
  if (!g.self_contained) a.hidden = reinterpret_cast<float*>(base + ws.hidden);
  a.w2_shared = g.w2_shared;
  if (separate) a.y = base + ws.gates;
  if (in_gate) a.x = x.data, a.vector = x_vector;
  auto blocks = [](int64_t items) { return static_cast<unsigned>(std::min<int64_t>(items, kMaxGridBlocks)); };
  const size_t gate_smem = pool_smem(gate_floats(a.c, a.r, g.self_contained, g.w2_shared));
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      if (!g.self_contained) {
        launch_kernel(squeeze_excite_hidden_kernel<T>, blocks(a.n * ceil_div(a.r, kUnitsPerWarp)), kGateThreads,
                      pool_smem(a.c + kGateWarps * kUnitsPerWarp), stream, a);
      }
      void (*gate)(GateArgs) = nullptr;
      if (g.self_contained) gate = in_gate ? squeeze_excite_gate_kernel<T, true, true> : squeeze_excite_gate_kernel<T, true, false>;
      else gate = in_gate ? squeeze_excite_gate_kernel<T, false, true> : squeeze_excite_gate_kernel<T, false, false>;
      if (in_gate) set_tiles(g, a.n, a.hw, resident_blocks(gate, kGateThreads, gate_smem));
      a.tiles = g.tiles, a.tile_rows = g.tile_rows;
      launch_kernel(gate, blocks(a.n * a.chunks * a.tiles), kGateThreads, gate_smem, stream, a);
      if (separate) {
        ScaleArgs sa;
        const int64_t group = x_vector ? vec : 1;
        sa.x = x.data, sa.gates = base + ws.gates, sa.y = out[0].data, sa.c = a.c;
        sa.groups = x.numel() / group;
        sa.row = Divisor::make(a.c / group), sa.hw = Divisor::make(a.hw);
        sa.narrow = sa.groups < kNarrowLimit;
        const unsigned grid = blocks(std::clamp<int64_t>(ceil_div(sa.groups, kScaleThreads * kScaleLoads), 1, kScaleTargetBlocks));
        if (x_vector) launch_kernel(squeeze_excite_scale_kernel<T, kVec16<T>>, grid, kScaleThreads, 0, stream, sa);
        else launch_kernel(squeeze_excite_scale_kernel<T, 1>, grid, kScaleThreads, 0, stream, sa);
      }
    }
  });
  if (!dispatched) return unsupported(L, " on ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
