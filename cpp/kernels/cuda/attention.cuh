// Scaled dot-product attention of our own for small problems (the batch-1 sequences of BERT and
// ViT, where cuDNN's fused kernel runs a few CTAs for a long time), flash-style (online softmax
// over key tiles, scores never reach memory), in two kernels:
// - attention.cu, CUDA cores, float32 math, any floating dtype: a block takes 16 query rows of
//   one (batch, head): 4 warps of 4 rows each; key tiles of 32 keys (a key per lane) and their
//   values are staged in shared memory as float32, keys transposed so that lanes read
//   consecutive keys.
// - attention_mma.cu, tensor cores (mma.cuh), f16 / bf16 with float accumulators: a warp takes
//   16 query rows, a block 1, 2 or 4 warps of one (batch, head); key tiles of 64 keys and their
//   values (transposed) are staged in shared memory as they are; the probabilities go from the
//   score accumulators to the second product's operand fragments in registers.
// q, k, v and the output may be AttentionParams' strided views; the mask (bool or floating,
// added to the scores) broadcasts to [batch..., L, S]; causal is top-left aligned. Rows whose
// keys are all masked give zeros, as the CPU reference.
// The graph convolution runner's pattern: supports() is false for attention (the SDPA runner
// owns the layer) and attention_supported() says when launch() runs the first; the SDPA runner
// times them against cuDNN as the tactics "ingot:attention" and "ingot:attention-mma-w<warps>".
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

// An operand as [B, H, rows, cols] with element strides and offset.
struct View4 {
  int64_t dims[4] = {1, 1, 1, 1};
  int64_t strides[4] = {0, 0, 0, 0};
  int64_t offset = 0;
};

// A layer as both kernels read it (plan_attention).
struct AttnArgs {
  const void *q = nullptr, *k = nullptr, *v = nullptr, *bias = nullptr;
  void* o = nullptr;
  View4 qv, kv, vv, ov;
  int64_t bias_strides[4] = {0, 0, 0, 0};  // over [B, H, L, S]; 0 broadcasts
  DType bias_dtype = DType::kFloat32;
  int64_t B = 1, H = 1, L = 0, S = 0, D = 0, Dv = 0;
  float scale = 1.0f;
  bool causal = false;
};

// The mask of element (b, h, i, j) as a bias added to the score (bool: 0 or -inf).
__device__ __forceinline__ float bias_at(const AttnArgs& a, int64_t b, int64_t h, int64_t i, int64_t j) {
  int64_t at = b * a.bias_strides[0] + h * a.bias_strides[1] + i * a.bias_strides[2] + j * a.bias_strides[3];
  if (a.bias_dtype == DType::kBool) {
    return static_cast<const uint8_t*>(a.bias)[at] ? 0.0f : -__int_as_float(0x7f800000);
  }
  return load_param(a.bias, a.bias_dtype, at);
}

// The layer's operands as AttnArgs, or why neither kernel can run it.
Expected<AttnArgs> plan_attention(const net::AttentionParams& p, const Tensors& in, const Tensors& out);

// The CUDA-core kernel (launch() runs it).
Status launch_attention(const net::AttentionParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);

// The tensor-core kernel (attention_mma.cu): why it cannot run these operands with `warps` warps
// (1, 2 or 4) of 16 query rows a block, and the launch.
Status attention_mma_supported(const AttnArgs& a, DType dtype, int warps);
Status launch_attention_mma(const net::AttentionParams& p, const Tensors& in, const Tensors& out, int warps,
                            cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
