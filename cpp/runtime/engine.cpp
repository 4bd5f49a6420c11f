#include "runtime/engine.h"

#include <cstring>
#include <map>
#include <sstream>

#include "support/check.h"
#include "runtime/profiles.h"
#include "support/hash.h"
#include "support/json.h"

namespace ingot::runtime {

namespace {

std::string json_type(const std::string& name, const ir::TensorType& t) {
  std::string s = "{\"name\":" + json_quote(name) + ",\"dtype\":\"" + std::string(ir::dtype_torch_name(t.dtype)) +
                  "\",\"shape\":[";
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (i) s += ",";
    auto c = t.shape[i].as_constant();
    s += c ? std::to_string(*c) : json_quote(t.shape[i].str());
  }
  return s + "]}";
}

}  // namespace

Expected<std::shared_ptr<const Engine>> Engine::deserialize(std::span<const uint8_t> bytes) {
  INGOT_ASSIGN_OR_RETURN(plan::Plan p, plan::deserialize(bytes, nullptr));
  return from_plan(std::move(p));
}

Expected<std::shared_ptr<const Engine>> Engine::from_plan(plan::Plan plan) {
  if (plan.memory.offsets.size() != plan.network.tensors().size()) {
    return error(ErrorCode::kCorruptPlan, "engine '", plan.name, "': memory plan does not cover every tensor");
  }
  auto backend = get_backend(plan.backend);
  if (!backend) {
    return error(ErrorCode::kBackendMismatch, "engine '", plan.name, "' was built for the ",
                 plan::backend_name(plan.backend), " backend (device '", plan.device, "'): ", backend.status().message());
  }
  // The backend engine refers to the plan it was loaded from: load it from the engine's copy.
  std::shared_ptr<Engine> engine(new Engine(std::move(plan), nullptr));
  auto be = (*backend)->load(engine->plan_);
  if (!be) return be.status().with_context("engine '" + engine->plan_.name + "': ");
  engine->backend_engine_ = std::move(*be);
  return std::shared_ptr<const Engine>(std::move(engine));
}

const std::string& Engine::input_name(size_t i) const { return plan_.network.tensor(plan_.network.inputs().at(i)).name; }
const ir::TensorType& Engine::input_type(size_t i) const { return plan_.network.tensor(plan_.network.inputs().at(i)).type; }
const std::string& Engine::output_name(size_t i) const { return plan_.network.output_names().at(i); }
const ir::TensorType& Engine::output_type(size_t i) const { return plan_.network.tensor(plan_.network.outputs().at(i)).type; }

std::string plan_signature(const plan::Plan& plan) {
  const net::Network& net = plan.network;
  std::ostringstream os;
  os << "{\"version\":1,\"name\":" << json_quote(plan.name) << ",\"backend\":\"" << plan::backend_name(plan.backend)
     << "\",\"inputs\":[";
  for (size_t i = 0; i < net.inputs().size(); ++i) {
    const net::Tensor& t = net.tensor(net.inputs()[i]);
    os << (i ? "," : "") << json_type(t.name, t.type);
  }
  os << "],\"outputs\":[";
  for (size_t i = 0; i < net.outputs().size(); ++i) {
    os << (i ? "," : "") << json_type(net.output_names().at(i), net.tensor(net.outputs()[i]).type);
  }
  os << "]}";
  return os.str();
}

std::unique_ptr<ExecutionContext> Engine::create_context() const {
  return std::make_unique<ExecutionContext>(shared_from_this());
}

// ---------------------------------------------------------------- ExecutionContext

ExecutionContext::ExecutionContext(std::shared_ptr<const Engine> engine)
    : engine_(std::move(engine)), backend_(engine_->backend_engine().create_context()) {}

