#include "runtime/cuda/cuda_util.h"

namespace ingot::runtime::cuda {

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
  }
}

Expected<cudnnDataType_t> cudnn_dtype(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: return CUDNN_DATA_FLOAT;
    case ir::DType::kFloat16: return CUDNN_DATA_HALF;
    case ir::DType::kBFloat16: return CUDNN_DATA_BFLOAT16;
    default: return unsupported("cuDNN has no data type for ", ir::dtype_name(t));
  }
}

Expected<cudaDataType_t> cuda_dtype(ir::DType t) {
  switch (t) {
    case ir::DType::kFloat32: return CUDA_R_32F;
    case ir::DType::kFloat16: return CUDA_R_16F;
    case ir::DType::kBFloat16: return CUDA_R_16BF;
    default: return unsupported("cuBLASLt has no matrix type for ", ir::dtype_name(t));
  }
}

Expected<float> time_on_stream(cudaStream_t stream, const std::function<Status()>& run) {
  struct Events {
    cudaEvent_t start = nullptr, stop = nullptr;
    ~Events() {
      if (start) cudaEventDestroy(start);
      if (stop) cudaEventDestroy(stop);
    }
  } ev;
  INGOT_CUDA_TRY(cudaEventCreate(&ev.start));
  INGOT_CUDA_TRY(cudaEventCreate(&ev.stop));
  INGOT_RETURN_IF_ERROR(run());
  constexpr int kReps = 5;
  INGOT_CUDA_TRY(cudaEventRecord(ev.start, stream));
  for (int r = 0; r < kReps; ++r) INGOT_RETURN_IF_ERROR(run());
  INGOT_CUDA_TRY(cudaEventRecord(ev.stop, stream));
  INGOT_CUDA_TRY(cudaEventSynchronize(ev.stop));
  float ms = 0;
  INGOT_CUDA_TRY(cudaEventElapsedTime(&ms, ev.start, ev.stop));
  return ms / kReps;
}

Expected<std::string> device_description(int* major, int* minor) {
  int device = 0;
  INGOT_CUDA_TRY(cudaGetDevice(&device));
  cudaDeviceProp prop;
  INGOT_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
  if (major) *major = prop.major;
  if (minor) *minor = prop.minor;
  return str_cat(prop.name, " (sm_", prop.major, prop.minor, ")");
}

}  // namespace ingot::runtime::cuda
