#include "kernels/cuda/small_input_conv.cuh"

#include <algorithm>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/conv_operands.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

constexpr int kThreads = 256;
constexpr int kGroup = 8;   // output channels a thread (one 16-byte store in f16 / bf16)
constexpr int kPixels = 4;  // output pixels of a row a thread: each weight read feeds 4

struct SmallInputArgs {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;      // absent: null
  const void* residual = nullptr;  // absent: null
  void* y = nullptr;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int m = 0, m_pad = 0, groups = 0;  // output channels, m rounded up to kGroup, m_pad / kGroup
  int kh = 1, kw = 1;
  int stride[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1};
  int64_t runs = 0;   // N * OH * ceil(OW / kPixels): a thread's work items
  Divisor width_runs;  // ceil(OW / kPixels)
  Divisor out_rows;    // OH
  net::UnaryOp act = net::UnaryOp::kIdentity;
  float alpha = 0.0f, beta = 0.0f;
  bool y_vector = false;  // y and the residual in kGroup-element vectors
  bool narrow = true;     // runs < 2^31
};

// blockDim.x threads over the output channel groups, blockDim.y over runs of kPixels output
// pixels of a row (grid-stride). C: the input channels (1 to 4).
template <typename T, int C>
__global__ void __launch_bounds__(kThreads) small_input_conv_kernel(const __grid_constant__ SmallInputArgs a) {
  float* ws = dynamic_smem<float>();  // [tap][c][m_pad]
  const int weights = a.kh * a.kw * C;
  float* bs = ws + weights * a.m_pad;
  const int tid = static_cast<int>(threadIdx.y * blockDim.x + threadIdx.x);
  const int nthreads = static_cast<int>(blockDim.x * blockDim.y);
  const T* w = static_cast<const T*>(a.w);
  // w [m][tap * C + c] stored transposed (at most 64 x 2048 values); the padding channels are zero.
  for (int i = tid; i < weights * a.m_pad; i += nthreads) {
    const int t = i / a.m_pad, m = i - t * a.m_pad;
    ws[i] = m < a.m ? to_float(w[m * weights + t]) : 0.0f;
  }
  for (int i = tid; i < a.m_pad; i += nthreads) {
    bs[i] = a.bias && i < a.m ? to_float(static_cast<const T*>(a.bias)[i]) : 0.0f;
  }
  __syncthreads();
  const int g = static_cast<int>(threadIdx.x);
  if (g >= a.groups) return;  // after the block's only barrier
  const int c0 = g * kGroup;
  const int count = a.m - c0 < kGroup ? a.m - c0 : kGroup;
  const T* x = static_cast<const T*>(a.x);
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.y;
  for (int64_t run = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y; run < a.runs; run += step) {
    const int64_t q = a.width_runs.div(run, a.narrow);
    const int64_t ow0 = (run - q * a.width_runs.value) * kPixels;
    const int64_t n = a.out_rows.div(q, a.narrow);
    const int64_t oh = q - n * a.out_rows.value;
    const int pixels = static_cast<int>(a.out_w - ow0 < kPixels ? a.out_w - ow0 : kPixels);
    float acc[kPixels * kGroup];  // [pixel][channel]
#pragma unroll
    for (int p = 0; p < kPixels; ++p) {
#pragma unroll
      for (int j = 0; j < kGroup; ++j) acc[p * kGroup + j] = bs[c0 + j];
    }
    // Input column of pixel p at tap column kx: iw0 + p * stride + kx * dilation.
    const int64_t iw0 = ow0 * a.stride[1] - a.pad[1];
    for (int ky = 0; ky < a.kh; ++ky) {
      const int64_t ih = oh * a.stride[0] - a.pad[0] + static_cast<int64_t>(ky) * a.dil[0];
      if (ih < 0 || ih >= a.in_h) continue;  // padding rows add nothing
      const T* row = x + (n * a.in_h + ih) * a.in_w * C;
      for (int kx = 0; kx < a.kw; ++kx) {
        float v[kPixels][C];
#pragma unroll
        for (int p = 0; p < kPixels; ++p) {
          const int64_t iw = iw0 + static_cast<int64_t>(p) * a.stride[1] + static_cast<int64_t>(kx) * a.dil[1];
          const bool inside = p < pixels && iw >= 0 && iw < a.in_w;
#pragma unroll
          for (int c = 0; c < C; ++c) v[p][c] = inside ? to_float(row[iw * C + c]) : 0.0f;
        }
        const float* wt = ws + (ky * a.kw + kx) * C * a.m_pad + c0;
#pragma unroll
        for (int c = 0; c < C; ++c) {
          const float4 w0 = *vec_ptr<const float4>(wt + c * a.m_pad), w1 = *vec_ptr<const float4>(wt + c * a.m_pad + 4);
#pragma unroll
          for (int p = 0; p < kPixels; ++p) {
            float* o = acc + p * kGroup;
            const float e = v[p][c];
            o[0] = fmaf(e, w0.x, o[0]), o[1] = fmaf(e, w0.y, o[1]), o[2] = fmaf(e, w0.z, o[2]), o[3] = fmaf(e, w0.w, o[3]);
            o[4] = fmaf(e, w1.x, o[4]), o[5] = fmaf(e, w1.y, o[5]), o[6] = fmaf(e, w1.z, o[6]), o[7] = fmaf(e, w1.w, o[7]);
          }
        }
      }
    }
    // y = act(acc + residual): the activation once over all values (activate_stored).
    const int64_t out0 = ((n * a.out_h + oh) * a.out_w + ow0) * a.m + c0;
    if (a.residual) {
#pragma unroll
      for (int p = 0; p < kPixels; ++p) {
        if (p >= pixels) break;
        T r[kGroup];
        load_group_raw<kGroup>(static_cast<const T*>(a.residual) + out0 + p * a.m, 1, count, a.y_vector, r);
#pragma unroll
        for (int j = 0; j < kGroup; ++j) acc[p * kGroup + j] += to_float(r[j]);
      }
    }
    activate_stored<T>(a.act, acc, a.alpha, a.beta);
#pragma unroll
    for (int p = 0; p < kPixels; ++p) {
      if (p >= pixels) break;
      T o[kGroup];
#pragma unroll
      for (int j = 0; j < kGroup; ++j) o[j] = from_float<T>(acc[p * kGroup + j]);
      store_group_raw<kGroup>(static_cast<T*>(a.y) + out0 + p * a.m, count, a.y_vector, o);
    }
  }
}

