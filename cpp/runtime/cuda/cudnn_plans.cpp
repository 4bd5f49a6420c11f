#include "runtime/cuda/cudnn_plans.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "runtime/blob_file.h"
#include "runtime/cuda/cuda_util.h"

namespace ingot::runtime::cuda {

namespace {

// INGOT_CUDNN_PLAN_STORE=0 turns the store off: no prebuild jobs, every runner builds its plans
// itself (for comparisons and as a way around a cuDNN that cannot serialize).
bool store_enabled() {
  static const bool enabled = [] {
    const char* env = std::getenv("INGOT_CUDNN_PLAN_STORE");
    return !(env && std::string(env) == "0");
  }();
  return enabled;
}

}  // namespace

CudnnPlanStore& CudnnPlanStore::process() {
  static CudnnPlanStore store;
  return store;
}

std::shared_ptr<const std::vector<uint8_t>> CudnnPlanStore::find(const std::string& key) const {
  if (!store_enabled()) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = plans_.find(key);
  return it == plans_.end() ? nullptr : it->second;
}

void CudnnPlanStore::put(const std::string& key, std::vector<uint8_t> blob) {
  if (!store_enabled()) return;
  auto p = std::make_shared<const std::vector<uint8_t>>(std::move(blob));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = plans_.find(key);
  if (it != plans_.end()) {
    bytes_ -= it->second->size();
    it->second = p;
  } else {
    plans_.emplace(key, p);
    order_.push_back(key);
  }
  bytes_ += p->size();
  while (bytes_ > kMaxBytes && order_.size() > 1) {
    auto old = plans_.find(order_.front());
    if (old != plans_.end()) {
      bytes_ -= old->second->size();
      plans_.erase(old);
    }
    order_.pop_front();
  }
}

bool CudnnPlanStore::claim(const std::string& job_key) {
  if (!store_enabled()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return claimed_.insert(job_key).second;
}

void CudnnPlanStore::keep(const std::string& key) {
  if (!store_enabled()) return;
  std::lock_guard<std::mutex> lock(mu_);
  kept_.insert(key);
}

Status CudnnPlanStore::load(const std::string& path) {
  if (!store_enabled()) return Status::ok();
  INGOT_ASSIGN_OR_RETURN(auto entries, read_blob_file(path));
  for (auto& [key, blob] : entries) {
    if (find(key)) continue;  // this process's own plan is as good
    put(key, std::vector<uint8_t>(*blob));
    keep(key);
  }
  return Status::ok();
}

Status CudnnPlanStore::save(const std::string& path) const {
  if (!store_enabled()) return Status::ok();
  std::map<std::string, Blob> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& key : kept_) {
      auto it = plans_.find(key);
      if (it != plans_.end()) entries.emplace(key, it->second);
    }
  }
  return write_blob_file(path, entries);
}

size_t CudnnPlanStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return plans_.size();
}

const std::string& plan_device_tag() {
  static std::mutex mu;
  static std::map<int, std::string> tags;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) device = -1;
  std::lock_guard<std::mutex> lock(mu);
  auto it = tags.find(device);
  if (it != tags.end()) return it->second;
  Expected<std::string> d = device_description();
  std::string tag = (d.has_value() ? *d : std::string("unknown device")) + " cudnn " + std::to_string(cudnnGetVersion());
  return tags.emplace(device, std::move(tag)).first->second;
}

void run_prebuild_jobs(std::vector<PrebuildJob> jobs) {
  if (jobs.empty()) return;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return;  // the runners will report the CUDA error
  size_t threads = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), 16);
  if (const char* env = std::getenv("INGOT_CUDNN_BUILD_THREADS")) {
    long n = std::strtol(env, nullptr, 10);
    if (n >= 1) threads = static_cast<size_t>(std::min<long>(n, 64));
  }
  threads = std::min(threads, jobs.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    if (cudaSetDevice(device) != cudaSuccess) return;
    cudnnHandle_t handle = nullptr;
    if (cudnnCreate(&handle) != CUDNN_STATUS_SUCCESS) return;
    for (size_t i = next++; i < jobs.size(); i = next++) {
      try {
        jobs[i](handle);
      } catch (...) {  // a job only fills the store: the runner builds what is missing itself
      }
    }
    cudnnDestroy(handle);
  };
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
}

}  // namespace ingot::runtime::cuda
