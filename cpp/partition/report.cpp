// The segmentation report, modelled on Torch-TensorRT's dry-run output.
#include <algorithm>
#include <map>
#include <sstream>

#include "partition/partition.h"

namespace ingot::partition {

namespace {

std::string values_str(const std::vector<const ir::Value*>& vs) {
  return join(vs, ", ", [](const ir::Value* v) { return "%" + v->name() + ": " + v->type().str(); });
}

std::string op_histogram(const Segment& s) {
  std::map<std::string, int> counts;
  for (const ir::Node* n : s.nodes) ++counts[n->op()];
  std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return join(sorted, ", ", [](const auto& e) { return e.first + " x" + std::to_string(e.second); });
}

}  // namespace

Report make_report(const ir::Graph& g, const Partition& p, const SupportMap& support, const Settings& settings) {
  Report r;
  r.num_inputs = g.inputs().size();
  r.num_outputs = g.outputs().size();
  r.num_ops = g.nodes().size();
  r.current_min_block_size = settings.min_block_size;
  for (const Segment& s : p.segments) {
    if (s.kind == SegmentKind::kEngine) {
      r.ops_per_engine.push_back(s.nodes.size());
      r.ops_in_engines += s.nodes.size();
    } else {
      ++r.num_torch_segments;
    }
  }
  r.num_engines = r.ops_per_engine.size();
  if (r.num_engines) {
    r.max_ops_per_engine = *std::max_element(r.ops_per_engine.begin(), r.ops_per_engine.end());
    r.min_ops_per_engine = *std::min_element(r.ops_per_engine.begin(), r.ops_per_engine.end());
    r.avg_ops_per_engine = static_cast<double>(r.ops_in_engines) / static_cast<double>(r.num_engines);
  }

  // What other min_block_size values would give. Thresholds that change the outcome are 1 and
  // one more than each block size of the min_block_size=1 partition (the smallest value that
  // demotes that block).
  if (!settings.require_full_compilation) {
    Settings one = settings;
    one.min_block_size = 1;
    std::set<int64_t> candidates{1};
    if (auto base = partition_graph(g, support, one)) {
      for (const Segment& s : base->segments) {
        if (s.kind == SegmentKind::kEngine) candidates.insert(static_cast<int64_t>(s.nodes.size()) + 1);
      }
    }
    candidates.insert(std::max<int64_t>(settings.min_block_size, 1));
    for (int64_t c : candidates) {
      Settings trial = settings;
      trial.min_block_size = c;
      auto part = partition_graph(g, support, trial);
      if (!part) continue;
      BlockSizeOption o{c, part->num_engines(), 0};
      for (const Segment& s : part->segments) {
        if (s.kind == SegmentKind::kEngine) o.ops_in_engines += s.nodes.size();
      }
      r.options.push_back(o);
    }
    for (const BlockSizeOption& o : r.options) {
      if (o.engines == 0) continue;
      bool better = r.fewest_engines.engines == 0 || o.engines < r.fewest_engines.engines ||
                    (o.engines == r.fewest_engines.engines && o.ops_in_engines > r.fewest_engines.ops_in_engines);
      if (better) r.fewest_engines = o;
    }
  }

  std::ostringstream os;
  os << "ingot segmentation report\n";
  os << "  graph: " << r.num_inputs << " input(s), " << r.num_outputs << " output(s), " << r.num_ops << " op(s); "
     << r.ops_in_engines << " in " << r.num_engines << " engine(s), " << (r.num_ops - r.ops_in_engines)
     << " in PyTorch (" << r.num_torch_segments << " segment(s))\n";
  os << "  segments in execution order:\n";
  size_t engine_index = 0;
  for (size_t i = 0; i < p.segments.size(); ++i) {
    const Segment& s = p.segments[i];
    bool engine = s.kind == SegmentKind::kEngine;
    os << "    [" << i << "] " << (engine ? "engine #" + std::to_string(engine_index++) : std::string("pytorch")) << ": "
       << s.nodes.size() << " op(s)\n";
    os << "        inputs:  " << values_str(s.inputs) << "\n";
    os << "        outputs: " << values_str(s.outputs) << "\n";
    os << "        ops:     " << op_histogram(s) << "\n";
  }
  if (!p.torch_reasons.empty()) {
    os << "  ops running in PyTorch:\n";
    for (const TorchReason& r : p.torch_reasons) {
      os << "    " << r.node->op() << " (node %" << r.node->name() << (r.node->source().empty() ? "" : ", module " + r.node->source())
         << ") [" << fallback_kind_name(r.kind) << "]: " << r.why << "\n";
    }
  }
  if (r.num_engines) {
    os << "  operators per engine: average " << r.avg_ops_per_engine << ", most " << r.max_ops_per_engine
       << ", fewest " << r.min_ops_per_engine << "\n";
  }
  if (!r.options.empty()) {
    os << "  min_block_size options:\n";
    for (const BlockSizeOption& o : r.options) {
      os << "    min_block_size=" << o.min_block_size << ": " << o.engines << " engine(s), " << o.ops_in_engines
         << " op(s) in engines" << (o.min_block_size == settings.min_block_size ? "  (current)" : "") << "\n";
    }
    if (r.fewest_engines.engines) {
      os << "  recommendation: min_block_size=" << r.fewest_engines.min_block_size << " gives the fewest engines ("
         << r.fewest_engines.engines << ", with " << r.fewest_engines.ops_in_engines << " op(s) in engines)\n";
    }
  }
  r.text = os.str();
  return r;
}

}  // namespace ingot::partition
