// The tensor-core attention kernel (attention.cuh describes both of ours).
//
// A warp owns 16 query rows of one (batch, head) for the whole key loop: its q fragments stay in
// registers (mma.cuh's A layout, read straight from global memory), and so do its running row
// maxima, row sums and the 16 x Dv output accumulators. Per tile of 64 keys the block stages
// k as [key][d] and v transposed as [d][key] in shared memory (rows padded by 8 elements, so
// that the fragment reads of a warp hit 32 different banks), then each warp:
//   s = q . k^T          16 x 64 scores: 8 column tiles x D/16 mma steps
//   scale, mask, causal  per element (the mask through bias_at)
//   online softmax       row max over the quad of lanes that shares a row, rescale of the
//                        accumulators and row sums, p = exp(s - max)
//   o += p . v           p's accumulator fragments are, two column tiles at a time, the A
//                        fragments of the next mma (rounded to T), v^T's rows its B fragments
// and at the end divides by the row sums (each lane sums its own columns; the quad adds them).
// A mask that is the same for every query row (a [B, 1, 1, S] padding mask) is read once a tile
// into shared memory instead of once per score.
#include <cstring>

#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/mma.cuh"
#include "net/network.h"

namespace ingot::kernels::cuda::detail {
namespace {

constexpr int kTileKeys = 64;  // keys a step: 8 column tiles of the scores, 4 k-steps of p . v
constexpr int kPad = 8;        // elements of padding a staged row

// Two floats as one fragment register of two T (the first in the low half).
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  const T v[2] = {from_float<T>(lo), from_float<T>(hi)};
  uint32_t r;
  memcpy(&r, v, sizeof r);
  return r;
}

template <typename T>
__device__ __forceinline__ uint32_t load_u32(const T* p) {
  return *vec_ptr<const uint32_t>(p);
}

// Stages keys [j0, j0 + 64) of (b, h): k as [key][d] in 16-byte copies (consecutive threads
// along a key's row), v transposed as [d][key] (consecutive threads along the keys, so that the
// 2-byte stores of a warp fall in different banks). Keys past S are zeros.
template <typename T, int DMAX, int W>
__device__ __forceinline__ void stage_tile(const AttnArgs& a, int64_t b, int64_t h, int64_t j0,
                                           T (&ks)[kTileKeys][DMAX + kPad], T (&vt)[DMAX][kTileKeys + kPad]) {
  const T* k = static_cast<const T*>(a.k) + a.kv.offset + b * a.kv.strides[0] + h * a.kv.strides[1];
  const T* v = static_cast<const T*>(a.v) + a.vv.offset + b * a.vv.strides[0] + h * a.vv.strides[1];
  const int kchunks = static_cast<int>(a.D / 8), vchunks = static_cast<int>(a.Dv / 8);
  for (int idx = static_cast<int>(threadIdx.x); idx < kTileKeys * kchunks; idx += W * 32) {
    const int key = idx / kchunks, c = idx - key * kchunks;
    const int64_t j = j0 + key;
    uint4 x = make_uint4(0, 0, 0, 0);
    if (j < a.S) x = *vec_ptr<const uint4>(k + j * a.kv.strides[2] + c * 8);
    *vec_ptr<uint4>(&ks[key][c * 8]) = x;
  }
  for (int idx = static_cast<int>(threadIdx.x); idx < kTileKeys * vchunks; idx += W * 32) {
    const int key = idx % kTileKeys, c = idx / kTileKeys;
    const int64_t j = j0 + key;
    uint4 x = make_uint4(0, 0, 0, 0);
    if (j < a.S) x = *vec_ptr<const uint4>(v + j * a.vv.strides[2] + c * 8);
    T e[8];
    memcpy(e, &x, sizeof e);
#pragma unroll
    for (int i = 0; i < 8; ++i) vt[c * 8 + i][key] = e[i];
  }
}

template <typename T, int DMAX, int W>
__global__ void __launch_bounds__(W * 32) attention_mma_kernel(const __grid_constant__ AttnArgs a) {
  wait_for_producers();  // launched by launch_dependent
  allow_dependents();    // the next kernel may start its prologue
  __shared__ __align__(16) T ks[kTileKeys][DMAX + kPad];
  __shared__ __align__(16) T vt[DMAX][kTileKeys + kPad];
  __shared__ float key_bias[kTileKeys];  // a mask the same for every query row (BERT's): one tile of it
  const bool per_key_bias = a.bias && a.bias_strides[2] == 0;
  constexpr int kRows = 16 * W, kSteps = DMAX / 16, kVTiles = DMAX / 8, kKeyTiles = kTileKeys / 8;
  const float kNegInf = -__int_as_float(0x7f800000);
  const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x & 31);
  const int g = lane >> 2, t = lane & 3;
  const int steps = static_cast<int>(a.D / 16), vtiles = static_cast<int>(a.Dv / 8);
  const int64_t row_tiles = ceil_div(a.L, kRows);
  for (int64_t item = blockIdx.x; item < a.B * a.H * row_tiles; item += gridDim.x) {
    const int64_t rt = item % row_tiles, bh = item / row_tiles, h = bh % a.H, b = bh / a.H;
    const int64_t i0 = rt * kRows;
    const int64_t rows[2] = {i0 + warp * 16 + g, i0 + warp * 16 + g + 8};
    const T* q = static_cast<const T*>(a.q) + a.qv.offset + b * a.qv.strides[0] + h * a.qv.strides[1];
    uint32_t qa[kSteps][4];
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int64_t r = rows[i & 1];
        const int d = 16 * s + 2 * t + (i >> 1) * 8;
        qa[s][i] = s < steps && r < a.L ? load_u32(q + r * a.qv.strides[2] + d) : 0u;
      }
    }
    float m[2] = {kNegInf, kNegInf}, l[2] = {0.0f, 0.0f};
    float o[kVTiles][4];
