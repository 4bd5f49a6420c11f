#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/squeeze_excite.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

struct GateArgs {
  const double* partial = nullptr;  // [n, splits, c]
  float* hidden = nullptr;          // [n, r] in the workspace (the path with a hidden-layer kernel)
  const void *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr;
  const void* x = nullptr;  // [n, hw, c] when the output is x * gate
  void* y = nullptr;        // [n, c], or [n, hw, c] with x
  int64_t n = 0, hw = 0, c = 0, r = 0, splits = 1;
  int64_t chunks = 1;                    // blocks of kGateChannels channels per sample
  int64_t tiles = 1, tile_rows = 0;      // blocks of tile_rows pixels per chunk (with x)
  bool vector = false;                   // x and y in 16-byte accesses
  bool w1_vector = false;                // w1 in 16-byte loads
  net::UnaryOp act1 = net::UnaryOp::kIdentity, act2 = net::UnaryOp::kIdentity;
  float act1_alpha = 0, act1_beta = 0, act2_alpha = 0, act2_beta = 0;
};

constexpr int kGateThreads = 256;
constexpr int kGateWarps = kGateThreads / 32;
constexpr int64_t kGateChannels = 64;  // gate channels per block: 8 per warp
constexpr int64_t kTargetBlocks = 264;  // two waves of an H100/H200
// Each gate block computes the hidden layer itself (w1 read again, from L2) while all blocks
// together do at most this many multiply-adds for it; beyond, a first kernel writes the hidden
// layer to the workspace once per sample.
constexpr int64_t kSelfContainedMacs = int64_t{1} << 22;

struct Geometry {
  int64_t chunks = 1, tiles = 1, tile_rows = 0;
  bool self_contained = true;
};

Geometry geometry(int64_t n, int64_t hw, int64_t c, int64_t r, bool scale) {
  Geometry g;
  g.chunks = ceil_div(c, kGateChannels);
  if (scale) {  // spread the multiply over about kTargetBlocks blocks, 32 pixels or more each
    int64_t tiles = std::clamp<int64_t>(ceil_div(kTargetBlocks, n * g.chunks), 1, ceil_div(hw, 32));
    g.tile_rows = ceil_div(hw, tiles);
    g.tiles = ceil_div(hw, g.tile_rows);
  }
  g.self_contained = n * g.chunks * g.tiles * r * c <= kSelfContainedMacs;
  return g;
}

constexpr int kUnitsPerWarp = 4;                               // hidden units a warp computes at once
constexpr int64_t kHiddenBlockUnits = kGateWarps * kUnitsPerWarp;  // per block of the hidden kernel
constexpr int kPoolScratch = kGateThreads;                       // doubles: split groups x channels

// Shared memory of a block that pools a sample: kPoolScratch doubles, then the floats.
size_t pool_smem(int64_t floats) { return kPoolScratch * sizeof(double) + static_cast<size_t>(floats) * sizeof(float); }

// pooled[k] = the mean over H * W of sample b, channel k, from the split partial sums. Where
// the block has threads to spare (C < 256), groups of them add disjoint splits and the groups'
// sums meet in `scratch`, so that no thread walks all of the (up to 64) splits.
__device__ __forceinline__ void pool_sample(const GateArgs& a, int64_t b, float* pooled, double* scratch) {
  const double* part = a.partial + b * a.splits * a.c;
  const double inv = 1.0 / static_cast<double>(a.hw);
  int64_t groups = kGateThreads / a.c;
  if (groups > a.splits) groups = a.splits;
  if (groups <= 1) {
    for (int64_t k = threadIdx.x; k < a.c; k += blockDim.x) {
      double s = 0;
#pragma unroll 4
      for (int64_t sp = 0; sp < a.splits; ++sp) s += part[sp * a.c + k];
      pooled[k] = static_cast<float>(s * inv);
    }
    return;
  }
  const int64_t t = threadIdx.x;
  if (t < groups * a.c) {
    const int64_t k = t % a.c, g = t / a.c;
    double s = 0;
#pragma unroll 4
    for (int64_t sp = g; sp < a.splits; sp += groups) s += part[sp * a.c + k];
    scratch[t] = s;
  }
  __syncthreads();
  if (t < a.c) {
    double s = 0;
    for (int64_t g = 0; g < groups; ++g) s += scratch[g * a.c + t];
    pooled[t] = static_cast<float>(s * inv);
  }
}

