#include "kernels/cuda/depthwise_direct.cuh"

#include <algorithm>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/conv_operands.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

constexpr int kThreads = 256;
constexpr int kVec = 8;       // channels a thread: one 16-byte vector of f16 / bf16
constexpr int kTileVecs = 8;  // channel vectors a block, at most (64 channels)

struct DirectArgs {
  const void* x = nullptr;
  const void* w = nullptr;         // [C, K, K] (the layout pass's [C, kH, kW, 1])
  const void* bias = nullptr;      // absent: null
  const void* residual = nullptr;  // absent: null
  void* y = nullptr;
  double* sums = nullptr;          // channel_sums: [N, C], zeroed before; the kernel adds y's sums over H x W
  int64_t in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  int64_t stride_h = 1, pad_h = 0, pad_w = 0;
  int64_t runs = 0;     // N * OH * ceil(OW / P) < 2^31: the pixel runs of one channel
  Divisor width_runs;   // ceil(OW / P)
  Divisor out_rows;     // OH
  net::UnaryOp act = net::UnaryOp::kIdentity;
  float alpha = 0.0f, beta = 0.0f;
  bool bias_vector = false;       // the bias is 16-byte aligned: one vector load a thread
  bool constant_weights = false;  // w is no kernel's output: staged before the wait
};

// The P pixels of pixel run `run`, channels c .. c + 7 (lc in the tile), stored to y; with
// SUMS, their stored values added to `sum`.
template <typename T, int K, int S, int P, bool SUMS>
__device__ __forceinline__ void convolve(const DirectArgs& a, const float (*ws)[kTileVecs * kVec], int64_t run,
                                         int64_t c, int lc, float (&sum)[kVec]) {
  constexpr int L = (P - 1) * S + K;
  const int64_t q = a.width_runs.div(run, true);
  const int64_t ow0 = (run - q * a.width_runs.value) * P;
  const int64_t n = a.out_rows.div(q, true);
  const int64_t oh = q - n * a.out_rows.value;

  float acc[P][kVec];
  {
    float b[kVec];
    if (a.bias) {
      T raw[kVec];
      load_group_raw<kVec>(static_cast<const T*>(a.bias) + c, 1, kVec, a.bias_vector, raw);
#pragma unroll
      for (int e = 0; e < kVec; ++e) b[e] = to_float(raw[e]);
    } else {
#pragma unroll
      for (int e = 0; e < kVec; ++e) b[e] = 0.0f;
    }
#pragma unroll
    for (int t = 0; t < P; ++t) {
#pragma unroll
      for (int e = 0; e < kVec; ++e) acc[t][e] = b[e];
    }
  }
  const T* xn = static_cast<const T*>(a.x) + n * a.in_h * a.in_w * a.channels + c;
  const int64_t iw0 = ow0 * S - a.pad_w;
  const int64_t ih0 = oh * a.stride_h - a.pad_h;
#pragma unroll
  for (int kh = 0; kh < K; ++kh) {
    const int64_t ih = ih0 + kh;
    if (ih < 0 || ih >= a.in_h) continue;  // a padding row adds zeros
    const T* row = xn + ih * a.in_w * a.channels;
    // The row's L input vectors first (independent loads in flight), then the products.
    Vec<T, kVec> v[L];
#pragma unroll
    for (int j = 0; j < L; ++j) {
      const int64_t iw = iw0 + j;
      if (iw >= 0 && iw < a.in_w) {
        v[j] = *vec_ptr<const Vec<T, kVec>>(row + iw * a.channels);
      } else {
#pragma unroll
        for (int e = 0; e < kVec; ++e) v[j].v[e] = from_float<T>(0.0f);
      }
    }
#pragma unroll
    for (int j = 0; j < L; ++j) {
      float f[kVec];
#pragma unroll
      for (int e = 0; e < kVec; ++e) f[e] = to_float(v[j].v[e]);
#pragma unroll
      for (int t = 0; t < P; ++t) {
        const int kw = j - t * S;
        if (kw < 0 || kw >= K) continue;
        const float* wt = &ws[kh * K + kw][lc];
#pragma unroll
        for (int e = 0; e < kVec; ++e) acc[t][e] = fmaf(f[e], wt[e], acc[t][e]);
      }
    }
  }
  const int64_t out0 = ((n * a.out_h + oh) * a.out_w + ow0) * a.channels + c;
  const int pixels = static_cast<int>(a.out_w - ow0 < P ? a.out_w - ow0 : P);
#pragma unroll
  for (int t = 0; t < P; ++t) {
    if (t >= pixels) break;
    float r[kVec];
#pragma unroll
    for (int e = 0; e < kVec; ++e) r[e] = acc[t][e];
    if (a.residual) {
      Vec<T, kVec> z = *vec_ptr<const Vec<T, kVec>>(static_cast<const T*>(a.residual) + out0 + t * a.channels);
#pragma unroll
      for (int e = 0; e < kVec; ++e) r[e] += to_float(z.v[e]);
    }
    activate_stored<T>(a.act, r, a.alpha, a.beta);
    Vec<T, kVec> o;
#pragma unroll
    for (int e = 0; e < kVec; ++e) o.v[e] = from_float<T>(r[e]);
    *vec_ptr<Vec<T, kVec>>(static_cast<T*>(a.y) + out0 + t * a.channels) = o;
    if constexpr (SUMS) {
#pragma unroll
      for (int e = 0; e < kVec; ++e) sum[e] += to_float(o.v[e]);
    }
  }
}

