#include "runtime/cuda/cuda_engine.h"

#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "runtime/cuda/gemm.h"
#include "runtime/profiler.h"
#include "support/half.h"

namespace ingot::runtime::cuda {

namespace {

constexpr size_t kMaxGraphs = 16;
constexpr uint64_t kAlign = 256;

uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

int64_t numel(const std::vector<int64_t>& d) {
  int64_t n = 1;
  for (int64_t x : d) n *= x;
  return n;
}

// Largest byte size a tensor can have over the plan's symbol ranges.
uint64_t max_bytes(const net::Network& net, const net::Tensor& t) {
  ir::SymRange r = ir::numel(t.type.shape).bounds([&](const std::string& s) { return net.symbol_range(s); });
  return static_cast<uint64_t>(std::max<int64_t>(r.max, 0)) * ir::dtype_size(t.type.dtype);
}

}  // namespace

Expected<std::unique_ptr<CudaEngine>> CudaEngine::load(const plan::Plan& plan) {
  int major = 0, minor = 0;
  INGOT_ASSIGN_OR_RETURN(std::string here, device_description(&major, &minor));
  std::string want_arch = plan.device.substr(plan.device.rfind("(sm_") == std::string::npos ? 0 : plan.device.rfind("(sm_"));
  std::string have_arch = str_cat("(sm_", major, minor, ")");
  if (want_arch != have_arch) {
    return error(ErrorCode::kBackendMismatch, "the engine was built for ", plan.device, ", but this GPU is ", here,
                 "; rebuild the engine on this GPU");
  }
  std::unique_ptr<CudaEngine> e(new CudaEngine(plan));
  INGOT_CUDA_TRY(cudaGetDevice(&e->device_));
  const net::Network& net = plan.network;
  e->weight_offsets_.assign(net.tensors().size(), -1);
  uint64_t total = 0;
  for (const net::Tensor& t : net.tensors()) {
    if (!t.constant) continue;
    e->weight_offsets_[static_cast<size_t>(t.id)] = static_cast<int64_t>(total);
    total += align_up(std::max<uint64_t>(t.constant->nbytes, 1));
  }
  INGOT_RETURN_IF_ERROR(e->weights_.reserve(std::max<uint64_t>(total, kAlign)));
  for (const net::Tensor& t : net.tensors()) {
    if (!t.constant || t.constant->nbytes == 0) continue;
    auto* dst = static_cast<uint8_t*>(e->weights_.get()) + e->weight_offsets_[static_cast<size_t>(t.id)];
    INGOT_CUDA_TRY(cudaMemcpy(dst, t.constant->data, t.constant->nbytes, cudaMemcpyHostToDevice));
  }
  return e;
}

const void* CudaEngine::constant(int tensor) const {
  int64_t off = weight_offsets_[static_cast<size_t>(tensor)];
  return off < 0 ? nullptr : static_cast<const uint8_t*>(weights_.get()) + off;
}

std::unique_ptr<BackendContext> CudaEngine::create_context() const { return std::make_unique<CudaContext>(*this); }

// ---------------------------------------------------------------- context

CudaContext::CudaContext(const CudaEngine& engine) : engine_(engine) {
  const char* env = std::getenv("INGOT_CUDA_GRAPHS");
  use_graphs_ = !(env && std::strcmp(env, "0") == 0);
}

CudaContext::~CudaContext() {
  for (auto e : profile_events_) cudaEventDestroy(e);
  for (auto& [key, g] : graphs_) cudaGraphExecDestroy(g.exec);
  if (capture_stream_) cudaStreamDestroy(capture_stream_);
  if (done_) cudaEventDestroy(done_);
  if (env_.cudnn) cudnnDestroy(env_.cudnn);
  if (env_.lt) cublasLtDestroy(env_.lt);
}

Status CudaContext::init() {
  if (initialized_) return Status::ok();
  INGOT_ASSIGN_OR_RETURN(uint64_t window, l2_prefetch_window());  // before anything is created
  int device = 0;
  INGOT_CUDA_TRY(cudaGetDevice(&device));
  if (device != engine_.device()) {
    return error(ErrorCode::kShapeMismatch, "the engine was loaded on cuda:", engine_.device(),
                 " but the current device is cuda:", device);
  }
  INGOT_CUDNN_TRY(cudnnCreate(&env_.cudnn));
  INGOT_CUBLAS_TRY(cublasLtCreate(&env_.lt));
  env_.allow_tf32 = engine_.plan().allow_tf32;
  env_.constants = engine_.constants();
  env_.constants_bytes = engine_.constants_bytes();
  INGOT_CUDA_TRY(cudaStreamCreateWithFlags(&capture_stream_, cudaStreamNonBlocking));
  INGOT_CUDA_TRY(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  const net::Network& net = engine_.plan().network;
  INGOT_RETURN_IF_ERROR(arena_.reserve(std::max<uint64_t>(engine_.plan().memory.arena_bytes, kAlign)));
  staging_index_.assign(net.tensors().size(), -1);
  std::vector<int> io = net.inputs();
  io.insert(io.end(), net.outputs().begin(), net.outputs().end());
  for (int id : io) {
    staging_index_[static_cast<size_t>(id)] = static_cast<int64_t>(staging_.size());
    DeviceBuffer b;
    INGOT_RETURN_IF_ERROR(b.reserve(std::max<uint64_t>(max_bytes(net, net.tensor(id)), kAlign)));
    staging_.push_back(std::move(b));
  }
  // Every runner keeps its workspace within kMaxLayerWorkspace: allocate that once, so that no
  // later shape moves the workspace under the CUDA graphs captured for earlier shapes.
  INGOT_RETURN_IF_ERROR(workspace_.reserve(kMaxLayerWorkspace));
  INGOT_RETURN_IF_ERROR(prefetch_.init(net, engine_.constants(), window,
                                       [&](int id) { return engine_.constant(id); }));
  initialized_ = true;
  return Status::ok();
}

void* CudaContext::pointer(int id) {
  if (id < 0) return nullptr;
  if (const void* c = engine_.constant(id)) return const_cast<void*>(c);
  int64_t off = engine_.plan().memory.offsets[static_cast<size_t>(id)];
  if (off >= 0) return static_cast<uint8_t*>(arena_.get()) + off;
  int64_t s = staging_index_[static_cast<size_t>(id)];
  return s >= 0 ? staging_[static_cast<size_t>(s)].get() : nullptr;
}

Tensors CudaContext::tensors(const std::vector<int>& ids, const BoundShapes& shapes) {
  Tensors out;
  const net::Network& net = engine_.plan().network;
  for (int id : ids) {
    DeviceTensor t;
    if (id >= 0) {
      t.data = pointer(id);
      t.dtype = net.tensor(id).type.dtype;
      t.dims = shapes.dims[static_cast<size_t>(id)];
    }
    out.push_back(std::move(t));
  }
  return out;
}

Status CudaContext::use_profile(int profile) {
  if (!runners_.empty() && profile == runners_profile_) return Status::ok();
  const plan::Plan& plan = engine_.plan();
  if (!runners_.empty()) idle_runners_[runners_profile_] = std::move(runners_);
  runners_.clear();
  auto it = idle_runners_.find(profile);
  if (it != idle_runners_.end()) {
    runners_ = std::move(it->second);
    idle_runners_.erase(it);
  } else {
    for (size_t l = 0; l < plan.network.layers().size(); ++l) {
      const net::Layer& layer = plan.network.layers()[l];
      runners_.push_back(plan::is_view(plan.memory, layer)
                             ? make_view_runner()
                             : make_runner(layer, profile < 0 ? layer.tactic : plan.profiles[static_cast<size_t>(profile)].tactics[l]));
    }
  }
  runners_profile_ = profile;
  prepared_ = false;
  return Status::ok();
}

Status CudaContext::prepare(const BoundShapes& shapes) {
  if (prepared_ && prepared_key_ == shapes.key) return Status::ok();
  const net::Network& net = engine_.plan().network;
  // The plans the runners will build (cuDNN compiles some), on worker threads, in parallel.
  std::vector<PrebuildJob> jobs;
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    runners_[l]->prebuild(env_, shapes.params(net, l), tensors(layer.inputs, shapes), tensors(layer.outputs, shapes), 0,
                          &jobs);
  }
  run_prebuild_jobs(std::move(jobs));
  size_t workspace = 0;
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    size_t ws = 0;
    Status s = runners_[l]->prepare(env_, shapes.params(net, l), tensors(layer.inputs, shapes),
                                    tensors(layer.outputs, shapes), &ws);
    if (!s.is_ok()) return s.with_context("layer '" + layer.name + "': ");
    workspace = std::max(workspace, ws);
  }
  INGOT_RETURN_IF_ERROR(workspace_.reserve(std::max<size_t>(workspace, kAlign)));
  prepared_ = true;
  prepared_key_ = shapes.key;
  return Status::ok();
}

