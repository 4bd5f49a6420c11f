// run_layer: checks the tensors against the layer's shape function, then runs the kernel of
// the layer's kind.
#include <map>
#include <string>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/ops.h"
#include "net/network.h"

namespace ingot::kernels::cpu {

namespace {

using detail::Tensors;
using SymBindings = std::map<std::string, ir::SymExpr>;

// Symbols that stand alone as an output dim take that dim's value.
void bind_from_dims(const ir::Shape& shape, const TensorView* out, SymBindings& bindings) {
  if (!out || out->dims.size() != shape.size()) return;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i].is_symbol()) bindings.emplace(shape[i].symbol_name(), ir::SymExpr(out->dims[i]));
  }
}

Status substitute(ir::SymExpr& e, const SymBindings& bindings, const char* layer) {
  if (e.is_constant()) return Status::ok();
  e = e.substitute(bindings);
  if (e.is_constant()) return Status::ok();
  return unsupported(layer, ": parameter ", e.str(), " is symbolic; substitute the symbols' values into the "
                     "parameters before running the layer");
}

Status substitute(ir::Shape& shape, const SymBindings& bindings, const char* layer) {
  for (auto& e : shape) INGOT_RETURN_IF_ERROR(substitute(e, bindings, layer));
  return Status::ok();
}

// Parameters with symbolic dims (reshape / expand / fill shapes, slice bounds, iota size)
// made concrete: symbols that appear alone in an output dim are read from the output's dims;
// any other symbol is an error (the caller resolves those).
Status resolve_symbols(net::LayerParams& params, const Tensors& outputs) {
  const TensorView* out = outputs.empty() ? nullptr : &outputs[0];
  SymBindings b;
  if (auto* p = std::get_if<net::ReshapeParams>(&params)) {
    bind_from_dims(p->shape, out, b);
    return substitute(p->shape, b, p->kName);
  }
  if (auto* p = std::get_if<net::ExpandParams>(&params)) {
    bind_from_dims(p->shape, out, b);
    return substitute(p->shape, b, p->kName);
  }
  if (auto* p = std::get_if<net::FillParams>(&params)) {
    bind_from_dims(p->shape, out, b);
    return substitute(p->shape, b, p->kName);
  }
  if (auto* p = std::get_if<net::IotaParams>(&params)) {
    bind_from_dims({p->size}, out, b);
    return substitute(p->size, b, p->kName);
  }
  if (auto* p = std::get_if<net::SliceParams>(&params)) {
    INGOT_RETURN_IF_ERROR(substitute(p->starts, b, p->kName));
    return substitute(p->ends, b, p->kName);
  }
  return Status::ok();
}

std::string view_str(const TensorView& t) {
  return str_cat(ir::dtype_name(t.dtype), ingot::shape_str(t.dims));
}

// The fused epilogue of convolution and matmul (their kernels compute op + bias): add the
// residual (input #3), then apply the activation, in place.
Status apply_epilogue(net::UnaryOp act, double alpha, double beta, const std::vector<TensorView>& inputs,
                      const TensorView& out) {
  if (inputs.size() > 3 && inputs[3].present()) {
    INGOT_RETURN_IF_ERROR(detail::run(net::ElementwiseParams{net::BinaryOp::kAdd}, {out, inputs[3]}, {out}));
  }
  if (act == net::UnaryOp::kIdentity) return Status::ok();
  net::UnaryParams u;
  u.op = act;
  u.alpha = alpha;
  u.beta = beta;
  return detail::run(u, {out}, {out});
}

// A tensor permuted into owned memory.
struct Permuted {
  std::vector<uint8_t> bytes;
  TensorView view;
};

Status permute(const TensorView& t, const std::vector<int64_t>& perm, Permuted* out) {
  out->view.dtype = t.dtype;
  out->view.dims.clear();
  for (int64_t a : perm) out->view.dims.push_back(t.dims[static_cast<size_t>(a)]);
  out->bytes.assign(static_cast<size_t>(t.numel()) * ir::dtype_size(t.dtype), 0);
  out->view.data = out->bytes.data();
  net::PermuteParams p;
  p.perm = perm;
  return detail::run(p, {t}, {out->view});
}

// sums[n, c] = the sum over H and W of y[n, :, :, c] as stored (channels-last y, f64 sums): a
// convolution's channel_sums output.
Status channel_sums(const TensorView& y, const TensorView& sums) {
  detail::FloatInput ys(y);
  const int64_t n = y.dims[0], hw = y.dims[1] * y.dims[2], c = y.dims[3];
  auto* out = static_cast<double*>(sums.data);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t k = 0; k < c; ++k) {
      double s = 0;
      for (int64_t i = 0; i < hw; ++i) s += ys[(b * hw + i) * c + k];
      out[b * c + k] = s;
    }
  }
  return Status::ok();
}

