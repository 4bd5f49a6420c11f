// Backends: the CPU reference backend is built into libingot; the CUDA backend lives in
// libingot_cuda.so, loaded on first use (so libingot runs on machines without CUDA), and
// registers itself when loaded. A backend builds plans (its optimizations and tactic choices)
// and loads them into engines that run layers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "net/network.h"
#include "plan/plan.h"
#include "support/status.h"

namespace ingot::build {
struct BuildSettings;
}

namespace ingot::runtime {

// Everything shape-dependent for one set of input shapes, computed once per shape by the
// ExecutionContext and handed to the backend.
struct BoundShapes {
  uint64_t key = 0;                                // identifies this set of input shapes
  std::vector<std::vector<int64_t>> dims;          // per tensor id
  std::map<size_t, net::LayerParams> concrete;     // layers whose params held symbols, substituted
  std::map<std::string, int64_t> symbols;          // symbol values
  int profile = -1;                                // the plan's optimization profile for these shapes; -1: none

  // The tactic of `layer` under the selected profile (the layer's own without profiles).
  const std::string& tactic(const plan::Plan& plan, size_t layer) const {
    return profile < 0 ? plan.network.layers()[layer].tactic
                       : plan.profiles[static_cast<size_t>(profile)].tactics[layer];
  }

  const net::LayerParams& params(const net::Network& net, size_t layer) const {
    auto it = concrete.find(layer);
    return it == concrete.end() ? net.layers()[layer].params : it->second;
  }
};

class Profiler;

class BackendContext {
 public:
  virtual ~BackendContext() = default;
  // Runs the engine. `io` holds a data pointer for every engine input and output tensor id
  // (null elsewhere); inputs and outputs live where the backend computes (host or device).
  // With a profiler attached, each call also records its engine and layer times there.
  virtual Status execute(const BoundShapes& shapes, const std::vector<void*>& io, void* stream) = 0;
  // Attaches a profiler (null detaches); the caller keeps it alive while attached.
  void set_profiler(Profiler* profiler) { profiler_ = profiler; }

 protected:
  Profiler* profiler_ = nullptr;
};

class BackendEngine {
 public:
  virtual ~BackendEngine() = default;
  virtual std::unique_ptr<BackendContext> create_context() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual plan::Backend kind() const = 0;
  // Optimizes a converted network into a plan for this backend.
  virtual Expected<plan::Plan> build(net::Network network, const build::BuildSettings& settings) const = 0;
  // Checks that this machine can run the plan (device, architecture) and prepares it.
  virtual Expected<std::unique_ptr<BackendEngine>> load(const plan::Plan& plan) const = 0;
  // Times the tactics of a built plan again on this machine (optimization_level `level`,
  // 1-5), replacing its recorded choices; `progress(done, total)` follows the layers timed
  // (may be empty). Backends without tactics say so.
  using TuneProgress = std::function<void(size_t done, size_t total)>;
  virtual Status retune(plan::Plan& plan, int level, const TuneProgress& progress) const;
};

// Called by a backend library when it is loaded.
void register_backend(const Backend* backend);
// The backend of that kind; loads libingot_cuda.so for CUDA on first use. The error says why
// it is unavailable (library missing, no CUDA driver, ...).
Expected<const Backend*> get_backend(plan::Backend kind);

}  // namespace ingot::runtime
