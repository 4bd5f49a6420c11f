#include <cmath>
#include <cstring>
#include <map>

#include "build/passes.h"
#include "build/rewriter.h"
#include "support/half.h"

namespace ingot::build {
namespace {

// A scalar constant of `dtype` (f16 / bf16 / f32) holding `v`.
ir::ConstantData scalar(ir::DType dtype, float v) {
  std::vector<uint8_t> bytes(ir::dtype_size(dtype));
  if (dtype == ir::DType::kFloat16) {
    uint16_t h = Half::from_float(v);
    std::memcpy(bytes.data(), &h, 2);
  } else if (dtype == ir::DType::kBFloat16) {
    uint16_t h = BFloat16::from_float(v);
    std::memcpy(bytes.data(), &h, 2);
  } else {
    std::memcpy(bytes.data(), &v, 4);
  }
  return ir::ConstantData::owned(dtype, {}, std::move(bytes));
}

}  // namespace

Expected<net::Network> bool_masks_as_bias(const net::Network& net, const AttentionFilter& eligible, int* converted) {
  if (converted) *converted = 0;
  NetworkRewriter rw(net);
  // (old mask tensor, dtype) -> the new bias tensor, so that layers sharing a mask share its bias.
  std::map<std::pair<int, ir::DType>, int> bias_of;
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    if (layer.kind() != net::LayerKind::kAttention || layer.inputs.size() < 4 || layer.inputs[3] < 0 ||
        net.tensor(layer.inputs[3]).type.dtype != ir::DType::kBool || !eligible(layer, net)) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    ir::DType dtype = net.tensor(layer.inputs[0]).type.dtype;
    if (dtype != ir::DType::kFloat16 && dtype != ir::DType::kBFloat16 && dtype != ir::DType::kFloat32) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    int mask = layer.inputs[3];
    auto key = std::make_pair(mask, dtype);
    auto it = bias_of.find(key);
    if (it == bias_of.end()) {
      const std::string& name = net.tensor(mask).name;
      int keep = rw.out().add_constant(name + ".keep", scalar(dtype, 0.0f));
      int drop = rw.out().add_constant(name + ".drop", scalar(dtype, -INFINITY));
      INGOT_ASSIGN_OR_RETURN(std::vector<int> bias,
                             rw.add(net::SelectParams{}, {rw.map(mask), keep, drop}, name + ".bias", layer.origins));
      it = bias_of.emplace(key, bias[0]).first;
      if (converted) ++*converted;
    }
    std::vector<int> inputs;
    for (int id : layer.inputs) inputs.push_back(rw.map(id));
    inputs[3] = it->second;
    INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, rw.add(layer.params, inputs, layer.name, layer.origins, layer.tactic));
    for (size_t i = 0; i < outs.size(); ++i) rw.set(layer.outputs[i], outs[i]);
  }
  return rw.finish();
}

}  // namespace ingot::build