#pragma unroll
    for (int n = 0; n < kVTiles; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    const int64_t key_end = a.causal ? (i0 + kRows < a.S ? i0 + kRows : a.S) : a.S;
    for (int64_t j0 = 0; j0 < key_end; j0 += kTileKeys) {
      __syncthreads();  // the previous tile (or item) is consumed
      stage_tile<T, DMAX, W>(a, b, h, j0, ks, vt);
      if (per_key_bias) {
        for (int c = static_cast<int>(threadIdx.x); c < kTileKeys; c += W * 32) {
          key_bias[c] = j0 + c < a.S ? bias_at(a, b, h, 0, j0 + c) : 0.0f;
        }
      }
      __syncthreads();
      float s[kKeyTiles][4];
#pragma unroll
      for (int n = 0; n < kKeyTiles; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
      for (int st = 0; st < kSteps; ++st) {
        if (st >= steps) break;
#pragma unroll
        for (int n = 0; n < kKeyTiles; ++n) {
          const uint32_t kb[2] = {load_u32(&ks[n * 8 + g][16 * st + 2 * t]), load_u32(&ks[n * 8 + g][16 * st + 2 * t + 8])};
          mma_16x8x16<T>(s[n], qa[st], kb);
        }
      }
      float mx[2] = {kNegInf, kNegInf};
#pragma unroll
      for (int n = 0; n < kKeyTiles; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int64_t i = rows[e >> 1], j = j0 + n * 8 + 2 * t + (e & 1);
          const bool valid = j < a.S && i < a.L && !(a.causal && j > i);
          float x = s[n][e] * a.scale;
          if (valid && a.bias) x += per_key_bias ? key_bias[j - j0] : bias_at(a, b, h, i, j);
          s[n][e] = valid ? x : kNegInf;
          mx[e >> 1] = nan_max(mx[e >> 1], s[n][e]);
        }
      }
      float corr[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {  // the four lanes of a quad share rows g and g + 8
        mx[r] = nan_max(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
        mx[r] = nan_max(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        const float m_new = nan_max(m[r], mx[r]);
        corr[r] = m_new == kNegInf ? 1.0f : expf(m[r] - m_new);
        m[r] = m_new;
        l[r] *= corr[r];
      }
#pragma unroll
      for (int n = 0; n < kKeyTiles; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int r = e >> 1;
          const float p = m[r] == kNegInf ? 0.0f : expf(s[n][e] - m[r]);
          s[n][e] = p;
          l[r] += p;
        }
      }
#pragma unroll
      for (int n = 0; n < kVTiles; ++n) {
        o[n][0] *= corr[0], o[n][1] *= corr[0], o[n][2] *= corr[1], o[n][3] *= corr[1];
      }
#pragma unroll
      for (int kk = 0; kk < kTileKeys / 16; ++kk) {
        const uint32_t pa[4] = {pack2<T>(s[2 * kk][0], s[2 * kk][1]), pack2<T>(s[2 * kk][2], s[2 * kk][3]),
                                pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]), pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
        for (int n = 0; n < kVTiles; ++n) {
          if (n >= vtiles) break;
          const uint32_t vb[2] = {load_u32(&vt[n * 8 + g][16 * kk + 2 * t]), load_u32(&vt[n * 8 + g][16 * kk + 2 * t + 8])};
          mma_16x8x16<T>(o[n], pa, vb);
        }
      }
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
      l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    }
    T* out = static_cast<T*>(a.o) + a.ov.offset + b * a.ov.strides[0] + h * a.ov.strides[1];
#pragma unroll
    for (int n = 0; n < kVTiles; ++n) {
      if (n >= vtiles) break;
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1;
        if (rows[r] >= a.L) continue;
        const int64_t d = n * 8 + 2 * t + (e & 1);
        const bool none = m[r] == kNegInf;  // every key masked: zeros, as the CPU reference
        out[rows[r] * a.ov.strides[2] + d * a.ov.strides[3]] = from_float<T>(none ? 0.0f : o[n][e] / l[r]);
      }
    }
  }
}

bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// Whether a view's rows start on `elems`-element boundaries: offset and the batch, head and row
// strides multiples of it, elements along the row contiguous.
bool rows_aligned(const View4& v, int64_t elems) {
  return v.strides[3] == 1 && v.offset % elems == 0 && v.strides[0] % elems == 0 && v.strides[1] % elems == 0 &&
         v.strides[2] % elems == 0;
}

template <typename T, int DMAX>
void launch_for(const AttnArgs& a, int warps, unsigned grid, cudaStream_t stream) {
  if (warps == 1) launch_dependent(attention_mma_kernel<T, DMAX, 1>, grid, 32, 0, stream, a);
  else if (warps == 2) launch_dependent(attention_mma_kernel<T, DMAX, 2>, grid, 64, 0, stream, a);
  else launch_dependent(attention_mma_kernel<T, DMAX, 4>, grid, 128, 0, stream, a);
}

}  // namespace

Status attention_mma_supported(const AttnArgs& a, DType dtype, int warps) {
  if (warps != 1 && warps != 2 && warps != 4) return invalid_argument("tensor-core attention: ", warps, " warps a block (1, 2 or 4)");
  if (dtype != DType::kFloat16 && dtype != DType::kBFloat16) {
    return unsupported("tensor-core attention: ", ir::dtype_name(dtype), " (f16 / bf16 only)");
  }
  if (a.D % 16 || a.Dv % 8 || a.D > 128 || a.Dv > 128) {
    return unsupported("tensor-core attention: head dims ", a.D, " / ", a.Dv, " (q / k a multiple of 16, v of 8, up to 128)");
  }
  if (!rows_aligned(a.qv, 2) || !aligned(a.q, 4)) return unsupported("tensor-core attention: q rows not 4-byte aligned");
  if (!rows_aligned(a.kv, 8) || !aligned(a.k, 16)) return unsupported("tensor-core attention: k rows not 16-byte aligned");
  if (!rows_aligned(a.vv, 8) || !aligned(a.v, 16)) return unsupported("tensor-core attention: v rows not 16-byte aligned");
  return Status::ok();
}

Status launch_attention_mma(const net::AttentionParams& p, const Tensors& in, const Tensors& out, int warps,
                            cudaStream_t stream) {
  INGOT_ASSIGN_OR_RETURN(AttnArgs a, plan_attention(p, in, out));
  INGOT_RETURN_IF_ERROR(attention_mma_supported(a, in[0].dtype, warps));
  if (a.B * a.H * a.L == 0 || a.Dv == 0) return Status::ok();
  const int64_t items = a.B * a.H * ceil_div(a.L, 16 * warps);
  const unsigned grid = static_cast<unsigned>(std::min(items, kMaxGridBlocks));
  const bool wide = a.D > 64 || a.Dv > 64;
  if (in[0].dtype == DType::kFloat16) {
    if (wide) launch_for<__half, 128>(a, warps, grid, stream);
    else launch_for<__half, 64>(a, warps, grid, stream);
  } else {
    if (wide) launch_for<__nv_bfloat16, 128>(a, warps, grid, stream);
    else launch_for<__nv_bfloat16, 64>(a, warps, grid, stream);
  }
  return check_launch("tensor-core attention");
}

}  // namespace ingot::kernels::cuda::detail
