// ingot._C: Python bindings for building ir::Graph from torch.export graphs, compiling, and
// reading the result back. Arguments cross the boundary as tagged tuples (kind, payload), so
// that the Python side decides every type explicitly. Every ingot error becomes ingot.Error.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "api/compile.h"
#include "convert/registry.h"
#include "plan/inspect.h"
#include "runtime/backend.h"
#include "runtime/engine.h"
#include "support/check.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace ingot::bindings {
namespace {

struct PyError {
  std::string message;
};

[[noreturn]] void raise(const Status& s) { throw PyError{s.message()}; }

template <typename T>
T unwrap(Expected<T> e) {
  if (!e) raise(e.status());
  return std::move(*e);
}

ir::DType parse_dtype(const std::string& name) {
  auto d = ir::dtype_from_name(name);
  return d ? *d : ir::DType::kOpaque;
}

ir::SymExpr parse_expr(const std::string& text) { return unwrap(ir::parse_sym_expr(text)); }

ir::Shape parse_shape(const std::vector<std::string>& dims) {
  ir::Shape s;
  for (const auto& d : dims) s.push_back(parse_expr(d));
  return s;
}

// ---------------------------------------------------------------- Graph builder

class PyGraph {
 public:
  PyGraph() : graph_(std::make_unique<ir::Graph>()) {}

  ir::Graph& graph() {
    if (!graph_) raise(invalid_argument("this graph was already compiled; build a new one"));
    return *graph_;
  }
  std::unique_ptr<ir::Graph> take() {
    graph();
    return std::move(graph_);
  }

  void add_symbol(const std::string& name, int64_t min, std::optional<int64_t> max) {
    graph().add_symbol(name, ir::SymRange{min, max ? *max : ir::SymRange::kInf});
  }

  std::string add_input(const std::string& name, const std::string& dtype, const std::vector<std::string>& shape) {
    return graph().add_input(name, ir::TensorType{parse_dtype(dtype), parse_shape(shape)})->name();
  }

  // Borrows `data_ptr` (host memory) for as long as the graph needs it; `keepalive` is the
  // Python object that owns it.
  std::string add_constant(const std::string& name, const std::string& dtype, const std::vector<int64_t>& dims,
                           uintptr_t data_ptr, nb::object keepalive) {
    ir::DType dt = parse_dtype(dtype);
    if (dt == ir::DType::kOpaque) {
      // Constants of other dtypes are only carried by name: PyTorch blocks read them.
      return graph().add_constant(name, ir::ConstantData::owned(dt, dims, {}))->name();
    }
    auto* holder = new nb::object(std::move(keepalive));
    std::shared_ptr<const void> keep(reinterpret_cast<const void*>(data_ptr), [holder](const void*) {
      nb::gil_scoped_acquire gil;
      delete holder;
    });
    auto c = ir::ConstantData::borrowed(dt, dims, reinterpret_cast<const void*>(data_ptr), std::move(keep));
    return graph().add_constant(name, std::move(c))->name();
  }

  std::vector<std::string> add_node(const std::string& op, const std::string& schema, const nb::list& args,
                                    const std::vector<std::pair<std::string, std::vector<std::string>>>& out_types,
                                    const std::string& name, const std::string& source) {
    std::vector<ir::Arg> ir_args;
    for (nb::handle a : args) ir_args.push_back(to_arg(nb::cast<nb::tuple>(a)));
    std::vector<ir::TensorType> types;
    for (const auto& [dt, shape] : out_types) types.push_back({parse_dtype(dt), parse_shape(shape)});
    ir::Node* n = graph().add_node(op, std::move(ir_args), types, name, schema);
    n->set_source(source);
    std::vector<std::string> names;
    for (ir::Value* v : n->outputs()) names.push_back(v->name());
    return names;
  }

  void add_output(const std::string& name) { graph().add_output(value(name)); }

  std::string str() { return graph().str(true, 16); }

 private:
  ir::Value* value(const std::string& name) {
    ir::Value* v = graph().find_value(name);
    if (!v) raise(invalid_argument("no value named %", name, " in the graph"));
    return v;
  }

