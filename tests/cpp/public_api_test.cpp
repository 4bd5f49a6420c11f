#include <gtest/gtest.h>

#include "build/builder.h"
#include "ingot/ingot.h"
#include "plan/plan.h"

namespace {

std::vector<uint8_t> relu_plan() {
  using namespace ingot;
  net::Network net;
  net.add_symbol("s0", {1, 4});
  int x = net.add_input("x", {ir::DType::kFloat32, {ir::SymExpr::symbol("s0"), ir::SymExpr(2)}});
  net::UnaryParams p;
  p.op = net::UnaryOp::kRelu;
  int y = *net.add(p, {x}, "relu");
  net.mark_output(y, "y");
  auto plan = build::build_plan(std::move(net), {});
  return *plan::serialize(*plan);
}

TEST(PublicApi, LoadsDescribesAndRuns) {
  auto bytes = relu_plan();
  ingot::Engine e = ingot::Engine::from_bytes(bytes.data(), bytes.size());
  EXPECT_EQ(e.backend(), "cpu");
  ASSERT_EQ(e.inputs().size(), 1u);
  EXPECT_EQ(e.inputs()[0].dims, (std::vector<std::string>{"s0", "2"}));
  EXPECT_EQ(e.symbols(), (std::vector<std::string>{"s0 in [1, 4]"}));
  ingot::Context ctx = e.create_context();
  auto dims = ctx.set_input_shapes({{3, 2}});
  ASSERT_EQ(dims[0], (std::vector<int64_t>{3, 2}));
  std::vector<float> in{-1, 2, -3, 4, 5, -6}, out(6, 9.0f);
  ctx.execute({{in.data(), ingot::DType::kFloat32, {3, 2}}}, {{out.data(), ingot::DType::kFloat32, {3, 2}}});
  EXPECT_EQ(out, (std::vector<float>{0, 2, 0, 4, 5, 0}));
}

TEST(PublicApi, ErrorsAreExceptionsWithMessages) {
  auto bytes = relu_plan();
  bytes[bytes.size() / 2] ^= 0x40;
  try {
    ingot::Engine::from_bytes(bytes.data(), bytes.size());
    FAIL() << "corrupt bytes were accepted";
  } catch (const ingot::Error& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ingot::Engine::load("/nonexistent/engine.ingot"), ingot::Error);
  auto good = relu_plan();
  ingot::Context ctx = ingot::Engine::from_bytes(good.data(), good.size()).create_context();
  try {
    ctx.set_input_shapes({{5, 2}});
    FAIL() << "out-of-range shape accepted";
  } catch (const ingot::Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside the range [1, 4]"), std::string::npos) << e.what();
  }
}

}  // namespace
