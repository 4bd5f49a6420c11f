// squeeze_excite_sums: the depthwise convolution that writes a squeeze_excite layer's x adds
// x's sums over H and W as it stores x (net::ConvolutionParams::channel_sums), and the layer
// pools those instead of reading x again. In EfficientNet-B0 at batch 32 the column sums were
// 13 launches and ~116 us that re-read activations just written (bench/NOTES.md note 61).
#include "build/passes.h"
#include "build/rewriter.h"

namespace ingot::build {

namespace {

// Whether `layer` is a channels-last depthwise convolution (one filter a channel) that can
// also write its output's channel sums.
bool depthwise_without_sums(const net::Network& net, const net::Layer& layer) {
  const auto* p = std::get_if<net::ConvolutionParams>(&layer.params);
  if (!p || !p->channels_last || p->channel_sums || p->transposed || p->groups <= 1 || layer.outputs.size() != 1) {
    return false;
  }
  const ir::TensorType& y = net.tensor(layer.outputs[0]).type;
  if (y.rank() != 4) return false;
  const auto channels = y.shape[3].as_constant();
  return channels && *channels == p->groups;
}

}  // namespace

Expected<net::Network> squeeze_excite_sums(const net::Network& net, bool scaled, int* rewritten) {
  const auto& layers = net.layers();
  std::vector<std::optional<size_t>> producer(net.tensors().size());
  for (size_t l = 0; l < layers.size(); ++l) {
    for (int t : layers[l].outputs) {
      if (t >= 0) producer[static_cast<size_t>(t)] = l;
    }
  }
  // conv_of[se]: the convolution that writes a squeeze_excite layer's x and will add its sums.
  std::vector<std::optional<size_t>> conv_of(layers.size());
  std::vector<bool> sums_at(layers.size(), false);
  for (size_t l = 0; l < layers.size(); ++l) {
    const net::Layer& layer = layers[l];
    if (layer.kind() != net::LayerKind::kSqueezeExcite || layer.inputs.size() != 5 || layer.inputs[0] < 0) continue;
    if (!scaled && std::get<net::SqueezeExciteParams>(layer.params).scale_input) continue;
    const std::optional<size_t> conv = producer[static_cast<size_t>(layer.inputs[0])];
    if (!conv || sums_at[*conv] || !depthwise_without_sums(net, layers[*conv])) continue;
    conv_of[l] = conv;
    sums_at[*conv] = true;
  }

  NetworkRewriter rw(net);
  std::vector<int> sums_of(layers.size(), -1);  // by convolution: the new sums tensor
  int count = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const net::Layer& layer = layers[l];
    if (sums_at[l]) {
      auto p = std::get<net::ConvolutionParams>(layer.params);
      p.channel_sums = true;
      std::vector<int> in;
      for (int id : layer.inputs) in.push_back(rw.map(id));
      INGOT_ASSIGN_OR_RETURN(std::vector<int> out, rw.add(p, in, layer.name, layer.origins, layer.tactic));
      rw.set(layer.outputs[0], out[0]);
      sums_of[l] = out[1];
      continue;
    }
    if (!conv_of[l]) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    std::vector<int> in;
    for (int id : layer.inputs) in.push_back(rw.map(id));
    in.push_back(sums_of[*conv_of[l]]);
    INGOT_ASSIGN_OR_RETURN(std::vector<int> out, rw.add(layer.params, in, layer.name, layer.origins, layer.tactic));
    rw.set(layer.outputs[0], out[0]);
    ++count;
  }
  if (rewritten) *rewritten = count;
  return rw.finish();
}

}  // namespace ingot::build
