// The builder: net::Network -> plan::Plan. Removes layers nothing reads, checks that every
// symbol in the network can be read off the engine inputs, and plans activation memory (one
// arena, buffers shared by lifetime, sized for the largest shapes the symbol ranges allow).
// Backend-specific optimization (fusion, precision, tactics) belongs here too.
#pragma once

#include <map>
#include <set>
#include <vector>
#include <string>

#include "ir/dtype.h"
#include "net/network.h"
#include "plan/plan.h"
#include "support/status.h"

namespace ingot::build {

// Where build time went, filled by the backend when BuildSettings::stats is set.
struct BuildStats {
  double tactic_seconds = 0;  // timing tactics (CUDA backend, optimization_level > 0)
};

struct BuildSettings {
  plan::Backend backend = plan::Backend::kCpu;
  std::set<ir::DType> enabled_precisions = {ir::DType::kFloat32};
  bool disable_tf32 = false;
  int optimization_level = 3;  // 0-5: how much time tactic selection may spend
  // A timing cache file (CUDA): tactics measured by earlier builds are reused, new ones are
  // added. Empty: only this process's builds share their measurements.
  std::string timing_cache;
  std::string name = "engine";
  BuildStats* stats = nullptr;  // not owned; accumulates over builds
  // Optimization profiles: per profile, (min, opt, max) per symbol. The plan's symbol ranges
  // become the union (hull) of the profiles', memory is planned for their largest shapes and
  // backends choose tactics per profile at its opt values. A symbol a profile leaves out gets
  // the network's range (opt = max). Empty: the network's symbol ranges, tactics for max.
  std::vector<std::map<std::string, plan::ProfileRange>> profiles;
};

// Builds with the backend settings.backend names (loading it if needed).
Expected<plan::Plan> build_plan(net::Network network, const BuildSettings& settings);

// The steps every backend's build shares:
// removes layers nothing reads (and constants nothing reads), renumbering tensors;
net::Network prune_network(const net::Network& network);
// checks that outputs are produced by layers and distinct, and that every symbol is an input dim;
Status check_engine_network(const net::Network& network);
// plans activation memory;
inline constexpr uint64_t kArenaAlignment = 256;
Expected<plan::MemoryPlan> plan_memory(const net::Network& network);
// narrows the symbol ranges to the profiles' hull and checks the profiles against them;
Status apply_profiles(net::Network& network, const BuildSettings& settings, std::vector<plan::Profile>* profiles);
// and all of these, then wraps the network into a plan for `backend` on `device`.
Expected<plan::Plan> finish_plan(net::Network network, const BuildSettings& settings, plan::Backend backend,
                                 const std::string& device);

}  // namespace ingot::build
