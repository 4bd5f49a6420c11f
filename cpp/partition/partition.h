// Partitioning: which nodes run in engines and which stay in PyTorch.
//
// A node is supported iff the converter registry says so (Registry::supports) and its op is not
// in torch_executed_ops. Segments are built by a topological sort that keeps taking ready
// nodes of the current kind (engine or PyTorch) before switching, so every segment is a
// contiguous run of one kind in a valid execution order. Engine segments smaller than
// min_block_size are demoted to PyTorch and the sort is redone until none is too small.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "convert/context.h"
#include "ir/graph.h"
#include "support/status.h"

namespace ingot::partition {

struct Settings {
  int64_t min_block_size = 5;
  // "aten::relu" (every overload) or "aten::add.Tensor" (one overload).
  std::vector<std::string> torch_executed_ops;
  bool require_full_compilation = false;
};

enum class SegmentKind { kEngine, kTorch };

// Why a node runs in PyTorch.
enum class FallbackKind : uint8_t {
  kTorchExecutedOps,   // the user listed its op in torch_executed_ops
  kNoConverter,        // no converter is registered for its op
  kConverterRejected,  // a converter exists but rejected these arguments, dtypes or schema
  kBelowMinBlockSize,  // supported, but its engine block was smaller than min_block_size
  kBuildFailed,        // its engine block failed to build; the node was moved out
};
const char* fallback_kind_name(FallbackKind k);  // "torch_executed_ops", "no_converter", ...

struct TorchReason {
  const ir::Node* node = nullptr;
  FallbackKind kind = FallbackKind::kNoConverter;
  std::string why;
};

struct Segment {
  SegmentKind kind = SegmentKind::kEngine;
  std::vector<const ir::Node*> nodes;     // execution order
  std::vector<const ir::Value*> inputs;   // non-constant values read from outside the segment
  std::vector<const ir::Value*> outputs;  // values read after the segment or returned by the graph
};

struct Partition {
  std::vector<Segment> segments;  // execution order
  // Why each PyTorch-executed node is there, in graph order.
  std::vector<TorchReason> torch_reasons;
  size_t num_engines() const;
};

// Per-node support, computed once and reused for every segmentation of the same graph.
struct SupportMap {
  std::map<const ir::Node*, std::string> unsupported;  // node -> reason; absent = supported
  std::map<const ir::Node*, FallbackKind> kinds;       // node -> kind of reason (same keys)
};

SupportMap compute_support(const ir::Graph& g, const Settings& settings, const convert::Settings& convert_settings);

// Segments the graph. `forced` adds nodes that must run in PyTorch (with their reason; their
// kind is kBuildFailed).
// With require_full_compilation, any unsupported node is an error listing each one.
Expected<Partition> partition_graph(const ir::Graph& g, const SupportMap& support, const Settings& settings,
                                    const std::map<const ir::Node*, std::string>& forced = {});

// The segmentation report: structure, operators per engine, and what min_block_size would give.
struct BlockSizeOption {
  int64_t min_block_size = 0;
  size_t engines = 0;
  size_t ops_in_engines = 0;
};
struct Report {
  size_t num_inputs = 0, num_outputs = 0, num_ops = 0, ops_in_engines = 0;
  size_t num_engines = 0, num_torch_segments = 0;
  std::vector<size_t> ops_per_engine;
  double avg_ops_per_engine = 0;
  size_t max_ops_per_engine = 0, min_ops_per_engine = 0;
  std::vector<BlockSizeOption> options;  // one per candidate min_block_size, ascending
  BlockSizeOption fewest_engines;        // the smallest min_block_size giving the fewest engines (>= 1)
  int64_t current_min_block_size = 0;
  std::string text;
};

Report make_report(const ir::Graph& g, const Partition& p, const SupportMap& support, const Settings& settings);

// True if `op` (an IR op name) is matched by an entry of torch_executed_ops.
bool op_matches(const std::string& op, const std::vector<std::string>& patterns);

}  // namespace ingot::partition
