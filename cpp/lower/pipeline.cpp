#include "lower/passes.h"

#include <chrono>

namespace ingot::lower {

namespace {

using PassFn = Expected<int> (*)(ir::Graph&, const LowerOptions&);

struct PipelineStep {
  const char* name;
  PassFn run;
  bool (*enabled)(const LowerOptions&);
};

bool always(const LowerOptions&) { return true; }
bool when_folding(const LowerOptions& o) { return o.fold_constants; }

// The lowering pipeline, in order. Each round runs every enabled step once.
constexpr PipelineStep kPipeline[] = {
    {"remove_noops", remove_noops, always},
    {"canonicalize_linear", canonicalize_linear, always},
    {"fold_batch_norm", fold_batch_norm, always},
    {"reassociate_constants", reassociate_constants, when_folding},
    {"fold_constants", fold_constants, when_folding},
    {"eliminate_common_subexpressions", eliminate_common_subexpressions, always},
    {"eliminate_dead_code", eliminate_dead_code, always},
};

constexpr int kMaxRounds = 8;

}  // namespace

Expected<std::vector<PassStats>> run_pipeline(ir::Graph& g, const LowerOptions& options) {
  std::vector<PassStats> stats;
  for (const PipelineStep& step : kPipeline) {
    if (step.enabled(options)) stats.push_back({step.name, 0});
  }
  for (int round = 0; round < kMaxRounds; ++round) {
    int round_rewrites = 0;
    size_t index = 0;
    for (const PipelineStep& step : kPipeline) {
      if (!step.enabled(options)) continue;
      const auto t0 = std::chrono::steady_clock::now();
      Expected<int> rewrites = step.run(g, options);
      if (!rewrites) return rewrites.status().with_context(str_cat("lowering pass ", step.name, ": "));
      stats[index].seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      stats[index++].rewrites += *rewrites;
      round_rewrites += *rewrites;
    }
    if (round_rewrites == 0) break;
  }
  INGOT_RETURN_IF_ERROR(g.verify().with_context("graph after lowering: "));
  return stats;
}

}  // namespace ingot::lower
