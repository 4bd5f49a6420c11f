#include "kernels/cuda/pointwise_mma.cuh"

#include <algorithm>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/mma.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kRows = 16;          // pixels of an mma tile
constexpr int kMaxChunks = 4;      // 16-wide slices of K (K <= 64)
constexpr int kGroupTiles = 4;     // 8-channel mma tiles a warp computes per pass: 32 channels
constexpr int kGroupChannels = kGroupTiles * 8;
// Floats per row of a warp's staging tile: 32 channels + 8, so that the fragment writes (row g,
// column 2t as float2) fall on distinct banks and the epilogue's float4 reads along a row too.
constexpr int kStageStride = kGroupChannels + 8;
constexpr int kStageFloats = kRows * kStageStride;
constexpr int kOcts = kRows * kGroupChannels / 8;  // 8-channel groups of a staged pass (16-byte stores)

struct MmaArgs {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;
  const void* residual = nullptr;
  void* y = nullptr;
  int64_t pixels = 0, items = 0;  // items: 16-pixel tiles x passes
  int k = 0, m = 0, chunks = 0, ntiles = 0;
  Divisor passes;  // 32-channel passes of a tile: ceil(ntiles / kGroupTiles)
  bool narrow = true;  // items < 2^31 (Divisor's 32-bit path)
  net::UnaryOp act = net::UnaryOp::kIdentity;
  float alpha = 0.0f, beta = 0.0f;
};

// The 4 bytes of two consecutive 16-bit values at p (4-byte aligned).
template <typename T>
__device__ __forceinline__ uint32_t load_pair(const T* p) {
  return *vec_ptr<const uint32_t>(p);
}

// The A fragments of the 16 pixels from p0 for every slice of K (zeros past the pixels and K).
template <typename T>
__device__ __forceinline__ void load_a(const MmaArgs& a, int64_t p0, int g, int t, uint32_t (&frag)[kMaxChunks][4]) {
  const T* x = static_cast<const T*>(a.x);
  const int64_t r0 = p0 + g, r1 = r0 + 8;
  const T* x0 = x + (r0 < a.pixels ? r0 : 0) * a.k;
  const T* x1 = x + (r1 < a.pixels ? r1 : 0) * a.k;
#pragma unroll
  for (int kc = 0; kc < kMaxChunks; ++kc) {
    const int k = kc * 16 + 2 * t;
    const bool lo = k < a.k, hi = k + 8 < a.k;  // K % 8 == 0: a lane's pair is all in or all out
    frag[kc][0] = lo && r0 < a.pixels ? load_pair(x0 + k) : 0u;
    frag[kc][1] = lo && r1 < a.pixels ? load_pair(x1 + k) : 0u;
    frag[kc][2] = hi && r0 < a.pixels ? load_pair(x0 + k + 8) : 0u;
    frag[kc][3] = hi && r1 < a.pixels ? load_pair(x1 + k + 8) : 0u;
  }
}

