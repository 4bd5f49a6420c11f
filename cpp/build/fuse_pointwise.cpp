// fuse_pointwise: chains of elementwise, unary, select and cast layers become one pointwise
// layer (net::PointwiseParams), which the CUDA backend runs as one kernel generated for the
// chain at build time (runtime/cuda/pointwise_runner.cpp) instead of a kernel per layer.
//
// A group grows from its last layer (the root) backwards: a layer joins when it is a candidate
// (pointwise_binary_ok / pointwise_unary_ok on f32 / f16 / bf16 / bool values, or a select or
// cast among those types) and every reader of its one output is already in the group (and the
// output is no network output), so the group's values other than the root's are needed nowhere
// else. The group's other inputs become the layer's inputs, each broadcast to the root's shape;
// one-element constants become constant steps. Bitwise and / or / xor / not of bools become
// their logical forms, which give the same bools.
#include <algorithm>
#include <map>
#include <set>

#include "build/passes.h"
#include "build/rewriter.h"
#include "net/pointwise.h"

namespace ingot::build {

namespace {

constexpr size_t kMaxSteps = 64;   // program length (the generated kernel's size)
constexpr size_t kMaxInputs = 12;  // tensor inputs (the kernel's parameters)

// The op a candidate layer computes in a program, bool bitwise ops in their logical form.
net::BinaryOp program_binary(net::BinaryOp op, ir::DType t) {
  if (t != ir::DType::kBool) return op;
  switch (op) {
    case net::BinaryOp::kBitwiseAnd: return net::BinaryOp::kLogicalAnd;
    case net::BinaryOp::kBitwiseOr: return net::BinaryOp::kLogicalOr;
    case net::BinaryOp::kBitwiseXor: return net::BinaryOp::kLogicalXor;
    default: return op;
  }
}
net::UnaryOp program_unary(net::UnaryOp op, ir::DType t) {
  return t == ir::DType::kBool && op == net::UnaryOp::kBitwiseNot ? net::UnaryOp::kLogicalNot : op;
}

bool is_candidate(const net::Network& net, const net::Layer& layer) {
  switch (layer.kind()) {
    case net::LayerKind::kElementwise: case net::LayerKind::kUnary: case net::LayerKind::kSelect: case net::LayerKind::kCast:
      break;
    default:
      return false;
  }
  if (layer.inputs.empty() || layer.outputs.size() != 1 || !net::pointwise_dtype(net.tensor(layer.outputs[0]).type.dtype)) {
    return false;
  }
  for (int id : layer.inputs) {
    if (id < 0 || !net::pointwise_dtype(net.tensor(id).type.dtype)) return false;
  }
  const ir::DType in = net.tensor(layer.inputs[0]).type.dtype;
  if (const auto* e = std::get_if<net::ElementwiseParams>(&layer.params)) {
    return net::pointwise_binary_ok(program_binary(e->op, in), in);
  }
  if (const auto* u = std::get_if<net::UnaryParams>(&layer.params)) {
    return net::pointwise_unary_ok(program_unary(u->op, in), in);
  }
  return true;  // a select or a cast among program dtypes
}

// A one-element constant, which a program holds as a constant step.
bool is_scalar_constant(const net::Tensor& t) { return t.constant && t.constant->numel() == 1; }

}  // namespace

Expected<net::Network> fuse_pointwise(const net::Network& net, int* fused) {
  const auto& layers = net.layers();
  const std::vector<int> readers = reader_counts(net);
  std::set<int> outputs(net.outputs().begin(), net.outputs().end());
  std::vector<bool> candidate(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) candidate[l] = is_candidate(net, layers[l]);

  // Groups, each grown from its root to a fixed point; group_of[layer] = root or -1.
  std::vector<int> group_of(layers.size(), -1);
  std::map<size_t, std::vector<size_t>> groups;  // root -> members in network order
  for (size_t r = layers.size(); r-- > 0;) {
    if (!candidate[r] || group_of[r] >= 0) continue;
    std::vector<size_t> members{r};
    group_of[r] = static_cast<int>(r);
    std::map<int, int> reads;  // tensor -> reads by members
    for (int id : layers[r].inputs) ++reads[id];
    for (bool grew = true; grew;) {
      grew = false;
      for (auto [id, count] : std::map<int, int>(reads)) {
        const int p = net.tensor(id).producer;
        if (p < 0 || group_of[static_cast<size_t>(p)] >= 0 || !candidate[static_cast<size_t>(p)]) continue;
        if (count != readers[static_cast<size_t>(id)] || outputs.count(id)) continue;
        if (members.size() + 1 + reads.size() > kMaxSteps) continue;
        group_of[static_cast<size_t>(p)] = static_cast<int>(r);
        members.push_back(static_cast<size_t>(p));
        for (int in : layers[static_cast<size_t>(p)].inputs) ++reads[in];
        grew = true;
      }
    }
    std::set<int> made;
    for (size_t m : members) made.insert(layers[m].outputs[0]);
    size_t tensor_inputs = 0;
    for (auto [id, count] : reads) tensor_inputs += !made.count(id) && !is_scalar_constant(net.tensor(id));
    if (members.size() < 2 || tensor_inputs > kMaxInputs) {
      for (size_t m : members) group_of[m] = -1;  // each may still root a group of its own
      continue;
    }
    std::sort(members.begin(), members.end());
    groups[r] = std::move(members);
  }
  if (fused) *fused = static_cast<int>(groups.size());
  if (groups.empty()) return net;

  NetworkRewriter rw(net);
  for (size_t l = 0; l < layers.size(); ++l) {
    auto g = groups.find(l);
    if (g == groups.end()) {
      if (group_of[l] >= 0 && groups.count(static_cast<size_t>(group_of[l]))) continue;  // a member, not the root
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    net::PointwiseParams p;
    p.shape = net.tensor(layers[l].outputs[0]).type.shape;
    std::map<int, int> step_of;  // tensor -> step
    std::vector<int> inputs;
    std::vector<std::string> origins;
    auto value = [&](int id) {
      auto it = step_of.find(id);
      if (it != step_of.end()) return it->second;
      const net::Tensor& t = net.tensor(id);
      net::PointwiseOp s;
      s.dtype = t.type.dtype;
      if (is_scalar_constant(t)) {
        s.kind = net::PointwiseStep::kConstant;
        s.alpha = t.constant->get_double(0);
      } else {
        s.kind = net::PointwiseStep::kInput;
        s.op = static_cast<int64_t>(inputs.size());
        inputs.push_back(rw.map(id));
      }
      return step_of[id] = net::append_pointwise_step(p, s);
    };
    for (size_t m : g->second) {
      const net::Layer& layer = layers[m];
      std::vector<int> args;
      for (int id : layer.inputs) args.push_back(value(id));
      const ir::DType in = net.tensor(layer.inputs[0]).type.dtype;
      net::PointwiseOp s;
      s.dtype = net.tensor(layer.outputs[0]).type.dtype;
      s.x = args[0];
      if (const auto* e = std::get_if<net::ElementwiseParams>(&layer.params)) {
        s.kind = net::PointwiseStep::kBinary;
        s.op = static_cast<int64_t>(program_binary(e->op, in));
        s.y = args[1];
      } else if (const auto* u = std::get_if<net::UnaryParams>(&layer.params)) {
        s.kind = net::PointwiseStep::kUnary;
        s.op = static_cast<int64_t>(program_unary(u->op, in));
        s.alpha = u->alpha, s.beta = u->beta;
      } else if (layer.kind() == net::LayerKind::kSelect) {
        s.kind = net::PointwiseStep::kSelect;
        s.y = args[1], s.z = args[2];
      } else {
        s.kind = net::PointwiseStep::kCast;
        s.op = static_cast<int64_t>(s.dtype);
      }
      step_of[layer.outputs[0]] = net::append_pointwise_step(p, s);
      origins.insert(origins.end(), layer.origins.begin(), layer.origins.end());
    }
    INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, rw.add(p, inputs, layers[l].name, origins));
    rw.set(layers[l].outputs[0], outs[0]);
  }
  return rw.finish();
}

}  // namespace ingot::build