Status CudaContext::enqueue_layers(const BoundShapes& shapes, cudaStream_t stream) {
  const net::Network& net = engine_.plan().network;
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    INGOT_RETURN_IF_ERROR(prefetch_.before_layer(l, stream));
    Status s = runners_[l]->enqueue(env_, shapes.params(net, l), tensors(layer.inputs, shapes),
                                    tensors(layer.outputs, shapes), workspace_.get(), stream);
    if (!s.is_ok()) return s.with_context("layer '" + layer.name + "': ");
  }
  return prefetch_.finish(stream);
}

Status CudaContext::copy_io(const BoundShapes& shapes, const std::vector<void*>& io, bool inputs, cudaStream_t stream) {
  const net::Network& net = engine_.plan().network;
  for (int id : inputs ? net.inputs() : net.outputs()) {
    size_t bytes = static_cast<size_t>(numel(shapes.dims[static_cast<size_t>(id)])) * ir::dtype_size(net.tensor(id).type.dtype);
    if (!bytes) continue;
    void* user = io[static_cast<size_t>(id)];
    INGOT_CUDA_TRY(cudaMemcpyAsync(inputs ? pointer(id) : user, inputs ? user : pointer(id), bytes,
                                   cudaMemcpyDeviceToDevice, stream));
  }
  return Status::ok();
}

