// Layer runners: how the CUDA backend executes one layer. A runner is created per layer per
// execution context; prepare() does the shape-dependent setup (descriptors, algorithm choice,
// workspace size) outside any CUDA graph capture, enqueue() only enqueues work on a stream.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/kernels.h"
#include "net/network.h"
#include "runtime/cuda/cudnn_plans.h"
#include "support/status.h"

namespace ingot::runtime::cuda {

using kernels::cuda::DeviceTensor;
using Tensors = std::vector<DeviceTensor>;

struct RunnerEnv {
  cudnnHandle_t cudnn = nullptr;
  cublasLtHandle_t lt = nullptr;
  bool allow_tf32 = true;
  int tune_level = 0;  // the optimization level of a build's tactic search (tune())
  bool wide_gemm_search = false;  // INGOT_GEMM_SEARCH=wide: matmuls also time cuBLASLt variants
  // The engine's constant tensors (weights) lie in [constants, constants + constants_bytes):
  // no layer writes them, so a kernel may read them before the kernel it depends on has ended.
  const void* constants = nullptr;
  size_t constants_bytes = 0;
  bool is_constant(const DeviceTensor& t) const {
    const auto* p = static_cast<const uint8_t*>(t.data);
    const auto* base = static_cast<const uint8_t*>(constants);
    const size_t bytes = static_cast<size_t>(t.numel()) * ir::dtype_size(t.dtype);
    return p && base && p >= base && bytes <= constants_bytes && static_cast<size_t>(p - base) <= constants_bytes - bytes;
  }
};

// The generation of the runners' candidate sets, part of the timing cache's key: a cache written
// before a runner gained a candidate (generation 2: our depthwise kernel and cuBLASLt for 1x1
// convolutions; 3: GEMMs time 4/8/16/32/64 cuBLASLt candidates by level instead of 8, attention
// times our own kernel against cuDNN's SDPA / the GEMM path; 4: squeeze_excite times its
// multiply in the gate blocks against a separate kernel; 5: cuBLASLt candidates timed on a
// graph replay instead of host-launched calls; 6: 1x1 convolutions with few inputs time our
// pointwise kernel; 7: that kernel runs f16 / bf16 on tensor cores; 8: squeeze_excite also
// times its fused cooperative launch; 9: attention times our tensor-core kernel with 1, 2 and
// 4 warps a block; 10: matmuls with few rows time our tensor-core GEMM in each tile and split,
// for now only with INGOT_CUDA_MATMUL=timed, which the key names; 11: depthwise convolutions
// also time our direct kernel with 1, 2 and 4 pixels a thread)
// would otherwise keep its old winner without timing the new one. Bump it whenever a runner
// gains or changes candidates.
inline constexpr int kTacticGeneration = 11;

// Whether depthwise convolutions also time our direct kernel (kernels/cuda/depthwise_direct.cuh,
// "ingot:depthwise-direct<P>"): yes unless INGOT_CUDA_DEPTHWISE_DIRECT=0 (for A/B runs; the
// timing cache's key names it).
bool depthwise_direct_timed();

// Whether convolutions of at most 4 input channels (image stems) also time our small-input
// kernel (kernels/cuda/small_input_conv.cuh, "ingot:small-input"): INGOT_CUDA_SMALL_INPUT=1,
// opt-in: correct on an H200 but no faster than cuDNN there (bench/NOTES.md notes 58-59). The
// timing cache's key names it.
bool small_input_conv_timed();

// Workspace that one layer may use (cuDNN / cuBLASLt scratch), at most.
inline constexpr size_t kMaxLayerWorkspace = size_t(64) << 20;

class LayerRunner {
 public:
  virtual ~LayerRunner() = default;
  // Shape-dependent setup for these tensors (their data pointers may differ at enqueue time);
  // sets the workspace this layer needs.
  virtual Status prepare(const RunnerEnv& env, const net::LayerParams& p, const Tensors& in, const Tensors& out,
                         size_t* workspace) = 0;
  virtual Status enqueue(const RunnerEnv& env, const net::LayerParams& p, const Tensors& in, const Tensors& out,
                         void* workspace, cudaStream_t stream) = 0;
  // Build-time tactic search on real buffers (after prepare); returns the tactic to record, or
  // "" for the default, and appends every candidate it timed to `timed` (for the inspector).
  // The default implementation has nothing to choose.
  virtual Expected<std::string> tune(const RunnerEnv& env, const net::LayerParams& p, const Tensors& in,
                                     const Tensors& out, void* workspace, size_t workspace_size, cudaStream_t stream,
                                     std::vector<net::TimedTactic>* timed) {
    return std::string();
  }
  // Plan builds this runner's prepare() (tune_level 0) or tune() at `tune_level` will need that
  // can run ahead, on other threads (cudnn_plans.h): appended to `jobs`. The default has none.
  virtual void prebuild(const RunnerEnv& env, const net::LayerParams& p, const Tensors& in, const Tensors& out,
                        int tune_level, std::vector<PrebuildJob>* jobs) {}
};

// The runner for a layer kind; `tactic` is what the build recorded for this layer.
std::unique_ptr<LayerRunner> make_conv_runner(const std::string& tactic);         // cuDNN graph API
std::unique_ptr<LayerRunner> make_legacy_conv_runner(const std::string& tactic);  // cuDNN legacy API
std::unique_ptr<LayerRunner> make_matmul_runner(const std::string& tactic);
std::unique_ptr<LayerRunner> make_attention_runner(const std::string& tactic);       // cuDNN SDPA, else:
std::unique_ptr<LayerRunner> make_gemm_attention_runner(const std::string& tactic);  // GEMM + softmax + GEMM
std::unique_ptr<LayerRunner> make_squeeze_excite_runner(const std::string& tactic);  // kernels/cuda, timed
std::unique_ptr<LayerRunner> make_pointwise_runner();  // a kernel generated per program (NVRTC)
std::unique_ptr<LayerRunner> make_kernel_runner();  // kernels/cuda
std::unique_ptr<LayerRunner> make_view_runner();    // a reshape view (plan::is_view): nothing to run
std::unique_ptr<LayerRunner> make_runner(const net::Layer& layer);
// The runner for `layer` with another tactic (an optimization profile's).
std::unique_ptr<LayerRunner> make_runner(const net::Layer& layer, const std::string& tactic);

// Whether the CUDA backend can run this layer (with these input dtypes); the reason if not.
Status cuda_supports(const net::Layer& layer, const net::Network& net);

// Fused epilogue applied by our own kernel: y = act(y + bias[channel] + residual), in place.
// `channels` and `inner` locate the channel of element i: (i / inner) % channels.
struct Epilogue {
  net::UnaryOp activation = net::UnaryOp::kIdentity;
  float alpha = 0, beta = 0;
  const void* bias = nullptr;      // [channels], y's dtype
  const void* residual = nullptr;  // y's shape and dtype
  int64_t channels = 1, inner = 1;
};
Status launch_epilogue(const DeviceTensor& y, const Epilogue& e, cudaStream_t stream);
bool epilogue_supports(net::UnaryOp activation);

// softmax(scores * 1 + mask) over the last axis, rows of `cols`, scores f32, probs in
// `probs_dtype`; causal (top-left) masking and an optional bool / float mask broadcast to
// [batch dims..., rows, cols] through `mask_strides` (elements; 0 for broadcast dims).
struct AttentionSoftmax {
  int64_t batch = 1, rows = 1, cols = 1;
  bool causal = false;
  const void* mask = nullptr;
  ir::DType mask_dtype = ir::DType::kBool;
  int mask_batch_rank = 0;
  int64_t mask_batch_dims[6] = {1, 1, 1, 1, 1, 1};
  int64_t mask_batch_strides[6] = {0, 0, 0, 0, 0, 0};
  int64_t mask_row_stride = 0, mask_col_stride = 0;
};
// bias[i] = mask[i] ? 0 : -inf, for n elements of a half-precision bias (fused attention takes
// bool masks as an additive bias).
Status launch_mask_to_bias(const bool* mask, void* bias, ir::DType dtype, int64_t n, cudaStream_t stream);

Status launch_attention_softmax(const float* scores, void* probs, ir::DType probs_dtype, const AttentionSoftmax& a,
                                cudaStream_t stream);

}  // namespace ingot::runtime::cuda