// Channels-last convolution: the NCHW kernel on permuted copies (the reference favours
// clarity; the GPU runs NHWC natively).
Status run_channels_last(const net::ConvolutionParams& p, const std::vector<TensorView>& inputs, const TensorView& out) {
  const std::vector<int64_t> to_nchw{0, 3, 1, 2}, to_nhwc{0, 2, 3, 1};
  Permuted x, w, res, y;
  INGOT_RETURN_IF_ERROR(permute(inputs[0], to_nchw, &x));
  INGOT_RETURN_IF_ERROR(permute(inputs[1], to_nchw, &w));
  std::vector<TensorView> in{x.view, w.view, inputs.size() > 2 ? inputs[2] : TensorView{}};
  if (inputs.size() > 3 && inputs[3].present()) {
    INGOT_RETURN_IF_ERROR(permute(inputs[3], to_nchw, &res));
    in.push_back(res.view);
  }
  y.view.dtype = out.dtype;
  y.view.dims = {out.dims[0], out.dims[3], out.dims[1], out.dims[2]};
  y.bytes.assign(static_cast<size_t>(out.numel()) * ir::dtype_size(out.dtype), 0);
  y.view.data = y.bytes.data();
  net::ConvolutionParams q = p;
  q.channels_last = false;
  INGOT_RETURN_IF_ERROR(detail::run(q, in, {y.view}));
  INGOT_RETURN_IF_ERROR(apply_epilogue(q.activation, q.act_alpha, q.act_beta, in, y.view));
  net::PermuteParams back;
  back.perm = to_nhwc;
  return detail::run(back, {y.view}, {out});
}

}  // namespace

Status run_layer(const net::LayerParams& params, const std::vector<TensorView>& inputs,
                 const std::vector<TensorView>& outputs) {
  const char* layer = net::layer_kind_name(net::kind_of(params));
  net::LayerParams resolved = params;
  INGOT_RETURN_IF_ERROR(resolve_symbols(resolved, outputs));

  std::vector<ir::TensorType> types(inputs.size());
  std::vector<const ir::TensorType*> type_ptrs(inputs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorView& t = inputs[i];
    for (int64_t d : t.dims) {
      if (d < 0) return invalid_argument(layer, ": input #", i, " has a negative dimension: ", view_str(t));
    }
    if (!t.present()) continue;
    types[i] = ir::TensorType{t.dtype, ir::shape_of(t.dims)};
    type_ptrs[i] = &types[i];
  }
  auto expected = net::infer_types(resolved, type_ptrs);
  if (!expected.has_value()) return expected.status();
  if (outputs.size() != expected->size()) {
    return invalid_argument(layer, ": expected ", expected->size(), " outputs, got ", outputs.size());
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const TensorView& o = outputs[i];
    const ir::TensorType& want = (*expected)[i];
    bool same = o.dtype == want.dtype && o.dims.size() == want.rank();
    for (size_t d = 0; same && d < o.dims.size(); ++d) {
      auto c = want.shape[d].as_constant();
      same = c && *c == o.dims[d];
    }
    if (!same) {
      return invalid_argument(layer, ": output #", i, " is ", view_str(o), " but the layer gives ", want.str());
    }
    if (!o.data && o.numel() > 0) return invalid_argument(layer, ": output #", i, " has no data");
  }
  if (auto* c = std::get_if<net::ConvolutionParams>(&resolved); c && c->channels_last) {
    INGOT_RETURN_IF_ERROR(run_channels_last(*c, inputs, outputs[0]));
    return c->channel_sums ? channel_sums(outputs[0], outputs[1]) : Status::ok();
  }
  INGOT_RETURN_IF_ERROR(std::visit([&](const auto& p) { return detail::run(p, inputs, outputs); }, resolved));
  if (auto* c = std::get_if<net::ConvolutionParams>(&resolved)) {
    return apply_epilogue(c->activation, c->act_alpha, c->act_beta, inputs, outputs[0]);
  }
  if (auto* m = std::get_if<net::MatMulParams>(&resolved)) {
    return apply_epilogue(m->activation, m->act_alpha, m->act_beta, inputs, outputs[0]);
  }
  return Status::ok();
}

}  // namespace ingot::kernels::cpu