template <typename T, int C>
void launch_as(SmallInputArgs a, cudaStream_t stream) {
  auto kernel = small_input_conv_kernel<T, C>;
  const unsigned bx = static_cast<unsigned>(a.groups);
  unsigned by = static_cast<unsigned>(std::max(1, kThreads / a.groups));
  // Small images (batch 1): smaller blocks, so that the runs spread over the SMs (~2 blocks an
  // SM of an H100) instead of filling a few large ones.
  while (by > 1 && bx * (by / 2) >= 32 && (a.runs + by - 1) / by < 264) by /= 2;
  const size_t smem = static_cast<size_t>(a.kh * a.kw * C + 1) * static_cast<size_t>(a.m_pad) * sizeof(float);
  const int64_t blocks = (a.runs + by - 1) / by;
  // One wave at most: every block fills all the weights first, so more blocks than fit at once
  // would pay that again for nothing.
  const int64_t wave = resident_blocks(kernel, static_cast<int>(bx * by), smem);
  const unsigned grid = static_cast<unsigned>(std::clamp<int64_t>(std::min(blocks, wave), 1, kMaxGridBlocks));
  launch_kernel(kernel, grid, dim3(bx, by), smem, stream, a);
}

}  // namespace

}  // namespace ingot::kernels::cuda::detail

