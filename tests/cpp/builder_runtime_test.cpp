#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "build/builder.h"
#include "runtime/engine.h"

using namespace ingot;
using ir::DType;
using ir::SymExpr;

namespace {

net::Network chain(int layers, ir::Shape shape, ir::SymRange range = {1, 8}) {
  net::Network net;
  net.add_symbol("s0", range);
  int t = net.add_input("x", {DType::kFloat32, shape});
  for (int i = 0; i < layers; ++i) {
    net::UnaryParams p;
    p.op = i % 2 ? net::UnaryOp::kNeg : net::UnaryOp::kRelu;
    t = *net.add(p, {t}, "l" + std::to_string(i));
  }
  net.mark_output(t, "y");
  return net;
}

TEST(MemoryPlan, ReusesBytesOfDeadTensors) {
  auto plan = build::build_plan(chain(6, {SymExpr::symbol("s0"), SymExpr(1000)}), {});
  ASSERT_TRUE(plan.has_value()) << plan.status().message();
  const auto& mem = plan->memory;
  // 5 activations of up to 8*1000*4 bytes, each live for one step: two slots suffice.
  uint64_t slot = 32000;
  EXPECT_EQ(mem.arena_bytes, 2 * ((slot + 255) / 256 * 256));
  const auto& net = plan->network;
  for (const net::Tensor& a : net.tensors()) {
    for (const net::Tensor& b : net.tensors()) {
      if (a.id >= b.id || mem.offsets[a.id] < 0 || mem.offsets[b.id] < 0) continue;
      bool adjacent = b.producer == a.producer + 1;  // a is read while b is written
      if (!adjacent) continue;
      bool disjoint = mem.offsets[a.id] + static_cast<int64_t>(mem.sizes[a.id]) <= mem.offsets[b.id] ||
                      mem.offsets[b.id] + static_cast<int64_t>(mem.sizes[b.id]) <= mem.offsets[a.id];
      EXPECT_TRUE(disjoint) << a.name << " and " << b.name << " overlap while both are live";
    }
  }
}

TEST(MemoryPlan, ReshapesOfActivationsAreViews) {
  // x -> relu -> reshape -> reshape -> neg -> y: both reshapes share relu's bytes, nothing else
  // may use those bytes until neg has read them, and the engine computes the same values.
  net::Network net;
  net.add_symbol("s0", {1, 8});
  int x = net.add_input("x", {DType::kFloat32, {SymExpr::symbol("s0"), SymExpr(6)}});
  int r = *net.add(net::UnaryParams{net::UnaryOp::kRelu}, {x}, "relu");
  int v1 = *net.add(net::ReshapeParams{{SymExpr::symbol("s0"), SymExpr(2), SymExpr(3)}}, {r}, "view1");
  int v2 = *net.add(net::ReshapeParams{{SymExpr::symbol("s0") * SymExpr(6)}}, {v1}, "view2");
  int e = *net.add(net::UnaryParams{net::UnaryOp::kExp}, {x}, "exp");  // written while the view is live
  int y = *net.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {v2, *net.add(net::ReshapeParams{{SymExpr::symbol("s0") * SymExpr(6)}}, {e}, "flat_exp")}, "sum");
  net.mark_output(y, "y");
  auto plan = build::build_plan(std::move(net), {});
  ASSERT_TRUE(plan.has_value()) << plan.status().message();
  const auto& mem = plan->memory;
  EXPECT_EQ(mem.offsets[v1], mem.offsets[r]);
  EXPECT_EQ(mem.offsets[v2], mem.offsets[r]);
  EXPECT_NE(mem.offsets[e], mem.offsets[r]) << "exp is written while the views of relu are live";
  size_t views = 0;
  for (const auto& layer : plan->network.layers()) views += plan::is_view(mem, layer);
  EXPECT_EQ(views, 3u);
  auto engine = runtime::Engine::from_plan(std::move(*plan));
  ASSERT_TRUE(engine.has_value()) << engine.status().message();
  auto ctx = (*engine)->create_context();
  std::vector<float> in(3 * 6), out(3 * 6, -1.0f);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i) / 4.0f - 2.0f;
  ASSERT_TRUE(ctx->set_input_shapes({{3, 6}}).is_ok());
  Status s = ctx->execute({{in.data(), DType::kFloat32, {3, 6}}}, {{out.data(), DType::kFloat32, {18}}});
  ASSERT_TRUE(s.is_ok()) << s.message();
  for (size_t i = 0; i < in.size(); ++i) EXPECT_FLOAT_EQ(out[i], std::max(in[i], 0.0f) + std::exp(in[i])) << i;
}

