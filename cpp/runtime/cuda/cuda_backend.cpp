// The CUDA backend: build (fusion, precision, broadcast materialization, tactic timing) and
// load. libingot_cuda.so registers it when loaded.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <map>

#include "build/builder.h"
#include "build/passes.h"
#include "build/rewriter.h"
#include "runtime/cuda/cuda_engine.h"
#include "runtime/cuda/cudnn_plans.h"
#include "runtime/engine.h"

namespace ingot::runtime::cuda {
namespace {

// True if `batch` (right-aligned against `out`) equals it or is all ones.
bool batch_ok(const ir::Shape& batch, const ir::Shape& out) {
  if (batch.size() > out.size()) return false;
  bool ones = true, equal = true;
  size_t off = out.size() - batch.size();
  for (size_t i = 0; i < out.size(); ++i) {
    ir::SymExpr d = i < off ? ir::SymExpr(1) : batch[i - off];
    ones &= d.as_constant() == 1;
    equal &= d == out[i];
  }
  return ones || equal;
}

// cuBLASLt batches share one stride per operand: an operand whose batch dims broadcast in a
// mixed way (some dims 1, others not) is expanded first.
Expected<net::Network> materialize_broadcasts(const net::Network& net) {
  build::NetworkRewriter rw(net);
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    size_t operands = layer.kind() == net::LayerKind::kMatMul ? 2 : layer.kind() == net::LayerKind::kAttention ? 3 : 0;
    const auto* att = std::get_if<net::AttentionParams>(&layer.params);
    if (operands == 0 || (att && (att->strided_inputs() || att->strided_output()))) {  // views: no broadcasts
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const ir::Shape& out = net.tensor(layer.outputs[0]).type.shape;
    ir::Shape out_batch(out.begin(), out.end() - 2);
    std::vector<int> inputs;
    for (size_t i = 0; i < layer.inputs.size(); ++i) {
      int id = rw.map(layer.inputs[i]);
      if (i < operands && id >= 0) {
        const ir::Shape& s = rw.out().tensor(id).type.shape;
        ir::Shape batch(s.begin(), s.end() - 2);
        bool ok = batch_ok(batch, out_batch);
        if (layer.kind() == net::LayerKind::kAttention) ok = batch == out_batch;  // the runner needs them equal
        if (!ok) {
          net::ExpandParams e;
          e.shape = out_batch;
          e.shape.push_back(s[s.size() - 2]);
          e.shape.push_back(s[s.size() - 1]);
          INGOT_ASSIGN_OR_RETURN(std::vector<int> x, rw.add(e, {id}, layer.name + ".expand" + std::to_string(i), layer.origins));
          id = x[0];
        }
      }
      inputs.push_back(id);
    }
    INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, rw.add(layer.params, inputs, layer.name, layer.origins, layer.tactic));
    for (size_t i = 0; i < outs.size(); ++i) rw.set(layer.outputs[i], outs[i]);
  }
  return rw.finish();
}

// In fp16/bf16 matmuls, GELU takes its tanh form, which cuBLASLt applies in the GEMM's
// epilogue (no extra kernel). The two forms differ by at most about 5e-4 absolute, inside the
// error half precision already has; float32 engines keep the exact (erf) form.
Expected<net::Network> tanh_gelu_in_half_precision(net::Network net) {
  for (net::Layer& layer : net.mutable_layers()) {
    auto* m = std::get_if<net::MatMulParams>(&layer.params);
    if (!m || m->activation != net::UnaryOp::kGeluErf) continue;
    ir::DType dt = net.tensor(layer.outputs[0]).type.dtype;
    if (dt == ir::DType::kFloat16 || dt == ir::DType::kBFloat16) m->activation = net::UnaryOp::kGeluTanh;
  }
  return net;
}

// Attention layers that cuDNN's fused SDPA runs (half precision, head dims multiples of 8 up
// to 256, q / k / v of rank 3 or 4 with equal batch dims) read their operands through strides,
// so the head split / merge copies around them go (build::fold_attention_layouts).
bool sdpa_reads_strided(const net::Layer& layer, const net::Network& net) {
  if (layer.inputs.size() < 3) return false;
  const ir::TensorType &q = net.tensor(layer.inputs[0]).type, &k = net.tensor(layer.inputs[1]).type,
                       &v = net.tensor(layer.inputs[2]).type;
  if (q.dtype != ir::DType::kFloat16 && q.dtype != ir::DType::kBFloat16) return false;
  if (q.rank() < 3 || q.rank() > 4 || k.rank() != q.rank() || v.rank() != q.rank()) return false;
  for (const ir::TensorType* t : {&q, &v}) {
    auto e = t->shape.back().as_constant();
    if (!e || *e % 8 != 0 || *e > 256) return false;
  }
  for (size_t d = 0; d + 2 < q.rank(); ++d) {
    if (q.shape[d] != k.shape[d] || q.shape[d] != v.shape[d]) return false;
  }
  return true;
}

class CudaBackend : public Backend {
 public:
  plan::Backend kind() const override { return plan::Backend::kCuda; }

