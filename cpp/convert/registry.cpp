#include "convert/registry.h"

#include <algorithm>

#include "support/check.h"

namespace ingot::convert {

Registry& Registry::global() {
  static Registry* registry = new Registry();
  return *registry;
}

bool Registry::add(const std::string& schema, ConvertFn fn, const char* file) {
  std::string op = schema.substr(0, schema.find('('));
  INGOT_CHECK(!op.empty() && op.find("::") != std::string::npos, "malformed schema '", schema, "'");
  INGOT_CHECK(!by_op_.count(op), "two converters for ", op, " (", by_op_[op].file, " and ", file, ")");
  by_op_[op] = Converter{schema, op, fn, file};
  return true;
}

const Converter* Registry::find(const std::string& op) const {
  auto it = by_op_.find(op);
  return it == by_op_.end() ? nullptr : &it->second;
}

std::vector<const Converter*> Registry::list() const {
  std::vector<const Converter*> out;
  for (const auto& [op, c] : by_op_) out.push_back(&c);
  return out;
}

namespace {

// Symbol values to compare two symbolic dims numerically: the range ends and a middle value.
std::vector<std::map<std::string, int64_t>> samples(const ir::Graph& g, const std::vector<std::string>& symbols) {
  std::vector<std::map<std::string, int64_t>> out(3);
  for (const auto& s : symbols) {
    ir::SymRange r = g.symbol_range(s);
    int64_t lo = std::max<int64_t>(r.min, 0);
    int64_t hi = r.max == ir::SymRange::kInf ? lo + 97 : r.max;
    out[0][s] = lo;
    out[1][s] = hi;
    out[2][s] = lo + (hi - lo) / 2 + ((hi - lo) > 2 ? 1 : 0);
  }
  return out;
}

bool dims_agree(const ir::Graph& g, const SymExpr& a, const SymExpr& b) {
  if (a == b) return true;
  std::vector<std::string> syms = a.symbols();
  for (const auto& s : b.symbols()) syms.push_back(s);
  for (const auto& env : samples(g, syms)) {
    auto va = a.evaluate(env), vb = b.evaluate(env);
    if (!va || !vb || *va != *vb) return false;
  }
  return true;
}

}  // namespace

Status convert_node(Context& ctx, const ir::Node& node) {
  const Converter* c = Registry::global().find(node.op());
  if (!c) return unsupported("no converter for ", node.op(), " (node %", node.name(), ")");
  INGOT_RETURN_IF_ERROR(c->convert(ctx, node));
  for (size_t i = 0; i < node.outputs().size(); ++i) {
    const ir::Value* v = node.output(i);
    bool used = v->has_uses() || ctx.graph().is_output(v);
    if (!ctx.is_bound(v)) {
      if (used) return ctx.fail(node, "the converter produced no tensor for output #", i, " (%", v->name(), ")");
      continue;
    }
    const ir::TensorType& got = ctx.type(*ctx.tensor(v));
    const ir::TensorType& want = v->type();
    bool same = got.dtype == want.dtype && got.rank() == want.rank();
    for (size_t d = 0; same && d < got.rank(); ++d) same = dims_agree(ctx.graph(), got.shape[d], want.shape[d]);
    if (!same) {
      return ctx.fail(node, "the converter produced ", got.str(), " for output #", i, " but PyTorch gives ", want.str());
    }
  }
  return Status::ok();
}

Status Registry::supports(const ir::Node& node, const Settings& settings) const {
  const Converter* c = find(node.op());
  if (!c) return unsupported("no converter for ", node.op());
  if (!node.schema().empty() && node.schema() != c->schema) {
    return unsupported("the graph's schema \"", node.schema(), "\" differs from the converter's \"", c->schema, "\"");
  }
  auto check_dtype = [&](const ir::Value* v, const char* what) -> Status {
    if (!ir::is_engine_dtype(v->dtype())) {
      return unsupported(what, " %", v->name(), " has dtype ", ir::dtype_name(v->dtype()), ", which engines do not support");
    }
    return Status::ok();
  };
  for (const ir::Value* v : node.input_values()) INGOT_RETURN_IF_ERROR(check_dtype(v, "input"));
  for (const ir::Value* v : node.outputs()) INGOT_RETURN_IF_ERROR(check_dtype(v, "output"));

  // Trial conversion into a scratch network.
  net::Network scratch;
  for (const auto& [name, range] : node.graph()->symbols()) scratch.add_symbol(name, range);
  Context ctx(*node.graph(), scratch, settings);
  for (const ir::Value* v : node.input_values()) {
    if (!v->is_constant()) ctx.bind(v, scratch.add_input(v->name(), v->type()));
  }
  Status s = convert_node(ctx, node);
  if (!s.is_ok()) return unsupported("the converter rejected this node: ", s.message());
  return Status::ok();
}

Expected<net::Network> convert_nodes(const ir::Graph& graph, const std::vector<const ir::Node*>& nodes,
                                     const std::vector<const ir::Value*>& inputs,
                                     const std::vector<const ir::Value*>& outputs, const Settings& settings,
                                     const ir::Node** failed_node) {
  net::Network net;
  for (const auto& [name, range] : graph.symbols()) net.add_symbol(name, range);
  Context ctx(graph, net, settings);
  for (const ir::Value* v : inputs) ctx.bind(v, net.add_input(v->name(), v->type()));
  for (const ir::Node* n : nodes) {
    Status s = convert_node(ctx, *n);
    if (!s.is_ok()) {
      if (failed_node) *failed_node = n;
      return s;
    }
  }
  std::set<int> marked;
  for (const ir::Value* v : outputs) {
    INGOT_ASSIGN_OR_RETURN(int t, ctx.tensor(v));
    const net::Tensor& tensor = net.tensor(t);
    if (tensor.is_input || tensor.constant || marked.count(t)) {
      // Engine outputs are written by a layer into the caller's buffer, each its own tensor.
      INGOT_ASSIGN_OR_RETURN(t, net.add(net::IdentityParams{}, {t}, v->name() + ".copy", v->name()));
    }
    marked.insert(t);
    net.mark_output(t, v->name());
  }
  return net;
}

}  // namespace ingot::convert
