// The per-layer profiler (CPU backend), the engine inspector's JSON, the report sections of the
// plan format (origin info, timed tactics) and the JSON writer.
#include <numeric>

#include "build/builder.h"
#include "plan/inspect.h"
#include "plan_test_util.h"
#include "runtime/engine.h"
#include "support/json.h"

namespace plan_test {
namespace {

bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

// small_plan() with origin info for its nodes and timed tactics on the convolution.
Plan annotated_plan() {
  Plan p = small_plan();
  p.network.set_origin_info("aten::convolution", net::OriginInfo{"aten::convolution", "features.conv"});
  p.network.set_origin_info("aten::relu", net::OriginInfo{"aten::relu", "features.act"});
  auto& conv = p.network.mutable_layers()[0];
  conv.tactic = "fwd=1";
  conv.timed = {{"fwd=1", 0.25}, {"fwd=6", 1.5}};
  return p;
}

TEST(JsonWriter, PlacesCommasAndEscapes) {
  JsonWriter w;
  w.begin_object().key("a").value(int64_t{1}).key("b").begin_array().value("x\"y\n").value(true).null().end_array();
  w.key("c").value(0.5).key("d").value(1.0 / 0.0).key("e").begin_object().end_object().end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"b":["x\"y\n",true,null],"c":0.5,"d":null,"e":{}})");
}

TEST(PlanReports, OriginInfoAndTimedTacticsRoundTrip) {
  Plan p = annotated_plan();
  Plan back = round_trip(p, false);
  expect_plans_equal(p, back);
  ASSERT_NE(back.network.find_origin("aten::relu"), nullptr);
  EXPECT_EQ(back.network.find_origin("aten::relu")->module, "features.act");
  ASSERT_EQ(back.network.layers()[0].timed.size(), 2u);
  EXPECT_EQ(back.network.layers()[0].timed[1].tactic, "fwd=6");
}

TEST(PlanReports, CorruptTimingsAreRejected) {
  Plan p = annotated_plan();
  std::vector<plan::detail::FieldSpan> layout;
  auto bytes = plan::detail::encode(p, &layout);
  ASSERT_TRUE(bytes.has_value()) << bytes.status().message();
  // Layer count of the timings section disagrees with the layers.
  auto wrong_count = *bytes;
  store_le(wrong_count, field(layout, "timings.count").offset, p.network.layers().size() + 1, 4);
  plan::detail::update_checksum(wrong_count);
  expect_error(wrong_count, ErrorCode::kCorruptPlan, "has 7 layers, but the plan has 6");
  // A negative time (the sign bit of the f64).
  auto negative = *bytes;
  const auto& ms = field(layout, "timings[0].ms");
  negative.at(ms.offset + 7) |= 0x80;
  plan::detail::update_checksum(negative);
  expect_error(negative, ErrorCode::kCorruptPlan, "need 0 <= ms");
  // Origin nodes out of order (the first name's first byte made larger than the second's).
  auto unordered = *bytes;
  unordered.at(field(layout, "origins[0].node").offset + 4) = 'z';
  plan::detail::update_checksum(unordered);
  expect_error(unordered, ErrorCode::kCorruptPlan, "out of order");
}

