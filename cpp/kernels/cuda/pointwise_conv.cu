#include "kernels/cuda/pointwise_conv.cuh"

#include <algorithm>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/conv_operands.cuh"
#include "kernels/cuda/pointwise_mma.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

constexpr int kThreads = 256;
constexpr int kGroup = 8;   // output channels a thread
constexpr int kPixels = 4;  // pixels a thread: each weight read from shared memory feeds 4

struct PointwiseArgs {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;      // absent: null
  const void* residual = nullptr;  // absent: null
  void* y = nullptr;
  int64_t pixels = 0;           // N * H * W
  int k = 0, m = 0, m_pad = 0;  // input channels, output channels, m rounded up to kGroup
  int groups = 0;               // m_pad / kGroup
  net::UnaryOp act = net::UnaryOp::kIdentity;
  float alpha = 0.0f, beta = 0.0f;
  bool y_vector = false;  // y and the residual in kGroup-element vectors
};

// blockDim.x threads over the output channel groups, blockDim.y over pixel runs of kPixels
// (grid-stride). V: the inputs of a pixel a load takes (16 bytes where K and x allow, else 1).
template <typename T, int V>
__global__ void __launch_bounds__(kThreads) pointwise_conv_kernel(const __grid_constant__ PointwiseArgs a) {
  float* ws = dynamic_smem<float>();  // [k][m_pad]
  float* bs = ws + static_cast<int64_t>(a.k) * a.m_pad;
  const int tid = static_cast<int>(threadIdx.y * blockDim.x + threadIdx.x);
  const int nthreads = static_cast<int>(blockDim.x * blockDim.y);
  const T* w = static_cast<const T*>(a.w);
  // w [m][k] read in memory order, stored transposed; the padding columns are zero.
  for (int i = tid; i < a.m * a.k; i += nthreads) {
    const int m = i / a.k, kk = i - m * a.k;
    ws[kk * a.m_pad + m] = to_float(w[i]);
  }
  const int pad = a.m_pad - a.m;
  for (int i = tid; i < a.k * pad; i += nthreads) ws[(i / pad) * a.m_pad + a.m + i % pad] = 0.0f;
  for (int i = tid; i < a.m_pad; i += nthreads) {
    bs[i] = a.bias && i < a.m ? to_float(static_cast<const T*>(a.bias)[i]) : 0.0f;
  }
  __syncthreads();
  const int g = static_cast<int>(threadIdx.x);
  if (g >= a.groups) return;  // after the block's only barrier
  const int c0 = g * kGroup;
  const int count = a.m - c0 < kGroup ? a.m - c0 : kGroup;
  const T* x = static_cast<const T*>(a.x);
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.y * kPixels;
  for (int64_t p0 = (static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y) * kPixels; p0 < a.pixels; p0 += step) {
    float acc[kPixels * kGroup];  // [pixel][channel]
#pragma unroll
    for (int q = 0; q < kPixels; ++q) {
#pragma unroll
      for (int j = 0; j < kGroup; ++j) acc[q * kGroup + j] = bs[c0 + j];
    }
    for (int k0 = 0; k0 < a.k; k0 += V) {
      float xv[kPixels][V];
#pragma unroll
      for (int q = 0; q < kPixels; ++q) {
        const bool valid = p0 + q < a.pixels;
        const T* row = x + (valid ? p0 + q : 0) * a.k + k0;
        if constexpr (V > 1) {
          Vec<T, V> raw = *vec_ptr<const Vec<T, V>>(row);
#pragma unroll
          for (int e = 0; e < V; ++e) xv[q][e] = valid ? to_float(raw.v[e]) : 0.0f;
        } else {
          xv[q][0] = valid ? to_float(row[0]) : 0.0f;
        }
      }
#pragma unroll
      for (int e = 0; e < V; ++e) {
        const float* wr = ws + (k0 + e) * a.m_pad + c0;
        const float4 w0 = *vec_ptr<const float4>(wr), w1 = *vec_ptr<const float4>(wr + 4);
#pragma unroll
        for (int q = 0; q < kPixels; ++q) {
          float* o = acc + q * kGroup;
          const float v = xv[q][e];
          o[0] = fmaf(v, w0.x, o[0]), o[1] = fmaf(v, w0.y, o[1]), o[2] = fmaf(v, w0.z, o[2]), o[3] = fmaf(v, w0.w, o[3]);
          o[4] = fmaf(v, w1.x, o[4]), o[5] = fmaf(v, w1.y, o[5]), o[6] = fmaf(v, w1.z, o[6]), o[7] = fmaf(v, w1.w, o[7]);
        }
      }
    }
    // y = act(acc + residual): the activation once over all values (activate_stored).
    if (a.residual) {
#pragma unroll
      for (int q = 0; q < kPixels; ++q) {
        if (p0 + q >= a.pixels) break;
        T r[kGroup];
        load_group_raw<kGroup>(static_cast<const T*>(a.residual) + (p0 + q) * a.m + c0, 1, count, a.y_vector, r);
#pragma unroll
        for (int j = 0; j < kGroup; ++j) acc[q * kGroup + j] += to_float(r[j]);
      }
    }
    activate_stored<T>(a.act, acc, a.alpha, a.beta);
#pragma unroll
    for (int q = 0; q < kPixels; ++q) {
      if (p0 + q >= a.pixels) break;
      T out[kGroup];
#pragma unroll
      for (int j = 0; j < kGroup; ++j) out[j] = from_float<T>(acc[q * kGroup + j]);
      store_group_raw<kGroup>(static_cast<T*>(a.y) + (p0 + q) * a.m + c0, count, a.y_vector, out);
    }
  }
}

