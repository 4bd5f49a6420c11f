// Built cuDNN execution plans, shared by the process, and the worker threads that build them.
//
// Building a cuDNN plan can mean compiling a kernel: runtime-fusion engines (a convolution with
// its bias, residual and activation fused) are compiled with NVRTC when the plan is finalized,
// 0.1-2 s each. A build that times several candidates for each of 50-80 convolutions, and then
// loads the engine (which builds the winners again), spent most of its time there.
//
// - CudnnPlanStore keeps the serialized form of every plan built in this process, keyed by
//   the device, the cuDNN version, the operation graph and the engine + knobs. A runner that
//   needs a plan deserializes it from here (milliseconds) instead of building it again: the
//   candidates a tune() times, the winners the engine loads after its build, repeated layers,
//   other contexts and later builds in the process.
// - run_prebuild_jobs() runs plan builds ahead of the layers that need them, on worker threads
//   with a cuDNN handle each, so that the compiles of all layers proceed in parallel. Runners
//   say what they will need (LayerRunner::prebuild); a job only fills the store, so a job that
//   fails costs nothing but the time the runner then spends building the plan itself.
// - With a timing cache file, the store also lives on disk beside it (`<timing cache>.plans`,
//   runtime/blob_file.h): the build loads it before tuning and, after tuning, writes back the
//   plans its layers kept (keep(): the plan a layer runs, not every candidate it timed), so that
//   a warm build in a new process deserializes its plans instead of compiling them.
// INGOT_CUDNN_PLAN_STORE=0 turns all of it off.
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "support/status.h"

namespace ingot::runtime::cuda {

class CudnnPlanStore {
 public:
  static CudnnPlanStore& process();

  // The serialized plan stored under `key`, or null.
  std::shared_ptr<const std::vector<uint8_t>> find(const std::string& key) const;
  // Adds a plan; beyond kMaxBytes of plans the oldest go first (a runner that misses one
  // builds it again).
  void put(const std::string& key, std::vector<uint8_t> blob);
  // True the first time `job_key` is claimed in this process: prebuild jobs for the same work
  // (a layer repeated in a model, or a second context) are created once.
  bool claim(const std::string& job_key);
  // Marks the plan under `key` as one a layer runs: save() writes it.
  void keep(const std::string& key);
  size_t size() const;

  // Adds the plans of `path` (a missing file adds nothing), all kept; a damaged file is an error
  // naming it. save() writes the kept plans still in the store to `path`.
  Status load(const std::string& path);
  Status save(const std::string& path) const;

  static constexpr size_t kMaxBytes = size_t(1) << 30;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const std::vector<uint8_t>>> plans_;
  std::deque<std::string> order_;  // insertion order, for eviction
  size_t bytes_ = 0;
  std::set<std::string> claimed_;
  std::set<std::string> kept_;
};

// "NVIDIA H200 (sm_90) cudnn 91900" for the current device (cached per device): the part of a
// store key that says where a plan was built.
const std::string& plan_device_tag();

using PrebuildJob = std::function<void(cudnnHandle_t)>;

// Runs `jobs` on worker threads, each with a cuDNN handle of its own on the current device, and
// returns when all are done. INGOT_CUDNN_BUILD_THREADS sets the number of threads (default: the
// hardware's, at most 16); 1 runs them one after another on a single worker.
void run_prebuild_jobs(std::vector<PrebuildJob> jobs);

}  // namespace ingot::runtime::cuda
