// The CPU reference backend: runs every layer with kernels/cpu, activations in one host arena.
#include <chrono>

#include "build/builder.h"
#include "build/gpu_passes.h"
#include "kernels/cpu/kernels.h"
#include "runtime/backend.h"
#include "runtime/profiler.h"

namespace ingot::runtime {
namespace {

class CpuContext : public BackendContext {
 public:
  explicit CpuContext(const plan::Plan& plan) : plan_(plan) {}

  Status execute(const BoundShapes& shapes, const std::vector<void*>& io, void*) override {
    const net::Network& net = plan_.network;
    const plan::MemoryPlan& mem = plan_.memory;
    if (arena_.size() < mem.arena_bytes) arena_.resize(mem.arena_bytes);
    auto view = [&](int id) {
      kernels::cpu::TensorView v;
      if (id < 0) return v;
      const net::Tensor& t = net.tensor(id);
      size_t i = static_cast<size_t>(id);
      if (t.constant) {
        v.data = const_cast<void*>(t.constant->data);
      } else if (mem.offsets[i] >= 0) {
        v.data = arena_.data() + mem.offsets[i];
      } else {
        v.data = io[i];
      }
      v.dtype = t.type.dtype;
      v.dims = shapes.dims[i];
      return v;
    };
    using Clock = std::chrono::steady_clock;
    auto ms_between = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    Profiler* profiler = profiler_;
    double start_us = profiler ? profiler->now_us() : 0.0;
    std::vector<double> layer_ms(profiler ? net.layers().size() : 0);
    Clock::time_point call_start = Clock::now();
    for (size_t l = 0; l < net.layers().size(); ++l) {
      const net::Layer& layer = net.layers()[l];
      if (plan::is_view(plan_.memory, layer)) continue;  // its output already is its input's bytes
      std::vector<kernels::cpu::TensorView> ins, outs;
      for (int id : layer.inputs) ins.push_back(view(id));
      for (int id : layer.outputs) outs.push_back(view(id));
      Clock::time_point t0 = profiler ? Clock::now() : Clock::time_point{};
      Status s = kernels::cpu::run_layer(shapes.params(net, l), ins, outs);
      if (!s.is_ok()) return s.with_context("layer '" + layer.name + "': ");
      if (profiler) layer_ms[l] = ms_between(t0, Clock::now());
    }
    if (profiler) profiler->record("std::chrono::steady_clock", start_us, ms_between(call_start, Clock::now()), std::move(layer_ms));
    return Status::ok();
  }

 private:
  const plan::Plan& plan_;
  std::vector<uint8_t> arena_;
};

class CpuEngine : public BackendEngine {
 public:
  explicit CpuEngine(const plan::Plan& plan) : plan_(plan) {}
  std::unique_ptr<BackendContext> create_context() const override { return std::make_unique<CpuContext>(plan_); }

 private:
  const plan::Plan& plan_;
};

class CpuBackend : public Backend {
 public:
  plan::Backend kind() const override { return plan::Backend::kCpu; }

  Expected<plan::Plan> build(net::Network network, const build::BuildSettings& settings) const override {
    // The reference backend computes every layer as converted: no fusion, no precision change.
    // INGOT_CPU_GPU_PASSES=1: the CUDA backend's graph passes first, so that their rewrites
    // are checked on the CPU (squeeze_excite layers of any size: the CPU kernel takes them all).
    if (build::cpu_runs_gpu_passes()) {
      build::GpuPassOptions options;
      options.enabled_precisions = settings.enabled_precisions;
      options.squeeze_excite = [](int64_t, int64_t) { return true; };
      options.pointwise = build::pointwise_fusion_enabled();
      if (build::feed_forward_fusion_enabled()) {
        options.feed_forward = [](int64_t, int64_t, int64_t, ir::DType) { return true; };
      }
      options.squeeze_excite_weights = build::squeeze_excite_weights_enabled();
      options.squeeze_excite_sums = build::squeeze_excite_sums_for();
      INGOT_ASSIGN_OR_RETURN(network, build::gpu_graph_passes(std::move(network), options));
    }
    return build::finish_plan(std::move(network), settings, plan::Backend::kCpu, "cpu");
  }

  Expected<std::unique_ptr<BackendEngine>> load(const plan::Plan& plan) const override {
    return std::unique_ptr<BackendEngine>(new CpuEngine(plan));
  }
};

const bool kRegistered = [] {
  static CpuBackend backend;
  register_backend(&backend);
  return true;
}();

}  // namespace
}  // namespace ingot::runtime