Status CudaContext::execute(const BoundShapes& shapes, const std::vector<void*>& io, void* stream_ptr) {
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  INGOT_RETURN_IF_ERROR(init());
  // Work of this context's previous call may still run on another stream: order after it.
  if (last_stream_ && last_stream_ != stream) INGOT_CUDA_TRY(cudaStreamWaitEvent(stream, done_, 0));
  INGOT_RETURN_IF_ERROR(use_profile(shapes.profile));
  INGOT_RETURN_IF_ERROR(prepare(shapes));
  ++calls_;
  if (profiler_) {
    INGOT_RETURN_IF_ERROR(execute_profiled(shapes, io, stream));
  } else {
    INGOT_RETURN_IF_ERROR(copy_io(shapes, io, true, stream));
    INGOT_RETURN_IF_ERROR(run_layers(shapes, stream));
    INGOT_RETURN_IF_ERROR(copy_io(shapes, io, false, stream));
  }
  INGOT_CUDA_TRY(cudaEventRecord(done_, stream));
  last_stream_ = stream;
  return Status::ok();
}

Status CudaContext::execute_profiled(const BoundShapes& shapes, const std::vector<void*>& io, cudaStream_t stream) {
  const net::Network& net = engine_.plan().network;
  size_t n = net.layers().size();
  // Events: call start, after the input copy, after each layer, after the output copy.
  if (profile_events_.size() != n + 3) {
    for (auto e : profile_events_) cudaEventDestroy(e);
    profile_events_.assign(n + 3, nullptr);
    for (auto& e : profile_events_) INGOT_CUDA_TRY(cudaEventCreate(&e));
  }
  double start_us = profiler_->now_us();
  INGOT_CUDA_TRY(cudaEventRecord(profile_events_[0], stream));
  INGOT_RETURN_IF_ERROR(copy_io(shapes, io, true, stream));
  INGOT_CUDA_TRY(cudaEventRecord(profile_events_[1], stream));
  // Layer by layer (no graph replay), so that each layer is bracketed by events.
  for (size_t l = 0; l < n; ++l) {
    const net::Layer& layer = net.layers()[l];
    Status s = runners_[l]->enqueue(env_, shapes.params(net, l), tensors(layer.inputs, shapes),
                                    tensors(layer.outputs, shapes), workspace_.get(), stream);
    if (!s.is_ok()) return s.with_context("layer '" + layer.name + "': ");
    INGOT_CUDA_TRY(cudaEventRecord(profile_events_[l + 2], stream));
  }
  INGOT_RETURN_IF_ERROR(copy_io(shapes, io, false, stream));
  INGOT_CUDA_TRY(cudaEventRecord(profile_events_[n + 2], stream));
  INGOT_CUDA_TRY(cudaEventSynchronize(profile_events_[n + 2]));
  auto elapsed = [&](size_t a, size_t b) -> Expected<double> {
    float ms = 0;
    INGOT_CUDA_TRY(cudaEventElapsedTime(&ms, profile_events_[a], profile_events_[b]));
    return static_cast<double>(ms);
  };
  std::vector<double> layer_ms(n);
  for (size_t l = 0; l < n; ++l) {
    INGOT_ASSIGN_OR_RETURN(layer_ms[l], elapsed(l + 1, l + 2));
  }
  INGOT_ASSIGN_OR_RETURN(double engine_ms, elapsed(0, n + 2));
  profiler_->record("cuda events", start_us, engine_ms, std::move(layer_ms));
  return Status::ok();
}

