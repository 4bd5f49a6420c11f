#include "api/compile.h"

#include <chrono>
#include <map>

#include "convert/registry.h"
#include "runtime/engine.h"
#include "support/check.h"

namespace ingot {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct BlockFailure {
  const ir::Node* node = nullptr;  // the node whose conversion failed, if known
  Status status;
};

// Converts and builds one engine block; on failure says which node was at fault.
Expected<CompiledEngine> build_engine(const ir::Graph& g, const partition::Segment& seg, size_t index,
                                      const std::string& name, const build::BuildSettings& settings,
                                      BlockFailure* failure, CompileResult* times) {
  auto t0 = std::chrono::steady_clock::now();
  auto net = convert::convert_nodes(g, seg.nodes, seg.inputs, seg.outputs, convert_settings(settings), &failure->node);
  times->convert_seconds += seconds_since(t0);
  if (!net) {
    failure->status = net.status();
    return net.status();
  }
  build::BuildSettings bs = settings;
  bs.name = name;
  build::BuildStats stats;
  bs.stats = &stats;
  t0 = std::chrono::steady_clock::now();
  auto plan = build::build_plan(std::move(*net), bs);
  times->backend_build_seconds += seconds_since(t0);
  times->tactic_seconds += stats.tactic_seconds;
  if (!plan) {
    failure->status = plan.status();
    // A backend that cannot run a layer names the ATen node it came from.
    if (!plan.status().node().empty()) {
      for (const ir::Node* n : seg.nodes) {
        if (n->name() == plan.status().node()) failure->node = n;
      }
    }
    return plan.status();
  }
  t0 = std::chrono::steady_clock::now();
  INGOT_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, plan::serialize(*plan));
  // Verify what we wrote: the checksum, the decoding and the plan checks, with the weights left
  // in `bytes` (borrowed, not copied). The backend loads it on first use; a load here (the
  // weights copied and, on CUDA, uploaded again, then dropped) cost ViT-B/16 fp32 on the CPU
  // backend ~0.35 s of this phase (0.92-1.01 -> 0.56-0.68 s, bench/NOTES.md note 20).
  std::string signature;
  {
    INGOT_ASSIGN_OR_RETURN(plan::Plan verified, plan::deserialize(bytes, std::shared_ptr<const void>(bytes.data(), [](const void*) {})));
    signature = runtime::plan_signature(verified);
  }
  times->serialize_seconds += seconds_since(t0);
  CompiledEngine ce;
  ce.segment = index;
  ce.name = name;
  ce.signature = std::move(signature);
  ce.plan = std::move(bytes);
  return ce;
}

}  // namespace

convert::Settings convert_settings(const build::BuildSettings& build) {
  convert::Settings cs;
  cs.enabled_precisions = build.enabled_precisions;
  cs.cuda = build.backend == plan::Backend::kCuda;
  return cs;
}

Expected<std::vector<ir::ConstantData>> evaluate_constant_node(const ir::Node& node) {
  const ir::Graph& g = *node.graph();
  std::vector<const ir::Value*> outputs;
  for (const ir::Value* v : node.outputs()) {
    if (v->has_uses() || g.is_output(v)) outputs.push_back(v);
  }
  if (outputs.empty()) return invalid_argument("node %", node.name(), " has no used outputs");
  for (const ir::Value* v : outputs) {
    if (!ir::is_static(v->shape())) return unsupported("output %", v->name(), " has a dynamic shape");
  }
  convert::Settings cs;
  INGOT_ASSIGN_OR_RETURN(net::Network net, convert::convert_nodes(g, {&node}, {}, outputs, cs));
  build::BuildSettings bs;
  bs.name = "fold_" + node.name();
  INGOT_ASSIGN_OR_RETURN(plan::Plan p, build::build_plan(std::move(net), bs));
  INGOT_ASSIGN_OR_RETURN(auto engine, runtime::Engine::from_plan(std::move(p)));
  auto ctx = engine->create_context();
  INGOT_RETURN_IF_ERROR(ctx->set_input_shapes({}));
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<runtime::TensorArg> outs;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto& dims = ctx->output_dims(i);
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    buffers.emplace_back(static_cast<size_t>(n) * ir::dtype_size(outputs[i]->dtype()));
  }
  for (size_t i = 0; i < outputs.size(); ++i) outs.push_back({buffers[i].data(), outputs[i]->dtype(), ctx->output_dims(i)});
  INGOT_RETURN_IF_ERROR(ctx->execute({}, outs));
  std::vector<ir::ConstantData> result;
  size_t k = 0;
  for (const ir::Value* v : node.outputs()) {
    bool used = v->has_uses() || g.is_output(v);
    if (!used) {
      result.push_back(ir::ConstantData{});  // unused output: no data
      continue;
    }
    result.push_back(ir::ConstantData::owned(v->dtype(), ctx->output_dims(k), std::move(buffers[k])));
    ++k;
  }
  return result;
}

