#include "kernels/cuda/depthwise.cuh"

#include <algorithm>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/conv_operands.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

constexpr int kThreads = 256;
// Shared memory for one channel tile's weights (as float), at most: a kernel with more taps than
// one channel's weights fit in is refused (the convolution runner keeps cuDNN for it).
constexpr int64_t kWeightSmemBytes = int64_t{32} << 10;
// Channels per tile, at most: enough for full 16-byte rows of a warp's loads, few enough that a
// block holds several output pixels of the tile.
constexpr int64_t kMaxTileChannels = 256;
// Weights a thread loads before it stores them to shared memory (loads in flight while it fills).
constexpr int kFillLoads = 8;

struct DepthwiseArgs {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;      // absent: null
  const void* residual = nullptr;  // absent: null
  void* y = nullptr;
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t k[2] = {1, 1}, stride[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1};
  int64_t taps = 1;           // k[0] * k[1]
  int64_t tile_channels = 0;  // channels per block tile: blockDim.x * VEC
  int64_t channel_tiles = 0;
  int64_t pixel_tiles = 0;  // N * OH * ceil(OW / TW): the work items of one channel tile
  Divisor width_tiles;      // ceil(OW / TW)
  Divisor out_rows;         // OH
  net::UnaryOp act = net::UnaryOp::kIdentity;
  float alpha = 0.0f, beta = 0.0f;
  bool narrow = true;  // pixel_tiles < 2^31
};

// VEC floats of shared memory at p (16-byte aligned for VEC >= 4, 8-byte for VEC == 2).
template <int VEC>
__device__ __forceinline__ void load_smem(const float* p, float (&v)[VEC]) {
  if constexpr (VEC % 4 == 0) {
#pragma unroll
    for (int q = 0; q < VEC / 4; ++q) {
      Vec<float, 4> f = *vec_ptr<const Vec<float, 4>>(p + 4 * q);
#pragma unroll
      for (int j = 0; j < 4; ++j) v[4 * q + j] = f.v[j];
    }
  } else if constexpr (VEC == 2) {
    Vec<float, 2> f = *vec_ptr<const Vec<float, 2>>(p);
    v[0] = f.v[0];
    v[1] = f.v[1];
  } else {
    v[0] = p[0];
  }
}

// The VEC channels at p as float, or zeros when the position lies in the padding.
template <typename T, int VEC>
__device__ __forceinline__ void load_channels(const T* p, bool inside, float (&v)[VEC]) {
  if (!inside) {
#pragma unroll
    for (int j = 0; j < VEC; ++j) v[j] = 0.0f;
    return;
  }
  T raw[VEC];
  load_group_raw<VEC>(p, 1, VEC, true, raw);
#pragma unroll
  for (int j = 0; j < VEC; ++j) v[j] = to_float(raw[j]);
}

// K > 0: a K x K kernel without dilation at width stride S (1 or 2), TW output pixels of a row
// per thread; K == 0: any geometry, read from the args, one pixel per thread.
template <int K, int S>
constexpr int kPixelsPerThread = K == 0 ? 1 : (S == 1 ? 4 : 2);