Status CudaContext::run_layers(const BoundShapes& shapes, cudaStream_t stream) {
  auto it = graphs_.find(shapes.key);
  if (use_graphs_ && it == graphs_.end() && eager_runs_[shapes.key] > 0) {
    // Second call with this shape: record the layers into a graph on our own stream.
    if (graphs_.size() >= kMaxGraphs) {
      auto lru = graphs_.begin();
      for (auto g = graphs_.begin(); g != graphs_.end(); ++g) {
        if (g->second.last_use < lru->second.last_use) lru = g;
      }
      cudaGraphExecDestroy(lru->second.exec);
      graphs_.erase(lru);
    }
    cudaGraph_t graph = nullptr;
    INGOT_CUDA_TRY(cudaStreamBeginCapture(capture_stream_, cudaStreamCaptureModeThreadLocal));
    Status s = enqueue_layers(shapes, capture_stream_);
    cudaError_t end = cudaStreamEndCapture(capture_stream_, &graph);
    INGOT_RETURN_IF_ERROR(s);
    if (end != cudaSuccess) {
      return error(ErrorCode::kInternal, "capturing the engine into a CUDA graph failed: ", cudaGetErrorString(end));
    }
    cudaGraphExec_t exec = nullptr;
    cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    if (inst != cudaSuccess) return error(ErrorCode::kInternal, "instantiating the CUDA graph failed: ", cudaGetErrorString(inst));
    it = graphs_.emplace(shapes.key, Graph{exec, calls_}).first;
  }
  if (use_graphs_ && it != graphs_.end()) {
    it->second.last_use = calls_;
    INGOT_CUDA_TRY(cudaGraphLaunch(it->second.exec, stream));
    return Status::ok();
  }
  INGOT_RETURN_IF_ERROR(enqueue_layers(shapes, stream));
  ++eager_runs_[shapes.key];
  return Status::ok();
}

namespace {
std::vector<std::optional<TensorKey>> keys(const Tensors& ts) {
  std::vector<std::optional<TensorKey>> k;
  for (const DeviceTensor& t : ts) {
    if (t.data) k.push_back(TensorKey{t.dtype, t.dims});
    else k.push_back(std::nullopt);
  }
  return k;
}
}  // namespace

