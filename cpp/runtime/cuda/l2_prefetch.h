// Weights fetched into L2 ahead of the layers that read them (runtime/prefetch_schedule.h says
// why and which), on a side stream of the context: before a layer with fetches, the side stream
// waits for the work enqueued so far and launches them; after the last layer the main stream
// waits for the side stream. Captured into the engine's CUDA graph, this is a branch beside the
// layers. INGOT_L2_PREFETCH=<MiB> sets the window (0 or unset: off). Measured slower on an H100
// (bench/NOTES.md note 47), hence off by default.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "kernels/cuda/kernels.h"
#include "net/network.h"
#include "support/status.h"

namespace ingot::runtime::cuda {

// The window INGOT_L2_PREFETCH asks for, in bytes (0: none); an error naming the variable when
// it is not a whole number of MiB.
Expected<uint64_t> l2_prefetch_window();

class L2Prefetcher {
 public:
  L2Prefetcher() = default;
  L2Prefetcher(const L2Prefetcher&) = delete;
  L2Prefetcher& operator=(const L2Prefetcher&) = delete;
  ~L2Prefetcher();

  // Plans the fetches of `net`'s layers; `constants` is the engine's constant buffer and
  // `constant(id)` a tensor's address in it (nullptr: not a constant).
  template <typename ConstantOf>
  Status init(const net::Network& net, const void* constants, uint64_t window, ConstantOf constant);
  bool active() const { return !fetches_.empty(); }
  Status before_layer(size_t layer, cudaStream_t stream);
  Status finish(cudaStream_t stream);

 private:
  Status init_spans(const std::vector<std::vector<std::pair<uint64_t, uint64_t>>>& reads, const void* constants,
                    uint64_t window);
  std::vector<std::vector<kernels::cuda::ByteRange>> fetches_;  // per layer; empty when off
  cudaStream_t side_ = nullptr;
  cudaEvent_t fork_ = nullptr, join_ = nullptr;
  bool forked_ = false;
};

template <typename ConstantOf>
Status L2Prefetcher::init(const net::Network& net, const void* constants, uint64_t window, ConstantOf constant) {
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> reads(net.layers().size());
  if (window == 0) return Status::ok();
  std::vector<bool> claimed(net.tensors().size(), false);
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    // Gathers and slices read a few rows of their table: fetching it whole would waste the window.
    if (layer.kind() == net::LayerKind::kGather || layer.kind() == net::LayerKind::kSlice) continue;
    for (int id : layer.inputs) {
      if (id < 0 || claimed[static_cast<size_t>(id)]) continue;
      const void* p = constant(id);
      if (!p) continue;
      claimed[static_cast<size_t>(id)] = true;
      reads[l].push_back({static_cast<uint64_t>(static_cast<const char*>(p) - static_cast<const char*>(constants)),
                          net.tensor(id).constant->nbytes});
    }
  }
  return init_spans(reads, constants, window);
}

}  // namespace ingot::runtime::cuda
