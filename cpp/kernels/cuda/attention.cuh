// Scaled dot-product attention of our own for small problems (the batch-1 sequences of BERT and
// ViT, where cuDNN's fused kernel runs a few CTAs for a long time): CUDA cores, float32 math,
// flash-style (online softmax over key tiles, scores never reach memory). A block takes 16 query
// rows of one (batch, head): 4 warps of 4 rows each; key tiles of 32 keys (a key per lane) and
// their values are staged in shared memory as float32, keys transposed so that lanes read
// consecutive keys. q, k, v and the output may be AttentionParams' strided views; the mask
// (bool or floating, added to the scores) broadcasts to [batch..., L, S]; causal is top-left
// aligned. Rows whose keys are all masked give zeros, as the CPU reference.
// The graph convolution runner's pattern: supports() is false for attention (the SDPA runner
// owns the layer) and attention_supported() says when launch() runs it; the SDPA runner times it
// against cuDNN as the tactic "ingot:attention".
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

Status launch_attention(const net::AttentionParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