TEST(Inspector, DescribesLayersOriginsTacticsAndMemory) {
  Plan p = round_trip(annotated_plan(), false);
  std::string j = plan::inspect_json(p);
  EXPECT_TRUE(contains(j, R"("name":"small","backend":"cpu")")) << j;
  EXPECT_TRUE(contains(j, R"("inputs":[{"name":"x","dtype":"float32","shape":["s0",3,4,4]}])")) << j;
  EXPECT_TRUE(contains(j, R"("symbols":[{"name":"s0","min":1,"max":64}])")) << j;
  EXPECT_TRUE(contains(j, R"("arena_bytes":)" + std::to_string(p.memory.arena_bytes))) << j;
  EXPECT_TRUE(contains(j, R"("workspace_bytes":0)")) << j;
  EXPECT_TRUE(contains(j, R"("name":"conv1","kind":"convolution","params":{"stride":[1,1],"padding":[1,1])")) << j;
  EXPECT_TRUE(contains(j, R"("precision":"float32","layout":"row-major")")) << j;
  EXPECT_TRUE(contains(j, R"("origins":[{"node":"aten::convolution","op":"aten::convolution","module":"features.conv"}])")) << j;
  EXPECT_TRUE(contains(j, R"("tactic":"fwd=1","timed":[{"tactic":"fwd=1","ms":0.25},{"tactic":"fwd=6","ms":1.5}])")) << j;
  // conv weight 4x3x3x3 and bias 4, float32.
  EXPECT_TRUE(contains(j, R"("weights_bytes":)" + std::to_string((108 + 4) * 4) + R"(,"view":false})")) << j;
  EXPECT_TRUE(contains(j, R"("role":"constant")")) << j;
  EXPECT_TRUE(contains(j, R"("layer_kinds":{"convolution":1,"elementwise":1,"matmul":1,"reshape":1,"softmax":1,"unary":1})")) << j;
}

// A chain of element-wise layers on large tensors: layer times dominate the engine time.
TEST(Profiler, LayerTimesAddUpToTheEngineTime) {
  net::Network net;
  const int64_t n = 1 << 18;
  int t = net.add_input("x", {DType::kFloat32, {SymExpr(n)}});
  for (int i = 0; i < 8; ++i) {
    t = *net.add(net::UnaryParams{i % 2 ? net::UnaryOp::kTanh : net::UnaryOp::kSigmoid}, {t}, "act" + std::to_string(i),
                 "node" + std::to_string(i));
    net.set_origin_info("node" + std::to_string(i), net::OriginInfo{"aten::tanh", "block." + std::to_string(i)});
  }
  net.mark_output(t, "y");
  auto plan = build::build_plan(std::move(net), {});
  ASSERT_TRUE(plan.has_value()) << plan.status().message();
  auto engine = runtime::Engine::from_plan(std::move(*plan));
  ASSERT_TRUE(engine.has_value()) << engine.status().message();
  auto ctx = (*engine)->create_context();
  std::vector<float> x(n, 0.5f), y(n);
  std::vector<runtime::TensorArg> in{{x.data(), DType::kFloat32, {n}}}, out{{y.data(), DType::kFloat32, {n}}};
  ASSERT_TRUE(ctx->run(in, out).is_ok());  // not recorded: no profiler yet
  auto profiler = std::make_shared<runtime::Profiler>(3);
  ctx->set_profiler(profiler);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ctx->run(in, out).is_ok());
  ctx->set_profiler(nullptr);
  ASSERT_TRUE(ctx->run(in, out).is_ok());  // not recorded: detached

  runtime::Profiler::Snapshot s = profiler->snapshot();
  EXPECT_EQ(s.calls, 5);
  EXPECT_EQ(s.clock, "std::chrono::steady_clock");
  ASSERT_EQ(s.layer_total_ms.size(), 8u);
  EXPECT_EQ(s.records.size(), 3u);  // kept at most 3
  EXPECT_EQ(s.dropped_records, 2);
  double sum = std::accumulate(s.layer_total_ms.begin(), s.layer_total_ms.end(), 0.0);
  for (double ms : s.layer_total_ms) EXPECT_GT(ms, 0.0);
  EXPECT_LE(sum, s.engine_total_ms);
  EXPECT_GT(sum, 0.95 * s.engine_total_ms) << "layers " << sum << " ms, engine " << s.engine_total_ms << " ms";
  EXPECT_LT(s.records[0].start_us, s.records[1].start_us);

  std::string j = profiler->json((*engine)->plan());
  EXPECT_TRUE(contains(j, R"("calls":5)")) << j;
  EXPECT_TRUE(contains(j, R"("name":"act3","kind":"unary","origins":["node3"],"ops":["aten::tanh"],"modules":["block.3"])")) << j;
  EXPECT_TRUE(contains(j, R"("dropped_call_records":2)")) << j;
  profiler->reset();
  EXPECT_EQ(profiler->snapshot().calls, 0);
}

}  // namespace
}  // namespace plan_test
