// Floating ops whose CPU formulas (kernels/cpu/elementwise.cpp) take more than an expression,
// shared by the elementwise kernel and the pointwise kernels generated at build time: the CUDA
// backend embeds this file's text in every generated source (runtime/cuda/pointwise_kernel.cpp,
// through CMake), so it includes nothing and uses only what NVRTC provides without headers.
#ifndef INGOT_KERNELS_CUDA_FLOAT_OPS_CUH
#define INGOT_KERNELS_CUDA_FLOAT_OPS_CUH

namespace ingot_float_ops {

// torch.floor_divide for floating values (ATen's div_floor_floating).
__device__ __forceinline__ float floor_div(float a, float b) {
  if (b == 0.0f) return a / b;
  float mod = fmodf(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f && (b < 0.0f) != (mod < 0.0f)) div -= 1.0f;
  if (div == 0.0f) return copysignf(0.0f, a / b);
  float floored = floorf(div);
  if (div - floored > 0.5f) floored += 1.0f;
  return floored;
}

// torch.remainder: the result takes the divisor's sign.
__device__ __forceinline__ float remainder_of(float a, float b) {
  float mod = fmodf(a, b);
  if (mod != 0.0f && (b < 0.0f) != (mod < 0.0f)) mod += b;
  return mod;
}

// torch.maximum / torch.minimum: NaN wins; between equal values (-0 and +0) the first.
__device__ __forceinline__ float max_nan(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  return a < b ? b : a;
}
__device__ __forceinline__ float min_nan(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  return a > b ? b : a;
}

}  // namespace ingot_float_ops

#endif  // INGOT_KERNELS_CUDA_FLOAT_OPS_CUH
