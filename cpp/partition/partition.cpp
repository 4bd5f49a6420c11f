#include "partition/partition.h"

#include <algorithm>

#include "convert/registry.h"

namespace ingot::partition {

size_t Partition::num_engines() const {
  return static_cast<size_t>(std::count_if(segments.begin(), segments.end(),
                                           [](const Segment& s) { return s.kind == SegmentKind::kEngine; }));
}

bool op_matches(const std::string& op, const std::vector<std::string>& patterns) {
  std::string base = op.substr(0, op.find('.'));
  for (const auto& p : patterns) {
    if (p == op) return true;
    if (p.find('.') == std::string::npos && p == base) return true;
    if (p == base + ".default" && op == base) return true;
  }
  return false;
}

const char* fallback_kind_name(FallbackKind k) {
  switch (k) {
    case FallbackKind::kTorchExecutedOps: return "torch_executed_ops";
    case FallbackKind::kNoConverter: return "no_converter";
    case FallbackKind::kConverterRejected: return "converter_rejected";
    case FallbackKind::kBelowMinBlockSize: return "below_min_block_size";
    case FallbackKind::kBuildFailed: return "build_failed";
  }
  return "unknown";
}

SupportMap compute_support(const ir::Graph& g, const Settings& settings, const convert::Settings& cs) {
  SupportMap m;
  for (const ir::Node* n : g.nodes()) {
    if (op_matches(n->op(), settings.torch_executed_ops)) {
      m.unsupported[n] = "listed in torch_executed_ops";
      m.kinds[n] = FallbackKind::kTorchExecutedOps;
      continue;
    }
    Status s = convert::Registry::global().supports(*n, cs);
    if (s.is_ok()) continue;
    m.unsupported[n] = s.message();
    m.kinds[n] = convert::Registry::global().find(n->op()) ? FallbackKind::kConverterRejected : FallbackKind::kNoConverter;
  }
  return m;
}

namespace {

// Alternating topological sort: run of engine nodes, run of PyTorch nodes, ...
std::vector<Segment> segment(const ir::Graph& g, const std::set<const ir::Node*>& torch_nodes) {
  const auto& nodes = g.nodes();
  std::map<const ir::Node*, size_t> pos;
  for (size_t i = 0; i < nodes.size(); ++i) pos[nodes[i]] = i;
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<size_t>> users(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<size_t> producers;
    for (const ir::Value* v : nodes[i]->input_values()) {
      if (const ir::Node* p = v->producer()) producers.insert(pos.at(p));
    }
    pending[i] = static_cast<int>(producers.size());
    for (size_t p : producers) users[p].push_back(i);
  }
  auto kind_of = [&](size_t i) { return torch_nodes.count(nodes[i]) ? SegmentKind::kTorch : SegmentKind::kEngine; };
  std::set<size_t> ready[2];
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (pending[i] == 0) ready[static_cast<int>(kind_of(i))].insert(i);
  }
  std::vector<Segment> out;
  while (!ready[0].empty() || !ready[1].empty()) {
    SegmentKind k;
    if (ready[0].empty()) k = SegmentKind::kTorch;
    else if (ready[1].empty()) k = SegmentKind::kEngine;
    else k = *ready[0].begin() < *ready[1].begin() ? SegmentKind::kEngine : SegmentKind::kTorch;
    Segment seg;
    seg.kind = k;
    auto& r = ready[static_cast<int>(k)];
    while (!r.empty()) {
      size_t i = *r.begin();
      r.erase(r.begin());
      seg.nodes.push_back(nodes[i]);
      for (size_t u : users[i]) {
        if (--pending[u] == 0) ready[static_cast<int>(kind_of(u))].insert(u);
      }
    }
    out.push_back(std::move(seg));
  }
  return out;
}

void fill_boundaries(const ir::Graph& g, std::vector<Segment>& segments) {
  std::map<const ir::Node*, size_t> seg_of;
  for (size_t s = 0; s < segments.size(); ++s) {
    for (const ir::Node* n : segments[s].nodes) seg_of[n] = s;
  }
  for (size_t s = 0; s < segments.size(); ++s) {
    Segment& seg = segments[s];
    std::set<const ir::Value*> seen;
    for (const ir::Node* n : seg.nodes) {
      for (const ir::Value* v : n->input_values()) {
        if (v->is_constant() || seen.count(v)) continue;
        if (v->producer() && seg_of.at(v->producer()) == s) continue;
        seen.insert(v);
        seg.inputs.push_back(v);
      }
    }
    for (const ir::Node* n : seg.nodes) {
      for (const ir::Value* v : n->outputs()) {
        bool escapes = g.is_output(v);
        for (const ir::Use& u : v->uses()) escapes |= seg_of.at(u.node) != s;
        if (escapes) seg.outputs.push_back(v);
      }
    }
    // Graph inputs first, in the graph's order, then the rest by first use; graph outputs
    // first, in the graph's order. A block that is the whole graph then has its signature.
    auto rank_in = [&](const ir::Value* v) {
      auto it = std::find(g.inputs().begin(), g.inputs().end(), v);
      return it == g.inputs().end() ? g.inputs().size() : static_cast<size_t>(it - g.inputs().begin());
    };
    auto rank_out = [&](const ir::Value* v) {
      auto it = std::find(g.outputs().begin(), g.outputs().end(), v);
      return it == g.outputs().end() ? g.outputs().size() : static_cast<size_t>(it - g.outputs().begin());
    };
    std::stable_sort(seg.inputs.begin(), seg.inputs.end(), [&](auto* a, auto* b) { return rank_in(a) < rank_in(b); });
    std::stable_sort(seg.outputs.begin(), seg.outputs.end(), [&](auto* a, auto* b) { return rank_out(a) < rank_out(b); });
  }
}

}  // namespace

