// Matrix-product converters: mm, bmm, matmul, addmm, linear.
#include "convert/registry.h"

namespace ingot::convert {
namespace {

// a @ b with torch.matmul semantics for any ranks >= 1; `bias` (-1: none) is added.
Expected<int> emit_matmul(Context& ctx, const ir::Node& n, int a, int b, bool transpose_b, int bias) {
  const Shape sa = ctx.type(a).shape, sb = ctx.type(b).shape;
  if (sa.empty() || sb.empty()) return ctx.fail(n, "operands must have rank >= 1");
  bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
  if (a_vec) { INGOT_ASSIGN_OR_RETURN(a, ctx.reshape(n, a, {SymExpr(1), sa[0]}, "lhs_2d")); }
  if (b_vec) {
    Shape s = transpose_b ? Shape{SymExpr(1), sb[0]} : Shape{sb[0], SymExpr(1)};
    INGOT_ASSIGN_OR_RETURN(b, ctx.reshape(n, b, s, "rhs_2d"));
  }
  net::MatMulParams p;
  p.transpose_b = transpose_b;
  bool fused_bias = bias >= 0 && !a_vec && !b_vec;
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {a, b, fused_bias ? bias : -1}));
  if (a_vec || b_vec) {
    Shape s = ctx.type(y).shape;
    if (b_vec) s.erase(s.end() - 1);
    if (a_vec) s.erase(s.end() - (b_vec ? 1 : 2));
    INGOT_ASSIGN_OR_RETURN(y, ctx.reshape(n, y, s, "squeeze"));
  }
  if (bias >= 0 && !fused_bias) {
    INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::ElementwiseParams{net::BinaryOp::kAdd}, {y, bias}, "bias"));
  }
  return y;
}

Status need_float(Context& ctx, const ir::Node& n) {
  if (!ir::is_floating(n.output()->dtype())) return ctx.fail(n, "integer matrix products are not supported");
  return Status::ok();
}

Status convert_mm(Context& ctx, const ir::Node& n) {
  INGOT_RETURN_IF_ERROR(need_float(ctx, n));
  INGOT_ASSIGN_OR_RETURN(int a, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int b, ctx.arg_tensor(n, 1));
  DType dt = n.output()->dtype();
  INGOT_ASSIGN_OR_RETURN(a, ctx.cast(n, a, dt));
  INGOT_ASSIGN_OR_RETURN(b, ctx.cast(n, b, dt));
  INGOT_ASSIGN_OR_RETURN(int y, emit_matmul(ctx, n, a, b, false, -1));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// linear(input, weight, bias=None) = input @ weight^T + bias
Status convert_linear(Context& ctx, const ir::Node& n) {
  INGOT_RETURN_IF_ERROR(need_float(ctx, n));
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int w, ctx.arg_tensor(n, 1));
  INGOT_ASSIGN_OR_RETURN(int b, ctx.optional_arg_tensor(n, 2));
  DType dt = n.output()->dtype();
  INGOT_ASSIGN_OR_RETURN(x, ctx.cast(n, x, dt));
  INGOT_ASSIGN_OR_RETURN(w, ctx.cast(n, w, dt));
  if (b >= 0) { INGOT_ASSIGN_OR_RETURN(b, ctx.cast(n, b, dt)); }
  if (ctx.type(w).rank() != 2) return ctx.fail(n, "weight must be 2-D, got ", ctx.type(w).str());
  INGOT_ASSIGN_OR_RETURN(int y, emit_matmul(ctx, n, x, w, true, b));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// addmm(self, mat1, mat2, beta=1, alpha=1) = beta*self + alpha*(mat1 @ mat2)
Status convert_addmm(Context& ctx, const ir::Node& n) {
  INGOT_RETURN_IF_ERROR(need_float(ctx, n));
  INGOT_ASSIGN_OR_RETURN(int bias, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int a, ctx.arg_tensor(n, 1));
  INGOT_ASSIGN_OR_RETURN(int b, ctx.arg_tensor(n, 2));
  INGOT_ASSIGN_OR_RETURN(double beta, ctx.number_arg(n, 3));
  INGOT_ASSIGN_OR_RETURN(double alpha, ctx.number_arg(n, 4));
  DType dt = n.output()->dtype();
  INGOT_ASSIGN_OR_RETURN(a, ctx.cast(n, a, dt));
  INGOT_ASSIGN_OR_RETURN(b, ctx.cast(n, b, dt));
  INGOT_ASSIGN_OR_RETURN(bias, ctx.cast(n, bias, dt));
  if (beta == 0) bias = -1;  // torch ignores self (even NaN) when beta is 0
  if (bias >= 0 && beta != 1) {
    INGOT_ASSIGN_OR_RETURN(bias, ctx.add(n, net::ElementwiseParams{net::BinaryOp::kMul}, {bias, ctx.scalar(dt, beta)}, "beta"));
  }
  int y;
  if (alpha == 1) {
    INGOT_ASSIGN_OR_RETURN(y, emit_matmul(ctx, n, a, b, false, bias));
  } else {
    INGOT_ASSIGN_OR_RETURN(y, emit_matmul(ctx, n, a, b, false, -1));
    INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::ElementwiseParams{net::BinaryOp::kMul}, {y, ctx.scalar(dt, alpha)}, "alpha"));
    if (bias >= 0) {
      INGOT_ASSIGN_OR_RETURN(y, ctx.add(n, net::ElementwiseParams{net::BinaryOp::kAdd}, {y, bias}, "bias"));
    }
  }
  ctx.bind(n.output(), y);
  return Status::ok();
}

}  // namespace

INGOT_CONVERTER("aten::mm(Tensor self, Tensor mat2) -> Tensor", convert_mm);
INGOT_CONVERTER("aten::bmm(Tensor self, Tensor mat2) -> Tensor", convert_mm);
INGOT_CONVERTER("aten::matmul(Tensor self, Tensor other) -> Tensor", convert_mm);
INGOT_CONVERTER("aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor", convert_linear);
INGOT_CONVERTER("aten::addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) -> Tensor", convert_addmm);

}  // namespace ingot::convert