// The block's sums into a.sums: every thread's `sum` (zeros where it had no pixels) into
// `part`, then a thread a (sample, tile channel) adds the block's runs of that sample and one
// double atomic takes the result.
__device__ __forceinline__ void add_block_sums(const DirectArgs& a, float* part, const float (&sum)[kVec], int64_t c0,
                                               int tile_channels, int tid, int block_threads) {
  float* mine = part + threadIdx.y * tile_channels + threadIdx.x * kVec;
#pragma unroll
  for (int e = 0; e < kVec; ++e) mine[e] = sum[e];
  __syncthreads();
  const int64_t run0 = static_cast<int64_t>(blockIdx.x) * blockDim.y;
  const int64_t run_end = run0 + blockDim.y < a.runs ? run0 + blockDim.y : a.runs;
  const int64_t sample_runs = a.out_h * a.width_runs.value;
  const int64_t n0 = run0 / sample_runs;
  const int64_t slots = (run_end - 1) / sample_runs - n0 + 1;
  for (int64_t item = tid; item < slots * tile_channels; item += block_threads) {
    const int64_t slot = item / tile_channels;
    const int ch = static_cast<int>(item - slot * tile_channels);
    if (c0 + ch >= a.channels) continue;
    const int64_t n = n0 + slot;
    const int64_t lo = n * sample_runs > run0 ? n * sample_runs : run0;
    const int64_t hi = (n + 1) * sample_runs < run_end ? (n + 1) * sample_runs : run_end;
    float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // independent adds
    int64_t y = lo - run0;
    for (; y + 3 < hi - run0; y += 4) {
#pragma unroll
      for (int u = 0; u < 4; ++u) s[u] += part[(y + u) * tile_channels + ch];
    }
    for (; y < hi - run0; ++y) s[0] += part[y * tile_channels + ch];
    atomicAdd(a.sums + n * a.channels + c0 + ch, static_cast<double>((s[0] + s[1]) + (s[2] + s[3])));
  }
}

// blockDim.x: the channel vectors of this block's tile (blockIdx.y); blockDim.y: pixel runs
// (blockIdx.x * blockDim.y + threadIdx.y). A thread computes P pixels of a row, 8 channels.
// MINB > 1 caps the registers so that MINB blocks fit an SM (the dense variants).
// SUMS: the block also adds its outputs (as stored) into a.sums: each thread's P pixels in
// float, the block's runs of each sample in shared memory, then one double atomic a (sample,
// channel) of the block (its runs span few samples).
template <typename T, int K, int S, int P, int MINB, bool SUMS>
__global__ void __launch_bounds__(kThreads, MINB) depthwise_direct_kernel(const __grid_constant__ DirectArgs a) {
  constexpr int KK = K * K;
  constexpr int TC = kTileVecs * kVec;
  __shared__ __align__(16) float ws[KK][TC];  // [tap][tile channel]
  __shared__ __align__(16) float part[SUMS ? kThreads * kVec : 1];  // [run of the block][tile channel]
  const int tile_channels = static_cast<int>(blockDim.x) * kVec;
  const int64_t c0 = static_cast<int64_t>(blockIdx.y) * tile_channels;
  const int tid = static_cast<int>(threadIdx.y * blockDim.x + threadIdx.x);
  const int block_threads = static_cast<int>(blockDim.x * blockDim.y);
  if (!a.constant_weights) wait_for_producers();
  {
    // The tile's weights in memory order ([C, K, K]: coalesced), written transposed.
    const T* w = static_cast<const T*>(a.w) + c0 * KK;
    const int64_t left = a.channels - c0;
    const int valid = static_cast<int>((left < tile_channels ? left : tile_channels) * KK);
    for (int i = tid; i < valid; i += block_threads) {
      const int cl = i / KK, tap = i - cl * KK;
      ws[tap][cl] = to_float(w[i]);
    }
  }
  if (a.constant_weights) wait_for_producers();
  __syncthreads();
  const int64_t run = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y;
  const int lc = static_cast<int>(threadIdx.x) * kVec;
  const int64_t c = c0 + lc;
  float sum[kVec];  // SUMS: this thread's pixels, as stored
#pragma unroll
  for (int e = 0; e < kVec; ++e) sum[e] = 0.0f;
  if (run < a.runs && c < a.channels) convolve<T, K, S, P, SUMS>(a, ws, run, c, lc, sum);
  if constexpr (SUMS) add_block_sums(a, part, sum, c0, tile_channels, tid, block_threads);
}

