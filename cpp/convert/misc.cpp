// Casts and constant producers: _to_copy, full, full_like, zeros_like, ones_like,
// scalar_tensor, arange.
#include "convert/registry.h"

namespace ingot::convert {
namespace {

// _to_copy(self, *, dtype=None, layout=None, device=None, pin_memory=None, non_blocking=False,
//          memory_format=None): a dtype cast; device moves stay in PyTorch.
Status convert_to_copy(Context& ctx, const ir::Node& n) {
  // A device argument naming the engine's own kind of device (what export records for
  // x.to(device) on the model's device) moves nothing; other moves stay in PyTorch.
  if (!n.arg(3).is_none()) {
    const std::string& dev = n.arg(3).str_value();
    bool same = ctx.settings().cuda ? dev.rfind("cuda", 0) == 0 : dev == "cpu";
    if (!same) return ctx.fail(n, "a device move (device=", n.arg(3).str(), ") runs in PyTorch");
  }
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  int y;
  if (ctx.type(x).dtype == n.output()->dtype()) {
    INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::IdentityParams{}, {x}));
  } else {
    INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::CastParams{n.output()->dtype()}, {x}));
  }
  ctx.bind(n.output(), y);
  return Status::ok();
}

Status emit_fill(Context& ctx, const ir::Node& n, double value) {
  net::FillParams p;
  p.shape = n.output()->shape();
  p.dtype = n.output()->dtype();
  p.value = value;
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// full_like(self, fill_value, ...), full(size, fill_value, ...), scalar_tensor(s, ...)
Status convert_full(Context& ctx, const ir::Node& n) {
  size_t value_arg = n.op() == "aten::scalar_tensor" ? 0 : 1;
  INGOT_ASSIGN_OR_RETURN(double v, ctx.number_arg(n, value_arg));
  return emit_fill(ctx, n, v);
}
Status convert_zeros_like(Context& ctx, const ir::Node& n) { return emit_fill(ctx, n, 0.0); }
Status convert_ones_like(Context& ctx, const ir::Node& n) { return emit_fill(ctx, n, 1.0); }

// arange(end, ...) / arange.start_step(start, end, step, ...): the length comes from the IR.
Status convert_arange(Context& ctx, const ir::Node& n) {
  net::IotaParams p;
  if (n.op() == "aten::arange.start_step") {
    INGOT_ASSIGN_OR_RETURN(p.start, ctx.number_arg(n, 0));
    INGOT_ASSIGN_OR_RETURN(p.step, ctx.number_arg(n, 2));
  }
  if (n.output()->rank() != 1) return ctx.fail(n, "expected a 1-D result");
  p.size = n.output()->shape()[0];
  p.dtype = n.output()->dtype();
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

}  // namespace

INGOT_CONVERTER("aten::_to_copy(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, bool non_blocking=False, MemoryFormat? memory_format=None) -> Tensor", convert_to_copy);
INGOT_CONVERTER("aten::full_like(Tensor self, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor", convert_full);
INGOT_CONVERTER("aten::full(SymInt[] size, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor", convert_full);
INGOT_CONVERTER("aten::scalar_tensor(Scalar s, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor", convert_full);
INGOT_CONVERTER("aten::zeros_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor", convert_zeros_like);
INGOT_CONVERTER("aten::ones_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor", convert_ones_like);
INGOT_CONVERTER("aten::arange(Scalar end, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor", convert_arange);
INGOT_CONVERTER("aten::arange.start_step(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor", convert_arange);

}  // namespace ingot::convert