Expected<Partition> partition_graph(const ir::Graph& g, const SupportMap& support, const Settings& settings,
                                    const std::map<const ir::Node*, std::string>& forced) {
  std::map<const ir::Node*, std::string> reasons = support.unsupported;
  std::map<const ir::Node*, FallbackKind> kinds = support.kinds;
  for (const auto& [n, why] : forced) {
    reasons.emplace(n, why);
    kinds.emplace(n, FallbackKind::kBuildFailed);
  }
  if (settings.require_full_compilation && !reasons.empty()) {
    std::string msg = str_cat("require_full_compilation is set, but ", reasons.size(), " op(s) cannot run in an engine:");
    for (const ir::Node* n : g.nodes()) {
      auto it = reasons.find(n);
      if (it != reasons.end()) msg += str_cat("\n  ", n->op(), " (node %", n->name(), "): ", it->second);
    }
    return unsupported(msg);
  }
  int64_t min_block = settings.require_full_compilation ? 1 : std::max<int64_t>(settings.min_block_size, 1);
  std::set<const ir::Node*> torch_nodes;
  for (const auto& [n, why] : reasons) torch_nodes.insert(n);
  std::vector<Segment> segments;
  while (true) {
    segments = segment(g, torch_nodes);
    bool demoted = false;
    for (const Segment& s : segments) {
      if (s.kind != SegmentKind::kEngine || static_cast<int64_t>(s.nodes.size()) >= min_block) continue;
      for (const ir::Node* n : s.nodes) {
        torch_nodes.insert(n);
        reasons.emplace(n, str_cat("in an engine block of ", s.nodes.size(), " op(s), below min_block_size=", min_block));
        kinds.emplace(n, FallbackKind::kBelowMinBlockSize);
      }
      demoted = true;
    }
    if (!demoted) break;
  }
  fill_boundaries(g, segments);
  Partition p;
  p.segments = std::move(segments);
  for (const ir::Node* n : g.nodes()) {
    auto it = reasons.find(n);
    if (it == reasons.end()) continue;
    auto k = kinds.find(n);
    p.torch_reasons.push_back({n, k == kinds.end() ? FallbackKind::kConverterRejected : k->second, it->second});
  }
  return p;
}

}  // namespace ingot::partition
