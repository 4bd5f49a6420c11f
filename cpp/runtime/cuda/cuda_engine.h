// The CUDA backend's engine and execution context.
//
// CudaEngine: the plan's weights in one device buffer (uploaded once at load).
// CudaContext: per-context device arena, staging buffers for the engine's inputs and
// outputs, cuDNN / cuBLASLt handles, one runner per layer (one set per optimization profile
// used, each with that profile's tactics), and a cache of CUDA graphs (one per input shape,
// at most 16, least recently used dropped first). Memory is allocated once, for the largest
// shapes (arena, staging) and the largest layer workspace. The first call with a shape runs layer by layer (this also loads kernel
// modules); later calls with that shape copy the inputs in, replay the graph on the caller's
// stream, and copy the outputs out. No allocation and no host synchronization on that path.
// With a profiler attached every call runs layer by layer between CUDA events and waits for
// them (runtime/profiler.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "plan/plan.h"
#include "runtime/backend.h"
#include "runtime/cuda/cuda_util.h"
#include "runtime/cuda/l2_prefetch.h"
#include "runtime/cuda/runner.h"
#include "runtime/timing_cache.h"

namespace ingot::runtime::cuda {

class CudaEngine : public BackendEngine {
 public:
  static Expected<std::unique_ptr<CudaEngine>> load(const plan::Plan& plan);
  std::unique_ptr<BackendContext> create_context() const override;

  const plan::Plan& plan() const { return plan_; }
  int device() const { return device_; }
  const void* constant(int tensor) const;
  // The device buffer every constant tensor lies in (no layer writes it).
  const void* constants() const { return weights_.get(); }
  size_t constants_bytes() const { return weights_.size(); }

 private:
  explicit CudaEngine(const plan::Plan& plan) : plan_(plan) {}
  const plan::Plan& plan_;
  int device_ = 0;
  DeviceBuffer weights_;
  std::vector<int64_t> weight_offsets_;  // per tensor id; -1 for non-constants
};

class CudaContext : public BackendContext {
 public:
  explicit CudaContext(const CudaEngine& engine);
  ~CudaContext() override;

  Status execute(const BoundShapes& shapes, const std::vector<void*>& io, void* stream) override;

  // Build-time tactic search: prepares every layer for `shapes`, fills inputs with random
  // data and asks each runner to time its candidates; returns the chosen tactic per layer and
  // fills `timed` with the candidates each layer timed.
  // With a cache, layers it has an entry for take the recorded tactic without timing, and
  // the others' results are added to it.
  // `progress(l)` is called after layer l (may be empty).
  Expected<std::vector<std::string>> tune(const BoundShapes& shapes, int level,
                                          std::vector<std::vector<net::TimedTactic>>* timed,
                                          TimingCache* cache = nullptr, const std::function<void(size_t)>& progress = {});

 private:
  Status init();
  Status prepare(const BoundShapes& shapes);
  Status enqueue_layers(const BoundShapes& shapes, cudaStream_t stream);
  // Replays this shape's CUDA graph (capturing it on the second call), or runs layer by layer.
  Status run_layers(const BoundShapes& shapes, cudaStream_t stream);
  void* pointer(int tensor);
  Tensors tensors(const std::vector<int>& ids, const BoundShapes& shapes);

  const CudaEngine& engine_;
  bool initialized_ = false;
  RunnerEnv env_;
  DeviceBuffer arena_, workspace_;
  std::vector<DeviceBuffer> staging_;      // per engine input, then per engine output
  std::vector<int64_t> staging_index_;     // per tensor id: index into staging_, or -1
  std::vector<std::unique_ptr<LayerRunner>> runners_;  // for runners_profile_ (tactics differ per profile)
  int runners_profile_ = -1;
  // Runner sets of the other profiles used so far, kept alive: CUDA graphs captured with them
  // refer to their descriptors and buffers.
  std::map<int, std::vector<std::unique_ptr<LayerRunner>>> idle_runners_;
  // Makes runners_ the set for `profile` (created on first use).
  Status use_profile(int profile);
  uint64_t prepared_key_ = 0;
  bool prepared_ = false;
  struct Graph {
    cudaGraphExec_t exec = nullptr;
    uint64_t last_use = 0;
  };
  std::map<uint64_t, Graph> graphs_;
  std::map<uint64_t, int> eager_runs_;
  uint64_t calls_ = 0;
  bool use_graphs_ = true;
  // With a profiler attached: events between layers (runtime/profiler.h).
  std::vector<cudaEvent_t> profile_events_;
  Status execute_profiled(const BoundShapes& shapes, const std::vector<void*>& io, cudaStream_t stream);
  Status copy_io(const BoundShapes& shapes, const std::vector<void*>& io, bool inputs, cudaStream_t stream);
  cudaStream_t capture_stream_ = nullptr;
  cudaEvent_t done_ = nullptr;
  cudaStream_t last_stream_ = nullptr;
  L2Prefetcher prefetch_;  // weights into L2 ahead of their layers (INGOT_L2_PREFETCH)
};

}  // namespace ingot::runtime::cuda
