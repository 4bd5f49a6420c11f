// torch.ops.ingot.execute_engine(Tensor[] inputs, Tensor plan, str signature) -> Tensor[]
//
// torch.ops.ingot.profile_engine(Tensor plan, str action) -> str
//
// Runs an ingot engine inside a PyTorch program. `plan` is the serialized engine as a 1-D
// uint8 CPU tensor (a buffer of the module, so that torch.export saves it with the program);
// `signature` is the engine's I/O description, which the op's shape function (registered in
// Python) reads. Engines are cached per plan buffer: the first call verifies and loads the
// bytes, later calls reuse the engine and a pool of execution contexts.
//
// profile_engine controls per-layer profiling of the engine cached for `plan`: "start" attaches
// a fresh profiler to every context of that engine (pooled or new), "read" returns the profile
// as JSON (runtime/profiler.h), "stop" returns it and detaches the profiler, "reset" clears it.
#include <ATen/ATen.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/library.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "runtime/engine.h"

// Engines run where their backend computes: CPU engines on host tensors, CUDA engines on the
// caller's device and current stream (taken through c10's device-generic API, so that this
// library needs no CUDA headers).

namespace {

using ingot::ir::DType;
using ingot::runtime::Engine;
using ingot::runtime::ExecutionContext;

DType to_ingot(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return DType::kFloat32;
    case at::kHalf: return DType::kFloat16;
    case at::kBFloat16: return DType::kBFloat16;
    case at::kChar: return DType::kInt8;
    case at::kByte: return DType::kUInt8;
    case at::kInt: return DType::kInt32;
    case at::kLong: return DType::kInt64;
    case at::kBool: return DType::kBool;
    case at::kDouble: return DType::kFloat64;
    case at::kShort: return DType::kInt16;
    default: return DType::kOpaque;
  }
}

at::ScalarType to_torch(DType t) {
  switch (t) {
    case DType::kFloat32: return at::kFloat;
    case DType::kFloat16: return at::kHalf;
    case DType::kBFloat16: return at::kBFloat16;
    case DType::kInt8: return at::kChar;
    case DType::kUInt8: return at::kByte;
    case DType::kInt32: return at::kInt;
    case DType::kInt64: return at::kLong;
    case DType::kBool: return at::kBool;
    case DType::kFloat64: return at::kDouble;
    case DType::kInt16: return at::kShort;
    case DType::kOpaque: break;
  }
  TORCH_CHECK(false, "ingot: engine uses a dtype torch cannot represent");
}

struct CachedEngine {
  explicit CachedEngine(c10::weak_intrusive_ptr<c10::StorageImpl> s) : storage(std::move(s)) {}
  c10::weak_intrusive_ptr<c10::StorageImpl> storage;  // the plan buffer this entry was loaded from
  size_t nbytes = 0;
  std::shared_ptr<const Engine> engine;
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<ExecutionContext>> pool;
  std::shared_ptr<ingot::runtime::Profiler> profiler;  // guarded by pool_mutex; null: not profiling
  std::atomic<int64_t> last_profile{-1};  // optimization profile of the last call (a debug aid)
};

std::mutex g_cache_mutex;
std::unordered_map<const void*, std::shared_ptr<CachedEngine>> g_cache;

std::shared_ptr<CachedEngine> lookup(const at::Tensor& plan) {
  TORCH_CHECK(plan.device().is_cpu() && plan.scalar_type() == at::kByte && plan.dim() == 1 && plan.is_contiguous(),
              "ingot: the plan argument of execute_engine must be a 1-D contiguous uint8 CPU tensor, got ",
              plan.scalar_type(), " on ", plan.device(), " with shape ", plan.sizes());
  const void* key = plan.data_ptr();
  size_t nbytes = static_cast<size_t>(plan.numel());
  c10::StorageImpl* storage = plan.storage().unsafeGetStorageImpl();
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  auto it = g_cache.find(key);
  if (it != g_cache.end()) {
    auto alive = it->second->storage.lock();
    if (alive.get() == storage && it->second->nbytes == nbytes) return it->second;
  }
  // Drop entries whose plan buffers are gone.
  for (auto e = g_cache.begin(); e != g_cache.end();) {
    e = e->second->storage.expired() ? g_cache.erase(e) : std::next(e);
  }
  auto engine = Engine::deserialize({static_cast<const uint8_t*>(key), nbytes});
  TORCH_CHECK(engine.has_value(), "ingot: cannot load engine: ", engine.status().message());
  auto entry = std::make_shared<CachedEngine>(plan.storage().getWeakStorageImpl());
  entry->nbytes = nbytes;
  entry->engine = std::move(*engine);
  g_cache[key] = entry;
  return entry;
}

