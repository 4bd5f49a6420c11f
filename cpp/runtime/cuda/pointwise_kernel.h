// Pointwise programs (net::PointwiseParams) as CUDA kernels: the source of one kernel per
// program, generated at build time, its compilation by NVRTC to a cubin for the device, and
// its launch. The CUDA backend's runner (pointwise_runner.cpp) builds one per layer.
// Each step becomes one float expression with the CPU reference's formula
// (kernels/cpu/unary.cpp, elementwise.cpp), so that a fused chain computes what its layers
// compute, without their rounding between steps.
//
// The kernel takes PointwiseKernelArgs by value: the output's (collapsed) dims, each input's
// element strides over them (0 where it broadcasts), the pointers; one thread an element,
// grid-stride.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cuda/kernels.h"
#include "net/layers.h"
#include "support/status.h"

namespace ingot::runtime::cuda {

inline constexpr int kPointwiseMaxInputs = 12;
inline constexpr int kPointwiseMaxRank = 8;

// The kernel's parameter; the generated source declares the same struct from these constants.
struct PointwiseKernelArgs {
  const void* in[kPointwiseMaxInputs];
  long long strides[kPointwiseMaxInputs][kPointwiseMaxRank];
  long long dims[kPointwiseMaxRank];
  long long n;
  void* out;
  int rank;
};

// The source of kernel `name` (extern "C") computing `p` from inputs of `inputs` dtypes into an
// output of `out`; an error names the step it cannot generate.
Expected<std::string> pointwise_kernel_source(const net::PointwiseParams& p, const std::vector<ir::DType>& inputs,
                                              ir::DType out, const std::string& name);

// `source` compiled by NVRTC for compute capability `arch` (90 for sm_90) into a cubin; the
// error carries NVRTC's log.
Expected<std::string> compile_pointwise_kernel(const std::string& source, const std::string& name, int arch);

// A program's kernel, loaded for the current device. Kernels are kept per process, keyed by
// their source and architecture, so that layers sharing a program (each block of a
// transformer), other execution contexts and later builds compile it once.
class PointwiseKernel {
 public:
  static Expected<PointwiseKernel> build(const net::PointwiseParams& p, const std::vector<ir::DType>& inputs,
                                         ir::DType out);
  // Sets the launch up for tensors of these dims (the output's dims with each input's broadcast
  // strides, merged where every operand is contiguous), once, outside any launch.
  Status bind(const std::vector<kernels::cuda::DeviceTensor>& inputs, const kernels::cuda::DeviceTensor& output);
  // Launches it on `stream` for tensors of the bound dims (their data pointers may differ): no
  // allocation, no synchronization, no index set-up.
  Status launch(const std::vector<kernels::cuda::DeviceTensor>& inputs, const kernels::cuda::DeviceTensor& output,
                cudaStream_t stream) const;

 private:
  cudaKernel_t kernel_ = nullptr;
  PointwiseKernelArgs args_{};
  size_t inputs_ = 0;
};

// build(), bind() and launch() in one (tests).
Status launch_pointwise(const net::PointwiseParams& p, const std::vector<kernels::cuda::DeviceTensor>& inputs,
                        const std::vector<kernels::cuda::DeviceTensor>& outputs, cudaStream_t stream);

}  // namespace ingot::runtime::cuda
