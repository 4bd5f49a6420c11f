#include "runtime/cuda/cuda_util.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

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

namespace {

// kReps calls of `run` recorded into a graph on `stream` (none where the stream cannot capture,
// e.g. the legacy default stream, or a call does something a capture forbids).
cudaGraphExec_t capture_reps(cudaStream_t stream, const std::function<Status()>& run, int reps) {
  if (!stream || cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  bool ok = true;
  for (int r = 0; r < reps && ok; ++r) ok = run().is_ok();
  cudaGraph_t graph = nullptr;
  cudaError_t end = cudaStreamEndCapture(stream, &graph);
  cudaGraphExec_t exec = nullptr;
  if (ok && end == cudaSuccess && cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess) exec = nullptr;
  if (graph) cudaGraphDestroy(graph);
  cudaGetLastError();  // a failed capture leaves its error here; the plain timing below reports real ones
  return exec;
}

}  // namespace

// Default 1 (one timed replay, as before) until scripts/device_tune_noise.sh has measured more on
// a GPU.
Expected<int> tune_replays() {
  const char* env = std::getenv("INGOT_TUNE_REPLAYS");
  if (!env || !*env) return 1;
  char* end = nullptr;
  long n = std::strtol(env, &end, 10);
  if (*end != '\0' || n < 1 || n > 100) {
    return error(ErrorCode::kInvalidArgument, "INGOT_TUNE_REPLAYS='", env, "': expected a whole number from 1 to 100");
  }
  return static_cast<int>(n);
}

// The engine replays its layers from a CUDA graph, so a tactic is timed the same way: kReps
// calls captured into a graph, one replay to warm up, then timed replays. Timing calls launched
// from the host measured the host's cost where it exceeded the kernel's: cuDNN's ~10 us a call
// against a 3.5 us depthwise kernel, which lost to our 9 us kernel that way (bench/NOTES.md,
// note 16). One timed replay of a 4-7 us GEMM moved by up to 5% between passes (note 50): with
// INGOT_TUNE_REPLAYS=N short candidates get the median of up to N replays, as many as fit in
// ~1 ms of timed work; long ones keep one. Where the stream cannot capture, the calls are timed as
// launched.
Expected<float> time_on_stream(cudaStream_t stream, const std::function<Status()>& run) {
  struct Resources {
    cudaEvent_t start = nullptr, stop = nullptr;
    cudaGraphExec_t exec = nullptr;
    ~Resources() {
      if (start) cudaEventDestroy(start);
      if (stop) cudaEventDestroy(stop);
      if (exec) cudaGraphExecDestroy(exec);
    }
  } res;
  INGOT_ASSIGN_OR_RETURN(int replays, tune_replays());
  INGOT_CUDA_TRY(cudaEventCreate(&res.start));
  INGOT_CUDA_TRY(cudaEventCreate(&res.stop));
  INGOT_RETURN_IF_ERROR(run());  // first call outside the capture: lazy setup, and its errors
  constexpr int kReps = 10;
  constexpr float kEnoughMs = 1.0f;  // timed work after which no further replay is taken
  res.exec = capture_reps(stream, run, kReps);
  // Milliseconds of what `enqueue` puts on the stream, between two events.
  auto elapsed = [&](const std::function<Status()>& enqueue) -> Expected<float> {
    INGOT_CUDA_TRY(cudaEventRecord(res.start, stream));
    INGOT_RETURN_IF_ERROR(enqueue());
    INGOT_CUDA_TRY(cudaEventRecord(res.stop, stream));
    INGOT_CUDA_TRY(cudaEventSynchronize(res.stop));
    float ms = 0;
    INGOT_CUDA_TRY(cudaEventElapsedTime(&ms, res.start, res.stop));
    return ms;
  };
  if (!res.exec) {
    INGOT_ASSIGN_OR_RETURN(float ms, elapsed([&]() -> Status {
      for (int r = 0; r < kReps; ++r) INGOT_RETURN_IF_ERROR(run());
      return Status::ok();
    }));
    return ms / kReps;
  }
  auto replay = [&]() -> Status {
    INGOT_CUDA_TRY(cudaGraphLaunch(res.exec, stream));
    return Status::ok();
  };
  INGOT_RETURN_IF_ERROR(replay());  // warm-up
  std::vector<float> times;
  float total = 0;
  while (static_cast<int>(times.size()) < replays && (times.empty() || total < kEnoughMs)) {
    INGOT_ASSIGN_OR_RETURN(float ms, elapsed(replay));
    times.push_back(ms);
    total += ms;
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2] / kReps;
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
