// The public C++ API (include/ingot/ingot.h) over runtime::Engine.
#include <fstream>
#include <iterator>

#include "ingot/ingot.h"
#include "plan/inspect.h"
#include "runtime/backend.h"
#include "runtime/engine.h"

namespace ingot {

namespace {

[[noreturn]] void fail(const Status& s) { throw Error(s.message()); }

TensorInfo info(const std::string& name, const ir::TensorType& t) {
  TensorInfo i{name, static_cast<DType>(t.dtype), {}};
  for (const auto& d : t.shape) i.dims.push_back(d.str());
  return i;
}

}  // namespace

const char* dtype_name(DType t) {
  // dtype_torch_name returns views of string literals, so data() is NUL-terminated.
  return ir::dtype_torch_name(static_cast<ir::DType>(t)).data();
}
size_t dtype_size(DType t) { return ir::dtype_size(static_cast<ir::DType>(t)); }

struct Engine::Impl {
  std::shared_ptr<const runtime::Engine> engine;
};

struct Context::Impl {
  std::shared_ptr<const runtime::Engine> engine;
  std::unique_ptr<runtime::ExecutionContext> ctx;
  std::shared_ptr<runtime::Profiler> profile;  // the last profile started, kept after disabling
};

Engine Engine::from_bytes(const void* data, size_t size) {
  auto e = runtime::Engine::deserialize({static_cast<const uint8_t*>(data), size});
  if (!e) fail(e.status());
  Engine out;
  out.impl_ = std::make_shared<Impl>(Impl{std::move(*e)});
  return out;
}

Engine Engine::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open engine file '" + path + "'");
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  try {
    return from_bytes(bytes.data(), bytes.size());
  } catch (const Error& e) {
    throw Error("engine file '" + path + "': " + e.what());
  }
}

Engine Engine::retuned(int optimization_level, const std::function<void(size_t, size_t)>& progress) const {
  plan::Plan p = impl_->engine->plan();
  auto backend = runtime::get_backend(p.backend);
  if (!backend) fail(backend.status());
  Status s = (*backend)->retune(p, optimization_level, progress);
  if (!s.is_ok()) fail(s.with_context("engine '" + p.name + "': "));
  auto e = runtime::Engine::from_plan(std::move(p));
  if (!e) fail(e.status());
  Engine out;
  out.impl_ = std::make_shared<Impl>(Impl{std::move(*e)});
  return out;
}

std::vector<uint8_t> Engine::serialize() const {
  auto bytes = plan::serialize(impl_->engine->plan());
  if (!bytes) fail(bytes.status());
  return std::move(*bytes);
}

void Engine::save(const std::string& path) const {
  std::vector<uint8_t> bytes = serialize();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error("cannot write engine file '" + path + "'");
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw Error("writing engine file '" + path + "' failed");
}

const std::string& Engine::name() const { return impl_->engine->name(); }
std::string Engine::backend() const { return plan::backend_name(impl_->engine->plan().backend); }

std::vector<TensorInfo> Engine::inputs() const {
  std::vector<TensorInfo> out;
  for (size_t i = 0; i < impl_->engine->num_inputs(); ++i) out.push_back(info(impl_->engine->input_name(i), impl_->engine->input_type(i)));
  return out;
}

std::vector<TensorInfo> Engine::outputs() const {
  std::vector<TensorInfo> out;
  for (size_t i = 0; i < impl_->engine->num_outputs(); ++i) out.push_back(info(impl_->engine->output_name(i), impl_->engine->output_type(i)));
  return out;
}

std::vector<std::string> Engine::symbols() const {
  std::vector<std::string> out;
  for (const auto& [name, r] : impl_->engine->plan().network.symbols()) {
    out.push_back(name + " in [" + std::to_string(r.min) + ", " +
                  (r.max == ir::SymRange::kInf ? std::string("inf") : std::to_string(r.max)) + "]");
  }
  return out;
}

std::string Engine::describe() const { return impl_->engine->plan().network.str(); }

std::string Engine::inspect() const { return plan::inspect_json(impl_->engine->plan()); }

Context Engine::create_context() const {
  auto impl = std::make_unique<Context::Impl>();
  impl->engine = impl_->engine;
  impl->ctx = impl_->engine->create_context();
  return Context(std::move(impl));
}

Context::Context(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Context::~Context() = default;
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

std::vector<std::vector<int64_t>> Context::set_input_shapes(const std::vector<std::vector<int64_t>>& dims) {
  Status s = impl_->ctx->set_input_shapes(dims);
  if (!s.is_ok()) fail(s);
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i < impl_->engine->num_outputs(); ++i) out.push_back(impl_->ctx->output_dims(i));
  return out;
}

void Context::execute(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
  auto convert = [](const std::vector<Tensor>& ts) {
    std::vector<runtime::TensorArg> out;
    for (const Tensor& t : ts) out.push_back({t.data, static_cast<ir::DType>(t.dtype), t.dims});
    return out;
  };
  Status s = impl_->ctx->execute(convert(inputs), convert(outputs));
  if (!s.is_ok()) fail(s);
}

int Context::active_profile() const { return impl_->ctx->active_profile(); }

void Context::enable_profiling(bool on) {
  if (on) {
    impl_->profile = std::make_shared<runtime::Profiler>();
    impl_->ctx->set_profiler(impl_->profile);
  } else {
    impl_->ctx->set_profiler(nullptr);
  }
}

std::string Context::profile_json() const {
  if (!impl_->profile) throw Error("engine '" + impl_->engine->name() + "': profiling was never enabled on this context");
  return impl_->profile->json(impl_->engine->plan());
}

}  // namespace ingot
