// Small pieces the CUDA backend shares: checked calls that return Status, device buffers,
// dtype mappings for cuDNN and cuBLASLt, timing on a stream, and the device description plans
// record.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <functional>
#include <string>
#include <utility>

#include "ir/dtype.h"
#include "support/status.h"

namespace ingot::runtime::cuda {

const char* cublas_status_name(cublasStatus_t s);

#define INGOT_CUDA_TRY(call)                                                                          \
  do {                                                                                                \
    cudaError_t ingot_e_ = (call);                                                                    \
    if (ingot_e_ != cudaSuccess) {                                                                    \
      return ::ingot::error(::ingot::ErrorCode::kInternal, "CUDA call ", #call, " failed: ",          \
                            cudaGetErrorName(ingot_e_), " (", cudaGetErrorString(ingot_e_), ")");     \
    }                                                                                                 \
  } while (0)

#define INGOT_CUDNN_TRY(call)                                                                         \
  do {                                                                                                \
    cudnnStatus_t ingot_s_ = (call);                                                                  \
    if (ingot_s_ != CUDNN_STATUS_SUCCESS) {                                                           \
      return ::ingot::error(::ingot::ErrorCode::kInternal, "cuDNN call ", #call, " failed: ",         \
                            cudnnGetErrorString(ingot_s_));                                           \
    }                                                                                                 \
  } while (0)

#define INGOT_CUBLAS_TRY(call)                                                                        \
  do {                                                                                                \
    cublasStatus_t ingot_s_ = (call);                                                                 \
    if (ingot_s_ != CUBLAS_STATUS_SUCCESS) {                                                          \
      return ::ingot::error(::ingot::ErrorCode::kInternal, "cuBLASLt call ", #call, " failed: ",      \
                            ::ingot::runtime::cuda::cublas_status_name(ingot_s_));                     \
    }                                                                                                 \
  } while (0)

// Device memory, freed on destruction.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  // Makes the buffer at least `bytes` large (contents are not kept when it grows).
  Status reserve(size_t bytes) {
    if (bytes <= size_) return Status::ok();
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    size_ = 0;
    INGOT_CUDA_TRY(cudaMalloc(&ptr_, bytes));
    size_ = bytes;
    return Status::ok();
  }
  void* get() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

// cuDNN / CUDA data types of engine dtypes (floating types only for cuDNN).
Expected<cudnnDataType_t> cudnn_dtype(ir::DType t);
Expected<cudaDataType_t> cuda_dtype(ir::DType t);

// Milliseconds per call of run() on `stream` after a warm-up call (which also loads the kernels),
// measured with CUDA events on replays of a few calls captured into a CUDA graph (as the engine
// runs them; the median of up to tune_replays() replays; launched one by one where the stream
// cannot capture): how runners
// time their candidates at build time. The first error of run() or of the events is returned.
Expected<float> time_on_stream(cudaStream_t stream, const std::function<Status()>& run);
// INGOT_TUNE_REPLAYS: how many timed replays time_on_stream may take the median of (1 to 100,
// default 1); another value is an error that names the variable (builds check it before timing).
Expected<int> tune_replays();

// "NVIDIA H100 80GB HBM3 (sm_90)" for the current device; plans record it, loading checks
// the architecture part.
Expected<std::string> device_description(int* major = nullptr, int* minor = nullptr);

}  // namespace ingot::runtime::cuda