std::vector<at::Tensor> execute_engine(const std::vector<at::Tensor>& inputs, const at::Tensor& plan,
                                       c10::string_view signature) {
  // Load (first call) and run on the inputs' device.
  std::optional<c10::DeviceGuard> guard;
  if (!inputs.empty() && inputs[0].device().is_cuda()) guard.emplace(inputs[0].device());
  std::shared_ptr<CachedEngine> cached = lookup(plan);
  const Engine& engine = *cached->engine;
  const bool cuda = engine.plan().backend == ingot::plan::Backend::kCuda;
  TORCH_CHECK(inputs.size() == engine.num_inputs(), "ingot: engine '", engine.name(), "' takes ", engine.num_inputs(),
              " input(s), got ", inputs.size());

  c10::Device device(c10::kCPU);
  if (cuda) {
    device = !inputs.empty() && inputs[0].is_cuda() ? inputs[0].device() : c10::Device(c10::DeviceType::CUDA, 0);
  }
  std::vector<at::Tensor> contiguous;
  std::vector<ingot::runtime::TensorArg> in_args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const at::Tensor& t = inputs[i];
    TORCH_CHECK(t.device() == device, "ingot: engine '", engine.name(), "' runs on ", device, " (",
                ingot::plan::backend_name(engine.plan().backend), " backend), but input '", engine.input_name(i),
                "' is on ", t.device());
    DType want = engine.input_type(i).dtype;
    TORCH_CHECK(to_ingot(t.scalar_type()) == want, "ingot: engine '", engine.name(), "' input '", engine.input_name(i),
                "' must be ", c10::toString(to_torch(want)), ", got ", t.scalar_type());
    contiguous.push_back(t.contiguous());
    in_args.push_back({contiguous.back().data_ptr(), want, contiguous.back().sizes().vec()});
  }

  std::unique_ptr<ExecutionContext> ctx;
  std::shared_ptr<ingot::runtime::Profiler> profiler;
  {
    std::lock_guard<std::mutex> lock(cached->pool_mutex);
    if (!cached->pool.empty()) {
      ctx = std::move(cached->pool.back());
      cached->pool.pop_back();
    }
    profiler = cached->profiler;
  }
  if (!ctx) ctx = engine.create_context();
  if (ctx->profiler() != profiler) ctx->set_profiler(profiler);

  std::vector<std::vector<int64_t>> shapes;
  for (const auto& a : in_args) shapes.push_back(a.dims);
  ingot::Status s = ctx->set_input_shapes(shapes);
  if (s.is_ok()) cached->last_profile = ctx->active_profile();
  std::vector<at::Tensor> outputs;
  std::vector<ingot::runtime::TensorArg> out_args;
  if (s.is_ok()) {
    for (size_t i = 0; i < engine.num_outputs(); ++i) {
      DType dt = engine.output_type(i).dtype;
      outputs.push_back(at::empty(ctx->output_dims(i), at::TensorOptions().dtype(to_torch(dt)).device(device)));
      out_args.push_back({outputs.back().data_ptr(), dt, ctx->output_dims(i)});
    }
    void* stream = nullptr;
    if (cuda) {
      c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
      stream = impl.getStream(device).native_handle();
    }
    s = ctx->execute(in_args, out_args, stream);
  }
  {
    std::lock_guard<std::mutex> lock(cached->pool_mutex);
    cached->pool.push_back(std::move(ctx));
  }
  TORCH_CHECK(s.is_ok(), "ingot: ", s.message());
  (void)signature;
  return outputs;
}

std::string profile_engine(const at::Tensor& plan, c10::string_view action) {
  std::shared_ptr<CachedEngine> cached = lookup(plan);
  std::lock_guard<std::mutex> lock(cached->pool_mutex);
  const ingot::plan::Plan& p = cached->engine->plan();
  if (action == "start") {
    cached->profiler = std::make_shared<ingot::runtime::Profiler>();
    return cached->profiler->json(p);
  }
  TORCH_CHECK(action == "read" || action == "stop" || action == "reset", "ingot: profile_engine action must be "
              "'start', 'read', 'stop' or 'reset', got '", std::string(action), "'");
  TORCH_CHECK(cached->profiler, "ingot: engine '", p.name, "' is not being profiled (", std::string(action),
              " without start)");
  std::string json = cached->profiler->json(p);
  if (action == "reset") cached->profiler->reset();
  if (action == "stop") cached->profiler.reset();
  return json;
}

// The optimization profile the last execute_engine call with this plan ran with (-1: the
// engine has no profiles, or has not run yet). For tests and debugging.
int64_t engine_last_profile(const at::Tensor& plan) { return lookup(plan)->last_profile.load(); }

}  // namespace

TORCH_LIBRARY(ingot, m) {
  m.def("execute_engine(Tensor[] inputs, Tensor plan, str signature) -> Tensor[]");
  m.def("profile_engine(Tensor plan, str action) -> str", &profile_engine);
  m.def("engine_last_profile(Tensor plan) -> int", &engine_last_profile);
}

TORCH_LIBRARY_IMPL(ingot, CPU, m) { m.impl("execute_engine", &execute_engine); }
TORCH_LIBRARY_IMPL(ingot, CUDA, m) { m.impl("execute_engine", &execute_engine); }