// A warp's item is one pass (32 channels) of one 16-pixel tile; the passes of a tile are
// consecutive items, so mostly warps of one block (their A loads then hit L1), and a tile with
// many outputs spreads over several warps (at batch 1 a warp per tile ran its passes one after
// another: 7 blocks, ~40 us for the 28x28 expand, note 32).
// Shared memory: w as B fragments [ntiles][chunks][32 lanes] (uint2), bias [m] (float), then a
// staging tile [16][kStageStride] floats per warp.
template <typename T>
__global__ void __launch_bounds__(kThreads) pointwise_mma_kernel(const __grid_constant__ MmaArgs a) {
  uint2* wf = dynamic_smem<uint2>();
  const int frags = a.ntiles * a.chunks * 32;
  float* bias = reinterpret_cast<float*>(wf + frags);
  const int warp = static_cast<int>(threadIdx.x / 32), lane = static_cast<int>(threadIdx.x % 32);
  float* stage = bias + a.m + warp * kStageFloats;
  const int g = lane / 4, t = lane % 4;
  // The first item's loads go out before the block's fill of the weights.
  int64_t item = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kWarps;
  uint32_t next[kMaxChunks][4];
  if (item < a.items) load_a<T>(a, a.passes.div(item, a.narrow) * kRows, g, t, next);
  const T* w = static_cast<const T*>(a.w);
  for (int f = static_cast<int>(threadIdx.x); f < frags; f += kThreads) {
    const int fl = f % 32, fc = f / 32 % a.chunks, nt = f / 32 / a.chunks;
    const T* row = w + static_cast<int64_t>(nt * 8 + fl / 4) * a.k;
    const int k = fc * 16 + 2 * (fl % 4);
    wf[f] = make_uint2(k < a.k ? load_pair(row + k) : 0u, k + 8 < a.k ? load_pair(row + k + 8) : 0u);
  }
  for (int i = static_cast<int>(threadIdx.x); i < a.m; i += kThreads) {
    bias[i] = a.bias ? to_float(static_cast<const T*>(a.bias)[i]) : 0.0f;
  }
  __syncthreads();  // the block's only barrier: warps then run their items independently
  for (; item < a.items; item += step) {
    uint32_t frag[kMaxChunks][4];
#pragma unroll
    for (int kc = 0; kc < kMaxChunks; ++kc) {
#pragma unroll
      for (int i = 0; i < 4; ++i) frag[kc][i] = next[kc][i];
    }
    if (item + step < a.items) load_a<T>(a, a.passes.div(item + step, a.narrow) * kRows, g, t, next);  // in flight meanwhile
    const int64_t tile = a.passes.div(item, a.narrow), p0 = tile * kRows;
    const int nt0 = static_cast<int>(item - tile * a.passes.value) * kGroupTiles;
    float acc[kGroupTiles][4] = {};
#pragma unroll
    for (int kc = 0; kc < kMaxChunks; ++kc) {
      if (kc >= a.chunks) break;
#pragma unroll
      for (int j = 0; j < kGroupTiles; ++j) {
        if (nt0 + j < a.ntiles) {
          const uint2 b = wf[((nt0 + j) * a.chunks + kc) * 32 + lane];
          const uint32_t bf[2] = {b.x, b.y};
          mma_16x8x16<T>(acc[j], frag[kc], bf);
        }
      }
    }
#pragma unroll
    for (int j = 0; j < kGroupTiles; ++j) {
      *vec_ptr<float2>(stage + g * kStageStride + j * 8 + 2 * t) = make_float2(acc[j][0], acc[j][1]);
      *vec_ptr<float2>(stage + (g + 8) * kStageStride + j * 8 + 2 * t) = make_float2(acc[j][2], acc[j][3]);
    }
    __syncwarp();
    // The epilogue along channels: 8 channels of one pixel a lane and step (one 16-byte store),
    // 4 lanes a row.
    const int channels = a.m - nt0 * 8 < kGroupChannels ? a.m - nt0 * 8 : kGroupChannels;
#pragma unroll
    for (int i = 0; i < kOcts / 32; ++i) {
      const int q = lane + 32 * i, row = q / (kGroupChannels / 8), c8 = q % (kGroupChannels / 8) * 8;
      const int64_t p = p0 + row;
      if (c8 >= channels || p >= a.pixels) continue;
      const int ch = nt0 * 8 + c8;
      float v[8];
      {  // ch % 8 == 0: the stage row and bias reads are 16-byte aligned
        const float4 s0 = *vec_ptr<const float4>(stage + row * kStageStride + c8);
        const float4 s1 = *vec_ptr<const float4>(stage + row * kStageStride + c8 + 4);
        const float4 b0 = *vec_ptr<const float4>(bias + ch), b1 = *vec_ptr<const float4>(bias + ch + 4);
        v[0] = s0.x + b0.x, v[1] = s0.y + b0.y, v[2] = s0.z + b0.z, v[3] = s0.w + b0.w;
        v[4] = s1.x + b1.x, v[5] = s1.y + b1.y, v[6] = s1.z + b1.z, v[7] = s1.w + b1.w;
      }
      const int64_t off = p * a.m + ch;
      if (a.residual) {
        const Vec<T, 8> r = *vec_ptr<const Vec<T, 8>>(static_cast<const T*>(a.residual) + off);
#pragma unroll
        for (int e = 0; e < 8; ++e) v[e] += to_float(r.v[e]);
      }
      activate_stored<T>(a.act, v, a.alpha, a.beta);
      Vec<T, 8> out;
#pragma unroll
      for (int e = 0; e < 8; ++e) out.v[e] = from_float<T>(v[e]);
      *vec_ptr<Vec<T, 8>>(static_cast<T*>(a.y) + off) = out;
    }
    __syncwarp();  // the staging tile is rewritten by the next item
  }
}

size_t smem_bytes(int ntiles, int chunks, int m) {
  return static_cast<size_t>(ntiles) * chunks * 32 * sizeof(uint2) + static_cast<size_t>(m) * sizeof(float) +
         static_cast<size_t>(kWarps) * kStageFloats * sizeof(float);
}

template <typename T>
void launch_as(const MmaArgs& a, cudaStream_t stream) {
  auto kernel = pointwise_mma_kernel<T>;
  const size_t smem = smem_bytes(a.ntiles, a.chunks, a.m);
  // Two waves at most: each further block fills the weights again (a few KB from L2, cheap),
  // and a warp's next item is loaded while it computes the current one.
  const int64_t blocks = std::min(ceil_div(a.items, kWarps), 2 * resident_blocks(kernel, kThreads, smem));
  launch_kernel(kernel, static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, kMaxGridBlocks)), kThreads, smem, stream, a);
}

}  // namespace

bool pointwise_mma_applies(const PointwiseOperands& o) {
  if (o.dtype != DType::kFloat16 && o.dtype != DType::kBFloat16) return false;
  if (o.k < 8 || o.k % 8 != 0 || o.k > kMaxChunks * 16 || o.m < 8 || o.m % 8 != 0) return false;
  const int64_t frag_bytes = int64_t{o.m / 8} * ceil_div(o.k, 16) * 32 * static_cast<int64_t>(sizeof(uint2));
  if (frag_bytes > kPointwiseMmaWeightBytes) return false;
  return aligned_to(o.x, 4) && aligned_to(o.w, 4) && aligned_to(o.y, 16) && (!o.residual || aligned_to(o.residual, 16));
}

void launch_pointwise_mma(const PointwiseOperands& o, cudaStream_t stream) {
  MmaArgs a;
  a.x = o.x, a.w = o.w, a.bias = o.bias, a.residual = o.residual, a.y = o.y;
  a.pixels = o.pixels;
  a.passes = Divisor::make(ceil_div(o.m / 8, kGroupTiles));
  a.items = ceil_div(o.pixels, kRows) * a.passes.value;
  a.narrow = a.items < kNarrowLimit;
  a.k = o.k, a.m = o.m;
  a.chunks = static_cast<int>(ceil_div(o.k, 16));
  a.ntiles = o.m / 8;
  a.act = o.act, a.alpha = o.alpha, a.beta = o.beta;
  if (o.dtype == DType::kFloat16) launch_as<__half>(a, stream);
  else launch_as<__nv_bfloat16>(a, stream);
}

}  // namespace ingot::kernels::cuda::detail