  ir::Arg to_arg(const nb::tuple& t) {
    std::string kind = nb::cast<std::string>(t[0]);
    nb::handle p = t[1];
    if (kind == "none") return ir::Arg::none();
    if (kind == "tensor") return ir::Arg::tensor(value(nb::cast<std::string>(p)));
    if (kind == "tensors") {
      std::vector<ir::Value*> vs;
      for (nb::handle h : nb::cast<nb::list>(p)) vs.push_back(h.is_none() ? nullptr : value(nb::cast<std::string>(h)));
      return ir::Arg::tensor_list(std::move(vs));
    }
    if (kind == "int") return ir::Arg::integer(parse_expr(nb::cast<std::string>(p)));
    if (kind == "ints") return ir::Arg::int_list(parse_shape(nb::cast<std::vector<std::string>>(p)));
    if (kind == "float") return ir::Arg::floating(nb::cast<double>(p));
    if (kind == "floats") return ir::Arg::float_list(nb::cast<std::vector<double>>(p));
    if (kind == "bool") return ir::Arg::boolean(nb::cast<bool>(p));
    if (kind == "bools") return ir::Arg::bool_list(nb::cast<std::vector<bool>>(p));
    if (kind == "str") return ir::Arg::string(nb::cast<std::string>(p));
    if (kind == "dtype") return ir::Arg::dtype(parse_dtype(nb::cast<std::string>(p)));
    if (kind == "device") return ir::Arg::device(nb::cast<std::string>(p));
    if (kind == "enum") return ir::Arg::enumeration(nb::cast<std::string>(p));
    raise(invalid_argument("unknown argument kind '", kind, "'"));
  }

  std::unique_ptr<ir::Graph> graph_;
};

// ---------------------------------------------------------------- reading the IR back

nb::tuple from_arg(const ir::Arg& a) {
  auto name = [](const ir::Value* v) -> nb::object { return v ? nb::cast(v->name()) : nb::none(); };
  switch (a.kind()) {
    case ir::Arg::Kind::kNone: return nb::make_tuple("none", nb::none());
    case ir::Arg::Kind::kTensor: return nb::make_tuple("tensor", a.tensor()->name());
    case ir::Arg::Kind::kTensorList: {
      nb::list l;
      for (const ir::Value* v : a.tensors()) l.append(name(v));
      return nb::make_tuple("tensors", l);
    }
    case ir::Arg::Kind::kInt: return nb::make_tuple("int", a.int_expr().str());
    case ir::Arg::Kind::kIntList: {
      nb::list l;
      for (const auto& e : a.ints()) l.append(e.str());
      return nb::make_tuple("ints", l);
    }
    case ir::Arg::Kind::kFloat: return nb::make_tuple("float", a.floating());
    case ir::Arg::Kind::kFloatList: return nb::make_tuple("floats", a.floats());
    case ir::Arg::Kind::kBool: return nb::make_tuple("bool", a.boolean());
    case ir::Arg::Kind::kBoolList: return nb::make_tuple("bools", a.bools());
    case ir::Arg::Kind::kString: return nb::make_tuple("str", a.str_value());
    case ir::Arg::Kind::kDType: return nb::make_tuple("dtype", std::string(ir::dtype_torch_name(a.dtype())));
    case ir::Arg::Kind::kDevice: return nb::make_tuple("device", a.str_value());
    case ir::Arg::Kind::kEnum: return nb::make_tuple("enum", a.str_value());
  }
  return nb::make_tuple("none", nb::none());
}

nb::list names(const std::vector<const ir::Value*>& vs) {
  nb::list l;
  for (const ir::Value* v : vs) l.append(v->name());
  return l;
}

nb::dict report_dict(const partition::Report& r) {
  nb::dict d;
  d["num_inputs"] = r.num_inputs;
  d["num_outputs"] = r.num_outputs;
  d["num_ops"] = r.num_ops;
  d["ops_in_engines"] = r.ops_in_engines;
  d["num_engines"] = r.num_engines;
  d["num_torch_segments"] = r.num_torch_segments;
  d["ops_per_engine"] = r.ops_per_engine;
  d["avg_ops_per_engine"] = r.avg_ops_per_engine;
  d["max_ops_per_engine"] = r.max_ops_per_engine;
  d["min_ops_per_engine"] = r.min_ops_per_engine;
  nb::list options;
  for (const auto& o : r.options) {
    options.append(nb::make_tuple(o.min_block_size, o.engines, o.ops_in_engines));
  }
  d["options"] = options;
  d["recommended_min_block_size"] = r.fewest_engines.min_block_size;
  d["recommended_engines"] = r.fewest_engines.engines;
  d["current_min_block_size"] = r.current_min_block_size;
  d["text"] = r.text;
  return d;
}

// A torch.uint8 tensor over `bytes`, which it owns (through a capsule that frees the vector).
nb::object plan_tensor(std::vector<uint8_t> bytes) {
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<uint8_t>*>(p); });
  size_t shape[1] = {owned->size()};
  return nb::cast(nb::ndarray<nb::pytorch, uint8_t, nb::ndim<1>>(owned->data(), 1, shape, owner));
}

