// cuDNN frontend graphs in and out of the process's plan store (cudnn_plans.h): a runner that
// builds a plan adds its serialized form, and a runner for the same graph (a repeated layer, a
// timing cache hit, a second context) loads it back in milliseconds instead of building it
// again. Header-only so that only the runners that already use the frontend include it.
#pragma once

#include <cudnn_frontend.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/cuda/cudnn_plans.h"
#include "runtime/cuda/runner.h"
#include "runtime/timing_cache.h"

namespace ingot::runtime::cuda {

// The store key of a layer's cuDNN graph: its timing-cache key (device, params, operand dtypes
// and dims; absent operands marked) followed by `what` (";conv-graph", ";sdpa-graph").
inline std::string graph_store_key(const net::LayerParams& params, const Tensors& in, const Tensors& out,
                                   bool allow_tf32, const char* what) {
  auto keys = [](const Tensors& ts) {
    std::vector<std::optional<TensorKey>> k;
    for (const DeviceTensor& t : ts) {
      if (t.data) k.push_back(TensorKey{t.dtype, t.dims});
      else k.push_back(std::nullopt);
    }
    return k;
  };
  return timing_key(plan_device_tag(), params, keys(in), keys(out), allow_tf32, 0) + what;
}

// Adds the graph's current plan (the one built last) to the store under `key`; a plan cuDNN
// cannot serialize is left out.
inline void store_plan(const cudnn_frontend::graph::Graph& g, const std::string& key) {
  std::vector<uint8_t> blob;
  try {
    if (g.serialize(blob, false).is_good() && !blob.empty()) CudnnPlanStore::process().put(key, std::move(blob));
  } catch (...) {  // the JSON library throws on what it cannot encode: the plan is just not stored
  }
}

// A graph holding the plan stored under `key`, deserialized on `handle`, and its workspace;
// null when the store has none or it does not load here.
inline std::unique_ptr<cudnn_frontend::graph::Graph> load_plan(cudnnHandle_t handle, const std::string& key,
                                                               int64_t* workspace) {
  auto blob = CudnnPlanStore::process().find(key);
  if (!blob) return nullptr;
  auto g = std::make_unique<cudnn_frontend::graph::Graph>();
  try {
    if (g->deserialize(handle, *blob, false, /*run_warmup=*/false).is_bad()) return nullptr;
    if (g->get_workspace_size(*workspace).is_bad()) return nullptr;
  } catch (...) {
    return nullptr;
  }
  return g;
}

}  // namespace ingot::runtime::cuda
