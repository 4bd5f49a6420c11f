#include <optional>

#include "build/passes.h"
#include "build/rewriter.h"

namespace ingot::build {
namespace {

// A 1x1 channels-last convolution of a [N, 1, 1, K] tensor with constant weights [O, 1, 1, K],
// an optional constant bias and no residual: a fully connected layer.
bool is_pointwise_fc(const net::Network& net, const net::Layer& l) {
  const auto* c = std::get_if<net::ConvolutionParams>(&l.params);
  if (!c || !c->channels_last || c->transposed || c->groups != 1) return false;
  for (int64_t v : c->stride) if (v != 1) return false;
  for (int64_t v : c->padding) if (v != 0) return false;
  if (l.inputs.size() < 2 || (l.inputs.size() > 3 && l.inputs[3] >= 0)) return false;
  const net::Tensor& w = net.tensor(l.inputs[1]);
  auto wd = ir::static_dims(w.type.shape);
  if (!w.constant || !wd || wd->size() != 4 || (*wd)[1] != 1 || (*wd)[2] != 1) return false;
  if (l.inputs.size() > 2 && l.inputs[2] >= 0 && !net.tensor(l.inputs[2]).constant) return false;
  auto xd = ir::static_dims(net.tensor(l.inputs[0]).type.shape);
  return !xd || ((*xd)[1] == 1 && (*xd)[2] == 1);
}

// The conv weights [O, 1, 1, K] as [O, K] (the same bytes).
ir::ConstantData as_matrix(const ir::ConstantData& w) {
  return ir::ConstantData::borrowed(w.dtype, {w.dims[0], w.dims[3]}, w.data, w.storage);
}

}  // namespace

Expected<net::Network> fuse_squeeze_excite(const net::Network& net, const SqueezeExciteFits& fits, int* fused) {
  if (fused) *fused = 0;
  const auto& layers = net.layers();
  // The one layer reading `id`, when nothing else (no engine output either) does.
  const std::vector<std::optional<size_t>> sole = sole_readers(net);
  auto only_reader = [&](int id) { return sole[static_cast<size_t>(id)]; };

  // Matches: the mean, the first and the second convolution, and a multiply of x by the gate
  // when that is the gate's only reader.
  std::vector<int> role(layers.size(), 0);  // 1: mean, 2: first conv, 4: multiply (absorbed); 3: second conv
  std::vector<std::pair<size_t, size_t>> parts(layers.size());  // for a second conv: (mean, first conv)
  std::vector<std::optional<size_t>> scale(layers.size());      // for a second conv: the multiply
  for (size_t m = 0; m < layers.size(); ++m) {
    const auto* r = std::get_if<net::ReduceParams>(&layers[m].params);
    if (!r || r->op != net::ReduceOp::kMean || r->axes != std::vector<int64_t>{1, 2}) continue;
    const ir::TensorType& x = net.tensor(layers[m].inputs[0]).type;
    const ir::TensorType& pooled = net.tensor(layers[m].outputs[0]).type;
    if (x.rank() != 4 || pooled.rank() != 4 || !ir::is_floating(x.dtype)) continue;
    auto c1 = only_reader(layers[m].outputs[0]);
    if (!c1 || !is_pointwise_fc(net, layers[*c1]) || layers[*c1].inputs[0] != layers[m].outputs[0]) continue;
    auto c2 = only_reader(layers[*c1].outputs[0]);
    if (!c2 || !is_pointwise_fc(net, layers[*c2]) || layers[*c2].inputs[0] != layers[*c1].outputs[0]) continue;
    auto channels = x.shape[3].as_constant();
    int64_t hidden = net.tensor(layers[*c1].inputs[1]).constant->dims[0];
    if (!channels || net.tensor(layers[*c2].inputs[1]).constant->dims[0] != *channels) continue;
    if (fits && !fits(*channels, hidden)) continue;
    role[m] = 1, role[*c1] = 2, role[*c2] = 3;
    parts[*c2] = {m, *c1};
    auto mul = only_reader(layers[*c2].outputs[0]);
    if (!mul) continue;
    const net::Layer& ml = layers[*mul];
    const auto* e = std::get_if<net::ElementwiseParams>(&ml.params);
    const int x_id = layers[m].inputs[0], g_id = layers[*c2].outputs[0];
    bool x_times_gate = ml.inputs.size() == 2 && ((ml.inputs[0] == x_id && ml.inputs[1] == g_id) ||
                                                  (ml.inputs[0] == g_id && ml.inputs[1] == x_id));
    if (e && e->op == net::BinaryOp::kMul && x_times_gate && net.tensor(ml.outputs[0]).type == x) {
      role[*mul] = 4;
      scale[*c2] = *mul;
    }
  }

  NetworkRewriter rw(net);
  for (size_t l = 0; l < layers.size(); ++l) {
    if (role[l] == 1 || role[l] == 2 || role[l] == 4) continue;  // absorbed into the squeeze_excite layer
    if (role[l] != 3) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const net::Layer &mean = layers[parts[l].first], &fc1 = layers[parts[l].second], &fc2 = layers[l];
    const auto& p1 = std::get<net::ConvolutionParams>(fc1.params);
    const auto& p2 = std::get<net::ConvolutionParams>(fc2.params);
    net::SqueezeExciteParams se;
    se.act1 = p1.activation, se.act1_alpha = p1.act_alpha, se.act1_beta = p1.act_beta;
    se.act2 = p2.activation, se.act2_alpha = p2.act_alpha, se.act2_beta = p2.act_beta;
    se.scale_input = scale[l].has_value();
    auto weight = [&](const net::Layer& fc) {
      const net::Tensor& w = net.tensor(fc.inputs[1]);
      return rw.out().add_constant(w.name + ".fc", as_matrix(*w.constant));
    };
    auto bias = [&](const net::Layer& fc) { return fc.inputs.size() > 2 && fc.inputs[2] >= 0 ? rw.map(fc.inputs[2]) : -1; };
    std::vector<int> inputs{rw.map(mean.inputs[0]), weight(fc1), bias(fc1), weight(fc2), bias(fc2)};
    std::vector<std::string> origins = mean.origins;
    origins.insert(origins.end(), fc1.origins.begin(), fc1.origins.end());
    origins.insert(origins.end(), fc2.origins.begin(), fc2.origins.end());
    if (scale[l]) {
      const auto& mul_origins = layers[*scale[l]].origins;
      origins.insert(origins.end(), mul_origins.begin(), mul_origins.end());
    }
    INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, rw.add(se, inputs, mean.name + ".se", origins));
    rw.set(scale[l] ? layers[*scale[l]].outputs[0] : fc2.outputs[0], outs[0]);
    if (fused) ++*fused;
  }
  return rw.finish();
}

}  // namespace ingot::build
