// net/pointwise.h: programs of pointwise layers encoded, decoded and checked; a malformed
// program is an error that names its step, through the layer's shape function too.
#include <gtest/gtest.h>

#include "net/network.h"
#include "net/pointwise.h"

namespace ingot {
namespace {

using ir::DType;
using net::PointwiseOp;
using net::PointwiseStep;

int step(net::PointwiseParams& p, PointwiseStep kind, int64_t op, DType t, int x = -1, int y = -1, int z = -1) {
  PointwiseOp s;
  s.kind = kind, s.op = op, s.dtype = t, s.x = x, s.y = y, s.z = z;
  return net::append_pointwise_step(p, s);
}

// y = select(x > 0, x * 2, -x) over x f16 [3, 4]
net::PointwiseParams relu_like() {
  net::PointwiseParams p;
  p.shape = ir::shape_of({3, 4});
  const int x = step(p, PointwiseStep::kInput, 0, DType::kFloat16);
  PointwiseOp two;
  two.kind = PointwiseStep::kConstant, two.dtype = DType::kFloat16, two.alpha = 2.0;
  const int c = net::append_pointwise_step(p, two);
  const int zero = step(p, PointwiseStep::kConstant, 0, DType::kFloat16);
  const int pos = step(p, PointwiseStep::kBinary, static_cast<int64_t>(net::BinaryOp::kGt), DType::kBool, x, zero);
  const int twice = step(p, PointwiseStep::kBinary, static_cast<int64_t>(net::BinaryOp::kMul), DType::kFloat16, x, c);
  const int neg = step(p, PointwiseStep::kUnary, static_cast<int64_t>(net::UnaryOp::kNeg), DType::kFloat16, x);
  step(p, PointwiseStep::kSelect, 0, DType::kFloat16, pos, twice, neg);
  return p;
}

std::string check(const net::PointwiseParams& p, std::vector<ir::TensorType> inputs) {
  std::vector<const ir::TensorType*> ptrs;
  for (const auto& t : inputs) ptrs.push_back(&t);
  Status s = net::check_pointwise(p, ptrs);
  return s.is_ok() ? "ok" : s.message();
}

const ir::TensorType kX{DType::kFloat16, ir::shape_of({3, 4})};

TEST(PointwiseProgram, StepsRoundTrip) {
  const net::PointwiseParams p = relu_like();
  ASSERT_EQ(p.steps(), 7u);
  const PointwiseOp s = net::pointwise_step(p, 1);
  EXPECT_EQ(s.kind, PointwiseStep::kConstant);
  EXPECT_EQ(s.alpha, 2.0);
  const PointwiseOp sel = net::pointwise_step(p, 6);
  EXPECT_EQ(sel.kind, PointwiseStep::kSelect);
  EXPECT_EQ(sel.x, 3);
  EXPECT_EQ(sel.y, 4);
  EXPECT_EQ(sel.z, 5);
  EXPECT_EQ(check(p, {kX}), "ok");
  auto types = net::infer_types(p, {&kX});
  ASSERT_TRUE(types.has_value()) << types.status().message();
  EXPECT_EQ((*types)[0].str(), "f16[3, 4]");
}

TEST(PointwiseProgram, MalformedProgramsNameTheirStep) {
  net::PointwiseParams p = relu_like();
  p.code[6 * 3 + 2] = 5;  // step 3 reads step 5, which comes later
  EXPECT_NE(check(p, {kX}).find("step 3: operand 5 is not an earlier step"), std::string::npos) << check(p, {kX});

  p = relu_like();
  p.code[6 * 4 + 3] = 3;  // step 4 multiplies an f16 by a bool
  EXPECT_NE(check(p, {kX}).find("step 4: operands of f16 and bool"), std::string::npos) << check(p, {kX});

  p = relu_like();
  p.code[6 * 6 + 2] = 4;  // the select's condition is not bool
  EXPECT_NE(check(p, {kX}).find("step 6: select of a f16 condition"), std::string::npos) << check(p, {kX});

  p = relu_like();
  p.code[1] = 1;  // input 1 of 1
  EXPECT_NE(check(p, {kX}).find("step 0: input 1 of 1"), std::string::npos) << check(p, {kX});

  p = relu_like();
  p.code[6 * 5 + 1] = static_cast<int64_t>(net::UnaryOp::kBitwiseNot);  // not a float op
  EXPECT_NE(check(p, {kX}).find("step 5: unary op"), std::string::npos) << check(p, {kX});

  p = relu_like();
  p.scalars.pop_back();
  EXPECT_NE(check(p, {kX}).find("not a whole number of steps"), std::string::npos) << check(p, {kX});
}

TEST(PointwiseProgram, InputsMustBeProgramTypesThatBroadcast) {
  const net::PointwiseParams p = relu_like();
  EXPECT_NE(check(p, {{DType::kInt64, ir::shape_of({3, 4})}}).find("input #0 is i64[3, 4]"), std::string::npos);
  EXPECT_NE(check(p, {{DType::kFloat16, ir::shape_of({5, 4})}}).find("does not broadcast"), std::string::npos);
  EXPECT_EQ(check(p, {{DType::kFloat16, ir::shape_of({4})}}), "ok");
  auto types = net::infer_types(p, {});
  ASSERT_FALSE(types.has_value());
  EXPECT_NE(types.status().message().find("step 0: input 0 of 0"), std::string::npos) << types.status().message();
}

}  // namespace
}  // namespace ingot
