// A 1x1 channels-last convolution as one cuBLASLt GEMM (a tactic of the graph convolution
// runner): with stride 1, no padding, no dilation and one group, y[N*H*W, O] is
// x[N*H*W, C] times w[O, C] transposed, the tensors' own bytes. The bias and ReLU / tanh-GELU go
// into cuBLASLt's epilogue, the residual in as its C matrix (beta = 1), and the activations
// cuBLASLt lacks run in our epilogue kernel after it. Tactics are gemm.cpp's ("lt:...";
// is_gemm_tactic).
#pragma once

#include <string>
#include <vector>

#include "runtime/cuda/gemm.h"
#include "runtime/cuda/runner.h"

namespace ingot::runtime::cuda {

class ConvGemm {
 public:
  // Whether this convolution is a GEMM as above (f32 / f16 / bf16, nothing empty); the reason if not.
  static Status applies(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out);

  // Configures the product for these shapes: the recorded `tactic` when it still fits, else
  // cuBLASLt's heuristic choice.
  Status configure(const RunnerEnv& env, const net::ConvolutionParams& p, const Tensors& in, const Tensors& out,
                   const std::string& tactic);
  size_t workspace() const { return gemm_.workspace(); }
  Status enqueue(const RunnerEnv& env, const Tensors& in, const Tensors& out, void* workspace,
                 cudaStream_t stream) const;
  // Times cuBLASLt's candidates (appended to `timed`), keeps the fastest and returns its tactic;
  // *layer_ms is the whole layer's time with it (residual and our epilogue included), which is
  // also what its entry in `timed` holds.
  Expected<std::string> tune(const RunnerEnv& env, const Tensors& in, const Tensors& out, void* workspace,
                             size_t workspace_size, cudaStream_t stream, std::vector<net::TimedTactic>* timed,
                             float* layer_ms);

 private:
  Gemm gemm_;
  bool bias_ = false, residual_ = false;
  Epilogue post_;  // activation != identity: applied by launch_epilogue after the product
};

}  // namespace ingot::runtime::cuda
