// The feed-forward half of a transformer encoder block as one cooperative launch (kernels.h's
// FfnOperands says what it computes; bench/NOTES.md notes 66, 69 and 71 why).
//
// At BERT-base batch 1 (M = 128 rows, D = 768, F = 3072) the engine runs this as FC1 + GELU,
// FC2 + bias + residual and a LayerNorm: three launches of 3.5-7.7 us each, every one a
// single partial wave bound by latency. Here one block an SM (grid-stride over work units)
// runs three phases separated by grid barriers:
//   1. h = act(x . w1^T + b1): 64 x 64 tiles of [M, F], K = D (BERT: 2 x 48 = 96 units).
//   2. the partial products h . w2^T over `split` slices of F, in 64 x 64 tiles of [M, D]
//      (BERT, split 4: 2 x 12 x 4 = 96 units, each with the K of a phase-1 unit), stored in
//      float to the workspace. A block issues its first unit's w2 stages before the barrier,
//      so they stream while it waits.
//   3. a row a warp: the partials summed in slice order, + b2 + the residual (x), LayerNorm
//      (float statistics of the unrounded sum), * gamma + beta, stored.
// Without w1 the launch is phases 2 and 3 on x with a residual of its own: a linear layer with
// its residual and the LayerNorm after it (BERT's attention output, note 71).
// Every unit runs the deep pipeline of linear_tile.cuh (4 stages of 64 values of K).
#include <algorithm>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/linear_tile.cuh"

namespace ingot::kernels::cuda {

namespace detail {

namespace {

constexpr int kTile = 64;  // rows and columns of a unit
constexpr int kFfnThreads = kTile * kTile / 32;
constexpr int kWarps = kFfnThreads / 32;
constexpr int kMaxChunksPerLane = 4;  // phase 3: 8 values a chunk, so D <= 32 * 8 * 4 = 1024
constexpr int kMaxSplit = 8;
using FfnPipeline = DeepPipeline;
constexpr size_t kFfnSmem = pipeline_smem_bytes<kTile, kTile, FfnPipeline>();

struct FfnArgs {
  const void* x = nullptr;
  const void* w1 = nullptr;
  const void* b1 = nullptr;
  const void* w2 = nullptr;
  const void* b2 = nullptr;
  const void* gamma = nullptr;
  const void* beta = nullptr;
  const void* residual = nullptr;  // [M, D]: x where the first product runs
  void* h = nullptr;               // [M, F] scratch (with the first product)
  float* partial = nullptr;        // [split][M, D] scratch
  void* y = nullptr;
  int64_t m = 0;
  int k1 = 0;  // x's width: K of the first product
  int f = 0;   // K of the second product: F, or k1 without the first
  int d = 0;   // the output's width
  int split = 1, k_per_split = 0;
  net::UnaryOp act = net::UnaryOp::kGeluErf;
  float act_alpha = 0.0f, act_beta = 0.0f;
  float eps = 0.0f;
};

template <typename T>
__device__ __forceinline__ void store_pair(T* p, float a, float b) {
  Vec<T, 2> v;
  v.v[0] = from_float<T>(a), v.v[1] = from_float<T>(b);
  *vec_ptr<Vec<T, 2>>(p) = v;
}

__device__ __forceinline__ void zero(float (&acc)[2][4][4]) {
#pragma unroll
  for (int i = 0; i < 2; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kFfnThreads) ffn_fused_kernel(const __grid_constant__ FfnArgs a) {
  using Tile = TileProduct<T, kTile, kTile, FfnPipeline>;
  T* smem = dynamic_smem<T>();
  const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x & 31);
  const int g = lane >> 2, t = lane & 3;
  const int wm = warp / Tile::kWarpsN, wn = warp % Tile::kWarpsN;
  const int64_t tiles_m = ceil_div(a.m, kTile);
  const int tiles_f = static_cast<int>(ceil_div(a.f, kTile)), tiles_d = static_cast<int>(ceil_div(a.d, kTile));
  // Without w1 there is no first product: the second reads x (phase 1 and its barrier go).
  const bool first_product = a.w1 != nullptr;
  const int64_t units1 = first_product ? tiles_m * tiles_f : 0, units2 = tiles_m * tiles_d * a.split;
  const T* x = static_cast<const T*>(a.x);
  T* h = static_cast<T*>(a.h);
  const auto rows_in = [&](int64_t row0) { return static_cast<int>(a.m - row0 < kTile ? a.m - row0 : kTile); };
  float acc[2][4][4];

  // Phase 1: h = act(x . w1^T + b1). w1 is a weight: the first unit's stages are issued before
  // the wait for the kernel before (programmatic launch), x after it.
  const T* b1 = static_cast<const T*>(a.b1);
  bool waited = false;
  for (int64_t u = blockIdx.x; u < units1; u += gridDim.x) {
    const int64_t row0 = u / tiles_f * kTile;
    const int col0 = static_cast<int>(u % tiles_f) * kTile;
    Tile tile(smem, x, static_cast<const T*>(a.w1), a.k1, a.m, a.f, row0, col0, 0, a.k1);
    const bool first = !waited;
    if (first) {
      tile.prefetch_w();
      wait_for_producers();
      waited = true;
    }
    zero(acc);
    tile.run(acc, first, rows_in(row0));
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = col0 + wn * 32 + j * 8 + 2 * t;
      if (c >= a.f) continue;  // F % 8 == 0: c and c + 1 are both in or both out
      const float bias0 = b1 ? to_float(b1[c]) : 0.0f, bias1 = b1 ? to_float(b1[c + 1]) : 0.0f;
#pragma unroll
      for (int i = 0; i < 2; ++i) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int64_t r = row0 + wm * 32 + i * 16 + g + 8 * half;
          if (r >= a.m) continue;
          float v[2] = {acc[i][j][2 * half] + bias0, acc[i][j][2 * half + 1] + bias1};
          activate_stored<T>(a.act, v, a.act_alpha, a.act_beta);
          store_pair(h + r * a.f + c, v[0], v[1]);
        }
      }
    }
  }
  if (!waited) wait_for_producers();