  Expected<plan::Plan> build(net::Network network, const build::BuildSettings& settings) const override {
    INGOT_ASSIGN_OR_RETURN(network, build::recognize_silu(network));  // x * sigmoid(x): a fusable silu
    INGOT_ASSIGN_OR_RETURN(net::Network net, build::fuse_epilogues(network));
    const auto& prec = settings.enabled_precisions;
    if (prec.count(ir::DType::kFloat16)) {
      INGOT_ASSIGN_OR_RETURN(net, build::lower_precision(net, ir::DType::kFloat16));
    } else if (prec.count(ir::DType::kBFloat16)) {
      INGOT_ASSIGN_OR_RETURN(net, build::lower_precision(net, ir::DType::kBFloat16));
    }
    INGOT_ASSIGN_OR_RETURN(net, tanh_gelu_in_half_precision(net));
    // After precision (the filter looks at dtypes); the residual adds it exposes fuse next.
    // The layers cuDNN's SDPA takes read bool masks as one shared bias instead of converting them
    // each (before the layouts fold: the filter looks at q / k / v as [..., L, head dim]).
    INGOT_ASSIGN_OR_RETURN(net, build::bool_masks_as_bias(net, sdpa_reads_strided));
    INGOT_ASSIGN_OR_RETURN(net, build::fold_attention_layouts(net, sdpa_reads_strided));
    INGOT_ASSIGN_OR_RETURN(net, build::fuse_epilogues(net));
    // Half-precision 2-D convolutions run NHWC on cuDNN's graph API (tensor-core kernels
    // want channels-last). INGOT_CUDA_LAYOUT=nchw keeps the plain layout (for comparisons).
    const char* layout = std::getenv("INGOT_CUDA_LAYOUT");
    if (!layout || std::string(layout) != "nchw") {
      INGOT_ASSIGN_OR_RETURN(net, build::channels_last(net, {ir::DType::kFloat16, ir::DType::kBFloat16}, nullptr));
      // Squeeze-and-excitation gates as one layer (two or three small kernels) instead of a mean
      // and two convolutions on 1x1 pixels, which cuDNN runs slowly and builds slowly
      // (bench/NOTES.md, note 14). INGOT_CUDA_SQUEEZE_EXCITE=0 keeps the convolutions.
      const char* se = std::getenv("INGOT_CUDA_SQUEEZE_EXCITE");
      if (!se || std::string(se) != "0") {
        INGOT_ASSIGN_OR_RETURN(net, build::fuse_squeeze_excite(net, kernels::cuda::squeeze_excite_fits));
      }
    }
    INGOT_ASSIGN_OR_RETURN(net, materialize_broadcasts(net));
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
