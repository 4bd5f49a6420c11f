// Our fused epilogue (y = act(y + bias[channel] + residual), in place) and the masked softmax
// of the attention runner.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cfloat>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/cuda_common.cuh"
#include "runtime/cuda/runner.h"

namespace ingot::runtime::cuda {

namespace {

using kernels::cuda::detail::activate_stored;  // the CPU reference's formulas (SiLU / sigmoid approximated for 16-bit y)
using kernels::cuda::detail::from_float;
using kernels::cuda::detail::to_float;

template <typename T>
__global__ void epilogue_kernel(T* y, int64_t n, const T* bias, const T* residual, int64_t channels, int64_t inner,
                                net::UnaryOp op, float alpha, float beta) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v = to_float(y[i]);
    if (bias) v += to_float(bias[(i / inner) % channels]);
    if (residual) v += to_float(residual[i]);
    y[i] = from_float<T>(activate_stored<T>(op, v, alpha, beta));
  }
}

template <typename T>
Status run_epilogue(const DeviceTensor& y, const Epilogue& e, cudaStream_t stream) {
  int64_t n = y.numel();
  if (n == 0) return Status::ok();
  int threads = 256;
  unsigned blocks = kernels::cuda::detail::grid_for(n, threads);
  epilogue_kernel<T><<<blocks, threads, 0, stream>>>(static_cast<T*>(y.data), n, static_cast<const T*>(e.bias),
                                                      static_cast<const T*>(e.residual), e.channels, e.inner,
                                                      e.activation, e.alpha, e.beta);
  return kernels::cuda::detail::check_launch("epilogue");
}

// One warp per row of `cols` scores: max, sum of exponentials, then the normalized values.
template <typename T>
__global__ void attention_softmax_kernel(const float* scores, T* probs, AttentionSoftmax a) {
  const int64_t rows_total = a.batch * a.rows;
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + (threadIdx.x / 32); r < rows_total; r += warps) {
    const int64_t b = r / a.rows, l = r % a.rows;
    const float* row = scores + r * a.cols;
    T* out = probs + r * a.cols;
    int64_t mask_base = 0;
    if (a.mask) {
      int64_t rem = b;
      for (int d = a.mask_batch_rank - 1; d >= 0; --d) {
        int64_t idx = rem % a.mask_batch_dims[d];
        rem /= a.mask_batch_dims[d];
        mask_base += idx * a.mask_batch_strides[d];
      }
      mask_base += l * a.mask_row_stride;
    }
    auto value = [&](int64_t s) -> float {
      if (a.causal && s > l) return -INFINITY;
      float v = row[s];
      if (a.mask) {
        int64_t off = mask_base + s * a.mask_col_stride;
        if (a.mask_dtype == ir::DType::kBool) {
          if (!static_cast<const uint8_t*>(a.mask)[off]) return -INFINITY;
        } else if (a.mask_dtype == ir::DType::kFloat32) {
          v += static_cast<const float*>(a.mask)[off];
        } else if (a.mask_dtype == ir::DType::kFloat16) {
          v += __half2float(static_cast<const __half*>(a.mask)[off]);
        } else {
          v += __bfloat162float(static_cast<const __nv_bfloat16*>(a.mask)[off]);
        }
      }
      return v;
    };
    float m = -INFINITY;
    for (int64_t s = lane; s < a.cols; s += 32) m = fmaxf(m, value(s));
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float sum = 0.0f;
    if (m != -INFINITY) {
      for (int64_t s = lane; s < a.cols; s += 32) sum += expf(value(s) - m);
    }
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    // A fully masked row gives zeros (as the CPU reference and PyTorch's SDPA do).
    float inv = (m == -INFINITY || sum == 0.0f) ? 0.0f : 1.0f / sum;
    for (int64_t s = lane; s < a.cols; s += 32) {
      float p = m == -INFINITY ? 0.0f : expf(value(s) - m) * inv;
      out[s] = from_float<T>(p);
    }
  }
}

}  // namespace

bool epilogue_supports(net::UnaryOp op) { return kernels::cuda::detail::is_epilogue_activation(op); }

Status launch_epilogue(const DeviceTensor& y, const Epilogue& e, cudaStream_t stream) {
  if (!epilogue_supports(e.activation)) return unsupported("epilogue activation ", net::enum_name(e.activation));
  switch (y.dtype) {
    case ir::DType::kFloat32: return run_epilogue<float>(y, e, stream);
    case ir::DType::kFloat16: return run_epilogue<__half>(y, e, stream);
    case ir::DType::kBFloat16: return run_epilogue<__nv_bfloat16>(y, e, stream);
    default: return unsupported("epilogue on ", ir::dtype_name(y.dtype));
  }
}

Status launch_attention_softmax(const float* scores, void* probs, ir::DType probs_dtype, const AttentionSoftmax& a,
                                cudaStream_t stream) {
  int64_t rows = a.batch * a.rows;
  if (rows == 0 || a.cols == 0) return Status::ok();
  const int threads = 256, rows_per_block = threads / 32;
  unsigned blocks = kernels::cuda::detail::grid_for((rows + rows_per_block - 1) / rows_per_block, 1);
  switch (probs_dtype) {
    case ir::DType::kFloat32: attention_softmax_kernel<float><<<blocks, threads, 0, stream>>>(scores, static_cast<float*>(probs), a); break;
    case ir::DType::kFloat16: attention_softmax_kernel<__half><<<blocks, threads, 0, stream>>>(scores, static_cast<__half*>(probs), a); break;
    case ir::DType::kBFloat16: attention_softmax_kernel<__nv_bfloat16><<<blocks, threads, 0, stream>>>(scores, static_cast<__nv_bfloat16*>(probs), a); break;
    default: return unsupported("attention softmax into ", ir::dtype_name(probs_dtype));
  }
  return kernels::cuda::detail::check_launch("attention softmax");
}

namespace {
template <typename T>
__global__ void mask_to_bias_kernel(const bool* mask, T* bias, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    bias[i] = mask[i] ? T(0.0f) : T(-INFINITY);
  }
}
}  // namespace

Status launch_mask_to_bias(const bool* mask, void* bias, ir::DType dtype, int64_t n, cudaStream_t stream) {
  if (n == 0) return Status::ok();
  int blocks = static_cast<int>(std::min<int64_t>((n + 255) / 256, 4096));
  switch (dtype) {
    case ir::DType::kFloat16: mask_to_bias_kernel<<<blocks, 256, 0, stream>>>(mask, static_cast<__half*>(bias), n); break;
    case ir::DType::kBFloat16:
      mask_to_bias_kernel<<<blocks, 256, 0, stream>>>(mask, static_cast<__nv_bfloat16*>(bias), n);
      break;
    default: return unsupported("mask bias in ", ir::dtype_name(dtype));
  }
  return kernels::cuda::detail::check_launch("attention mask to bias");
}

}  // namespace ingot::runtime::cuda
