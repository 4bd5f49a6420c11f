// The floating activations as device functions (internal), with the CPU reference's formulas
// (kernels/cpu/unary.cpp): the unary kernels, the fused epilogue of the convolution / matmul
// runners and the depthwise convolution share them, so that an activation computes the same
// value wherever it runs. One exception, activate_stored(): fused epilogues that store f16 /
// bf16 compute SiLU and sigmoid with approximate exp and division, whose error (~2^-21) can
// change the stored value by one unit in the last place at most, and rarely.
#pragma once

#include <cuda_runtime.h>

#include "net/layers.h"

namespace ingot::kernels::cuda::detail {

// min(max(x + 3, 0), 6) with std::max / std::min semantics (NaN propagates).
__device__ __forceinline__ float relu6_shifted(float x) {
  float m = (x + 3.0f < 0.0f) ? 0.0f : x + 3.0f;
  return (6.0f < m) ? 6.0f : m;
}
__device__ __forceinline__ float op_relu(float v) { return v < 0.0f ? 0.0f : v; }
__device__ __forceinline__ float op_sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }
__device__ __forceinline__ float op_gelu_erf(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }
__device__ __forceinline__ float op_gelu_tanh(float v) {
  const float k = 0.79788456080286536f;  // sqrt(2 / pi)
  return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
}
__device__ __forceinline__ float op_silu(float v) { return v / (1.0f + expf(-v)); }
__device__ __forceinline__ float op_leaky_relu(float v, float alpha) { return v > 0.0f ? v : v * alpha; }
__device__ __forceinline__ float op_elu(float v, float alpha, float scale) {
  return v > 0.0f ? v * scale : expm1f(v) * alpha * scale;
}
__device__ __forceinline__ float op_clamp(float v, float lo, float hi) {
  if (lo != lo || hi != hi) return __int_as_float(0x7fffffff);
  float r = v < lo ? lo : v;
  return r > hi ? hi : r;
}
__device__ __forceinline__ float op_hard_sigmoid(float v) { return relu6_shifted(v) / 6.0f; }
__device__ __forceinline__ float op_hard_swish(float v) { return v * relu6_shifted(v) / 6.0f; }

// The activations a fused epilogue applies (after bias and residual): activate() computes them.
inline bool is_epilogue_activation(net::UnaryOp op) {
  switch (op) {
    case net::UnaryOp::kIdentity: case net::UnaryOp::kRelu: case net::UnaryOp::kSigmoid: case net::UnaryOp::kTanh:
    case net::UnaryOp::kGeluErf: case net::UnaryOp::kGeluTanh: case net::UnaryOp::kSilu: case net::UnaryOp::kLeakyRelu:
    case net::UnaryOp::kClamp: case net::UnaryOp::kHardSigmoid: case net::UnaryOp::kHardSwish: case net::UnaryOp::kElu:
      return true;
    default:
      return false;
  }
}

// `op` (one of is_epilogue_activation's; alpha and beta as in net::UnaryParams) over N values
// held in registers, the switch taken once: each case is one straight run of code over the N
// values. It is the one list of the activations' device code (activate() is its N = 1). Where a
// kernel inlined activate() per value, every value carried all the cases' code (a depthwise
// kernel with 32 values a thread had ~150 KB of SASS) and each value's switch jumped to cold
// instruction-cache lines: ~0.5 us per inlined copy at batch 1 on the H200 (bench/NOTES.md,
// note 15). Kernels call activate() once per thread, or this.
template <int N>
__device__ __forceinline__ void activate_all(net::UnaryOp op, float (&v)[N], float alpha, float beta) {
#define INGOT_ACTIVATE_ALL(expr)    \
  _Pragma("unroll") for (int j = 0; j < N; ++j) { \
    const float x = v[j];            \
    v[j] = (expr);                   \
  }                                  \
  return
  switch (op) {
    case net::UnaryOp::kRelu: INGOT_ACTIVATE_ALL(op_relu(x));
    case net::UnaryOp::kSigmoid: INGOT_ACTIVATE_ALL(op_sigmoid(x));
    case net::UnaryOp::kTanh: INGOT_ACTIVATE_ALL(tanhf(x));
    case net::UnaryOp::kGeluErf: INGOT_ACTIVATE_ALL(op_gelu_erf(x));
    case net::UnaryOp::kGeluTanh: INGOT_ACTIVATE_ALL(op_gelu_tanh(x));
    case net::UnaryOp::kSilu: INGOT_ACTIVATE_ALL(op_silu(x));
    case net::UnaryOp::kLeakyRelu: INGOT_ACTIVATE_ALL(op_leaky_relu(x, alpha));
    case net::UnaryOp::kClamp: INGOT_ACTIVATE_ALL(op_clamp(x, alpha, beta));
    case net::UnaryOp::kHardSigmoid: INGOT_ACTIVATE_ALL(op_hard_sigmoid(x));
    case net::UnaryOp::kHardSwish: INGOT_ACTIVATE_ALL(op_hard_swish(x));
    case net::UnaryOp::kElu: INGOT_ACTIVATE_ALL(op_elu(x, alpha, beta));
    default: return;  // identity
  }
#undef INGOT_ACTIVATE_ALL
}

// `op` (one of is_epilogue_activation's) of x; alpha and beta as in net::UnaryParams.
__device__ __forceinline__ float activate(net::UnaryOp op, float x, float alpha, float beta) {
  float v[1] = {x};
  activate_all(op, v, alpha, beta);
  return v[0];
}

// exp(x) and a / b by the hardware's approximations (ex2.approx and rcp.approx: relative errors
// of ~2^-21), where the result is rounded to f16 / bf16 (2^-11 / 2^-8) right after. With expf
// and an IEEE division, SiLU cost ~50 instructions a value: the epilogue of a 1x1 convolution
// with 96 outputs a pixel became instruction-bound (bench/NOTES.md, note 32).
__device__ __forceinline__ float approx_exp(float x) {
#ifdef INGOT_CUDA_EMULATION
  return expf(x);
#else
  return __expf(x);
#endif
}
__device__ __forceinline__ float approx_div(float a, float b) {  // 0 for |b| > 2^126 (a finite)
#ifdef INGOT_CUDA_EMULATION
  return a / b;
#else
  return __fdividef(a, b);
#endif
}

// activate_all for values stored as T right after: for 16-bit T, SiLU and sigmoid by approx_exp
// and approx_div (exp(-v) past the float range gives 0 and -0 as the exact formulas do); every
// other case as activate_all.
template <typename T, int N>
__device__ __forceinline__ void activate_stored(net::UnaryOp op, float (&v)[N], float alpha, float beta) {
  if constexpr (sizeof(T) == 2) {
    if (op == net::UnaryOp::kSilu) {
#pragma unroll
      for (int j = 0; j < N; ++j) v[j] = approx_div(v[j], 1.0f + approx_exp(-v[j]));
      return;
    }
    if (op == net::UnaryOp::kSigmoid) {
#pragma unroll
      for (int j = 0; j < N; ++j) v[j] = approx_div(1.0f, 1.0f + approx_exp(-v[j]));
      return;
    }
  }
  activate_all(op, v, alpha, beta);
}

// activate_stored of one value (as activate() is activate_all's).
template <typename T>
__device__ __forceinline__ float activate_stored(net::UnaryOp op, float x, float alpha, float beta) {
  float v[1] = {x};
  activate_stored<T>(op, v, alpha, beta);
  return v[0];
}

}  // namespace ingot::kernels::cuda::detail
