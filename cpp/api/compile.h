// compile(): the one entry point from an ATen graph to engines.
//
//   lower (ordered passes) -> partition (registry decides) -> per engine block:
//   convert -> build -> serialize
//
// CompileSpec has one small settings struct per stage; each setting has one home and one
// default. The result keeps the lowered graph, so that the caller (the Python frontend) can
// run the PyTorch blocks and splice in the engines.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "build/builder.h"
#include "convert/context.h"
#include "ir/graph.h"
#include "lower/passes.h"
#include "partition/partition.h"
#include "support/status.h"

namespace ingot {

struct CompileSpec {
  lower::LowerOptions lowering;         // evaluator: filled in by compile()
  partition::Settings partition;
  build::BuildSettings build;           // name: used as the prefix of engine names
  bool dryrun = false;                  // partition and report only; build no engine
  // Called as the compile advances: phase "lower", "partition" or "build", with `done` of
  // `total` steps (build: engines built of the engines to build). May be empty.
  std::function<void(const std::string& phase, size_t done, size_t total)> progress;
};

struct CompiledEngine {
  size_t segment = 0;               // index into partition.segments
  std::string name;
  std::vector<uint8_t> plan;        // serialized, verified
  std::string signature;            // runtime::Engine::signature()
};

struct CompileResult {
  std::unique_ptr<ir::Graph> graph;  // the lowered graph the partition refers to
  partition::Partition partition;
  std::vector<CompiledEngine> engines;
  std::vector<lower::PassStats> lowering;
  partition::Report report;
  std::vector<std::string> warnings;
  // Wall time per phase. build_seconds covers convert, the backend build (tactic timing
  // included) and serialization, which are also given on their own.
  double lower_seconds = 0, partition_seconds = 0, build_seconds = 0;
  double convert_seconds = 0, backend_build_seconds = 0, tactic_seconds = 0, serialize_seconds = 0;
};

Expected<CompileResult> compile(std::unique_ptr<ir::Graph> graph, CompileSpec spec);

// Evaluates a node whose inputs are constants with its converter and the CPU reference
// kernels (the constant-folding evaluator).
Expected<std::vector<ir::ConstantData>> evaluate_constant_node(const ir::Node& node);

// Converts the settings the converters see from the build settings.
convert::Settings convert_settings(const build::BuildSettings& build);

}  // namespace ingot