// Hidden units j0 .. j0 + kUnitsPerWarp - 1 (those below r) of one sample, by one warp: lanes
// along C (16-byte loads of w1 where C allows), the units' loads interleaved so that they are
// in flight together. Lane 0 gets act1(w1[j] . pooled + b1[j]) in out[u].
template <typename T>
__device__ __forceinline__ void hidden_units(const GateArgs& a, int64_t j0, const float* pooled, int lane,
                                             float (&out)[kUnitsPerWarp]) {
  constexpr int V = kVec16<T>;
  const T* w1 = static_cast<const T*>(a.w1);
  float acc[kUnitsPerWarp];
  const T* rows[kUnitsPerWarp];
#pragma unroll
  for (int u = 0; u < kUnitsPerWarp; ++u) {
    acc[u] = 0;
    rows[u] = w1 + (j0 + u < a.r ? j0 + u : j0) * a.c;  // past r: a valid row, result dropped
  }
  if (a.w1_vector) {  // C % V == 0 and w1 aligned: every row starts 16-byte aligned
#pragma unroll 2
    for (int64_t v = lane; v < a.c / V; v += 32) {
      float p[V];
#pragma unroll
      for (int e = 0; e < V; ++e) p[e] = pooled[v * V + e];
#pragma unroll
      for (int u = 0; u < kUnitsPerWarp; ++u) {
        Vec<T, V> w = *vec_ptr<const Vec<T, V>>(rows[u] + v * V);
#pragma unroll
        for (int e = 0; e < V; ++e) acc[u] += to_float(w.v[e]) * p[e];
      }
    }
  } else {
#pragma unroll 4
    for (int64_t k = lane; k < a.c; k += 32) {
      const float p = pooled[k];
#pragma unroll
      for (int u = 0; u < kUnitsPerWarp; ++u) acc[u] += to_float(rows[u][k]) * p;
    }
  }
#pragma unroll
  for (int u = 0; u < kUnitsPerWarp; ++u) {
    float s = warp_reduce(acc[u], [](float x, float y) { return x + y; });
    if (a.b1 && j0 + u < a.r) s += to_float(static_cast<const T*>(a.b1)[j0 + u]);
    out[u] = activate(a.act1, s, a.act1_alpha, a.act1_beta);
  }
}

// The first launch where the gate blocks do not compute the hidden layer: a block per
// (sample, kHiddenBlockUnits hidden units).
template <typename T>
__global__ void __launch_bounds__(kGateThreads) squeeze_excite_hidden_kernel(const __grid_constant__ GateArgs a) {
  double* scratch = dynamic_smem<double>();  // [kPoolScratch], then pooled [c]
  float* pooled = reinterpret_cast<float*>(scratch + kPoolScratch);
  const int lane = static_cast<int>(threadIdx.x & 31), warp = static_cast<int>(threadIdx.x >> 5);
  const int64_t unit_blocks = ceil_div(a.r, kHiddenBlockUnits);
  for (int64_t item = blockIdx.x; item < a.n * unit_blocks; item += gridDim.x) {
    const int64_t b = item / unit_blocks, j0 = item % unit_blocks * kHiddenBlockUnits + warp * kUnitsPerWarp;
    pool_sample(a, b, pooled, scratch);
    __syncthreads();
    if (j0 < a.r) {
      float h[kUnitsPerWarp];
      hidden_units<T>(a, j0, pooled, lane, h);
#pragma unroll
      for (int u = 0; u < kUnitsPerWarp; ++u) {
        if (lane == 0 && j0 + u < a.r) a.hidden[b * a.r + j0 + u] = h[u];
      }
    }
    __syncthreads();  // pooled[] and scratch[] are rewritten for the next item
  }
}