  // Phase 2: unit u is slice u % split of tile u / split. The block's first unit's w2 stages
  // are issued before the barrier (w2 is a weight), h's after it.
  const auto phase2_tile = [&](int64_t u) {
    const int s = static_cast<int>(u % a.split);
    const int64_t tile = u / a.split;
    const int k_begin = s * a.k_per_split;
    return Tile(smem, first_product ? h : x, static_cast<const T*>(a.w2), a.f, a.m, a.d, tile / tiles_d * kTile,
                static_cast<int>(tile % tiles_d) * kTile, k_begin, k_begin + a.k_per_split < a.f ? k_begin + a.k_per_split : a.f);
  };
  const int64_t first2 = blockIdx.x;
  Tile early = phase2_tile(first2 < units2 ? first2 : 0);
  if (first2 < units2) early.prefetch_w();
  if (first_product) grid_sync();  // every row of h is written (uniform: every block or none)
  for (int64_t u = first2; u < units2; u += gridDim.x) {
    const int s = static_cast<int>(u % a.split);
    const int64_t tile = u / a.split;
    const int64_t row0 = tile / tiles_d * kTile;
    const int col0 = static_cast<int>(tile % tiles_d) * kTile;
    zero(acc);
    if (u == first2) early.run(acc, true, rows_in(row0));
    else phase2_tile(u).run(acc, false, rows_in(row0));
    float* part = a.partial + static_cast<int64_t>(s) * a.m * a.d;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = col0 + wn * 32 + j * 8 + 2 * t;
      if (c >= a.d) continue;
#pragma unroll
      for (int i = 0; i < 2; ++i) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int64_t r = row0 + wm * 32 + i * 16 + g + 8 * half;
          if (r < a.m) *vec_ptr<float2>(part + r * a.d + c) = make_float2(acc[i][j][2 * half], acc[i][j][2 * half + 1]);
        }
      }
    }
  }
  grid_sync();  // every partial is written
  allow_dependents();

  // Phase 3: a row a warp, 8 values a chunk, chunk lane + 32 q of the row.
  const T* res = static_cast<const T*>(a.residual);
  const T* b2 = static_cast<const T*>(a.b2);
  const T* gamma = static_cast<const T*>(a.gamma);
  const T* beta = static_cast<const T*>(a.beta);
  T* y = static_cast<T*>(a.y);
  const int chunks = a.d / 8;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + warp; r < a.m; r += static_cast<int64_t>(gridDim.x) * kWarps) {
    float v[kMaxChunksPerLane][8];
    float sum = 0.0f;
#pragma unroll
    for (int q = 0; q < kMaxChunksPerLane; ++q) {
      const int chunk = lane + 32 * q;
      if (chunk >= chunks) continue;
      const int c = chunk * 8;
      const Vec<T, 8> xr = *vec_ptr<const Vec<T, 8>>(res + r * a.d + c);
#pragma unroll
      for (int e = 0; e < 8; ++e) v[q][e] = to_float(xr.v[e]);
      if (b2) {
        const Vec<T, 8> b = *vec_ptr<const Vec<T, 8>>(b2 + c);
#pragma unroll
        for (int e = 0; e < 8; ++e) v[q][e] += to_float(b.v[e]);
      }
      for (int s = 0; s < a.split; ++s) {
        const float* p = a.partial + (static_cast<int64_t>(s) * a.m + r) * a.d + c;
        const float4 p0 = *vec_ptr<const float4>(p), p1 = *vec_ptr<const float4>(p + 4);
        v[q][0] += p0.x, v[q][1] += p0.y, v[q][2] += p0.z, v[q][3] += p0.w;
        v[q][4] += p1.x, v[q][5] += p1.y, v[q][6] += p1.z, v[q][7] += p1.w;
      }
#pragma unroll
      for (int e = 0; e < 8; ++e) sum += v[q][e];
    }
    const float mean = warp_sum(sum) / static_cast<float>(a.d);
    float sq = 0.0f;
#pragma unroll
    for (int q = 0; q < kMaxChunksPerLane; ++q) {
      if (lane + 32 * q >= chunks) continue;
#pragma unroll
      for (int e = 0; e < 8; ++e) sq += (v[q][e] - mean) * (v[q][e] - mean);
    }
    const float scale = 1.0f / sqrtf(warp_sum(sq) / static_cast<float>(a.d) + a.eps);
#pragma unroll
    for (int q = 0; q < kMaxChunksPerLane; ++q) {
      const int chunk = lane + 32 * q;
      if (chunk >= chunks) continue;
      const int c = chunk * 8;
      const Vec<T, 8> gm = *vec_ptr<const Vec<T, 8>>(gamma + c), bt = *vec_ptr<const Vec<T, 8>>(beta + c);
      Vec<T, 8> out;
#pragma unroll
      for (int e = 0; e < 8; ++e) out.v[e] = from_float<T>((v[q][e] - mean) * scale * to_float(gm.v[e]) + to_float(bt.v[e]));
      *vec_ptr<Vec<T, 8>>(y + r * a.d + c) = out;
    }
  }
}