class PyCompileResult {
 public:
  explicit PyCompileResult(CompileResult r) : r_(std::move(r)) {}

  nb::list segments() const {
    nb::list out;
    std::map<size_t, size_t> engine_of;
    for (size_t i = 0; i < r_.engines.size(); ++i) engine_of[r_.engines[i].segment] = i;
    for (size_t s = 0; s < r_.partition.segments.size(); ++s) {
      const auto& seg = r_.partition.segments[s];
      nb::dict d;
      bool engine = seg.kind == partition::SegmentKind::kEngine;
      d["kind"] = engine ? "engine" : "torch";
      nb::list nodes;
      for (const ir::Node* n : seg.nodes) nodes.append(n->name());
      d["nodes"] = nodes;
      d["inputs"] = names(seg.inputs);
      d["outputs"] = names(seg.outputs);
      auto it = engine_of.find(s);
      d["engine"] = it == engine_of.end() ? -1 : static_cast<int64_t>(it->second);
      out.append(d);
    }
    return out;
  }

  size_t engine_count() const { return r_.engines.size(); }

  // Hands every plan over as a 1-D uint8 torch tensor that owns the plan's bytes (no copy:
  // BERT-base's fp16 plan is 220 MB). The plans move out, so the list can be read once; a second
  // read is an error.
  nb::list engines() {
    if (plans_taken_) raise(invalid_argument("the engines of a compile result can be read once"));
    plans_taken_ = true;
    nb::list out;
    for (auto& e : r_.engines) {
      nb::dict d;
      d["name"] = e.name;
      d["segment"] = e.segment;
      d["plan"] = plan_tensor(std::move(e.plan));
      d["signature"] = e.signature;
      out.append(d);
    }
    return out;
  }

  nb::dict node(const std::string& name) const {
    const ir::Value* v = r_.graph->find_value(name);
    const ir::Node* n = v ? v->producer() : nullptr;
    if (!n) {
      for (const ir::Node* m : r_.graph->nodes()) if (m->name() == name) n = m;
    }
    if (!n) raise(invalid_argument("no node named %", name));
    nb::dict d;
    d["op"] = n->op();
    d["schema"] = n->schema();
    d["name"] = n->name();
    d["source"] = n->source();
    nb::list args;
    for (const ir::Arg& a : n->args()) args.append(from_arg(a));
    d["args"] = args;
    nb::list outs;
    for (const ir::Value* o : n->outputs()) outs.append(o->name());
    d["outputs"] = outs;
    return d;
  }

  nb::dict value(const std::string& name) const {
    const ir::Value* v = r_.graph->find_value(name);
    if (!v) raise(invalid_argument("no value named %", name));
    nb::dict d;
    d["dtype"] = std::string(ir::dtype_torch_name(v->dtype()));
    std::vector<std::string> shape;
    for (const auto& e : v->shape()) shape.push_back(e.str());
    d["shape"] = shape;
    d["kind"] = v->is_graph_input() ? "input" : v->is_constant() ? "constant" : "node";
    return d;
  }

  nb::bytes constant_bytes(const std::string& name) const {
    const ir::Value* v = r_.graph->find_value(name);
    if (!v || !v->is_constant()) raise(invalid_argument("no constant named %", name));
    const auto& c = v->constant();
    return nb::bytes(static_cast<const char*>(c.data), c.nbytes);
  }

  nb::list inputs() const {
    nb::list l;
    for (const ir::Value* v : r_.graph->inputs()) l.append(v->name());
    return l;
  }
  nb::list outputs() const {
    nb::list l;
    for (const ir::Value* v : r_.graph->outputs()) l.append(v->name());
    return l;
  }
  nb::dict report() const { return report_dict(r_.report); }
  std::vector<std::string> warnings() const { return r_.warnings; }
  nb::list lowering() const {
    nb::list l;
    for (const auto& p : r_.lowering) l.append(nb::make_tuple(p.name, p.rewrites, p.seconds));
    return l;
  }
  nb::dict timings() const {
    nb::dict d;
    d["lower"] = r_.lower_seconds;
    d["partition"] = r_.partition_seconds;
    d["build"] = r_.build_seconds;
    d["convert"] = r_.convert_seconds;
    d["backend_build"] = r_.backend_build_seconds;
    d["tactic_timing"] = r_.tactic_seconds;
    d["serialize"] = r_.serialize_seconds;
    return d;
  }
  nb::list torch_reasons() const {
    nb::list l;
    for (const auto& r : r_.partition.torch_reasons) {
      l.append(nb::make_tuple(r.node->name(), r.node->op(), r.why, partition::fallback_kind_name(r.kind), r.node->source()));
    }
    return l;
  }
  std::string graph_text() const { return r_.graph->str(true, 16); }