Expected<std::vector<std::string>> CudaContext::tune(const BoundShapes& shapes, int level,
                                                     std::vector<std::vector<net::TimedTactic>>* timed,
                                                     TimingCache* cache, const std::function<void(size_t)>& progress) {
  INGOT_RETURN_IF_ERROR(init());
  INGOT_RETURN_IF_ERROR(use_profile(shapes.profile));
  const net::Network& net = engine_.plan().network;
  env_.tune_level = level;
  INGOT_ASSIGN_OR_RETURN(env_.wide_gemm_search, wide_gemm_search_from_env());
  INGOT_RETURN_IF_ERROR(tune_replays().status());  // a bad value fails here, not each timing
  std::string device;
  if (cache) {  // the GPU and the library versions whose tactics the cache holds
    INGOT_ASSIGN_OR_RETURN(device, device_description());
    device += " cudnn " + std::to_string(cudnnGetVersion()) + " cublasLt " + std::to_string(cublasLtGetVersion()) +
              " tactics " + std::to_string(kTacticGeneration);
    // The wide search's choices are kept apart from the heuristic search's: each is what its
    // own candidate set chose.
    if (env_.wide_gemm_search) device += " gemm-search wide";
    // So are those of a build that times (or forces) our own GEMM (matmul_runner.cpp).
    if (const char* m = std::getenv("INGOT_CUDA_MATMUL"); m && *m) device += std::string(" matmul ") + m;
    // And those of a build that times our small-input (stem) convolution kernel (conv_graph_runner.cpp).
    if (small_input_conv_timed()) device += " small-input";
    // And those of a build that leaves our direct depthwise kernel out (the A/B of its gain).
    if (!depthwise_direct_timed()) device += " no-depthwise-direct";
  }
  auto tuned_here = [&](const net::Layer& layer) {
    return level > 0 && (layer.kind() == net::LayerKind::kConvolution || layer.kind() == net::LayerKind::kMatMul ||
                         layer.kind() == net::LayerKind::kAttention || layer.kind() == net::LayerKind::kSqueezeExcite);
  };
  // Cache keys and hits, then the plans the candidates (or the cached tactics) need, built on
  // worker threads in parallel before anything is timed.
  // A hit's runner replaces the layer's default runner before anything is prepared, so that a
  // warm build builds each layer's plan once (not the default's too, note 33); the default
  // stays in `defaults` for a recorded tactic that does not prepare here.
  std::vector<std::string> keys_of(net.layers().size());
  std::vector<std::optional<CachedTactic>> hits(net.layers().size());
  std::vector<std::unique_ptr<LayerRunner>> defaults(net.layers().size());
  std::vector<PrebuildJob> jobs;
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    if (!tuned_here(layer)) continue;
    Tensors in = tensors(layer.inputs, shapes), out = tensors(layer.outputs, shapes);
    if (cache) {
      keys_of[l] = timing_key(device, shapes.params(net, l), keys(in), keys(out), env_.allow_tf32, level);
      hits[l] = cache->find(keys_of[l]);
    }
    if (hits[l]) defaults[l] = std::exchange(runners_[l], make_runner(layer, hits[l]->tactic));
    else runners_[l]->prebuild(env_, shapes.params(net, l), in, out, level, &jobs);
  }
  run_prebuild_jobs(std::move(jobs));  // the candidates' plans; prepare() prebuilds the hits' own
  if (!prepare(shapes).is_ok()) {
    // A recorded tactic that does not prepare here (another GPU's or library's choice that the
    // key did not tell apart, or an edited cache): that layer times again on its default runner.
    for (size_t l = 0; l < net.layers().size(); ++l) {
      if (!hits[l]) continue;
      const net::Layer& layer = net.layers()[l];
      size_t ws = 0;
      if (!runners_[l]->prepare(env_, shapes.params(net, l), tensors(layer.inputs, shapes), tensors(layer.outputs, shapes), &ws)
               .is_ok()) {
        runners_[l] = std::move(defaults[l]);
        hits[l].reset();
      }
    }
    INGOT_RETURN_IF_ERROR(prepare(shapes));
  }
  // Random inputs in [-1, 1) (integers 0/1), so that timing runs on realistic data.
  std::mt19937 rng(0);
  for (int id : net.inputs()) {
    const net::Tensor& t = net.tensor(id);
    size_t n = static_cast<size_t>(numel(shapes.dims[static_cast<size_t>(id)]));
    std::vector<uint8_t> host(n * ir::dtype_size(t.type.dtype));
    for (size_t i = 0; i < n; ++i) {
      float v = std::uniform_real_distribution<float>(-1, 1)(rng);
      switch (t.type.dtype) {
        case ir::DType::kFloat32: std::memcpy(&host[i * 4], &v, 4); break;
        case ir::DType::kFloat16: { uint16_t h = Half::from_float(v); std::memcpy(&host[i * 2], &h, 2); break; }
        case ir::DType::kBFloat16: { uint16_t h = BFloat16::from_float(v); std::memcpy(&host[i * 2], &h, 2); break; }
        default: break;  // integers and bool: zeros are valid indices and flags
      }
    }
    if (!host.empty()) INGOT_CUDA_TRY(cudaMemcpy(pointer(id), host.data(), host.size(), cudaMemcpyHostToDevice));
  }
  std::vector<std::string> tactics(net.layers().size());
  timed->assign(net.layers().size(), {});
  size_t tune_ws = kMaxLayerWorkspace;
  INGOT_RETURN_IF_ERROR(workspace_.reserve(tune_ws));
  cudaStream_t stream = capture_stream_;
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    Tensors in = tensors(layer.inputs, shapes), out = tensors(layer.outputs, shapes);
    if (tuned_here(layer)) {
      const std::string& key = keys_of[l];
      const std::optional<CachedTactic>& hit = hits[l];
      if (hit) {  // measured before: its runner is in place and prepared
        tactics[l] = hit->tactic;
        (*timed)[l] = hit->timed;
      } else {
        auto t = runners_[l]->tune(env_, shapes.params(net, l), in, out, workspace_.get(), workspace_.size(), stream,
                                   &(*timed)[l]);
        if (!t) return t.status().with_context("tuning layer '" + layer.name + "': ");
        tactics[l] = *t;
        if (cache && !t->empty()) cache->put(key, {*t, (*timed)[l]});
      }
    }
    // Run the layer so that the next one times on real data.
    Status s = runners_[l]->enqueue(env_, shapes.params(net, l), in, out, workspace_.get(), stream);
    if (!s.is_ok()) return s.with_context("layer '" + layer.name + "': ");
    if (progress) progress(l);
  }
  INGOT_CUDA_TRY(cudaStreamSynchronize(stream));
  prepared_ = false;  // runners' state came from timing; prepare again before real runs
  return tactics;
}

}  // namespace ingot::runtime::cuda