TEST(MemoryPlan, UnboundedSymbolIsAnError) {
  auto plan = build::build_plan(chain(3, {SymExpr::symbol("s0"), SymExpr(4)}, {1, ir::SymRange::kInf}), {});
  ASSERT_FALSE(plan.has_value());
  EXPECT_NE(plan.status().message().find("no upper bound"), std::string::npos) << plan.status().message();
}

TEST(Builder, SymbolsMustComeFromInputs) {
  net::Network net;
  net.add_symbol("s0", {1, 8});
  net.add_symbol("u0", {1, 8});
  int x = net.add_input("x", {DType::kFloat32, {SymExpr::symbol("s0")}});
  net::FillParams f;
  f.shape = {SymExpr::symbol("u0")};
  int y = *net.add(f, {}, "fill");
  (void)x;
  net.mark_output(y, "y");
  auto plan = build::build_plan(std::move(net), {});
  ASSERT_FALSE(plan.has_value());
  EXPECT_NE(plan.status().message().find("symbol 'u0'"), std::string::npos) << plan.status().message();
}

class RuntimeShapes : public ::testing::Test {
 protected:
  void SetUp() override {
    net::Network net;
    net.add_symbol("s0", {2, 16});
    int x = net.add_input("x", {DType::kFloat32, {SymExpr::symbol("s0"), SymExpr(3)}});
    int y = net.add_input("y", {DType::kFloat32, {SymExpr::symbol("s0"), SymExpr(3)}});
    int z = *net.add(net::ElementwiseParams{net::BinaryOp::kAdd}, {x, y}, "add");
    net::SliceParams sl;
    sl.axes = {0};
    sl.starts = {SymExpr(1)};
    sl.ends = {SymExpr::symbol("s0")};
    sl.steps = {1};
    int w = *net.add(sl, {z}, "slice");
    net.mark_output(w, "out");
    auto plan = build::build_plan(std::move(net), {});
    ASSERT_TRUE(plan.has_value()) << plan.status().message();
    auto engine = runtime::Engine::from_plan(std::move(*plan));
    ASSERT_TRUE(engine.has_value()) << engine.status().message();
    engine_ = *engine;
  }
  std::shared_ptr<const runtime::Engine> engine_;
};

TEST_F(RuntimeShapes, RunsAtEveryShapeInRange) {
  for (int64_t n : {2, 5, 16}) {
    auto ctx = engine_->create_context();
    std::vector<float> a(n * 3), b(n * 3);
    for (int64_t i = 0; i < n * 3; ++i) a[i] = float(i), b[i] = 0.5f;
    ASSERT_TRUE(ctx->set_input_shapes({{n, 3}, {n, 3}}).is_ok());
    ASSERT_EQ(ctx->output_dims(0), (std::vector<int64_t>{n - 1, 3}));
    std::vector<float> out((n - 1) * 3, -1.0f);
    Status s = ctx->execute({{a.data(), DType::kFloat32, {n, 3}}, {b.data(), DType::kFloat32, {n, 3}}},
                            {{out.data(), DType::kFloat32, {n - 1, 3}}});
    ASSERT_TRUE(s.is_ok()) << s.message();
    for (int64_t i = 0; i < (n - 1) * 3; ++i) EXPECT_EQ(out[i], float(i + 3) + 0.5f);
  }
}

TEST_F(RuntimeShapes, ErrorsNameInputDimValueAndRange) {
  auto ctx = engine_->create_context();
  auto expect_error = [&](std::vector<std::vector<int64_t>> shapes, const char* needle) {
    Status s = ctx->set_input_shapes(shapes);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::kShapeMismatch);
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  expect_error({{4, 3}}, "takes 2 input(s)");
  expect_error({{4, 3, 1}, {4, 3}}, "input 'x' (#0) must have rank 2");
  expect_error({{4, 2}, {4, 3}}, "input 'x' (#0) dim 1 must be 3");
  expect_error({{17, 3}, {17, 3}}, "dim 0 is 17, outside the range [2, 16]");
  expect_error({{4, 3}, {5, 3}}, "both are the dynamic dimension s0");
}

TEST_F(RuntimeShapes, ExecuteChecksBuffers) {
  auto ctx = engine_->create_context();
  ASSERT_TRUE(ctx->set_input_shapes({{4, 3}, {4, 3}}).is_ok());
  std::vector<float> a(12), out(9);
  Status s = ctx->execute({{a.data(), DType::kFloat16, {4, 3}}, {a.data(), DType::kFloat32, {4, 3}}},
                          {{out.data(), DType::kFloat32, {3, 3}}});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("input 'x' must be float32, got float16"), std::string::npos) << s.message();
  s = ctx->execute({{a.data(), DType::kFloat32, {4, 3}}, {a.data(), DType::kFloat32, {4, 3}}},
                   {{out.data(), DType::kFloat32, {4, 3}}});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("output 'slice' must have shape (3, 3)"), std::string::npos) << s.message();
}

}  // namespace
