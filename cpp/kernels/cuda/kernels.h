// CUDA kernels of ingot's own (no cuDNN, no cuBLAS, no torch): one host launcher per layer kind.
//
// Contract (mirrors kernels/cpu/kernels.h, which defines the semantics):
// - Tensors are dense, contiguous, row-major, in device memory; `dims` are the concrete dims
//   of this call; data == nullptr marks an absent optional input.
// - launch() only enqueues work on `stream`: no allocation, no synchronization, no host
//   reads of device memory, so that a whole engine can be captured into a CUDA graph.
// - Parameters hold no symbols here (the runtime substitutes them first).
// - f16/bf16 compute in float; integers exactly; same results as the CPU reference up to
//   floating-point rounding (tests compare every kind against it).
// - Matmul and attention are not here (cuBLASLt / cuDNN paths in runtime/cuda/; our own kernels
//   for them, linear_supported() and attention_supported(), are timed against those), nor are
//   convolutions other than depthwise channels-last ones (depthwise_conv_supported() says
//   which; the graph convolution runner times them as its "ingot:depthwise" tactic next to
//   cuDNN) 1x1 ones with few input channels (pointwise_conv_supported(), "ingot:pointwise") and
//   others with at most 4 input channels (small_input_conv_supported(), "ingot:small-input"). supports() says which kinds launch() handles whatever the shapes: it is false for
//   convolutions.
// - Pointers need only the element alignment; 16-byte aligned ones (cudaMalloc, aligned plan
//   offsets) take the vectorized paths. An output may be its input (reshape / identity / cast to
//   the same dtype then do nothing) but must not overlap it otherwise.
// - launch() checks what memory safety needs (counts, dtypes, dims against the parameters) and
//   returns errors for bad ones; the full shape rules are net::infer_types' (the runtime checks
//   layers with it). Data errors a kernel cannot report (an integer division by zero, a gather
//   index out of range) give 0 in the affected elements instead of the CPU reference's error.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "ir/dtype.h"
#include "net/layers.h"
#include "support/status.h"

