#include <cstring>
#include <set>

#include "build/passes.h"
#include "build/rewriter.h"
#include "support/half.h"

namespace ingot::build {

namespace {

ir::ConstantData convert_constant(const ir::ConstantData& c, ir::DType to) {
  std::vector<uint8_t> bytes(static_cast<size_t>(c.numel()) * 2);
  auto* out = reinterpret_cast<uint16_t*>(bytes.data());
  const float* in = c.as<float>();
  for (int64_t i = 0; i < c.numel(); ++i) {
    out[i] = to == ir::DType::kFloat16 ? Half::from_float(in[i]) : BFloat16::from_float(in[i]);
  }
  return ir::ConstantData::owned(to, c.dims, std::move(bytes));
}

}  // namespace

Expected<net::Network> lower_precision(const net::Network& net, ir::DType dtype) {
  if (dtype != ir::DType::kFloat16 && dtype != ir::DType::kBFloat16) {
    return invalid_argument("lower_precision: ", ir::dtype_name(dtype), " is not f16 or bf16");
  }
  const ir::DType f32 = ir::DType::kFloat32;
  NetworkRewriter rw(net, [&](const net::Tensor& t) {
    return t.type.dtype == f32 ? convert_constant(*t.constant, dtype) : *t.constant;
  });
  // float32 engine inputs are cast once on entry.
  for (int id : net.inputs()) {
    const net::Tensor& t = net.tensor(id);
    if (t.type.dtype != f32) continue;
    INGOT_ASSIGN_OR_RETURN(std::vector<int> cast, rw.add(net::CastParams{dtype}, {rw.map(id)}, t.name + ".lowp", {}));
    rw.set(id, cast[0]);
  }
  std::set<int> engine_outputs(net.outputs().begin(), net.outputs().end());
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    net::LayerParams p = layer.params;
    if (auto* c = std::get_if<net::CastParams>(&p)) {
      // An engine output cast to float32 stays that cast (it is the exit cast).
      bool is_output = engine_outputs.count(layer.outputs[0]) > 0;
      if (c->to == f32 && !is_output) c->to = dtype;
      // A cast to the type its input now has (a float32 cast of a lowered tensor, or a half
      // precision model's own casts) is no work: its readers read the input.
      int in = rw.map(layer.inputs[0]);
      if (rw.out().tensor(in).type.dtype == c->to && !is_output) {
        rw.set(layer.outputs[0], in);
        continue;
      }
    }
    if (auto* f = std::get_if<net::FillParams>(&p); f && f->dtype == f32) f->dtype = dtype;
    if (auto* i = std::get_if<net::IotaParams>(&p); i && i->dtype == f32) i->dtype = dtype;
    INGOT_RETURN_IF_ERROR(rw.copy(l, std::move(p)).with_context("lowering precision: "));
  }
  // float32 engine outputs are cast back on exit.
  net::Network& out = rw.out();
  for (size_t i = 0; i < net.outputs().size(); ++i) {
    int old_id = net.outputs()[i];
    int id = rw.map(old_id);
    if (net.tensor(old_id).type.dtype == f32 && out.tensor(id).type.dtype != f32) {
      INGOT_ASSIGN_OR_RETURN(id, out.add(net::CastParams{f32}, {id}, net.output_names()[i] + ".f32"));
    }
    out.mark_output(id, net.output_names()[i]);
  }
  out.copy_origin_info(net);  // op and nn.Module path of every origin node, for reports
  return std::move(out);
}

}  // namespace ingot::build
