#include "net/pointwise.h"

namespace ingot::net {

PointwiseOp pointwise_step(const PointwiseParams& p, size_t i) {
  const int64_t* c = p.code.data() + i * PointwiseParams::kCodeWords;
  PointwiseOp s;
  s.kind = static_cast<PointwiseStep>(c[0]);
  s.op = c[1];
  s.x = static_cast<int>(c[2]), s.y = static_cast<int>(c[3]), s.z = static_cast<int>(c[4]);
  s.dtype = static_cast<DType>(c[5]);
  s.alpha = p.scalars[i * PointwiseParams::kScalarWords];
  s.beta = p.scalars[i * PointwiseParams::kScalarWords + 1];
  return s;
}

int append_pointwise_step(PointwiseParams& p, const PointwiseOp& s) {
  const int index = static_cast<int>(p.steps());
  p.code.insert(p.code.end(), {static_cast<int64_t>(s.kind), s.op, s.x, s.y, s.z, static_cast<int64_t>(s.dtype)});
  p.scalars.insert(p.scalars.end(), {s.alpha, s.beta});
  return index;
}

bool pointwise_dtype(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 || t == DType::kBool;
}

bool pointwise_binary_ok(BinaryOp op, DType t) {
  if (!pointwise_dtype(t)) return false;
  if (t == DType::kBool) {
    return is_comparison(op);  // == and < on 0 / 1, and the logical ops
  }
  switch (op) {
    case BinaryOp::kBitwiseAnd: case BinaryOp::kBitwiseOr: case BinaryOp::kBitwiseXor: return false;
    default: return op < BinaryOp::kCount;
  }
}

bool pointwise_unary_ok(UnaryOp op, DType t) {
  if (!pointwise_dtype(t) || op >= UnaryOp::kCount) return false;
  if (t == DType::kBool) return op == UnaryOp::kLogicalNot || op == UnaryOp::kIdentity;
  return op != UnaryOp::kBitwiseNot;
}

namespace {

template <typename... Args>
Status bad_step(size_t i, Args&&... args) {
  return invalid_argument("pointwise: step ", i, ": ", std::forward<Args>(args)...);
}

}  // namespace

Status check_pointwise(const PointwiseParams& p, const std::vector<const ir::TensorType*>& inputs) {
  const size_t n = p.steps();
  if (n == 0 || p.code.size() != n * PointwiseParams::kCodeWords || p.scalars.size() != n * PointwiseParams::kScalarWords) {
    return invalid_argument("pointwise: ", p.code.size(), " code words and ", p.scalars.size(),
                            " scalars are not a whole number of steps (", PointwiseParams::kCodeWords, " and ",
                            PointwiseParams::kScalarWords, " a step)");
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i]) return invalid_argument("pointwise: input #", i, " is required");
    if (!pointwise_dtype(inputs[i]->dtype)) {
      return invalid_argument("pointwise: input #", i, " is ", inputs[i]->str(), " (f32, f16, bf16 or bool only)");
    }
    Expected<Shape> s = broadcast_shapes(inputs[i]->shape, p.shape);
    if (!s.has_value() || *s != p.shape) {
      return invalid_argument("pointwise: input #", i, " ", inputs[i]->str(), " does not broadcast to ", ir::shape_str(p.shape));
    }
  }
  std::vector<DType> dtypes;
  for (size_t i = 0; i < n; ++i) {
    const int64_t* c = p.code.data() + i * PointwiseParams::kCodeWords;
    if (c[0] < 0 || c[0] >= static_cast<int64_t>(PointwiseStep::kCount)) return bad_step(i, "unknown kind ", c[0]);
    if (c[5] < 0 || c[5] >= ir::kNumDTypes || !pointwise_dtype(static_cast<DType>(c[5]))) {
      return bad_step(i, "dtype ", c[5], " is not f32, f16, bf16 or bool");
    }
    for (int k = 2; k <= 4; ++k) {
      if (c[k] < -1 || c[k] >= static_cast<int64_t>(i)) return bad_step(i, "operand ", c[k], " is not an earlier step");
    }
    const PointwiseOp s = pointwise_step(p, i);
    auto operand = [&](int k) -> Expected<DType> {
      if (k < 0) return invalid_argument("pointwise: step ", i, ": ", enum_name(s.kind), " lacks an operand");
      return dtypes[static_cast<size_t>(k)];
    };
    switch (s.kind) {
      case PointwiseStep::kInput:
        if (s.op < 0 || s.op >= static_cast<int64_t>(inputs.size())) {
          return bad_step(i, "input ", s.op, " of ", inputs.size());
        }
        if (inputs[static_cast<size_t>(s.op)]->dtype != s.dtype) {
          return bad_step(i, "input ", s.op, " is ", inputs[static_cast<size_t>(s.op)]->str(), ", not ", ir::dtype_name(s.dtype));
        }
        break;
      case PointwiseStep::kConstant: break;
      case PointwiseStep::kUnary: {
        INGOT_ASSIGN_OR_RETURN(DType t, operand(s.x));
        const auto op = static_cast<UnaryOp>(s.op);
        if (s.op < 0 || !pointwise_unary_ok(op, t)) return bad_step(i, "unary op ", s.op, " on ", ir::dtype_name(t));
        if (s.dtype != (unary_result_is_bool(op) ? DType::kBool : t)) return bad_step(i, "result dtype ", ir::dtype_name(s.dtype));
        break;
      }
      case PointwiseStep::kBinary: {
        INGOT_ASSIGN_OR_RETURN(DType a, operand(s.x));
        INGOT_ASSIGN_OR_RETURN(DType b, operand(s.y));
        const auto op = static_cast<BinaryOp>(s.op);
        if (a != b) return bad_step(i, "operands of ", ir::dtype_name(a), " and ", ir::dtype_name(b));
        if (s.op < 0 || !pointwise_binary_ok(op, a)) return bad_step(i, "binary op ", s.op, " on ", ir::dtype_name(a));
        if (s.dtype != (is_comparison(op) ? DType::kBool : a)) return bad_step(i, "result dtype ", ir::dtype_name(s.dtype));
        break;
      }
      case PointwiseStep::kSelect: {
        INGOT_ASSIGN_OR_RETURN(DType c0, operand(s.x));
        INGOT_ASSIGN_OR_RETURN(DType a, operand(s.y));
        INGOT_ASSIGN_OR_RETURN(DType b, operand(s.z));
        if (c0 != DType::kBool || a != b || s.dtype != a) {
          return bad_step(i, "select of a ", ir::dtype_name(c0), " condition, ", ir::dtype_name(a), " and ",
                          ir::dtype_name(b), " into ", ir::dtype_name(s.dtype));
        }
        break;
      }
      case PointwiseStep::kCast: {
        INGOT_RETURN_IF_ERROR(operand(s.x).status());
        if (s.op != static_cast<int64_t>(s.dtype)) return bad_step(i, "cast to ", s.op, " gives ", ir::dtype_name(s.dtype));
        break;
      }
      default: break;
    }
    dtypes.push_back(s.dtype);
  }
  return Status::ok();
}

}  // namespace ingot::net