Expected<CompileResult> compile(std::unique_ptr<ir::Graph> graph, CompileSpec spec) {
  CompileResult result;
  INGOT_RETURN_IF_ERROR(graph->verify().with_context("the input graph is invalid: "));

  auto progress = [&](const char* phase, size_t done, size_t total) {
    if (spec.progress) spec.progress(phase, done, total);
  };
  progress("lower", 0, 1);
  auto t0 = std::chrono::steady_clock::now();
  spec.lowering.evaluator = evaluate_constant_node;
  INGOT_ASSIGN_OR_RETURN(result.lowering, lower::run_pipeline(*graph, spec.lowering));
  result.lower_seconds = seconds_since(t0);
  progress("lower", 1, 1);
  progress("partition", 0, 1);

  t0 = std::chrono::steady_clock::now();
  convert::Settings cs = convert_settings(spec.build);
  partition::SupportMap support = partition::compute_support(*graph, spec.partition, cs);
  std::map<const ir::Node*, std::string> forced;
  // A block that fails to convert or build moves its faulty node to PyTorch and partitions
  // again; each retry moves at least one more node, so this ends.
  for (size_t attempt = 0;; ++attempt) {
    INGOT_ASSIGN_OR_RETURN(result.partition, partition::partition_graph(*graph, support, spec.partition, forced));
    result.partition_seconds = seconds_since(t0);
    progress("partition", 1, 1);
    if (spec.dryrun) break;
    const size_t to_build = result.partition.num_engines();
    auto t1 = std::chrono::steady_clock::now();
    result.engines.clear();
    bool retry = false;
    size_t engine_index = 0;
    for (size_t s = 0; s < result.partition.segments.size(); ++s) {
      const partition::Segment& seg = result.partition.segments[s];
      if (seg.kind != partition::SegmentKind::kEngine) continue;
      progress("build", engine_index, to_build);
      std::string name = spec.build.name + "_" + std::to_string(engine_index++);
      BlockFailure failure;
      auto engine = build_engine(*graph, seg, s, name, spec.build, &failure, &result);
      if (engine) {
        result.engines.push_back(std::move(*engine));
        progress("build", engine_index, to_build);
        continue;
      }
      if (spec.partition.require_full_compilation || !failure.node || forced.count(failure.node) ||
          attempt > graph->nodes().size()) {
        return engine.status().with_context("building engine '" + name + "': ");
      }
      forced[failure.node] = "its engine block failed to build: " + failure.status.message();
      result.warnings.push_back(str_cat(failure.node->op(), " (node %", failure.node->name(),
                                        ") moved to PyTorch: ", failure.status.message()));
      retry = true;
      break;
    }
    result.build_seconds += seconds_since(t1);
    if (!retry) break;
  }
  result.report = partition::make_report(*graph, result.partition, support, spec.partition);
  result.graph = std::move(graph);
  return result;
}

}  // namespace ingot