namespace ingot::kernels::cuda {

struct DeviceTensor {
  void* data = nullptr;
  ir::DType dtype = ir::DType::kFloat32;
  std::vector<int64_t> dims;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
};

// True if launch() implements this layer kind (for these input dtypes).
bool supports(const net::LayerParams& params, const std::vector<ir::DType>& input_dtypes);

// Whether launch() runs this convolution: a 2-D channels-last forward convolution with one
// filter per channel (groups == input channels == output channels, w [C, kH, kW, 1]) on
// f32 / f16 / bf16 tensors, any kernel up to 8192 taps, stride, padding and dilation, and a
// fused activation of the epilogue's set; inputs x, w, bias? [C], residual? (the output's
// shape); an absent optional input has data == nullptr. The reason when not.
Status depthwise_conv_supported(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& inputs,
                                const std::vector<DeviceTensor>& outputs);

// Whether launch_depthwise_direct_conv() runs this depthwise convolution with `pixels` (1, 2 or
// 4) output pixels a thread: what depthwise_conv_supported() accepts, restricted to f16 / bf16,
// 3x3 and 5x5 kernels without dilation, width stride 1 or 2, channels a multiple of 8, and x,
// y and the residual 16-byte aligned (depthwise_direct.cuh). The reason when not. The graph
// convolution runner times it as "ingot:depthwise-direct<pixels>" next to cuDNN and the kernel
// launch() runs.
Status depthwise_direct_conv_supported(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& inputs,
                                       const std::vector<DeviceTensor>& outputs, int pixels);
// Enqueues it (the same inputs and results as launch()'s depthwise kernel). `constant_weights`:
// w is no kernel's output (an engine constant), so blocks may read it before the previous
// kernel on the stream has finished. `dense`: registers capped so that more blocks share an SM
// (4 at 1 or 2 pixels, 3 at 4; not yet timed by the runner). With p.channel_sums, outputs[1]
// (f64 [N, C], zeroed by the caller) receives y's sums over H x W (not with `dense`).
Status launch_depthwise_direct_conv(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& inputs,
                                    const std::vector<DeviceTensor>& outputs, int pixels, bool constant_weights,
                                    cudaStream_t stream, bool dense = false);

// Adds y's sums over H and W (channels-last [N, H, W, C], f32 / f16 / bf16) into `sums` (f64
// [N, C], zeroed by the caller; atomics): a convolution's channel_sums output where its kernel
// does not add them itself.
Status launch_channel_sums(const DeviceTensor& y, const DeviceTensor& sums, cudaStream_t stream);

// Whether launch() runs this convolution as a 1x1 channels-last convolution of one group with
// few inputs (x [N, H, W, K], w [M, 1, 1, K], K <= 64, stride 1, no padding, the weights as
// float within 40 KiB), f32 / f16 / bf16, bias? [M], residual? (the output's shape) and a
// fused activation of the epilogue's set (pointwise_conv.cuh). The reason when not.
Status pointwise_conv_supported(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& inputs,
                                const std::vector<DeviceTensor>& outputs);

// Whether launch() runs this convolution as one of few input channels (an image stem):
// channels-last, one group, x [N, H, W, C] with C <= 4, w [M, kH, kW, C] with kH * kW * C <= 64,
// any stride / padding / dilation except the 1x1 stride-1 unpadded case (the pointwise kernel's),
// f32 / f16 / bf16, bias? [M], residual? (the output's shape) and a fused activation of the
// epilogue's set (small_input_conv.cuh). The reason when not.
Status small_input_conv_supported(const net::ConvolutionParams& p, const std::vector<DeviceTensor>& inputs,
                                  const std::vector<DeviceTensor>& outputs);

// A squeeze_excite layer runs when its channels plus twice its hidden units are at most this
// many: the float32 values one block keeps in shared memory (pooled means, hidden units and
// their biases) next to 4 KiB of partial sums and 6 x 64 floats for the gate (48 KiB in all).
inline constexpr int64_t kSqueezeExciteMaxFloats = 12 * 1024 - 1024 - 6 * 64;
inline constexpr bool squeeze_excite_fits(int64_t channels, int64_t hidden) {
  return channels + 2 * hidden <= kSqueezeExciteMaxFloats;
}

// How a squeeze_excite layer with scale_input multiplies x by its gates: in the gate blocks,
// each of which waits for its gates before it streams its tile of x (kInGate, what launch()
// does: one launch less, best where x is small), or in a separate streaming kernel over the
// whole GPU after the gates (kSeparate: one launch more, x at bandwidth), or in one cooperative
// launch whose blocks also compute the column sums and meet at a grid barrier (kFused: the
// column sums' launch saved; where squeeze_excite_fuses(), else it runs kInGate). The CUDA
// runner times them at build time. Without scale_input they are the same.
enum class SqueezeExciteMultiply : uint8_t { kInGate, kSeparate, kFused };
// launch() of a squeeze_excite layer in that mode, with workspace_size() bytes of `workspace`.
Status launch_squeeze_excite(const net::SqueezeExciteParams& params, const std::vector<DeviceTensor>& inputs,
                             const std::vector<DeviceTensor>& outputs, cudaStream_t stream, void* workspace,
                             SqueezeExciteMultiply multiply);
// Whether kFused runs as its own launch for these tensors on the current device: scale_input, C
// a multiple of 16 bytes with x and y aligned to them, every (sample, 64 channels) pair among
// the blocks the device holds at once, and those blocks computing the hidden layer each.
bool squeeze_excite_fuses(const net::SqueezeExciteParams& params, const std::vector<DeviceTensor>& inputs,
                          const std::vector<DeviceTensor>& outputs);

// Whether launch() runs this attention layer with our own kernel (attention.cuh): floating q,
// k, v of rank 3 or 4 (or such strided views) with equal batch dims, head dims up to 128, an
// optional bool or floating mask that broadcasts. The reason when not. supports() is false for
// attention: the SDPA runner owns the layer and times this kernel against cuDNN.
Status attention_supported(const net::AttentionParams& p, const std::vector<DeviceTensor>& inputs,
                           const std::vector<DeviceTensor>& outputs);

// Which of our attention kernels runs a layer: CUDA cores in float32 (what launch() runs), or
// tensor cores (f16 / bf16 operands, float accumulators) with `warps` warps of 16 query rows a
// block (1, 2 or 4: fewer make more blocks of a small problem). The SDPA runner times them.
struct AttentionKernel {
  bool tensor_cores = false;
  int warps = 4;
};
// Whether that kernel runs the layer; the reason when not. The tensor-core one needs f16 / bf16,
// head dims of q / k a multiple of 16 and of v a multiple of 8 (up to 128), and rows with
// contiguous elements, q's 4-byte aligned and k's and v's 16-byte aligned.
Status attention_supported(const net::AttentionParams& p, const std::vector<DeviceTensor>& inputs,
                           const std::vector<DeviceTensor>& outputs, AttentionKernel kernel);
// launch() of an attention layer on that kernel.
Status launch_attention(const net::AttentionParams& p, const std::vector<DeviceTensor>& inputs,
                        const std::vector<DeviceTensor>& outputs, cudaStream_t stream, AttentionKernel kernel);

// Our tensor-core GEMM for products with few rows (linear_mma.cuh): blocks of `block_rows` x
// `block_cols` outputs (64 x 64, 128 x 64 or 64 x 128), K split over the `split` blocks of a
// thread block cluster (1, 2, 4 or 8; more than 1 needs sm_90 code on a 9.0+ device), bias,
// residual and activation in the same launch. The MatMul runner times it against cuBLASLt.
struct LinearKernel {
  int block_rows = 128;
  int block_cols = 64;
  int split = 1;
  // b is a constant of the engine (a weight no layer writes): under programmatic launch the
  // kernel fetches its first tiles of b before waiting for the kernel before it. Not part of the
  // tactic (the runner sets it from the operand).
  bool constant_b = false;
};
// Whether it runs this matmul layer: a [..., M, K] (leading dims folded into M) by b [N, K]
// (transpose_b, not transpose_a), bias? a row of N, residual? the output's dims, all f16 or all
// bf16, K and N multiples of 8, every pointer 16-byte aligned, an epilogue activation, and a
// split that leaves every block some of K. The reason when not.
Status linear_supported(const net::MatMulParams& p, const std::vector<DeviceTensor>& inputs,
                        const std::vector<DeviceTensor>& outputs, LinearKernel kernel);
// Enqueues the layer on that kernel (checks linear_supported first).
Status launch_linear(const net::MatMulParams& p, const std::vector<DeviceTensor>& inputs,
                     const std::vector<DeviceTensor>& outputs, cudaStream_t stream, LinearKernel kernel);

// Enqueues one layer on `stream`. Errors: unsupported parameters/dtypes, or a failed launch
// (cudaGetLastError after the launch), each naming the layer kind.
Status launch(const net::LayerParams& params, const std::vector<DeviceTensor>& inputs,
              const std::vector<DeviceTensor>& outputs, cudaStream_t stream);

// Device scratch launch() can use for this layer, in bytes: 0 for most layers; a reduction
// over long columns (the mean over H * W of a channels-last activation) splits them over
// blocks and combines their partial results there. Depends on the shapes only.
size_t workspace_size(const net::LayerParams& params, const std::vector<DeviceTensor>& inputs,
                      const std::vector<DeviceTensor>& outputs);
// launch() with `workspace` of workspace_size() bytes, 16-byte aligned (nullptr: as launch()).
Status launch(const net::LayerParams& params, const std::vector<DeviceTensor>& inputs,
              const std::vector<DeviceTensor>& outputs, cudaStream_t stream, void* workspace);

// Asks the L2 cache to fetch these ranges of device memory: hints only (nothing is read into
// registers or written; results never depend on it), so that later kernels reading them hit
// L2. Starts must be 16-byte aligned; sizes are rounded up to 16 bytes, which must stay inside
// the allocation. On sm_90+ each thread issues one bulk prefetch of up to 64 KiB.
struct ByteRange {
  const void* data = nullptr;
  size_t bytes = 0;
};
Status launch_l2_prefetch(const std::vector<ByteRange>& ranges, cudaStream_t stream);

// Copies the strided view of `src`'s storage (element i of `dst.dims` at offset + sum(i_d *
// strides[d]), in elements) into the dense `dst`; checks that the view stays inside `src`.
// Runners use it to pack strided operands when a library call needs them dense.
Status copy_strided(const DeviceTensor& src, const std::vector<int64_t>& strides, int64_t offset,
                    const DeviceTensor& dst, cudaStream_t stream);

}  // namespace ingot::kernels::cuda