namespace ingot::kernels::cuda {

Status small_input_conv_supported(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& in,
                                  const std::vector<DeviceTensor>& out) {
  using namespace detail;  // NOLINT(google-build-using-namespace): the limits and helpers above
  const char* L = "small-input convolution";
  INGOT_RETURN_IF_ERROR(dense_nhwc_conv_operands(L, p, in, out));
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  if (p.stride.size() != 2 || p.padding.size() != 2 || p.dilation.size() != 2) {
    return unsupported(L, ": needs a 2-d convolution's strides, paddings and dilations");
  }
  const int64_t c = x.dims[3], m = w.dims[0];
  if (c < 1 || c > kSmallInputMaxChannels) {
    return unsupported(L, ": ", c, " input channels (at most ", kSmallInputMaxChannels, ")");
  }
  if (w.dims[3] != c || y.dims[0] != x.dims[0] || y.dims[3] != m) {
    return invalid_argument(L, ": input ", ingot::shape_str(x.dims), ", weight ", ingot::shape_str(w.dims), " and output ",
                            ingot::shape_str(y.dims), " do not match");
  }
  INGOT_RETURN_IF_ERROR(conv_window_operands(L, p, x, w, y));
  if (w.dims[1] == 1 && w.dims[2] == 1 && p.stride == std::vector<int64_t>{1, 1} && p.padding == std::vector<int64_t>{0, 0}) {
    return unsupported(L, ": a 1x1 convolution at stride 1 without padding is the pointwise kernel's");
  }
  const int64_t taps = w.dims[1] * w.dims[2] * c;
  if (taps > kSmallInputMaxTaps || m < 1 || m > 8 * 256) {
    return unsupported(L, ": a ", w.dims[1], "x", w.dims[2], " kernel over ", c, " channels to ", m,
                       " outputs (at most ", kSmallInputMaxTaps, " weights an output, 2048 outputs)");
  }
  INGOT_RETURN_IF_ERROR(conv_epilogue_operands(L, p, in, y, m));
  for (const int64_t s : {x.dims[1], x.dims[2], y.dims[1], y.dims[2], p.stride[0], p.stride[1], p.padding[0],
                          p.padding[1], p.dilation[0], p.dilation[1]}) {
    if (s > (int64_t{1} << 30)) return unsupported(L, ": a dimension or parameter beyond 2^30");
  }
  return Status::ok();
}

}  // namespace ingot::kernels::cuda

namespace ingot::kernels::cuda::detail {

Status launch_small_input_conv(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out,
                               cudaStream_t stream) {
  const char* L = "small-input convolution";
  INGOT_RETURN_IF_ERROR(small_input_conv_supported(p, in, out));
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  if (y.numel() == 0) return Status::ok();
  SmallInputArgs a;
  a.x = x.data;
  a.w = w.data;
  a.bias = in.size() > 2 ? in[2].data : nullptr;
  a.residual = in.size() > 3 ? in[3].data : nullptr;
  a.y = y.data;
  a.in_h = x.dims[1], a.in_w = x.dims[2], a.out_h = y.dims[1], a.out_w = y.dims[2];
  a.m = static_cast<int>(y.dims[3]);
  a.m_pad = (a.m + kGroup - 1) / kGroup * kGroup;
  a.groups = a.m_pad / kGroup;
  a.kh = static_cast<int>(w.dims[1]), a.kw = static_cast<int>(w.dims[2]);
  for (size_t d = 0; d < 2; ++d) {
    a.stride[d] = static_cast<int>(p.stride[d]);
    a.pad[d] = static_cast<int>(p.padding[d]);
    a.dil[d] = static_cast<int>(p.dilation[d]);
  }
  const int64_t width_runs = (a.out_w + kPixels - 1) / kPixels;
  a.width_runs = Divisor::make(width_runs);
  a.out_rows = Divisor::make(a.out_h);
  a.runs = y.dims[0] * a.out_h * width_runs;
  a.narrow = a.runs < kNarrowLimit;
  a.act = p.activation;
  a.alpha = static_cast<float>(p.act_alpha);
  a.beta = static_cast<float>(p.act_beta);
  const int64_t c = x.dims[3];
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      const size_t bytes = kGroup * sizeof(T);
      a.y_vector = a.m % kGroup == 0 && aligned_to(a.y, bytes) && (!a.residual || aligned_to(a.residual, bytes));
      switch (c) {
        case 1: launch_as<T, 1>(a, stream); break;
        case 2: launch_as<T, 2>(a, stream); break;
        case 3: launch_as<T, 3>(a, stream); break;
        default: launch_as<T, 4>(a, stream); break;
      }
    }
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
