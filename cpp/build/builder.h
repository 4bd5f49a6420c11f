// The builder: net::Network -> plan::Plan. Removes layers nothing reads, checks that every
// symbol in the network can be read off the engine inputs, and plans activation memory (one
// arena, buffers shared by lifetime, sized for the largest shapes the symbol ranges allow).
// Backend-specific optimization (fusion, precision, tactics) belongs here too.
#pragma once

#include <set>
#include <string>

#include "ir/dtype.h"
#include "net/network.h"
#include "plan/plan.h"
#include "support/status.h"

namespace ingot::build {

struct BuildSettings {
  plan::Backend backend = plan::Backend::kCpu;
  std::set<ir::DType> enabled_precisions = {ir::DType::kFloat32};
  bool disable_tf32 = false;
  int optimization_level = 3;  // 0-5: how much time tactic selection may spend
  std::string name = "engine";
};

Expected<plan::Plan> build_plan(net::Network network, const BuildSettings& settings);

// Memory planning on its own (used by build_plan; exposed for tests).
inline constexpr uint64_t kArenaAlignment = 256;
Expected<plan::MemoryPlan> plan_memory(const net::Network& network);

}  // namespace ingot::build
