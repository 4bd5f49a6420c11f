#include <cmath>
#include <type_traits>

#include "lower/passes.h"
#include "lower/rewrite_util.h"
#include "support/check.h"
#include "support/half.h"

namespace ingot::lower {

namespace {

using detail::tensor_arg;
using ir::Arg;
using ir::Node;
using ir::Value;

bool is_foldable_float(ir::DType t) {
  return t == ir::DType::kFloat32 || t == ir::DType::kFloat16 || t == ir::DType::kBFloat16 ||
         t == ir::DType::kFloat64;
}

// A 1-D constant of `channels` readable elements, or None when `allow_none`.
bool is_channel_vector(const Arg& a, int64_t channels, bool allow_none) {
  if (a.is_none()) return allow_none;
  if (!a.is_tensor() || !a.tensor()->is_constant()) return false;
  const ir::ConstantData& c = a.tensor()->constant();
  return c.dims.size() == 1 && c.dims[0] == channels && is_foldable_float(c.dtype);
}

std::vector<double> read_all(const ir::ConstantData& c) {
  std::vector<double> out(static_cast<size_t>(c.numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = c.get_double(static_cast<int64_t>(i));
  return out;
}

// w * scale[output channel], in w's dtype. Each product is formed in double and rounded once,
// as reading every element as a double would, but without a vector of doubles the weight's
// size and a dtype switch per element (0.63 s of ResNet-50 fp16's lowering).
template <typename T>
std::vector<uint8_t> scaled_rows(const ir::ConstantData& w, const std::vector<double>& scale, int64_t per_channel) {
  const T* src = w.as<T>();
  std::vector<uint8_t> bytes(static_cast<size_t>(w.numel()) * sizeof(T));
  T* dst = reinterpret_cast<T*>(bytes.data());
  for (size_t c = 0; c < scale.size(); ++c) {
    const double s = scale[c];
    const int64_t base = static_cast<int64_t>(c) * per_channel;
    for (int64_t i = base; i < base + per_channel; ++i) {
      const double v = static_cast<double>(static_cast<float>(src[i])) * s;
      if constexpr (std::is_same_v<T, double>) {
        dst[i] = v;
      } else if constexpr (std::is_same_v<T, float>) {
        dst[i] = static_cast<float>(v);
      } else {
        dst[i] = T(static_cast<float>(v));
      }
    }
  }
  return bytes;
}

ir::ConstantData scaled_weight(const ir::ConstantData& w, const std::vector<double>& scale, int64_t per_channel) {
  std::vector<uint8_t> bytes;
  switch (w.dtype) {
    case ir::DType::kFloat32: bytes = scaled_rows<float>(w, scale, per_channel); break;
    case ir::DType::kFloat16: bytes = scaled_rows<Half>(w, scale, per_channel); break;
    case ir::DType::kBFloat16: bytes = scaled_rows<BFloat16>(w, scale, per_channel); break;
    case ir::DType::kFloat64: bytes = scaled_rows<double>(w, scale, per_channel); break;
    default: INGOT_CHECK(false, "fold_batch_norm: ", ir::dtype_name(w.dtype), " is not a floating dtype");
  }
  return ir::ConstantData::owned(w.dtype, w.dims, std::move(bytes));
}

// The node a batch norm over `x` folds into: a non-transposed convolution or a 2-D linear with
// a constant weight (and a constant or no bias) whose output only the batch norm reads.
Node* foldable_producer(const ir::Graph& g, const Value* x, const Node* bn) {
  Node* p = detail::producer_of(x, {"aten::convolution", "aten::linear"});
  if (!p || !detail::has_single_use(g, x, bn)) return nullptr;
  Value* w = detail::constant_arg(p, 1);
  if (!w || w->rank() < 2 || !is_foldable_float(w->dtype()) || x->rank() < 2) return nullptr;
  int64_t out_channels = w->constant().dims[0];
  if (!is_channel_vector(detail::arg_or_none(p, 2), out_channels, /*allow_none=*/true)) return nullptr;
  if (x->shape()[1] != out_channels) return nullptr;
  if (p->op() == "aten::convolution") {
    if (p->num_args() != 9 || !detail::is_false(p->arg(6))) return nullptr;  // transposed
    return p;
  }
  // Batch norm normalizes dim 1; only for a 2-D output is that the linear's feature dim.
  if (p->num_args() != 3 || x->rank() != 2 || w->rank() != 2) return nullptr;
  return p;
}

}  // namespace

Expected<int> fold_batch_norm(ir::Graph& g, const LowerOptions& /*options*/) {
  int folded = 0;
  std::vector<Node*> nodes = g.nodes();
  for (Node* bn : nodes) {
    // (input, weight?, bias?, running_mean, running_var, momentum, eps) -> (out, mean, rstd)
    if (bn->op() != "aten::_native_batch_norm_legit_no_training" || bn->num_args() != 7 ||
        bn->outputs().size() != 3) {
      continue;
    }
    if (!detail::is_unused(g, bn->output(1)) || !detail::is_unused(g, bn->output(2))) continue;
    Value* x = tensor_arg(bn, 0);
    Node* producer = x ? foldable_producer(g, x, bn) : nullptr;
    auto eps = detail::scalar_value(bn->arg(6));
    if (!producer || !eps || !(bn->output(0)->type() == x->type())) continue;
    const ir::ConstantData& w = producer->arg(1).tensor()->constant();
    int64_t channels = w.dims[0];
    if (!is_channel_vector(bn->arg(1), channels, true) || !is_channel_vector(bn->arg(2), channels, true) ||
        !is_channel_vector(bn->arg(3), channels, false) || !is_channel_vector(bn->arg(4), channels, false)) {
      continue;
    }
    std::vector<double> mean = read_all(bn->arg(3).tensor()->constant());
    std::vector<double> var = read_all(bn->arg(4).tensor()->constant());
    std::vector<double> gamma(channels, 1.0), beta(channels, 0.0), bias(channels, 0.0);
    if (!bn->arg(1).is_none()) gamma = read_all(bn->arg(1).tensor()->constant());
    if (!bn->arg(2).is_none()) beta = read_all(bn->arg(2).tensor()->constant());
    if (!producer->arg(2).is_none()) bias = read_all(producer->arg(2).tensor()->constant());

    std::vector<double> scale(channels);
    bool finite = true;
    for (int64_t c = 0; c < channels; ++c) {
      double denom = var[c] + *eps;
      finite &= denom > 0 && std::isfinite(denom);
      scale[c] = gamma[c] / std::sqrt(denom);
    }
    if (!finite) continue;

    int64_t per_channel = w.numel() / channels;
    std::vector<double> new_b(channels);
    for (int64_t c = 0; c < channels; ++c) new_b[c] = (bias[c] - mean[c]) * scale[c] + beta[c];

    Value* w_value = producer->arg(1).tensor();
    Value* folded_w = g.add_constant(w_value->name() + "_bn", scaled_weight(w, scale, per_channel));
    Value* folded_b = g.add_constant(w_value->name() + "_bn_bias", detail::floating_constant(w.dtype, {channels}, new_b));

    std::vector<Arg> args = producer->args();
    args[1] = Arg::tensor(folded_w);
    args[2] = Arg::tensor(folded_b);
    std::string_view schema = producer->op() == "aten::convolution" ? detail::kConvolutionSchema : detail::kLinearSchema;
    // The new node takes the producer's place (and source); the batch norm reads its output.
    Node* replacement = detail::replace_node(g, producer, producer->op(), std::move(args), {x->type()}, schema);
    g.replace_all_uses(bn->output(0), replacement->output(0));
    g.erase_node(bn);
    ++folded;
  }
  return folded;
}

}  // namespace ingot::lower