template <typename T, int K, int S, int P, int MINB>
void launch_as(DirectArgs a, cudaStream_t stream) {
  // Channel tiles of equal size, at most kTileVecs vectors each; pixel runs for the rest of the
  // block's threads.
  const int64_t groups = a.channels / kVec;
  const int64_t tiles = (groups + kTileVecs - 1) / kTileVecs;
  const int64_t tile_groups = (groups + tiles - 1) / tiles;
  const int64_t width_runs = (a.out_w + P - 1) / P;
  a.width_runs = Divisor::make(width_runs);
  const unsigned bx = static_cast<unsigned>(tile_groups);
  const unsigned by = static_cast<unsigned>(kThreads / tile_groups);
  const int64_t blocks_x = (a.runs + by - 1) / by;
  const dim3 grid(static_cast<unsigned>(blocks_x), static_cast<unsigned>(tiles)), block(bx, by);
  if constexpr (MINB == 1) {  // the sums only with the plain variants (the runner's)
    if (a.sums) return launch_dependent(depthwise_direct_kernel<T, K, S, P, MINB, true>, grid, block, 0, stream, a);
  }
  launch_dependent(depthwise_direct_kernel<T, K, S, P, MINB, false>, grid, block, 0, stream, a);
}

template <typename T, int K, int S>
void launch_pixels(const DirectArgs& a, int pixels, bool dense, cudaStream_t stream) {
  if (pixels == 1) return launch_as<T, K, S, 1, 1>(a, stream);
  if (pixels == 2) return dense ? launch_as<T, K, S, 2, 4>(a, stream) : launch_as<T, K, S, 2, 1>(a, stream);
  return dense ? launch_as<T, K, S, 4, 3>(a, stream) : launch_as<T, K, S, 4, 1>(a, stream);
}

template <typename T>
void launch_typed(const DirectArgs& a, int64_t k, int64_t s, int pixels, bool dense, cudaStream_t stream) {
  if (k == 3 && s == 1) return launch_pixels<T, 3, 1>(a, pixels, dense, stream);
  if (k == 3 && s == 2) return launch_pixels<T, 3, 2>(a, pixels, dense, stream);
  if (k == 5 && s == 1) return launch_pixels<T, 5, 1>(a, pixels, dense, stream);
  launch_pixels<T, 5, 2>(a, pixels, dense, stream);
}

}  // namespace

}  // namespace ingot::kernels::cuda::detail

