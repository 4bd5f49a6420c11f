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

struct GpuPassOptions {
  std::set<ir::DType> enabled_precisions = {ir::DType::kFloat32};
  bool channels_last = true;             // false: INGOT_CUDA_LAYOUT=nchw
  SqueezeExciteFits squeeze_excite;      // empty: no squeeze_excite layers (INGOT_CUDA_SQUEEZE_EXCITE=0)
  bool pointwise = false;                // fuse_pointwise (INGOT_POINTWISE_FUSION=1, pointwise_fusion_requested())
};

// The passes, in the order the CUDA backend runs them.
Expected<net::Network> gpu_graph_passes(net::Network network, const GpuPassOptions& options);

// Whether INGOT_CPU_GPU_PASSES=1 asks CPU builds to run gpu_graph_passes first.
bool cpu_runs_gpu_passes();

// Whether INGOT_POINTWISE_FUSION=1 asks for fuse_pointwise (opt-in until its generated kernels
// have been measured on a GPU: bench/NOTES.md note 54).
bool pointwise_fusion_requested();

// cuBLASLt batches share one stride per operand: an operand of a matmul or attention whose
// batch dims broadcast in a mixed way (some dims 1, others not) is expanded first.
Expected<net::Network> materialize_broadcasts(const net::Network& net);

// In fp16/bf16 matmuls, GELU takes its tanh form (cuBLASLt's epilogue applies it).
Expected<net::Network> tanh_gelu_in_half_precision(net::Network net);

// The attention layers cuDNN's fused SDPA reads through strides.
bool sdpa_reads_strided(const net::Layer& layer, const net::Network& net);

}  // namespace ingot::build