// blockDim.x threads over the VEC-channel groups of a tile, blockDim.y over its pixel tiles;
// blockIdx.y walks the channel tiles and blockIdx.x the pixel tiles (both grid-stride).
template <typename T, int VEC, int K, int S>
__global__ void __launch_bounds__(kThreads, 2) depthwise_kernel(const __grid_constant__ DepthwiseArgs a) {
  constexpr int TW = kPixelsPerThread<K, S>;
  const T* x = static_cast<const T*>(a.x);
  const T* w = static_cast<const T*>(a.w);
  float* ws = dynamic_smem<float>();  // [tap][tile channel]
  const int64_t tc = a.tile_channels, taps = a.taps;
  const int64_t tid = static_cast<int64_t>(threadIdx.y) * blockDim.x + threadIdx.x;
  const int64_t block_threads = static_cast<int64_t>(blockDim.x) * blockDim.y;
  for (int64_t tile = blockIdx.y; tile < a.channel_tiles; tile += gridDim.y) {
    const int64_t c0 = tile * tc;
    __syncthreads();  // nobody reads the previous tile's weights any more
    // Read in memory order ([C, taps]: coalesced), kFillLoads a thread in flight, written
    // transposed. 32-bit index math: the tile holds at most kWeightSmemBytes / 4 weights.
    const int tile_weights = static_cast<int>(tc * taps), taps32 = static_cast<int>(taps);
    const int valid = static_cast<int>((a.channels - c0 < tc ? a.channels - c0 : tc) * taps);
    const int bt = static_cast<int>(block_threads);
    for (int i0 = static_cast<int>(tid); i0 < tile_weights; i0 += kFillLoads * bt) {
      float v[kFillLoads];
#pragma unroll
      for (int u = 0; u < kFillLoads; ++u) {
        const int i = i0 + u * bt;
        v[u] = i < valid ? to_float(w[c0 * taps + i]) : 0.0f;
      }
#pragma unroll
      for (int u = 0; u < kFillLoads; ++u) {
        const int i = i0 + u * bt;
        if (i >= tile_weights) break;
        const int cl = i / taps32, tap = i - cl * taps32;
        ws[tap * tc + cl] = v[u];
      }
    }
    __syncthreads();
    const int64_t lc = static_cast<int64_t>(threadIdx.x) * VEC;
    const int64_t c = c0 + lc;
    if (c >= a.channels) continue;  // a partial last tile (the barriers above stay uniform)
    float bias[VEC];
#pragma unroll
    for (int j = 0; j < VEC; ++j) bias[j] = a.bias ? to_float(static_cast<const T*>(a.bias)[c + j]) : 0.0f;
    const float* wc = ws + lc;
    const int64_t pixel_step = static_cast<int64_t>(gridDim.x) * blockDim.y;
    for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y; p < a.pixel_tiles; p += pixel_step) {
      const int64_t q = a.width_tiles.div(p, a.narrow);
      const int64_t ow0 = (p - q * a.width_tiles.value) * TW;
      const int64_t n = a.out_rows.div(q, a.narrow);
      const int64_t oh = q - n * a.out_rows.value;
      const T* xn = x + n * a.in_h * a.in_w * a.channels + c;
      float acc[TW * VEC];  // [pixel][channel]
#pragma unroll
      for (int t = 0; t < TW; ++t) {
#pragma unroll
        for (int j = 0; j < VEC; ++j) acc[t * VEC + j] = bias[j];
      }
      if constexpr (K > 0) {
        // The TW pixels of a kernel row read L input columns: each is loaded once and feeds every
        // pixel whose window covers it.
        constexpr int L = (TW - 1) * S + K;
        const int64_t iw0 = ow0 * S - a.pad[1];
#pragma unroll
        for (int kh = 0; kh < K; ++kh) {
          const int64_t ih = oh * a.stride[0] - a.pad[0] + kh;
          if (ih < 0 || ih >= a.in_h) continue;
          float wr[K][VEC];
#pragma unroll
          for (int kw = 0; kw < K; ++kw) load_smem<VEC>(wc + (kh * K + kw) * tc, wr[kw]);
          const T* row = xn + ih * a.in_w * a.channels;
#pragma unroll
          for (int j = 0; j < L; ++j) {
            const int64_t iw = iw0 + j;
            const bool inside = iw >= 0 && iw < a.in_w;
            float v[VEC];
            load_channels<T, VEC>(row + (inside ? iw * a.channels : 0), inside, v);
#pragma unroll
            for (int t = 0; t < TW; ++t) {
              const int kw = j - t * S;
              if (kw < 0 || kw >= K) continue;
#pragma unroll
              for (int e = 0; e < VEC; ++e) acc[t * VEC + e] = fmaf(v[e], wr[kw][e], acc[t * VEC + e]);
            }
          }
        }
      } else {
        for (int64_t kh = 0; kh < a.k[0]; ++kh) {
          const int64_t ih = oh * a.stride[0] - a.pad[0] + kh * a.dil[0];
          if (ih < 0 || ih >= a.in_h) continue;
          for (int64_t kw = 0; kw < a.k[1]; ++kw) {
            const int64_t iw = ow0 * a.stride[1] - a.pad[1] + kw * a.dil[1];
            if (iw < 0 || iw >= a.in_w) continue;
            float v[VEC], wt[VEC];
            load_channels<T, VEC>(xn + (ih * a.in_w + iw) * a.channels, true, v);
            load_smem<VEC>(wc + (kh * a.k[1] + kw) * tc, wt);
#pragma unroll
            for (int e = 0; e < VEC; ++e) acc[e] = fmaf(v[e], wt[e], acc[e]);
          }
        }
      }
      // y = act(acc + residual): the activation once over all TW * VEC values (activate_stored).
      const int64_t out0 = ((n * a.out_h + oh) * a.out_w + ow0) * a.channels + c;
      const int pixels = static_cast<int>(a.out_w - ow0 < TW ? a.out_w - ow0 : TW);
      if (a.residual) {
#pragma unroll
        for (int t = 0; t < TW; ++t) {
          float r[VEC];
          load_channels<T, VEC>(static_cast<const T*>(a.residual) + out0 + t * a.channels, t < pixels, r);
#pragma unroll
          for (int j = 0; j < VEC; ++j) acc[t * VEC + j] += r[j];
        }
      }
      activate_stored<T>(a.act, acc, a.alpha, a.beta);
#pragma unroll
      for (int t = 0; t < TW; ++t) {
        if (t >= pixels) break;
        T out[VEC];
#pragma unroll
        for (int j = 0; j < VEC; ++j) out[j] = from_float<T>(acc[t * VEC + j]);
        store_group_raw<VEC>(static_cast<T*>(a.y) + out0 + t * a.channels, VEC, true, out);
      }
    }
  }
}