 private:
  CompileResult r_;
  bool plans_taken_ = false;
};

CompileSpec spec_from_dict(const nb::dict& d) {
  CompileSpec spec;
  auto get = [&](const char* key) -> nb::handle { return d.contains(key) ? nb::handle(d[key]) : nb::handle(); };
  if (auto h = get("min_block_size")) spec.partition.min_block_size = nb::cast<int64_t>(h);
  if (auto h = get("torch_executed_ops")) spec.partition.torch_executed_ops = nb::cast<std::vector<std::string>>(h);
  if (auto h = get("require_full_compilation")) spec.partition.require_full_compilation = nb::cast<bool>(h);
  if (auto h = get("fold_constants")) spec.lowering.fold_constants = nb::cast<bool>(h);
  if (auto h = get("name")) spec.build.name = nb::cast<std::string>(h);
  if (auto h = get("optimization_level")) spec.build.optimization_level = nb::cast<int>(h);
  if (auto h = get("disable_tf32")) spec.build.disable_tf32 = nb::cast<bool>(h);
  if (auto h = get("timing_cache")) spec.build.timing_cache = nb::cast<std::string>(h);
  if (auto h = get("dryrun")) spec.dryrun = nb::cast<bool>(h);
  if (auto h = get("backend")) {
    std::string b = nb::cast<std::string>(h);
    if (b == "cpu") spec.build.backend = plan::Backend::kCpu;
    else if (b == "cuda") spec.build.backend = plan::Backend::kCuda;
    else raise(invalid_argument("unknown backend '", b, "'"));
  }
  if (auto h = get("profiles")) {
    // [{symbol: (min, opt, max)}, ...]
    for (nb::handle prof : nb::cast<nb::list>(h)) {
      std::map<std::string, plan::ProfileRange> ranges;
      for (auto [k, v] : nb::cast<nb::dict>(prof)) {
        auto t = nb::cast<std::tuple<int64_t, int64_t, int64_t>>(v);
        ranges[nb::cast<std::string>(k)] = {std::get<0>(t), std::get<1>(t), std::get<2>(t)};
      }
      spec.build.profiles.push_back(std::move(ranges));
    }
  }
  if (auto h = get("enabled_precisions")) {
    spec.build.enabled_precisions.clear();
    for (const auto& s : nb::cast<std::vector<std::string>>(h)) spec.build.enabled_precisions.insert(parse_dtype(s));
  }
  return spec;
}

}  // namespace
}  // namespace ingot::bindings

