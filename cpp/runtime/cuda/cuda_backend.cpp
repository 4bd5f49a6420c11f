// The CUDA backend: build (fusion, precision, broadcast materialization, tactic timing) and
// load. libingot_cuda.so registers it when loaded.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <map>

#include "build/builder.h"
#include "build/gpu_passes.h"
#include "runtime/cuda/cuda_engine.h"
#include "runtime/cuda/cudnn_plans.h"
#include "runtime/engine.h"

namespace ingot::runtime::cuda {
namespace {

class CudaBackend : public Backend {
 public:
  plan::Backend kind() const override { return plan::Backend::kCuda; }

  Expected<plan::Plan> build(net::Network network, const build::BuildSettings& settings) const override {
    build::GpuPassOptions options;
    options.enabled_precisions = settings.enabled_precisions;
    // INGOT_CUDA_LAYOUT=nchw keeps the plain layout; INGOT_CUDA_SQUEEZE_EXCITE=0 keeps
    // squeeze-excite gates as a mean and two convolutions (for comparisons).
    const char* layout = std::getenv("INGOT_CUDA_LAYOUT");
    options.channels_last = !layout || std::string(layout) != "nchw";
    const char* se = std::getenv("INGOT_CUDA_SQUEEZE_EXCITE");
    if (!se || std::string(se) != "0") options.squeeze_excite = kernels::cuda::squeeze_excite_fits;
    options.pointwise = build::pointwise_fusion_enabled();
    options.squeeze_excite_weights = build::squeeze_excite_weights_enabled();
    options.squeeze_excite_sums = build::squeeze_excite_sums_for();
    INGOT_ASSIGN_OR_RETURN(net::Network net, build::gpu_graph_passes(std::move(network), options));
    for (const net::Layer& layer : net.layers()) {
      Status s = cuda_supports(layer, net);
      if (!s.is_ok()) {
        Status named = s.with_context("the CUDA backend cannot run layer '" + layer.name + "': ");
        return layer.origins.empty() ? named : named.with_node(layer.origins.front());
      }
    }
    INGOT_ASSIGN_OR_RETURN(std::string device, device_description());
    INGOT_ASSIGN_OR_RETURN(plan::Plan plan, build::finish_plan(std::move(net), settings, plan::Backend::kCuda, device));
    if (settings.optimization_level > 0) {
      auto t0 = std::chrono::steady_clock::now();
      // Every build in this process shares the timing cache; a file extends it across processes.
      TimingCache& cache = TimingCache::process();
      // The cuDNN plans kept beside it (cudnn_plans.h) spare a new process their compiles.
      const std::string plan_file = settings.timing_cache.empty() ? std::string() : settings.timing_cache + ".plans";
      if (!plan_file.empty()) {
        INGOT_RETURN_IF_ERROR(cache.load(settings.timing_cache));
        INGOT_RETURN_IF_ERROR(CudnnPlanStore::process().load(plan_file));
      }
      INGOT_RETURN_IF_ERROR(tune(plan, settings.optimization_level, {}, &cache));
      if (!plan_file.empty()) {
        INGOT_RETURN_IF_ERROR(cache.save(settings.timing_cache));
        INGOT_RETURN_IF_ERROR(CudnnPlanStore::process().save(plan_file));
      }
      if (settings.stats) {
        settings.stats->tactic_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
    }
    return plan;
  }

  Expected<std::unique_ptr<BackendEngine>> load(const plan::Plan& plan) const override {
    INGOT_ASSIGN_OR_RETURN(std::unique_ptr<CudaEngine> e, CudaEngine::load(plan));
    return std::unique_ptr<BackendEngine>(std::move(e));
  }

  Status retune(plan::Plan& plan, int level, const TuneProgress& progress) const override {
    if (level < 1 || level > 5) return invalid_argument("optimization level ", level, " is not in 1..5");
    return tune(plan, level, progress);
  }

 private:
  // Times the candidates of every convolution and matmul and records the winners: per
  // optimization profile at its opt values (the layers' own tactics are profile 0's), or,
  // without profiles, at the largest input shapes the symbol ranges allow. A tactic that does
  // not fit another shape in the range falls back to the library's heuristic at run time
  // (ConvRunner, Gemm::configure), so every shape in range stays runnable.
  static Status tune(plan::Plan& plan, int level, const TuneProgress& progress = {}, TimingCache* cache = nullptr) {
    INGOT_ASSIGN_OR_RETURN(auto engine, Engine::from_plan(plan));
    auto ctx = engine->create_context();
    const net::Network& net = plan.network;
    size_t rounds = std::max<size_t>(plan.profiles.size(), 1);
    for (size_t p = 0; p < rounds; ++p) {
      std::map<std::string, int64_t> at;
      for (const auto& [name, r] : net.symbols()) {
        at[name] = plan.profiles.empty() ? r.max : plan.profiles[p].ranges.at(name).opt;
      }
      std::vector<std::vector<int64_t>> shapes;
      for (int id : net.inputs()) {
        std::vector<int64_t> dims;
        for (const auto& d : net.tensor(id).type.shape) {
          auto v = d.evaluate(at);
          if (!v) return v.status().with_context("tuning: input '" + net.tensor(id).name + "': ");
          dims.push_back(*v);
        }
        shapes.push_back(dims);
      }
      INGOT_RETURN_IF_ERROR(ctx->set_input_shapes(shapes, plan.profiles.empty() ? -1 : static_cast<int>(p)));
      auto* cuda_ctx = dynamic_cast<CudaContext*>(&ctx->backend_context());
      if (!cuda_ctx) return error(ErrorCode::kInternal, "tuning: not a CUDA context");
      std::vector<std::vector<net::TimedTactic>> timed;
      const size_t n = net.layers().size();
      auto step = [&](size_t l) {
        if (progress) progress(p * n + l + 1, rounds * n);
      };
      INGOT_ASSIGN_OR_RETURN(std::vector<std::string> tactics, cuda_ctx->tune(ctx->bound_shapes(), level, &timed, cache, step));
      if (!plan.profiles.empty()) plan.profiles[p].tactics = tactics;
      if (p == 0) {  // the layers' own tactics and timings are profile 0's
        for (size_t l = 0; l < tactics.size(); ++l) {
          plan.network.mutable_layers()[l].tactic = tactics[l];
          plan.network.mutable_layers()[l].timed = std::move(timed[l]);
        }
      }
    }
    return Status::ok();
  }
};

const bool kRegistered = [] {
  static CudaBackend backend;
  register_backend(&backend);
  return true;
}();

}  // namespace
}  // namespace ingot::runtime::cuda
