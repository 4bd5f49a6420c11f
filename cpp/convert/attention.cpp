// scaled_dot_product_attention -> one attention layer.
#include <cmath>

#include "convert/registry.h"

namespace ingot::convert {
namespace {

// scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0., is_causal=False,
//                              *, scale=None, enable_gqa=False)
Status convert_sdpa(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int q, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int k, ctx.arg_tensor(n, 1));
  INGOT_ASSIGN_OR_RETURN(int v, ctx.arg_tensor(n, 2));
  INGOT_ASSIGN_OR_RETURN(int mask, ctx.optional_arg_tensor(n, 3));
  INGOT_ASSIGN_OR_RETURN(double dropout, ctx.number_arg(n, 4));
  if (dropout != 0.0) return ctx.fail(n, "dropout_p=", dropout, " is not supported in inference engines");
  INGOT_ASSIGN_OR_RETURN(bool causal, ctx.bool_arg(n, 5));
  if (n.arg(7).kind() == ir::Arg::Kind::kBool && n.arg(7).boolean()) {
    if (!(ctx.type(q).shape == ctx.type(k).shape)) return ctx.fail(n, "enable_gqa with different head counts is not supported");
  }
  const ir::TensorType qt = ctx.type(q);
  if (qt.rank() < 2) return ctx.fail(n, "query must have rank >= 2");
  auto e = qt.shape.back().as_constant();
  if (!e || *e <= 0) return ctx.fail(n, "head size must be static, got ", qt.str());
  net::AttentionParams p;
  p.scale = 1.0 / std::sqrt(static_cast<double>(*e));
  if (!n.arg(6).is_none()) { INGOT_ASSIGN_OR_RETURN(p.scale, ctx.number_arg(n, 6)); }
  p.causal = causal;
  if (causal && mask >= 0) return ctx.fail(n, "is_causal together with attn_mask is not supported (PyTorch rejects it too)");
  if (mask >= 0 && ctx.type(mask).dtype != ir::DType::kBool) {
    INGOT_ASSIGN_OR_RETURN(mask, ctx.cast(n, mask, qt.dtype));
  }
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {q, k, v, mask}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

}  // namespace

INGOT_CONVERTER("aten::scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None, float dropout_p=0., bool is_causal=False, *, float? scale=None, bool enable_gqa=False) -> Tensor", convert_sdpa);

}  // namespace ingot::convert