// A cooperative grid that waits at `barriers` grid barriers (the kernel bench's measure of one).
struct BarrierArgs {
  int barriers = 0;
};

__global__ void grid_barrier_kernel(const __grid_constant__ BarrierArgs a) {
  for (int i = 0; i < a.barriers; ++i) grid_sync();
}

// Blocks of the cooperative grid: at most one an SM (the phases' units are few) and at most
// what the device holds at once.
template <typename T>
int64_t ffn_grid() {
  void (*kernel)(FfnArgs) = ffn_fused_kernel<T>;
  cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel), cudaFuncAttributeMaxDynamicSharedMemorySize,
                       static_cast<int>(kFfnSmem));
  int64_t sms = 132;
#ifndef INGOT_CUDA_EMULATION
  int device = 0, count = 0;
  if (cudaGetDevice(&device) == cudaSuccess &&
      cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) == cudaSuccess && count > 0) {
    sms = count;
  }
  cudaGetLastError();
#endif
  return std::min<int64_t>(sms, cooperative_blocks(kernel, kFfnThreads, kFfnSmem));
}

// The split of F for phase 2: as many slices as keep its units within the grid (or within
// phase 1's units where those are more), each slice some of F.
int choose_split(int64_t m, int64_t d, int64_t f, int64_t grid, bool first_product) {
  const int64_t tiles = ceil_div(m, kTile) * ceil_div(d, kTile);
  const int64_t room = std::max(grid, first_product ? ceil_div(m, kTile) * ceil_div(f, kTile) : 0);
  int split = 1;
  for (int s : {2, 4, 8}) {
    const int64_t kps = ceil_div(ceil_div(f, s), FfnPipeline::kTileK) * FfnPipeline::kTileK;
    if (tiles * s <= room && (s - 1) * kps < f) split = s;
  }
  return split;
}

