#include "runtime/cuda/l2_prefetch.h"

#include <cstdlib>
#include <string>

#include "runtime/cuda/cuda_util.h"
#include "runtime/prefetch_schedule.h"

namespace ingot::runtime::cuda {

Expected<uint64_t> l2_prefetch_window() {
  const char* env = std::getenv("INGOT_L2_PREFETCH");
  if (!env || !*env) return uint64_t{0};
  char* end = nullptr;
  unsigned long long mib = std::strtoull(env, &end, 10);
  if (*end != '\0' || *env == '-' || mib > (1ull << 20)) {
    return error(ErrorCode::kInvalidArgument, "INGOT_L2_PREFETCH='", env,
                 "': expected a window in MiB, a whole number from 0 (off) to 1048576");
  }
  return static_cast<uint64_t>(mib) << 20;
}

L2Prefetcher::~L2Prefetcher() {
  if (side_) cudaStreamDestroy(side_);
  if (fork_) cudaEventDestroy(fork_);
  if (join_) cudaEventDestroy(join_);
}

Status L2Prefetcher::init_spans(const std::vector<std::vector<std::pair<uint64_t, uint64_t>>>& reads,
                                const void* constants, uint64_t window) {
  std::vector<std::vector<ByteSpan>> spans(reads.size());
  for (size_t l = 0; l < reads.size(); ++l) {
    for (auto [offset, bytes] : reads[l]) spans[l].push_back({offset, bytes});
  }
  std::vector<std::vector<ByteSpan>> plan = schedule_prefetch(spans, window);
  fetches_.assign(plan.size(), {});
  bool any = false;
  for (size_t l = 0; l < plan.size(); ++l) {
    for (const ByteSpan& s : plan[l]) {
      fetches_[l].push_back({static_cast<const char*>(constants) + s.offset, static_cast<size_t>(s.bytes)});
      any = true;
    }
  }
  if (!any) {
    fetches_.clear();
    return Status::ok();
  }
  INGOT_CUDA_TRY(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking));
  INGOT_CUDA_TRY(cudaEventCreateWithFlags(&fork_, cudaEventDisableTiming));
  INGOT_CUDA_TRY(cudaEventCreateWithFlags(&join_, cudaEventDisableTiming));
  return Status::ok();
}

Status L2Prefetcher::before_layer(size_t layer, cudaStream_t stream) {
  if (layer >= fetches_.size() || fetches_[layer].empty()) return Status::ok();
  // Recording and waiting on one event again and again is fine: a wait takes the event's last
  // record at the time of the call (also while capturing).
  INGOT_CUDA_TRY(cudaEventRecord(fork_, stream));
  INGOT_CUDA_TRY(cudaStreamWaitEvent(side_, fork_, 0));
  forked_ = true;
  return kernels::cuda::launch_l2_prefetch(fetches_[layer], side_);
}

Status L2Prefetcher::finish(cudaStream_t stream) {
  if (!forked_) return Status::ok();
  forked_ = false;
  INGOT_CUDA_TRY(cudaEventRecord(join_, side_));
  INGOT_CUDA_TRY(cudaStreamWaitEvent(stream, join_, 0));
  return Status::ok();
}

}  // namespace ingot::runtime::cuda