namespace ingot::kernels::cuda {

Status depthwise_direct_conv_supported(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& in,
                                       const std::vector<DeviceTensor>& out, int pixels) {
  using namespace detail;  // NOLINT(google-build-using-namespace): the limits above
  const char* L = "depthwise convolution (direct kernel)";
  std::vector<DeviceTensor> ys = out;  // y without the sums
  if (p.channel_sums) {
    if (out.size() != 2) return invalid_argument(L, ": with channel_sums it writes y and the sums, got ", out.size(), " outputs");
    ys.pop_back();
  }
  INGOT_RETURN_IF_ERROR(depthwise_conv_supported(p, in, ys));  // one filter a channel, NHWC, the epilogue
  if (p.channel_sums) {
    const DeviceTensor& sums = out[1];
    if (sums.dtype != ir::DType::kFloat64 || sums.numel() != out[0].dims[0] * out[0].dims[3] || !aligned_to(sums.data, 8)) {
      return invalid_argument(L, ": channel sums must be f64 [", out[0].dims[0], ", ", out[0].dims[3], "] (8-byte aligned), got ",
                              ir::dtype_name(sums.dtype), " ", ingot::shape_str(sums.dims));
    }
  }
  if (pixels != 1 && pixels != 2 && pixels != 4) return invalid_argument(L, ": ", pixels, " pixels a thread (1, 2 or 4)");
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  if (x.dtype != ir::DType::kFloat16 && x.dtype != ir::DType::kBFloat16) {
    return unsupported(L, ": runs f16 / bf16, got ", ir::dtype_name(x.dtype));
  }
  const int64_t k = w.dims[1];
  if (k != w.dims[2] || (k != 3 && k != 5) || p.dilation[0] != 1 || p.dilation[1] != 1) {
    return unsupported(L, ": runs 3x3 and 5x5 kernels without dilation, got ", w.dims[1], "x", w.dims[2], " dilation ",
                       p.dilation[0], "x", p.dilation[1]);
  }
  if (p.stride[1] != 1 && p.stride[1] != 2) return unsupported(L, ": runs width strides 1 and 2, got ", p.stride[1]);
  const int64_t c = x.dims[3];
  if (c % kVec != 0) return unsupported(L, ": needs a multiple of ", kVec, " channels, got ", c);
  if (c / kVec > int64_t{kTileVecs} * 65535) return unsupported(L, ": ", c, " channels are more tiles than a grid holds");
  const bool residual = in.size() > 3 && in[3].data;
  if (!aligned_to(x.data, 16) || !aligned_to(y.data, 16) || (residual && !aligned_to(in[3].data, 16))) {
    return unsupported(L, ": needs x, y and the residual 16-byte aligned");
  }
  const int64_t width_runs = (y.dims[2] + pixels - 1) / pixels;
  if (y.dims[0] * y.dims[1] * width_runs >= kNarrowLimit) {
    return unsupported(L, ": output ", ingot::shape_str(y.dims), " has too many pixels");
  }
  return Status::ok();
}

Status launch_depthwise_direct_conv(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& in,
                                    const std::vector<DeviceTensor>& out, int pixels, bool constant_weights,
                                    cudaStream_t stream, bool dense) {
  return detail::launch_depthwise_direct_conv(p, in, out, pixels, constant_weights, stream, dense);
}

}  // namespace ingot::kernels::cuda

namespace ingot::kernels::cuda::detail {

Status launch_depthwise_direct_conv(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out, int pixels,
                                    bool constant_weights, cudaStream_t stream, bool dense) {
  const char* L = "depthwise convolution (direct kernel)";
  INGOT_RETURN_IF_ERROR(depthwise_direct_conv_supported(p, in, out, pixels));
  if (p.channel_sums && dense) return unsupported(L, ": the dense variants do not add channel sums");
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  if (y.numel() == 0) return Status::ok();  // the sums (zeroed by the caller) stay zero
  DirectArgs a;
  a.sums = p.channel_sums ? static_cast<double*>(out[1].data) : nullptr;
  a.x = x.data;
  a.w = w.data;
  a.bias = in.size() > 2 ? in[2].data : nullptr;
  a.residual = in.size() > 3 ? in[3].data : nullptr;
  a.y = y.data;
  a.in_h = x.dims[1], a.in_w = x.dims[2], a.channels = x.dims[3];
  a.out_h = y.dims[1], a.out_w = y.dims[2];
  a.stride_h = p.stride[0], a.pad_h = p.padding[0], a.pad_w = p.padding[1];
  a.out_rows = Divisor::make(a.out_h);
  a.runs = y.dims[0] * a.out_h * ((a.out_w + pixels - 1) / pixels);
  a.bias_vector = a.bias && aligned_to(a.bias, 16);
  a.act = p.activation;
  a.alpha = static_cast<float>(p.act_alpha);
  a.beta = static_cast<float>(p.act_beta);
  a.constant_weights = constant_weights;
  const int64_t k = w.dims[1], s = p.stride[1];
  if (x.dtype == ir::DType::kFloat16) launch_typed<__half>(a, k, s, pixels, dense, stream);
  else launch_typed<__nv_bfloat16>(a, k, s, pixels, dense, stream);
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