// h's bytes rounded up: the float partials after them stay as aligned as the workspace.
size_t align_up(size_t bytes) { return (bytes + 255) / 256 * 256; }

}  // namespace

}  // namespace detail

namespace {

// Whether an optional operand is there: data or dims. Runners size the workspace before the
// activations have addresses (shapes only), so presence cannot rest on the data pointer alone.
bool present(const DeviceTensor& t) { return t.data != nullptr || !t.dims.empty(); }

// M (x's leading dims folded), x's width K1, the second product's K (F, or K1 without w1) and
// the output's width D; zeros where the shapes are not a feed-forward's.
struct FfnDims {
  int64_t m = 0, k1 = 0, f = 0, d = 0;
};
FfnDims ffn_dims(const FfnOperands& o) {
  const bool first = present(o.w1);
  if (o.x.dims.size() < 2 || o.w2.dims.size() != 2 || (first && o.w1.dims.size() != 2)) return {};
  const int64_t k1 = o.x.dims.back();
  return {k1 > 0 ? o.x.numel() / k1 : 0, k1, first ? o.w1.dims[0] : k1, o.w2.dims[0]};
}

}  // namespace

Status ffn_fused_supported(const FfnOperands& o) {
  const ir::DType t = o.x.dtype;
  if (t != ir::DType::kFloat16 && t != ir::DType::kBFloat16) {
    return unsupported("fused feed-forward: ", ir::dtype_name(t), " (f16 / bf16 only)");
  }
  const bool first = present(o.w1);
  if (o.x.dims.size() < 2 || (first && o.w1.dims.size() != 2) || o.w2.dims.size() != 2) {
    return unsupported("fused feed-forward: x ", shape_str(o.x.dims), " must be [..., K], w1 ", shape_str(o.w1.dims),
                       " and w2 ", shape_str(o.w2.dims), " 2-D");
  }
  const auto [m, k1, f, d] = ffn_dims(o);
  std::vector<int64_t> y_dims = o.x.dims;
  y_dims.back() = d;
  const bool residual = present(o.residual);
  if ((first && o.w1.dims[1] != k1) || o.w2.dims[1] != f || o.y.dims != y_dims || (residual && o.residual.dims != y_dims) ||
      (!residual && d != k1)) {
    return invalid_argument("fused feed-forward: x ", shape_str(o.x.dims), ", w1 ", shape_str(o.w1.dims), ", w2 ",
                            shape_str(o.w2.dims), ", residual ", shape_str(o.residual.dims), " and y ",
                            shape_str(o.y.dims), " do not match ([..., K], [F, K], [D, F] or [D, K] without w1, y's dims; "
                            "without a residual D = K)");
  }
  if (!first && (present(o.b1) || o.act != net::UnaryOp::kIdentity)) {
    return invalid_argument("fused feed-forward: b1 or an activation without w1");
  }
  if (m < 1 || k1 % 8 || d < 8 || f < 8 || d % 8 || f % 8 || d > 32 * 8 * detail::kMaxChunksPerLane || f > (1 << 24) ||
      k1 > (1 << 24)) {
    return unsupported("fused feed-forward: M = ", m, ", K = ", k1, ", F = ", f, ", D = ", d,
                       " (M >= 1; K, F, D multiples of 8, D <= 1024)");
  }
  const auto vector_of = [](const DeviceTensor& v, int64_t n) { return v.data == nullptr || v.numel() == n; };
  if (!vector_of(o.b1, f) || !vector_of(o.b2, d) || o.gamma.numel() != d || o.beta.numel() != d || !o.gamma.data ||
      !o.beta.data) {
    return invalid_argument("fused feed-forward: b1 ", shape_str(o.b1.dims), ", b2 ", shape_str(o.b2.dims), ", gamma ",
                            shape_str(o.gamma.dims), ", beta ", shape_str(o.beta.dims), " must have F, D, D, D values");
  }
  for (const DeviceTensor* v : {&o.w1, &o.b1, &o.w2, &o.b2, &o.gamma, &o.beta, &o.residual, &o.y}) {
    if (v->data && v->dtype != t) return unsupported("fused feed-forward: operands of mixed dtypes");
  }
  for (const DeviceTensor* v : {&o.x, &o.w1, &o.b1, &o.w2, &o.b2, &o.gamma, &o.beta, &o.residual, &o.y}) {
    if (v->data && !detail::aligned_to(v->data, 16)) return unsupported("fused feed-forward: operands not 16-byte aligned");
  }
  if (!detail::is_epilogue_activation(o.act)) return unsupported("fused feed-forward: activation ", net::enum_name(o.act));
  if (o.split != 0 && o.split != 1 && o.split != 2 && o.split != 4 && o.split != detail::kMaxSplit) {
    return unsupported("fused feed-forward: split ", o.split, " (1, 2, 4 or 8)");
  }
  if (o.split > 1 && int64_t{o.split - 1} * (detail::ceil_div(detail::ceil_div(f, o.split), 64) * 64) >= f) {
    return unsupported("fused feed-forward: F = ", f, " leaves slices of a split of ", o.split, " empty");
  }
  if (!(o.eps >= 0.0f)) return invalid_argument("fused feed-forward: eps must be >= 0");
  return Status::ok();
}