template <typename T>
void launch_as(PointwiseArgs a, cudaStream_t stream) {
  constexpr int V = kVec16<T>;
  const bool x_vector = a.k % V == 0 && aligned_to(a.x, 16);
  auto kernel = x_vector ? pointwise_conv_kernel<T, V> : pointwise_conv_kernel<T, 1>;
  const unsigned bx = static_cast<unsigned>(a.groups), by = static_cast<unsigned>(std::max(1, kThreads / a.groups));
  const size_t smem = static_cast<size_t>(a.k + 1) * static_cast<size_t>(a.m_pad) * sizeof(float);
  const int64_t runs = (a.pixels + int64_t{by} * kPixels - 1) / (int64_t{by} * kPixels);
  // One wave at most: every block fills all the weights first (K x M of them), so more blocks
  // than fit at once would pay that again for nothing.
  const int64_t wave = resident_blocks(kernel, static_cast<int>(bx * by), smem);
  const unsigned grid = static_cast<unsigned>(std::clamp<int64_t>(std::min(runs, wave), 1, kMaxGridBlocks));
  launch_kernel(kernel, grid, dim3(bx, by), smem, stream, a);
}

}  // namespace

}  // namespace ingot::kernels::cuda::detail

namespace ingot::kernels::cuda {

Status pointwise_conv_supported(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& in,
                                const std::vector<DeviceTensor>& out) {
  using namespace detail;  // NOLINT(google-build-using-namespace): the limits and helpers above
  const char* L = "pointwise convolution";
  INGOT_RETURN_IF_ERROR(dense_nhwc_conv_operands(L, p, in, out));
  const DeviceTensor &x = in[0], &w = in[1], &y = out[0];
  if (w.dims[1] != 1 || w.dims[2] != 1) {
    return unsupported(L, ": needs a 1x1 2-d convolution, got input ", ingot::shape_str(x.dims), " and weight ",
                       ingot::shape_str(w.dims));
  }
  if (p.stride != std::vector<int64_t>{1, 1} || p.padding != std::vector<int64_t>{0, 0}) {
    return unsupported(L, ": needs stride 1 and no padding");
  }
  const int64_t k = x.dims[3], m = w.dims[0];
  if (w.dims[3] != k || y.dims[0] != x.dims[0] || y.dims[1] != x.dims[1] || y.dims[2] != x.dims[2] || y.dims[3] != m) {
    return invalid_argument(L, ": input ", ingot::shape_str(x.dims), ", weight ", ingot::shape_str(w.dims), " and output ",
                            ingot::shape_str(y.dims), " do not match");
  }
  INGOT_RETURN_IF_ERROR(conv_epilogue_operands(L, p, in, y, m));
  const int64_t m_pad = (m + 7) / 8 * 8;
  if (k < 1 || k > kPointwiseMaxInputs || m < 1 || m_pad > 8 * 256 ||
      (k + 1) * m_pad * static_cast<int64_t>(sizeof(float)) > kPointwiseWeightBytes) {
    return unsupported(L, ": ", k, " input and ", m, " output channels (at most ", kPointwiseMaxInputs,
                       " inputs, and their weights within ", kPointwiseWeightBytes, " bytes as float)");
  }
  return Status::ok();
}

}  // namespace ingot::kernels::cuda

namespace ingot::kernels::cuda::detail {

Status launch_pointwise_conv(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "pointwise convolution";
  INGOT_RETURN_IF_ERROR(pointwise_conv_supported(p, in, out));
  const DeviceTensor &x = in[0], &y = out[0];
  if (y.numel() == 0) return Status::ok();
  PointwiseArgs a;
  a.x = x.data;
  a.w = in[1].data;
  a.bias = in.size() > 2 ? in[2].data : nullptr;
  a.residual = in.size() > 3 ? in[3].data : nullptr;
  a.y = y.data;
  a.pixels = x.dims[0] * x.dims[1] * x.dims[2];
  a.k = static_cast<int>(x.dims[3]);
  a.m = static_cast<int>(y.dims[3]);
  a.m_pad = (a.m + kGroup - 1) / kGroup * kGroup;
  a.groups = a.m_pad / kGroup;
  a.act = p.activation;
  a.alpha = static_cast<float>(p.act_alpha);
  a.beta = static_cast<float>(p.act_beta);
  PointwiseOperands o;  // the tensor-core kernel's view (pointwise_mma.cuh), where it applies
  o.x = a.x, o.w = a.w, o.bias = a.bias, o.residual = a.residual, o.y = a.y;
  o.dtype = x.dtype, o.pixels = a.pixels, o.k = a.k, o.m = a.m;
  o.act = a.act, o.alpha = a.alpha, o.beta = a.beta;
  if (pointwise_mma_applies(o)) {
    launch_pointwise_mma(o, stream);
    return check_launch(L);
  }
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      const size_t bytes = kGroup * sizeof(T);
      a.y_vector = a.m % kGroup == 0 && aligned_to(a.y, bytes) && (!a.residual || aligned_to(a.residual, bytes));
      launch_as<T>(a, stream);
    }
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