// out[b, row, k0 + kk] = x[b, row, k0 + kk] * gate[kk] over the item's pixels and channels.
template <typename T>
__device__ __forceinline__ void scale_tile(const GateArgs& a, int64_t b, int64_t k0, int64_t row0, const float* gate) {
  const int64_t kn = a.c - k0 < kGateChannels ? a.c - k0 : kGateChannels;
  const int64_t row1 = row0 + a.tile_rows < a.hw ? row0 + a.tile_rows : a.hw;
  const T* x = static_cast<const T*>(a.x) + b * a.hw * a.c + k0;
  T* y = static_cast<T*>(a.y) + b * a.hw * a.c + k0;
  constexpr int V = kVec16<T>;
  if (a.vector) {  // c % V == 0: every access of V channels is aligned and inside the row
    constexpr int lanes = static_cast<int>(kGateChannels) / V;
    constexpr int rows_per_pass = kGateThreads / lanes;
    const int kk = static_cast<int>(threadIdx.x) % lanes * V;
    if (kk >= kn) return;
    for (int64_t row = row0 + threadIdx.x / lanes; row < row1; row += rows_per_pass) {
      Vec<T, V> v = *vec_ptr<const Vec<T, V>>(x + row * a.c + kk);
#pragma unroll
      for (int j = 0; j < V; ++j) v.v[j] = from_float<T>(to_float(v.v[j]) * gate[kk + j]);
      *vec_ptr<Vec<T, V>>(y + row * a.c + kk) = v;
    }
    return;
  }
  for (int64_t e = threadIdx.x; e < (row1 - row0) * kn; e += blockDim.x) {
    const int64_t off = (row0 + e / kn) * a.c + e % kn;
    y[off] = from_float<T>(to_float(x[off]) * gate[e % kn]);
  }
}

// A block per (sample, kGateChannels channels[, tile of pixels]). Without a.hidden the block
// pools the sample and computes the whole hidden layer first; with it, it reads the hidden
// layer. Then each warp computes 8 gate channels, lanes along w2's rows; with a.x the block
// multiplies its tile of x by them.
template <typename T>
__global__ void __launch_bounds__(kGateThreads) squeeze_excite_gate_kernel(const __grid_constant__ GateArgs a) {
  double* scratch = dynamic_smem<double>();  // [kPoolScratch], gate [kGateChannels], hidden [r], pooled [c]
  float* gate = reinterpret_cast<float*>(scratch + kPoolScratch);
  float* hidden = gate + kGateChannels;
  float* pooled = hidden + a.r;
  const T* w2 = static_cast<const T*>(a.w2);
  const int lane = static_cast<int>(threadIdx.x & 31), warp = static_cast<int>(threadIdx.x >> 5);
  const int64_t per_sample = a.chunks * a.tiles;
  for (int64_t item = blockIdx.x; item < a.n * per_sample; item += gridDim.x) {
    const int64_t b = item / per_sample, k0 = item % per_sample / a.tiles * kGateChannels;
    const int64_t row0 = item % a.tiles * a.tile_rows;
    if (a.hidden) {
      for (int64_t j = threadIdx.x; j < a.r; j += blockDim.x) hidden[j] = a.hidden[b * a.r + j];
    } else {
      pool_sample(a, b, pooled, scratch);
      __syncthreads();
      for (int64_t j0 = warp * kUnitsPerWarp; j0 < a.r; j0 += kHiddenBlockUnits) {
        float h[kUnitsPerWarp];
        hidden_units<T>(a, j0, pooled, lane, h);
#pragma unroll
        for (int u = 0; u < kUnitsPerWarp; ++u) {
          if (lane == 0 && j0 + u < a.r) hidden[j0 + u] = h[u];
        }
      }
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < kGateChannels / kGateWarps; ++i) {
      const int64_t k = k0 + i * kGateWarps + warp;
      if (k >= a.c) break;
      const T* row = w2 + k * a.r;
      float s = 0;
      for (int64_t j = lane; j < a.r; j += 32) s += to_float(row[j]) * hidden[j];
      s = warp_reduce(s, [](float p, float q) { return p + q; });
      if (lane == 0) {
        if (a.b2) s += to_float(static_cast<const T*>(a.b2)[k]);
        T g = from_float<T>(activate(a.act2, s, a.act2_alpha, a.act2_beta));
        if (a.x) gate[k - k0] = to_float(g);
        else static_cast<T*>(a.y)[b * a.c + k] = g;
      }
    }
    if (a.x) {
      __syncthreads();
      scale_tile<T>(a, b, k0, row0, gate);
    }
    __syncthreads();  // the shared arrays are rewritten for the next item
  }
}

}  // namespace