size_t ffn_fused_workspace(const FfnOperands& o) {
  const auto [m, k1, f, d] = ffn_dims(o);
  if (m < 1) return 0;
  const size_t h = present(o.w1) ? detail::align_up(static_cast<size_t>(m * f) * 2) : 0;
  return h + detail::kMaxSplit * static_cast<size_t>(m * d) * sizeof(float);
}

FfnOperands ffn_operands(const net::FeedForwardParams& p, const std::vector<DeviceTensor>& in,
                         const std::vector<DeviceTensor>& out) {
  FfnOperands o;
  const auto at = [&](size_t i) { return i < in.size() ? in[i] : DeviceTensor{}; };
  o.x = at(0), o.w1 = at(1), o.b1 = at(2), o.w2 = at(3), o.b2 = at(4), o.gamma = at(5), o.beta = at(6);
  o.residual = at(7);
  if (!out.empty()) o.y = out[0];
  o.act = p.act, o.act_alpha = static_cast<float>(p.act_alpha), o.act_beta = static_cast<float>(p.act_beta);
  o.eps = static_cast<float>(p.eps);
  return o;
}

bool feed_forward_fits(int64_t rows, int64_t d, int64_t f, ir::DType dtype) {
  return (dtype == ir::DType::kFloat16 || dtype == ir::DType::kBFloat16) && rows >= 1 && rows <= 256 && d >= 8 &&
         d % 8 == 0 && d <= 32 * 8 * detail::kMaxChunksPerLane && f >= 8 && f % 8 == 0 && f <= (1 << 24);
}

