// The CUDA backend's graph passes in one pipeline (fusion, precision, attention layouts,
// channels-last, squeeze-excite, broadcasts), kept in core so that the CPU reference backend
// can run what they produce: with INGOT_CPU_GPU_PASSES=1 a CPU build goes through them too,
// which checks the passes' rewrites against eager PyTorch on machines without a GPU (the zoo,
// tests/python/test_gpu_passes.py). The CUDA kernels' limits come in as predicates.
#pragma once

#include <set>

#include "build/passes.h"
#include "ir/dtype.h"
#include "net/network.h"
#include "support/status.h"

namespace ingot::build {

enum class SumsFor : uint8_t { kNone, kGates, kAll };

struct GpuPassOptions {
  std::set<ir::DType> enabled_precisions = {ir::DType::kFloat32};
  bool channels_last = true;             // false: INGOT_CUDA_LAYOUT=nchw
  SqueezeExciteFits squeeze_excite;      // empty: no squeeze_excite layers (INGOT_CUDA_SQUEEZE_EXCITE=0)
  bool squeeze_excite_weights = true;    // squeeze_excite_into_projections (INGOT_SE_WEIGHTS=0: off)
  // squeeze_excite_sums: for the gates that do not multiply x (the default, INGOT_SE_SUMS=gates),
  // for every gate (INGOT_SE_SUMS=1), or for none (INGOT_SE_SUMS=0): bench/NOTES.md note 62.
  SumsFor squeeze_excite_sums = SumsFor::kGates;
  bool pointwise = true;                 // fuse_pointwise (INGOT_POINTWISE_FUSION=0: off)
  // fuse_feed_forward where this says the backend runs the layer; empty (the default until a
  // GPU has measured the fused kernel, bench/NOTES.md note 71): no feed_forward layers.
  FeedForwardFits feed_forward;
};

// The passes, in the order the CUDA backend runs them.
Expected<net::Network> gpu_graph_passes(net::Network network, const GpuPassOptions& options);

// Whether INGOT_CPU_GPU_PASSES=1 asks CPU builds to run gpu_graph_passes first.
bool cpu_runs_gpu_passes();

// fuse_pointwise runs unless INGOT_POINTWISE_FUSION=0 (bench/NOTES.md notes 54, 56).
bool pointwise_fusion_enabled();

// fuse_feed_forward runs only with INGOT_FFN_FUSION=1 (bench/NOTES.md note 71).
bool feed_forward_fusion_enabled();

// squeeze_excite_into_projections runs unless INGOT_SE_WEIGHTS=0 (bench/NOTES.md note 57).
bool squeeze_excite_weights_enabled();

// Which gates squeeze_excite_sums rewrites, by INGOT_SE_SUMS (bench/NOTES.md note 62): "0"
// none, "1" all, else (unset, "gates") those without the multiply.
SumsFor squeeze_excite_sums_for();

// cuBLASLt batches share one stride per operand: an operand of a matmul or attention whose
// batch dims broadcast in a mixed way (some dims 1, others not) is expanded first.
Expected<net::Network> materialize_broadcasts(const net::Network& net);

// In fp16/bf16 matmuls, GELU takes its tanh form (cuBLASLt's epilogue applies it).
Expected<net::Network> tanh_gelu_in_half_precision(net::Network net);

// The attention layers cuDNN's fused SDPA reads through strides.
bool sdpa_reads_strided(const net::Layer& layer, const net::Network& net);

}  // namespace ingot::build