// The widest vector (at most 16 bytes) that divides the channels, that x, y and the residual
// are aligned to, and whose tile of one channel group's weights fits the shared memory.
template <typename T>
int vector_width(const DepthwiseArgs& a) {
  for (int v = kVec16<T>; v > 1; v /= 2) {
    const size_t bytes = static_cast<size_t>(v) * sizeof(T);
    if (a.channels % v != 0 || !aligned_to(a.x, bytes) || !aligned_to(a.y, bytes)) continue;
    if (a.residual && !aligned_to(a.residual, bytes)) continue;
    if (a.taps * v * static_cast<int64_t>(sizeof(float)) > kWeightSmemBytes) continue;
    return v;
  }
  return 1;
}

template <typename T, int VEC, int K, int S>
void launch_as(DepthwiseArgs a, cudaStream_t stream) {
  constexpr int TW = kPixelsPerThread<K, S>;
  // Channel tiles of equal size, each as wide as the shared memory and kMaxTileChannels allow.
  const int64_t groups = a.channels / VEC + (a.channels % VEC != 0);
  int64_t max_groups = std::min(kMaxTileChannels, kWeightSmemBytes / (a.taps * static_cast<int64_t>(sizeof(float)))) / VEC;
  if (max_groups < 1) max_groups = 1;  // vector_width made one group fit
  a.channel_tiles = (groups + max_groups - 1) / max_groups;
  const int64_t tile_groups = (groups + a.channel_tiles - 1) / a.channel_tiles;
  a.tile_channels = tile_groups * VEC;
  const int64_t width_tiles = (a.out_w + TW - 1) / TW;
  a.width_tiles = Divisor::make(width_tiles);
  a.pixel_tiles = a.batch * a.out_h * width_tiles;
  a.narrow = a.pixel_tiles < kNarrowLimit;
  const unsigned bx = static_cast<unsigned>(tile_groups);
  const unsigned by = static_cast<unsigned>(std::max<int64_t>(1, kThreads / tile_groups));
  const int64_t grid_y = std::min<int64_t>({a.channel_tiles, 65535, kMaxGridBlocks});
  const int64_t blocks_x = (a.pixel_tiles + by - 1) / by;
  const size_t smem = static_cast<size_t>(a.tile_channels * a.taps) * sizeof(float);
  // One wave of blocks at most: every block fills its tile's weights into shared memory first
  // (25 loads a thread for a 5x5 tile), and up to 4096 blocks of one block an SM each paid that
  // again, the 5x5 layers at 180-250 GB/s (note 24). Beyond, blocks walk more pixel tiles.
  const int64_t wave = resident_blocks(depthwise_kernel<T, VEC, K, S>, static_cast<int>(bx * by), smem);
  const int64_t max_x = std::max<int64_t>(1, std::min(kMaxGridBlocks, wave) / grid_y);
  const int64_t grid_x = std::max<int64_t>(1, std::min(blocks_x, max_x));
  launch_kernel(depthwise_kernel<T, VEC, K, S>, dim3(static_cast<unsigned>(grid_x), static_cast<unsigned>(grid_y)),
                dim3(bx, by), smem, stream, a);
}