NB_MODULE(_C, m) {
  using namespace ingot;
  using namespace ingot::bindings;
  m.doc() = "ingot core bindings";

  static nb::object error_type = nb::steal(PyErr_NewExceptionWithDoc(
      "ingot._C.Error", "An ingot compile or runtime error. The message names the op, node, shape or file.",
      PyExc_RuntimeError, nullptr));
  m.attr("Error") = error_type;
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const PyError& e) {
      PyErr_SetString(error_type.ptr(), e.message.c_str());
    } catch (const InternalError& e) {
      PyErr_SetString(error_type.ptr(), e.what());
    }
  });

  nb::class_<PyGraph>(m, "Graph")
      .def(nb::init<>())
      .def("add_symbol", &PyGraph::add_symbol, "name"_a, "min"_a, "max"_a.none())
      .def("add_input", &PyGraph::add_input, "name"_a, "dtype"_a, "shape"_a)
      .def("add_constant", &PyGraph::add_constant, "name"_a, "dtype"_a, "dims"_a, "data_ptr"_a, "keepalive"_a)
      .def("add_node", &PyGraph::add_node, "op"_a, "schema"_a, "args"_a, "out_types"_a, "name"_a, "source"_a)
      .def("add_output", &PyGraph::add_output, "name"_a)
      .def("__str__", &PyGraph::str);

  nb::class_<PyCompileResult>(m, "CompileResult")
      .def_prop_ro("segments", &PyCompileResult::segments)
      .def_prop_ro("engines", &PyCompileResult::engines)
      .def_prop_ro("engine_count", [](const PyCompileResult& r) { return r.engine_count(); },
                   "len(engines), without copying the plans")
      .def_prop_ro("inputs", &PyCompileResult::inputs)
      .def_prop_ro("outputs", &PyCompileResult::outputs)
      .def_prop_ro("report", &PyCompileResult::report)
      .def_prop_ro("warnings", &PyCompileResult::warnings)
      .def_prop_ro("lowering", &PyCompileResult::lowering)
      .def_prop_ro("timings", &PyCompileResult::timings)
      .def_prop_ro("torch_reasons", &PyCompileResult::torch_reasons)
      .def_prop_ro("graph_text", &PyCompileResult::graph_text)
      .def("node", &PyCompileResult::node)
      .def("value", &PyCompileResult::value)
      .def("constant_bytes", &PyCompileResult::constant_bytes);

  m.def("compile", [](PyGraph& g, const nb::dict& spec_dict, nb::object progress) {
    CompileSpec spec = spec_from_dict(spec_dict);
    if (!progress.is_none()) {
      // Called from the compile (GIL released): take the GIL for the Python callable. An
      // exception it raises is printed and ignored: progress display must not fail a build.
      // The callable is held through a shared_ptr, so that copies made without the GIL do not
      // touch its reference count; the last owner releases it under the GIL.
      std::shared_ptr<nb::object> fn(new nb::object(progress), [](nb::object* o) {
        nb::gil_scoped_acquire gil;
        delete o;
      });
      spec.progress = [fn](const std::string& phase, size_t done, size_t total) {
        nb::gil_scoped_acquire gil;
        try {
          (*fn)(phase, done, total);
        } catch (nb::python_error& e) {
          e.restore();
          PyErr_Print();
        }
      };
    }
    std::unique_ptr<ir::Graph> graph = g.take();
    Expected<CompileResult> r = [&] {
      nb::gil_scoped_release release;
      return compile(std::move(graph), std::move(spec));
    }();
    return new PyCompileResult(unwrap(std::move(r)));
  }, "graph"_a, "spec"_a, "progress"_a = nb::none(), nb::rv_policy::take_ownership);

  m.def("backend_status", [](const std::string& name) -> std::string {
    plan::Backend kind;
    if (name == "cpu") kind = plan::Backend::kCpu;
    else if (name == "cuda") kind = plan::Backend::kCuda;
    else return "unknown backend '" + name + "'";
    auto b = runtime::get_backend(kind);
    return b ? std::string() : b.status().message();
  }, "name"_a, "Empty if the backend can be used here, else why not (e.g. the CUDA library failed to load).");

  m.def("list_supported_ops", [] {
    std::vector<std::string> out;
    for (const auto* c : convert::Registry::global().list()) out.push_back(c->schema);
    return out;
  });

  m.def("verify_plan", [](nb::bytes data) {
    auto engine = runtime::Engine::deserialize(
        {reinterpret_cast<const uint8_t*>(data.c_str()), data.size()});
    return unwrap(std::move(engine))->signature();
  }, "data"_a, "Verifies serialized engine bytes; returns the engine's signature or raises ingot.Error.");

  m.def("inspect_plan", [](nb::bytes data) {
    auto p = plan::deserialize({reinterpret_cast<const uint8_t*>(data.c_str()), data.size()}, nullptr);
    return plan::inspect_json(unwrap(std::move(p)));
  }, "data"_a, "Verifies serialized engine bytes and returns the inspector's JSON (plan/inspect.h).");
  m.def("plan_profiles", [](nb::bytes data) {
    plan::Plan p = unwrap(plan::deserialize({reinterpret_cast<const uint8_t*>(data.c_str()), data.size()}, nullptr));
    nb::dict out;
    nb::dict symbols;
    for (const auto& [name, r] : p.network.symbols()) {
      symbols[nb::str(name.c_str())] = nb::make_tuple(r.min, r.max == ir::SymRange::kInf ? nb::object(nb::none()) : nb::cast(r.max));
    }
    nb::list profiles;
    for (const auto& prof : p.profiles) {
      nb::dict d;
      for (const auto& [name, r] : prof.ranges) d[nb::str(name.c_str())] = nb::make_tuple(r.min, r.opt, r.max);
      profiles.append(d);
    }
    out["symbols"] = symbols;
    out["profiles"] = profiles;
    return out;
  }, "data"_a, "The symbol ranges and optimization profiles of serialized engine bytes (verified first).");

  m.def("parse_graph_text", [](const std::string& text) {
    auto g = ir::parse_graph(text, ir::ParseOptions{{}, true});
    return unwrap(std::move(g))->str();
  });
}