Status squeeze_excite_supported(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out) {
  const char* L = "squeeze_excite";
  if (in.size() != 5 || out.size() != 1) return invalid_argument(L, ": takes x, w1, b1?, w2, b2? and one output");
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
  for (const DeviceTensor* t : {&w1, &in[2], &w2, &in[4], &y}) {
    if (t->data && t->dtype != x.dtype) return invalid_argument(L, ": every tensor must be ", ir::dtype_name(x.dtype));
  }
  if (!ir::is_floating(x.dtype)) return unsupported(L, " on ", ir::dtype_name(x.dtype));
  if (!is_epilogue_activation(p.act1) || !is_epilogue_activation(p.act2)) {
    return unsupported(L, ": activations ", net::enum_name(p.act1), " / ", net::enum_name(p.act2));
  }
  if (c + r > kSqueezeExciteMaxFloats) return unsupported(L, ": ", c, " channels and ", r, " hidden units do not fit");
  return Status::ok();
}

size_t squeeze_excite_workspace(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out) {
  if (!squeeze_excite_supported(p, in, out).is_ok()) return 0;
  const DeviceTensor& x = in[0];
  int64_t n = x.dims[0], hw = x.dims[1] * x.dims[2], c = x.dims[3], r = in[1].dims[0];
  size_t partial = static_cast<size_t>(n * column_splits(n, hw, c, ir::dtype_size(x.dtype)) * c) * sizeof(double);
  bool hidden_in_workspace = !geometry(n, hw, c, r, p.scale_input).self_contained;
  return partial + (hidden_in_workspace ? static_cast<size_t>(n * r) * sizeof(float) : 0);
}

Status launch_squeeze_excite(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out, void* workspace,
                             cudaStream_t stream) {
  const char* L = "squeeze_excite";
  INGOT_RETURN_IF_ERROR(squeeze_excite_supported(p, in, out));
  if (!workspace) return invalid_argument(L, ": needs a workspace of ", squeeze_excite_workspace(p, in, out), " bytes");
  const DeviceTensor& x = in[0];
  GateArgs a;
  a.n = x.dims[0], a.hw = x.dims[1] * x.dims[2], a.c = x.dims[3], a.r = in[1].dims[0];
  if (a.n == 0 || a.c == 0) return Status::ok();
  if (a.hw == 0) return unsupported(L, ": a mean over empty spatial dims");
  INGOT_RETURN_IF_ERROR(launch_column_sums(x, a.n, a.hw, a.c, workspace, stream));
  a.partial = static_cast<const double*>(workspace);
  a.splits = column_splits(a.n, a.hw, a.c, ir::dtype_size(x.dtype));
  a.w1 = in[1].data, a.b1 = in[2].data, a.w2 = in[3].data, a.b2 = in[4].data, a.y = out[0].data;
  a.act1 = p.act1, a.act2 = p.act2;
  a.act1_alpha = static_cast<float>(p.act1_alpha), a.act1_beta = static_cast<float>(p.act1_beta);
  a.act2_alpha = static_cast<float>(p.act2_alpha), a.act2_beta = static_cast<float>(p.act2_beta);
  const Geometry g = geometry(a.n, a.hw, a.c, a.r, p.scale_input);
  a.chunks = g.chunks, a.tiles = g.tiles, a.tile_rows = g.tile_rows;
  if (!g.self_contained) a.hidden = reinterpret_cast<float*>(static_cast<double*>(workspace) + a.n * a.splits * a.c);
  const int64_t vec = 16 / static_cast<int64_t>(ir::dtype_size(x.dtype));
  a.w1_vector = a.c % vec == 0 && aligned_to(a.w1, 16);
  if (p.scale_input) {
    a.x = x.data;
    a.vector = a.c % vec == 0 && aligned_to(x.data, 16) &&
               aligned_to(out[0].data, 16);
  }
  auto blocks = [](int64_t items) { return static_cast<unsigned>(std::min<int64_t>(items, kMaxGridBlocks)); };
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      if (!g.self_contained) {
        launch_kernel(squeeze_excite_hidden_kernel<T>, blocks(a.n * ceil_div(a.r, kHiddenBlockUnits)), kGateThreads,
                      pool_smem(a.c), stream, a);
      }
      size_t smem = pool_smem(kGateChannels + a.r + (g.self_contained ? a.c : 0));
      launch_kernel(squeeze_excite_gate_kernel<T>, blocks(a.n * a.chunks * a.tiles), kGateThreads, smem, stream, a);
    }
  });
  if (!dispatched) return unsupported(L, " on ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