Status launch_ffn_fused(const FfnOperands& o, void* workspace, cudaStream_t stream) {
  INGOT_RETURN_IF_ERROR(ffn_fused_supported(o));
  if (!workspace || !detail::aligned_to(workspace, 16)) {
    return invalid_argument("fused feed-forward: needs a 16-byte aligned workspace of ffn_fused_workspace() bytes");
  }
  const auto [m, k1, f, d] = ffn_dims(o);
  const bool first = present(o.w1);
  if ((first && !o.w1.data) || (present(o.residual) && !o.residual.data)) {
    return invalid_argument("fused feed-forward: w1 or the residual has dims but no data");
  }
  detail::FfnArgs a;
  a.x = o.x.data, a.w1 = o.w1.data, a.b1 = o.b1.data, a.w2 = o.w2.data, a.b2 = o.b2.data;
  a.gamma = o.gamma.data, a.beta = o.beta.data, a.y = o.y.data;
  a.residual = o.residual.data ? o.residual.data : o.x.data;
  a.m = m, a.k1 = static_cast<int>(k1), a.f = static_cast<int>(f), a.d = static_cast<int>(d);
  const size_t h_bytes = first ? detail::align_up(static_cast<size_t>(m * f) * 2) : 0;
  a.h = first ? workspace : nullptr;
  a.partial = reinterpret_cast<float*>(static_cast<char*>(workspace) + h_bytes);
  a.act = o.act, a.act_alpha = o.act_alpha, a.act_beta = o.act_beta, a.eps = o.eps;
  const bool f16 = o.x.dtype == ir::DType::kFloat16;
  const int64_t capacity = f16 ? detail::ffn_grid<__half>() : detail::ffn_grid<__nv_bfloat16>();
  a.split = o.split ? o.split : detail::choose_split(a.m, a.d, a.f, capacity, first);
  a.k_per_split = static_cast<int>(detail::ceil_div(detail::ceil_div(a.f, a.split), 64) * 64);
  const int64_t units = std::max({first ? detail::ceil_div(a.m, detail::kTile) * detail::ceil_div(a.f, detail::kTile) : 0,
                                  detail::ceil_div(a.m, detail::kTile) * detail::ceil_div(a.d, detail::kTile) * a.split,
                                  detail::ceil_div(a.m, detail::kWarps)});
  const auto grid = static_cast<unsigned>(std::max<int64_t>(1, std::min(capacity, units)));
  if (f16) detail::launch_cooperative(detail::ffn_fused_kernel<__half>, grid, detail::kFfnThreads, detail::kFfnSmem, stream, a);
  else detail::launch_cooperative(detail::ffn_fused_kernel<__nv_bfloat16>, grid, detail::kFfnThreads, detail::kFfnSmem, stream, a);
  return detail::check_launch("fused feed-forward");
}

Status launch_grid_barriers(int barriers, cudaStream_t stream) {
  if (barriers < 0) return invalid_argument("grid barriers: ", barriers, " < 0");
  int64_t blocks = detail::cooperative_blocks(detail::grid_barrier_kernel, 128, 0);
#ifndef INGOT_CUDA_EMULATION
  int device = 0, sms = 0;
  if (cudaGetDevice(&device) == cudaSuccess && cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) == cudaSuccess) {
    blocks = std::min<int64_t>(blocks, sms);
  }
  cudaGetLastError();
#endif
  detail::launch_cooperative(detail::grid_barrier_kernel, static_cast<unsigned>(blocks), 128, 0, stream,
                             detail::BarrierArgs{barriers});
  return detail::check_launch("grid barriers");
}

}  // namespace ingot::kernels::cuda