Status ExecutionContext::set_input_shapes(const std::vector<std::vector<int64_t>>& shapes, int profile) {
  if (shapes_set_ && shapes == input_shapes_ && profile == requested_profile_) return Status::ok();
  const Engine& e = *engine_;
  const net::Network& net = e.plan().network;
  auto where = [&](size_t i) { return str_cat("engine '", e.name(), "' input '", e.input_name(i), "' (#", i, ")"); };
  if (shapes.size() != e.num_inputs()) {
    return error(ErrorCode::kShapeMismatch, "engine '", e.name(), "' takes ", e.num_inputs(), " input(s), got ", shapes.size());
  }
  std::map<std::string, int64_t> env;
  std::map<std::string, std::string> bound_by;
  std::map<std::string, std::string> bound_where;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const ir::Shape& want = e.input_type(i).shape;
    if (shapes[i].size() != want.size()) {
      return error(ErrorCode::kShapeMismatch, where(i), " must have rank ", want.size(), " (shape ", ir::shape_str(want),
                   "), got shape ", ingot::shape_str(shapes[i]));
    }
    for (size_t d = 0; d < want.size(); ++d) {
      int64_t got = shapes[i][d];
      if (auto c = want[d].as_constant()) {
        if (got != *c) {
          return error(ErrorCode::kShapeMismatch, where(i), " dim ", d, " must be ", *c, " (shape ", ir::shape_str(want),
                       "), got ", got, " (shape ", ingot::shape_str(shapes[i]), ")");
        }
        continue;
      }
      if (!want[d].is_symbol()) continue;
      const std::string& s = want[d].symbol_name();
      auto it = env.find(s);
      if (it != env.end()) {
        if (it->second != got) {
          return error(ErrorCode::kShapeMismatch, where(i), " dim ", d, " is ", got, ", but ", bound_by[s], " is ",
                       it->second, "; both are the dynamic dimension ", s, " and must be equal");
        }
        continue;
      }
      ir::SymRange r = net.symbol_range(s);
      if (got < r.min || got > r.max) {
        return error(ErrorCode::kShapeMismatch, where(i), " dim ", d, " is ", got, ", outside the range [", r.min, ", ",
                     r.max == ir::SymRange::kInf ? std::string("inf") : std::to_string(r.max),
                     "] the engine was built for (dynamic dimension ", s, ")");
      }
      env[s] = got;
      bound_by[s] = str_cat("input '", e.input_name(i), "' dim ", d);
      bound_where[s] = str_cat("input '", e.input_name(i), "' (#", i, ") dim ", d);
    }
  }
  // Dimensions that are expressions of symbols must agree too.
  for (size_t i = 0; i < shapes.size(); ++i) {
    const ir::Shape& want = e.input_type(i).shape;
    for (size_t d = 0; d < want.size(); ++d) {
      if (want[d].is_constant() || want[d].is_symbol()) continue;
      auto v = want[d].evaluate(env);
      if (!v) return error(ErrorCode::kShapeMismatch, where(i), " dim ", d, ": ", v.status().message());
      if (*v != shapes[i][d]) {
        return error(ErrorCode::kShapeMismatch, where(i), " dim ", d, " must be ", want[d].str(), " = ", *v, ", got ", shapes[i][d]);
      }
    }
  }
  auto source = [&](const std::string& sym) { return bound_where[sym]; };
  INGOT_ASSIGN_OR_RETURN(int selected, select_profile(e.plan(), env, source, profile));
  std::vector<std::vector<int64_t>> dims(net.tensors().size());
  for (const net::Tensor& t : net.tensors()) {
    auto& out = dims[static_cast<size_t>(t.id)];
    for (const auto& d : t.type.shape) {
      auto v = d.evaluate(env);
      if (!v) return error(ErrorCode::kShapeMismatch, "engine '", e.name(), "' tensor '", t.name, "': ", v.status().message());
      if (*v < 0) return error(ErrorCode::kShapeMismatch, "engine '", e.name(), "' tensor '", t.name, "' gets negative size ", *v);
      out.push_back(*v);
    }
    const auto& mem = e.plan().memory;
    if (mem.offsets[static_cast<size_t>(t.id)] >= 0) {
      int64_t n = 1;
      for (int64_t x : out) n *= x;
      if (static_cast<uint64_t>(n) * ir::dtype_size(t.type.dtype) > mem.sizes[static_cast<size_t>(t.id)]) {
        return error(ErrorCode::kShapeMismatch, "engine '", e.name(), "' tensor '", t.name, "' needs ", n,
                     " elements for these input shapes, more than the memory planned for it");
      }
    }
  }
  BoundShapes bound;
  std::map<std::string, ir::SymExpr> values;
  for (const auto& [name, v] : env) values[name] = ir::SymExpr(v);
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::LayerParams& p = net.layers()[l].params;
    if (!net::params_have_symbols(p)) continue;
    net::LayerParams concrete = p;
    net::substitute_symbols(concrete, values);
    bound.concrete.emplace(l, std::move(concrete));
  }
  std::vector<int64_t> flat;
  for (const auto& sh : shapes) {
    flat.push_back(static_cast<int64_t>(sh.size()));
    flat.insert(flat.end(), sh.begin(), sh.end());
  }
  flat.push_back(selected);  // one shape may run under different profiles (tuning)
  bound.key = hash64(flat.data(), flat.size() * sizeof(int64_t));
  bound.profile = selected;
  bound.dims = std::move(dims);
  bound.symbols = std::move(env);
  bound_ = std::move(bound);
  input_shapes_ = shapes;
  requested_profile_ = profile;
  shapes_set_ = true;
  return Status::ok();
}

