#include <optional>

#include "build/passes.h"
#include "build/rewriter.h"

namespace ingot::build {

namespace {

struct Fusion {
  size_t head;                  // the convolution / matmul
  std::vector<size_t> absorbed;  // following layers folded into it, in order
  int bias = -1;                 // old constant tensor id of an absorbed bias (before reshape)
  int residual = -1;             // old tensor id
  net::UnaryParams activation;   // kIdentity: none
  int output = -1;               // old id of the chain's final output
};

// A constant whose only non-1 dim is the channel (conv: dim 1 of the output) or the last dim
// (matmul), broadcasting to the output: its values, reshaped to 1-D, can be the bias.
bool bias_like(const net::Tensor& c, const ir::TensorType& out, bool conv, int64_t* length) {
  if (!c.constant || c.type.dtype != out.dtype || c.type.rank() > out.rank() || out.rank() < 2) return false;
  size_t channel = conv ? 1 : out.rank() - 1;
  auto n = out.shape[channel].as_constant();
  if (!n) return false;
  size_t offset = out.rank() - c.type.rank();
  if (channel < offset) return false;  // does not reach the channel dim: a scalar broadcast
  for (size_t d = 0; d < c.type.rank(); ++d) {
    auto v = c.type.shape[d].as_constant();
    if (!v) return false;
    if (d + offset == channel) {
      if (*v != *n) return false;
    } else if (*v != 1) {
      return false;
    }
  }
  *length = *n;
  return true;
}

}  // namespace

Expected<net::Network> fuse_epilogues(const net::Network& net, int* absorbed_count) {
  const auto& layers = net.layers();
  const std::vector<std::optional<size_t>> sole = sole_readers(net);
  auto sole_reader = [&](int id) { return sole[static_cast<size_t>(id)]; };

  std::vector<Fusion> fusions;
  std::vector<int> fused_into(layers.size(), -1);  // layer -> fusion index (head and absorbed)
  for (size_t l = 0; l < layers.size(); ++l) {
    const net::Layer& head = layers[l];
    bool conv = head.kind() == net::LayerKind::kConvolution;
    if (!conv && head.kind() != net::LayerKind::kMatMul) continue;
    if (fused_into[l] >= 0) continue;
    Fusion f;
    f.head = l;
    f.output = head.outputs[0];
    bool has_bias = head.inputs.size() > 2 && head.inputs[2] >= 0;
    bool has_residual = head.inputs.size() > 3 && head.inputs[3] >= 0;
    // A head fused before (the CUDA backend runs this pass twice) keeps its activation: nothing
    // it applies can move before it, and an add after it is no residual (that is added first).
    auto take_activation = [&](const auto& p) {
      f.activation.op = p.activation;
      f.activation.alpha = p.act_alpha;
      f.activation.beta = p.act_beta;
    };
    if (const auto* cp = std::get_if<net::ConvolutionParams>(&head.params)) take_activation(*cp);
    if (const auto* mp = std::get_if<net::MatMulParams>(&head.params)) take_activation(*mp);
    const ir::TensorType out_type = net.tensor(f.output).type;
    while (true) {
      auto next = sole_reader(f.output);
      if (!next || fused_into[*next] >= 0) break;
      const net::Layer& c = layers[*next];
      if (const auto* e = std::get_if<net::ElementwiseParams>(&c.params); e && e->op == net::BinaryOp::kAdd &&
                                                                          f.activation.op == net::UnaryOp::kIdentity) {
        int other = c.inputs[0] == f.output ? c.inputs[1] : c.inputs[0];
        if (other == f.output || !(net.tensor(c.outputs[0]).type == out_type)) break;
        int64_t len = 0;
        if (!has_bias && f.bias < 0 && bias_like(net.tensor(other), out_type, conv, &len)) {
          f.bias = other;
        } else if (!has_residual && f.residual < 0 && net.tensor(other).type == out_type) {
          f.residual = other;
        } else {
          break;
        }
      } else if (const auto* u = std::get_if<net::UnaryParams>(&c.params);
                 u && f.activation.op == net::UnaryOp::kIdentity && !net::unary_result_is_bool(u->op) &&
                 u->op != net::UnaryOp::kBitwiseNot && u->op != net::UnaryOp::kIdentity &&
                 net.tensor(c.outputs[0]).type == out_type) {
        f.activation = *u;
      } else {
        break;
      }
      f.absorbed.push_back(*next);
      f.output = c.outputs[0];
    }
    if (f.absorbed.empty()) continue;
    int index = static_cast<int>(fusions.size());
    fused_into[l] = index;
    for (size_t a : f.absorbed) fused_into[a] = index;
    fusions.push_back(std::move(f));
  }

  NetworkRewriter rw(net);
  int count = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (fused_into[l] < 0) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const Fusion& f = fusions[static_cast<size_t>(fused_into[l])];
    if (l != f.absorbed.back()) continue;  // emitted where the chain ends: every input exists there
    const net::Layer& head = layers[f.head];
    net::LayerParams params = head.params;
    auto set_act = [&](auto& p) {
      p.activation = f.activation.op;
      p.act_alpha = f.activation.alpha;
      p.act_beta = f.activation.beta;
    };
    if (auto* c = std::get_if<net::ConvolutionParams>(&params)) set_act(*c);
    if (auto* m = std::get_if<net::MatMulParams>(&params)) set_act(*m);
    std::vector<int> inputs{rw.map(head.inputs[0]), rw.map(head.inputs[1]), -1, -1};
    if (head.inputs.size() > 2) inputs[2] = rw.map(head.inputs[2]);
    if (head.inputs.size() > 3) inputs[3] = rw.map(head.inputs[3]);
    if (f.bias >= 0) {
      const net::Tensor& b = net.tensor(f.bias);
      ir::ConstantData data = *b.constant;
      data.dims = {data.numel()};
      inputs[2] = rw.out().add_constant(b.name + ".bias", std::move(data));
    }
    if (f.residual >= 0) inputs[3] = rw.map(f.residual);
    std::vector<std::string> origins = head.origins;
    for (size_t a : f.absorbed) origins.insert(origins.end(), layers[a].origins.begin(), layers[a].origins.end());
    INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, rw.add(std::move(params), inputs, head.name, origins, head.tactic));
    rw.set(f.output, outs[0]);
    count += static_cast<int>(f.absorbed.size());
  }
  if (absorbed_count) *absorbed_count = count;
  return rw.finish();
}

}  // namespace ingot::build
