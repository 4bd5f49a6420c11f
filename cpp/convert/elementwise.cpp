// Elementwise converters: binary arithmetic, comparisons and logical ops, torch.where, and the
// unary functions. Binary and unary ops are tables (every op looks the same); the ones with
// extra arguments have their own functions below.
#include <cmath>
#include <limits>

#include "convert/registry.h"

namespace ingot::convert {
namespace {

using ir::Arg;
using net::BinaryOp;
using net::UnaryOp;

// ---------------------------------------------------------------- binary

// The Tensor and Scalar overloads read alike: torch.export passes numbers in Tensor slots too.
struct BinaryEntry {
  const char* schema;
  BinaryOp op;
  bool has_alpha;  // self op alpha*other
  bool reversed;   // rsub: other - alpha*self
};

const BinaryEntry kBinary[] = {
    {"aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", BinaryOp::kAdd, true, false},
    {"aten::add.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor", BinaryOp::kAdd, true, false},
    {"aten::sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", BinaryOp::kSub, true, false},
    {"aten::sub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor", BinaryOp::kSub, true, false},
    {"aten::rsub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", BinaryOp::kSub, true, true},
    {"aten::rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor", BinaryOp::kSub, true, true},
    {"aten::mul.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kMul, false, false},
    {"aten::mul.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kMul, false, false},
    {"aten::div.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kDiv, false, false},
    {"aten::div.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kDiv, false, false},
    {"aten::pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor", BinaryOp::kPow, false, false},
    {"aten::pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor", BinaryOp::kPow, false, false},
    {"aten::maximum(Tensor self, Tensor other) -> Tensor", BinaryOp::kMax, false, false},
    {"aten::minimum(Tensor self, Tensor other) -> Tensor", BinaryOp::kMin, false, false},
    {"aten::floor_divide(Tensor self, Tensor other) -> Tensor", BinaryOp::kFloorDiv, false, false},
    {"aten::floor_divide.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kFloorDiv, false, false},
    {"aten::remainder.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kRemainder, false, false},
    {"aten::remainder.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kRemainder, false, false},
    {"aten::atan2(Tensor self, Tensor other) -> Tensor", BinaryOp::kAtan2, false, false},
    {"aten::eq.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kEq, false, false},
    {"aten::eq.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kEq, false, false},
    {"aten::ne.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kNe, false, false},
    {"aten::ne.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kNe, false, false},
    {"aten::lt.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kLt, false, false},
    {"aten::lt.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kLt, false, false},
    {"aten::le.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kLe, false, false},
    {"aten::le.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kLe, false, false},
    {"aten::gt.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kGt, false, false},
    {"aten::gt.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kGt, false, false},
    {"aten::ge.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kGe, false, false},
    {"aten::ge.Scalar(Tensor self, Scalar other) -> Tensor", BinaryOp::kGe, false, false},
    {"aten::logical_and(Tensor self, Tensor other) -> Tensor", BinaryOp::kLogicalAnd, false, false},
    {"aten::logical_or(Tensor self, Tensor other) -> Tensor", BinaryOp::kLogicalOr, false, false},
    {"aten::logical_xor(Tensor self, Tensor other) -> Tensor", BinaryOp::kLogicalXor, false, false},
    {"aten::bitwise_and.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kBitwiseAnd, false, false},
    {"aten::bitwise_or.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kBitwiseOr, false, false},
    {"aten::bitwise_xor.Tensor(Tensor self, Tensor other) -> Tensor", BinaryOp::kBitwiseXor, false, false},
};

const BinaryEntry* find_binary(const std::string& op) {
  for (const auto& e : kBinary) {
    if (op == std::string(e.schema).substr(0, std::string(e.schema).find('('))) return &e;
  }
  return nullptr;
}

bool is_logical(BinaryOp op) {
  return op == BinaryOp::kLogicalAnd || op == BinaryOp::kLogicalOr || op == BinaryOp::kLogicalXor;
}

// An operand of a binary op: a tensor, or a Python number (torch.export passes numbers in
// Tensor slots too: 1.0 - x is sub.Tensor(1.0, x)).
struct BinaryOperand {
  int tensor = -1;
  ir::TensorType type;  // a copy: adding layers may move the network's tensors
  Operand promo() const { return tensor >= 0 ? Operand{&type, Arg::Kind::kNone} : Operand{nullptr, scalar_kind}; }
  Arg::Kind scalar_kind = Arg::Kind::kNone;
  double number = 0;
};

Expected<BinaryOperand> read_operand(Context& ctx, const ir::Node& n, size_t i) {
  BinaryOperand o;
  if (n.arg(i).is_tensor()) {
    INGOT_ASSIGN_OR_RETURN(o.tensor, ctx.arg_tensor(n, i));
    o.type = ctx.type(o.tensor);
    return o;
  }
  if (!n.arg(i).is_scalar()) return ctx.fail(n, "operand #", i, " must be a tensor or a number, got ", n.arg(i).str());
  INGOT_ASSIGN_OR_RETURN(o.number, ctx.number_arg(n, i));
  o.scalar_kind = n.arg(i).kind();
  return o;
}

Expected<int> materialize(Context& ctx, const ir::Node& n, const BinaryOperand& o, DType dtype) {
  if (o.tensor >= 0) return ctx.cast(n, o.tensor, dtype);
  if (!ir::is_floating(dtype) && dtype != DType::kBool && o.number != std::floor(o.number)) {
    return ctx.fail(n, "non-integer scalar ", o.number, " with integer computation");
  }
  return ctx.scalar(dtype, o.number);
}

Status convert_binary(Context& ctx, const ir::Node& n) {
  const BinaryEntry* e = find_binary(n.op());
  if (!e) return ctx.fail(n, "not a binary op");
  INGOT_ASSIGN_OR_RETURN(BinaryOperand a, read_operand(ctx, n, 0));
  INGOT_ASSIGN_OR_RETURN(BinaryOperand b, read_operand(ctx, n, 1));
  DType out = n.output()->dtype();
  // The dtype the op computes in: the output's for arithmetic, torch.result_type for
  // comparisons, bool for logical ops.
  DType compute = net::is_comparison(e->op) ? result_type(a.promo(), b.promo()) : out;
  if (is_logical(e->op)) compute = DType::kBool;
  if (e->op == BinaryOp::kDiv && !ir::is_floating(compute)) return ctx.fail(n, "true division needs a floating result");
  if (e->op == BinaryOp::kAtan2 && !ir::is_floating(compute)) return ctx.fail(n, "atan2 needs a floating result");
  INGOT_ASSIGN_OR_RETURN(int self, materialize(ctx, n, a, compute));
  INGOT_ASSIGN_OR_RETURN(int other, materialize(ctx, n, b, compute));
  if (e->has_alpha) {
    INGOT_ASSIGN_OR_RETURN(double alpha, ctx.number_arg(n, 2));
    if (alpha != 1.0) {
      int& scaled_operand = e->reversed ? self : other;
      INGOT_ASSIGN_OR_RETURN(scaled_operand, ctx.add(n, net::ElementwiseParams{BinaryOp::kMul},
                                                     {scaled_operand, ctx.scalar(compute, alpha)}, "alpha"));
    }
  }
  int lhs = e->reversed ? other : self, rhs = e->reversed ? self : other;
  INGOT_ASSIGN_OR_RETURN(int result, ctx.add(n, net::ElementwiseParams{e->op}, {lhs, rhs}));
  INGOT_ASSIGN_OR_RETURN(result, ctx.cast(n, result, out));
  ctx.bind(n.output(), result);
  return Status::ok();
}

// div with rounding_mode: None -> true division, "trunc", "floor".
Status convert_div_mode(Context& ctx, const ir::Node& n) {
  DType out = n.output()->dtype();
  INGOT_ASSIGN_OR_RETURN(int self, ctx.tensor_or_scalar(n, 0, out));
  INGOT_ASSIGN_OR_RETURN(int other, ctx.tensor_or_scalar(n, 1, out));
  BinaryOp op = BinaryOp::kDiv;
  if (!n.arg(2).is_none()) {
    const std::string& mode = n.arg(2).str_value();
    if (mode == "trunc") op = BinaryOp::kTruncDiv;
    else if (mode == "floor") op = BinaryOp::kFloorDiv;
    else return ctx.fail(n, "unknown rounding_mode '", mode, "'");
  } else if (!ir::is_floating(out)) {
    return ctx.fail(n, "true division needs a floating result");
  }
  INGOT_ASSIGN_OR_RETURN(int result, ctx.add(n, net::ElementwiseParams{op}, {self, other}));
  ctx.bind(n.output(), result);
  return Status::ok();
}

// pow(Scalar self, Tensor exponent)
Status convert_pow_scalar_base(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(double base, ctx.number_arg(n, 0));
  INGOT_ASSIGN_OR_RETURN(int exponent, ctx.arg_tensor(n, 1));
  DType out = n.output()->dtype();
  INGOT_ASSIGN_OR_RETURN(exponent, ctx.cast(n, exponent, out));
  INGOT_ASSIGN_OR_RETURN(int result, ctx.add(n, net::ElementwiseParams{BinaryOp::kPow},
                                             {ctx.scalar(out, base), exponent}));
  ctx.bind(n.output(), result);
  return Status::ok();
}

Status convert_where(Context& ctx, const ir::Node& n) {
  DType out = n.output()->dtype();
  INGOT_ASSIGN_OR_RETURN(int cond, ctx.tensor_or_scalar(n, 0, DType::kBool));
  INGOT_ASSIGN_OR_RETURN(int a, ctx.tensor_or_scalar(n, 1, out));
  INGOT_ASSIGN_OR_RETURN(int b, ctx.tensor_or_scalar(n, 2, out));
  INGOT_ASSIGN_OR_RETURN(int result, ctx.add(n, net::SelectParams{}, {cond, a, b}));
  ctx.bind(n.output(), result);
  return Status::ok();
}

// ---------------------------------------------------------------- unary

struct UnaryEntry {
  const char* schema;
  UnaryOp op;
  bool floating_only;  // integer inputs are computed in the (floating) output dtype
};

const UnaryEntry kUnary[] = {
    {"aten::relu(Tensor self) -> Tensor", UnaryOp::kRelu, false},
    {"aten::sigmoid(Tensor self) -> Tensor", UnaryOp::kSigmoid, true},
    {"aten::tanh(Tensor self) -> Tensor", UnaryOp::kTanh, true},
    {"aten::silu(Tensor self) -> Tensor", UnaryOp::kSilu, true},
    {"aten::mish(Tensor self) -> Tensor", UnaryOp::kMish, true},
    {"aten::hardsigmoid(Tensor self) -> Tensor", UnaryOp::kHardSigmoid, true},
    {"aten::hardswish(Tensor self) -> Tensor", UnaryOp::kHardSwish, true},
    {"aten::exp(Tensor self) -> Tensor", UnaryOp::kExp, true},
    {"aten::exp2(Tensor self) -> Tensor", UnaryOp::kExp2, true},
    {"aten::expm1(Tensor self) -> Tensor", UnaryOp::kExpm1, true},
    {"aten::log(Tensor self) -> Tensor", UnaryOp::kLog, true},
    {"aten::log2(Tensor self) -> Tensor", UnaryOp::kLog2, true},
    {"aten::log10(Tensor self) -> Tensor", UnaryOp::kLog10, true},
    {"aten::log1p(Tensor self) -> Tensor", UnaryOp::kLog1p, true},
    {"aten::sqrt(Tensor self) -> Tensor", UnaryOp::kSqrt, true},
    {"aten::rsqrt(Tensor self) -> Tensor", UnaryOp::kRsqrt, true},
    {"aten::reciprocal(Tensor self) -> Tensor", UnaryOp::kReciprocal, true},
    {"aten::erf(Tensor self) -> Tensor", UnaryOp::kErf, true},
    {"aten::sin(Tensor self) -> Tensor", UnaryOp::kSin, true},
    {"aten::cos(Tensor self) -> Tensor", UnaryOp::kCos, true},
    {"aten::tan(Tensor self) -> Tensor", UnaryOp::kTan, true},
    {"aten::asin(Tensor self) -> Tensor", UnaryOp::kAsin, true},
    {"aten::acos(Tensor self) -> Tensor", UnaryOp::kAcos, true},
    {"aten::atan(Tensor self) -> Tensor", UnaryOp::kAtan, true},
    {"aten::sinh(Tensor self) -> Tensor", UnaryOp::kSinh, true},
    {"aten::cosh(Tensor self) -> Tensor", UnaryOp::kCosh, true},
    {"aten::asinh(Tensor self) -> Tensor", UnaryOp::kAsinh, true},
    {"aten::acosh(Tensor self) -> Tensor", UnaryOp::kAcosh, true},
    {"aten::atanh(Tensor self) -> Tensor", UnaryOp::kAtanh, true},
    {"aten::neg(Tensor self) -> Tensor", UnaryOp::kNeg, false},
    {"aten::abs(Tensor self) -> Tensor", UnaryOp::kAbs, false},
    {"aten::sign(Tensor self) -> Tensor", UnaryOp::kSign, false},
    {"aten::square(Tensor self) -> Tensor", UnaryOp::kSquare, false},
    {"aten::floor(Tensor self) -> Tensor", UnaryOp::kFloor, false},
    {"aten::ceil(Tensor self) -> Tensor", UnaryOp::kCeil, false},
    {"aten::round(Tensor self) -> Tensor", UnaryOp::kRound, false},
    {"aten::trunc(Tensor self) -> Tensor", UnaryOp::kTrunc, false},
    {"aten::frac(Tensor self) -> Tensor", UnaryOp::kFrac, true},
    {"aten::logical_not(Tensor self) -> Tensor", UnaryOp::kLogicalNot, false},
    {"aten::bitwise_not(Tensor self) -> Tensor", UnaryOp::kBitwiseNot, false},
    {"aten::isnan(Tensor self) -> Tensor", UnaryOp::kIsNan, false},
    {"aten::isinf(Tensor self) -> Tensor", UnaryOp::kIsInf, false},
};

// Adds a unary layer computing in the output's dtype (or the input's, for bool results).
Status emit_unary(Context& ctx, const ir::Node& n, UnaryOp op, double alpha, double beta, bool floating_only) {
  INGOT_ASSIGN_OR_RETURN(int x, ctx.arg_tensor(n, 0));
  DType out = n.output()->dtype();
  if (!net::unary_result_is_bool(op)) {
    if (floating_only && !ir::is_floating(out)) return ctx.fail(n, "needs a floating result, got ", ir::dtype_name(out));
    INGOT_ASSIGN_OR_RETURN(x, ctx.cast(n, x, out));
  }
  if (op == UnaryOp::kBitwiseNot && ir::is_floating(ctx.type(x).dtype)) return ctx.fail(n, "bitwise_not needs an integer input");
  net::UnaryParams p;
  p.op = op;
  p.alpha = alpha;
  p.beta = beta;
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, p, {x}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

Status convert_unary(Context& ctx, const ir::Node& n) {
  for (const auto& e : kUnary) {
    std::string s(e.schema);
    if (n.op() == s.substr(0, s.find('('))) return emit_unary(ctx, n, e.op, 0, 0, e.floating_only);
  }
  return ctx.fail(n, "not a unary op");
}

Status convert_gelu(Context& ctx, const ir::Node& n) {
  const std::string& approx = n.arg(1).str_value();
  if (approx == "none") return emit_unary(ctx, n, UnaryOp::kGeluErf, 0, 0, true);
  if (approx == "tanh") return emit_unary(ctx, n, UnaryOp::kGeluTanh, 0, 0, true);
  return ctx.fail(n, "unknown approximate='", approx, "'");
}

Status convert_leaky_relu(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(double slope, ctx.number_arg(n, 1));
  return emit_unary(ctx, n, UnaryOp::kLeakyRelu, slope, 0, true);
}

Status convert_elu(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(double alpha, ctx.number_arg(n, 1));
  INGOT_ASSIGN_OR_RETURN(double scale, ctx.number_arg(n, 2));
  INGOT_ASSIGN_OR_RETURN(double input_scale, ctx.number_arg(n, 3));
  if (input_scale != 1.0) return ctx.fail(n, "input_scale != 1 is not supported");
  return emit_unary(ctx, n, UnaryOp::kElu, alpha, scale, true);
}

Status convert_softplus(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(double beta, ctx.number_arg(n, 1));
  INGOT_ASSIGN_OR_RETURN(double threshold, ctx.number_arg(n, 2));
  return emit_unary(ctx, n, UnaryOp::kSoftplus, beta, threshold, true);
}

Status convert_hardtanh(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(double lo, ctx.number_arg(n, 1));
  INGOT_ASSIGN_OR_RETURN(double hi, ctx.number_arg(n, 2));
  return emit_unary(ctx, n, UnaryOp::kClamp, lo, hi, false);
}

Status convert_relu6(Context& ctx, const ir::Node& n) { return emit_unary(ctx, n, UnaryOp::kClamp, 0, 6, false); }

Status convert_clamp(Context& ctx, const ir::Node& n) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double lo = -kInf, hi = kInf;
  if (!n.arg(1).is_none()) { INGOT_ASSIGN_OR_RETURN(lo, ctx.number_arg(n, 1)); }
  if (!n.arg(2).is_none()) { INGOT_ASSIGN_OR_RETURN(hi, ctx.number_arg(n, 2)); }
  if (!ir::is_floating(n.output()->dtype()) && (lo != std::floor(lo) || hi != std::floor(hi)) &&
      std::isfinite(lo) && std::isfinite(hi)) {
    return ctx.fail(n, "non-integer bounds on an integer tensor");
  }
  return emit_unary(ctx, n, UnaryOp::kClamp, lo, hi, false);
}

const bool kTablesRegistered = [] {
  for (const auto& e : kBinary) Registry::global().add(e.schema, convert_binary, __FILE__);
  for (const auto& e : kUnary) Registry::global().add(e.schema, convert_unary, __FILE__);
  return true;
}();

}  // namespace

INGOT_CONVERTER("aten::div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor", convert_div_mode);
INGOT_CONVERTER("aten::div.Scalar_mode(Tensor self, Scalar other, *, str? rounding_mode) -> Tensor", convert_div_mode);
INGOT_CONVERTER("aten::pow.Scalar(Scalar self, Tensor exponent) -> Tensor", convert_pow_scalar_base);
INGOT_CONVERTER("aten::where.self(Tensor condition, Tensor self, Tensor other) -> Tensor", convert_where);
INGOT_CONVERTER("aten::gelu(Tensor self, *, str approximate=\"none\") -> Tensor", convert_gelu);
INGOT_CONVERTER("aten::leaky_relu(Tensor self, Scalar negative_slope=0.01) -> Tensor", convert_leaky_relu);
INGOT_CONVERTER("aten::elu(Tensor self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor", convert_elu);
INGOT_CONVERTER("aten::softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor", convert_softplus);
INGOT_CONVERTER("aten::hardtanh(Tensor self, Scalar min_val=-1, Scalar max_val=1) -> Tensor", convert_hardtanh);
INGOT_CONVERTER("aten::relu6(Tensor self) -> Tensor", convert_relu6);
INGOT_CONVERTER("aten::clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor", convert_clamp);

}  // namespace ingot::convert