// The compiled-in geometries (K x K without dilation, width stride 1 or 2), else the general one.
template <typename T, int VEC>
void launch_vec(const DepthwiseArgs& a, cudaStream_t stream) {
  const bool square = a.k[0] == a.k[1] && a.dil[0] == 1 && a.dil[1] == 1;
  const int64_t k = square ? a.k[0] : 0, s = a.stride[1];
  if (k == 3 && s == 1) return launch_as<T, VEC, 3, 1>(a, stream);
  if (k == 3 && s == 2) return launch_as<T, VEC, 3, 2>(a, stream);
  if (k == 5 && s == 1) return launch_as<T, VEC, 5, 1>(a, stream);
  if (k == 5 && s == 2) return launch_as<T, VEC, 5, 2>(a, stream);
  launch_as<T, VEC, 0, 0>(a, stream);
}

}  // namespace

}  // namespace ingot::kernels::cuda::detail

namespace ingot::kernels::cuda {

Status depthwise_conv_supported(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& in,
                                const std::vector<DeviceTensor>& out) {
  using namespace detail;  // NOLINT(google-build-using-namespace): the limits and helpers above
  const char* L = "depthwise convolution";
  if (in.size() < 2 || in.size() > 4 || out.size() != 1) {
    return invalid_argument(L, ": takes x, w, bias?, residual? and one output");
  }
  if (p.transposed || !p.channels_last) return unsupported(L, ": needs a forward convolution in channels-last layout");
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  if (x.dims.size() != 4 || w.dims.size() != 4 || y.dims.size() != 4 || p.stride.size() != 2 ||
      p.padding.size() != 2 || p.dilation.size() != 2) {
    return unsupported(L, ": needs a 2-d convolution, got input ", ingot::shape_str(x.dims), " and weight ",
                       ingot::shape_str(w.dims));
  }
  const int64_t c = x.dims[3];
  if (p.groups != c || w.dims[0] != c || w.dims[3] != 1 || y.dims[3] != c || y.dims[0] != x.dims[0]) {
    return unsupported(L, ": groups=", p.groups, ", input ", ingot::shape_str(x.dims), ", weight ", ingot::shape_str(w.dims),
                       " and output ", ingot::shape_str(y.dims), " are not one filter per channel");
  }
  INGOT_RETURN_IF_ERROR(conv_epilogue_operands(L, p, in, y, c));
  INGOT_RETURN_IF_ERROR(conv_window_operands(L, p, x, w, y));
  constexpr int64_t kMaxTaps = kWeightSmemBytes / static_cast<int64_t>(sizeof(float));
  if (w.dims[1] * w.dims[2] > kMaxTaps) {
    return unsupported(L, ": a ", w.dims[1], "x", w.dims[2], " kernel's weights do not fit the shared memory");
  }
  return Status::ok();
}

}  // namespace ingot::kernels::cuda

namespace ingot::kernels::cuda::detail {

Status launch_depthwise_conv(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out,
                             cudaStream_t stream) {
  const char* L = "depthwise convolution";
  INGOT_RETURN_IF_ERROR(depthwise_conv_supported(p, in, out));
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  if (y.numel() == 0) return Status::ok();
  DepthwiseArgs a;
  a.x = x.data;
  a.w = w.data;
  a.bias = in.size() > 2 ? in[2].data : nullptr;
  a.residual = in.size() > 3 ? in[3].data : nullptr;
  a.y = y.data;
  a.batch = x.dims[0], a.in_h = x.dims[1], a.in_w = x.dims[2], a.channels = x.dims[3];
  a.out_h = y.dims[1], a.out_w = y.dims[2];
  for (int d = 0; d < 2; ++d) {
    a.k[d] = w.dims[1 + static_cast<size_t>(d)];
    a.stride[d] = p.stride[d];
    a.pad[d] = p.padding[d];
    a.dil[d] = p.dilation[d];
  }
  a.taps = a.k[0] * a.k[1];
  a.out_rows = Divisor::make(a.out_h);
  a.act = p.activation;
  a.alpha = static_cast<float>(p.act_alpha);
  a.beta = static_cast<float>(p.act_beta);
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      const int vec = vector_width<T>(a);
      if constexpr (kVec16<T> >= 8) {
        if (vec == 8) return launch_vec<T, 8>(a, stream);
      }
      if (vec == 4) return launch_vec<T, 4>(a, stream);
      if (vec == 2) return launch_vec<T, 2>(a, stream);
      launch_vec<T, 1>(a, stream);
    }
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