const std::vector<int64_t>& ExecutionContext::output_dims(size_t i) const {
  INGOT_CHECK(shapes_set_, "output_dims() before set_input_shapes()");
  return bound_.dims.at(static_cast<size_t>(engine_->plan().network.outputs().at(i)));
}

Status ExecutionContext::execute(const std::vector<TensorArg>& inputs, const std::vector<TensorArg>& outputs, void* stream) {
  const Engine& e = *engine_;
  const net::Network& net = e.plan().network;
  if (!shapes_set_) return invalid_argument("engine '", e.name(), "': set_input_shapes() must come before execute()");
  if (inputs.size() != e.num_inputs() || outputs.size() != e.num_outputs()) {
    return error(ErrorCode::kShapeMismatch, "engine '", e.name(), "' takes ", e.num_inputs(), " input(s) and ",
                 e.num_outputs(), " output(s), got ", inputs.size(), " and ", outputs.size());
  }
  std::vector<void*> io(net.tensors().size(), nullptr);
  auto bind = [&](const TensorArg& a, int id, const std::string& what) -> Status {
    const net::Tensor& t = net.tensor(id);
    if (a.dtype != t.type.dtype) {
      return error(ErrorCode::kShapeMismatch, "engine '", e.name(), "' ", what, " '", t.name, "' must be ",
                   ir::dtype_torch_name(t.type.dtype), ", got ", ir::dtype_torch_name(a.dtype));
    }
    if (a.dims != bound_.dims[static_cast<size_t>(id)]) {
      return error(ErrorCode::kShapeMismatch, "engine '", e.name(), "' ", what, " '", t.name, "' must have shape ",
                   ingot::shape_str(bound_.dims[static_cast<size_t>(id)]), ", got ", ingot::shape_str(a.dims));
    }
    io[static_cast<size_t>(id)] = a.data;
    return Status::ok();
  };
  for (size_t i = 0; i < inputs.size(); ++i) INGOT_RETURN_IF_ERROR(bind(inputs[i], net.inputs()[i], "input"));
  for (size_t i = 0; i < outputs.size(); ++i) INGOT_RETURN_IF_ERROR(bind(outputs[i], net.outputs()[i], "output"));
  Status s = backend_->execute(bound_, io, stream);
  return s.with_context(str_cat("engine '", e.name(), "': "));
}

void ExecutionContext::set_profiler(std::shared_ptr<Profiler> profiler) {
  profiler_ = std::move(profiler);
  backend_->set_profiler(profiler_.get());
}

Status ExecutionContext::run(const std::vector<TensorArg>& inputs, const std::vector<TensorArg>& outputs, void* stream) {
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& a : inputs) shapes.push_back(a.dims);
  INGOT_RETURN_IF_ERROR(set_input_shapes(shapes));
  return execute(inputs, outputs, stream);
}

}  // namespace ingot::runtime
