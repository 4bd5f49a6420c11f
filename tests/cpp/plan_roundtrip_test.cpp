// Plans survive serialization unchanged; the encoding is canonical; serialize() refuses plans
// that verify() rejects or that the format cannot hold.
#include <set>

#include "plan_test_util.h"

namespace plan_test {
namespace {

TEST(PlanRoundTrip, SmallPlanWithCopiedConstants) {
  Plan p = small_plan();
  ASSERT_TRUE(plan::verify(p).is_ok()) << plan::verify(p).message();
  Plan back = round_trip(p, /*borrow=*/false);
  expect_plans_equal(p, back);
}

TEST(PlanRoundTrip, BorrowedConstantsPointIntoTheBuffer) {
  Plan p = small_plan();
  auto bytes = plan::serialize(p);
  ASSERT_TRUE(bytes.has_value()) << bytes.status().message();
  auto owner = std::make_shared<std::vector<uint8_t>>(std::move(*bytes));
  const uint8_t* begin = owner->data();
  const uint8_t* end = begin + owner->size();
  auto back = plan::deserialize(*owner, owner);
  ASSERT_TRUE(back.has_value()) << back.status().message();
  size_t constants = 0;
  for (const auto& t : back->network.tensors()) {
    if (!t.constant) continue;
    ++constants;
    auto* data = static_cast<const uint8_t*>(t.constant->data);
    EXPECT_TRUE(data >= begin && data + t.constant->nbytes <= end) << t.name;
    EXPECT_EQ((data - begin - plan::kHeaderSize) % plan::kWeightAlignment, 0u) << t.name;
  }
  EXPECT_EQ(constants, 4u);
  // The plan keeps the buffer alive.
  std::weak_ptr<std::vector<uint8_t>> weak = owner;
  owner.reset();
  EXPECT_FALSE(weak.expired());
  expect_plans_equal(p, *back);
  Plan moved = std::move(*back);
  back = Status(ErrorCode::kInternal, "dropped");
  EXPECT_FALSE(weak.expired());
}

TEST(PlanRoundTrip, CopiedConstantsOwnTheirBytes) {
  Plan p = small_plan();
  auto bytes = plan::serialize(p);
  ASSERT_TRUE(bytes.has_value());
  auto back = plan::deserialize(*bytes, nullptr);
  ASSERT_TRUE(back.has_value()) << back.status().message();
  const uint8_t* begin = bytes->data();
  for (const auto& t : back->network.tensors()) {
    if (!t.constant) continue;
    auto* data = static_cast<const uint8_t*>(t.constant->data);
    EXPECT_TRUE(data < begin || data >= begin + bytes->size()) << t.name;
  }
  bytes->assign(bytes->size(), 0xAB);  // the plan does not depend on the buffer any more
  expect_plans_equal(p, *back);
}

TEST(PlanRoundTrip, MisalignedBufferGetsCopies) {
  Plan p = small_plan();
  auto bytes = plan::serialize(p);
  ASSERT_TRUE(bytes.has_value());
  auto owner = std::make_shared<std::vector<uint8_t>>(bytes->size() + 1);
  std::memcpy(owner->data() + 1, bytes->data(), bytes->size());
  auto back = plan::deserialize(std::span<const uint8_t>(owner->data() + 1, bytes->size()), owner);
  ASSERT_TRUE(back.has_value()) << back.status().message();
  for (const auto& t : back->network.tensors()) {
    if (!t.constant) continue;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.constant->data) % 4, 0u) << t.name;
  }
  expect_plans_equal(p, *back);
}

TEST(PlanRoundTrip, EveryLayerKindWithNonDefaultParams) {
  Plan p = all_kinds_plan();
  ASSERT_TRUE(plan::verify(p).is_ok()) << plan::verify(p).message();
  std::set<net::LayerKind> kinds;
  for (const auto& l : p.network.layers()) kinds.insert(l.kind());
  EXPECT_EQ(kinds.size(), static_cast<size_t>(net::LayerKind::kCount));
  p.backend = plan::Backend::kCuda;
  p.device = "NVIDIA H200 \xe2\x80\x94 sm_90";  // UTF-8 em dash
  Plan back = round_trip(p, /*borrow=*/true);
  expect_plans_equal(p, back);
  EXPECT_EQ(back.network.symbol_range("s1").max, 16);
}

TEST(PlanRoundTrip, EncodingIsCanonical) {
  for (Plan p : {small_plan(), all_kinds_plan()}) {
    auto bytes = plan::serialize(p);
    ASSERT_TRUE(bytes.has_value());
    auto back = plan::deserialize(*bytes, nullptr);
    ASSERT_TRUE(back.has_value()) << back.status().message();
    auto again = plan::serialize(*back);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*bytes, *again) << p.name;
  }
}

TEST(PlanRoundTrip, HeaderDescribesThePayload) {
  Plan p = small_plan();
  p.backend = plan::Backend::kCuda;
  auto bytes = plan::serialize(p);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(0, std::memcmp(bytes->data(), "INGOTPLN", 8));
  auto h = plan::read_header(*bytes);
  ASSERT_TRUE(h.has_value()) << h.status().message();
  EXPECT_EQ(h->version, plan::kFormatVersion);
  EXPECT_EQ(h->backend, plan::Backend::kCuda);
  EXPECT_EQ(h->payload_size, bytes->size() - plan::kHeaderSize);
  EXPECT_NE(h->checksum, 0u);
  EXPECT_STREQ(plan::backend_name(plan::Backend::kCpu), "cpu");
  EXPECT_STREQ(plan::backend_name(plan::Backend::kCuda), "cuda");
  EXPECT_STREQ(plan::backend_name(static_cast<plan::Backend>(9)), "unknown");
  // Another version: read_header still names it.
  (*bytes)[8] = 7;
  h = plan::read_header(*bytes);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->version, 7u);
}

TEST(PlanRoundTrip, LayoutPlacesWeightsLastAndAligned) {
  Plan p = all_kinds_plan();
  std::vector<plan::detail::FieldSpan> layout;
  auto bytes = plan::detail::encode(p, &layout);
  ASSERT_TRUE(bytes.has_value());
  size_t weights_offset = 0;
  for (int i = 0; i < 8; ++i) weights_offset |= size_t((*bytes)[plan::kHeaderSize + i]) << (8 * i);
  EXPECT_EQ(weights_offset % plan::kWeightAlignment, 0u);
  size_t last_end = 0, constants = 0;
  for (const auto& f : layout) {
    EXPECT_GE(f.offset, last_end) << f.path;  // spans in file order, no overlap
    last_end = f.offset + f.size;
    if (f.path.rfind("weights.tensors[", 0) == 0) {
      ++constants;
      EXPECT_EQ((f.offset - plan::kHeaderSize) % plan::kWeightAlignment, 0u) << f.path;
      EXPECT_GE(f.offset - plan::kHeaderSize, weights_offset) << f.path;
    }
  }
  EXPECT_EQ(last_end, bytes->size());
  EXPECT_EQ(constants, 17u);
}

TEST(PlanRoundTrip, NoConstantsNoActivations) {
  Network net;
  int x = net.add_input("x", TensorType{DType::kInt32, {3}});
  int y = add(net, net::IdentityParams{}, {x}, "y");
  net.mark_output(y, "y");
  Plan p = finish(std::move(net), "tiny");
  EXPECT_EQ(p.memory.arena_bytes, 0u);
  Plan back = round_trip(p, false);
  expect_plans_equal(p, back);
}

TEST(PlanRoundTrip, ArenaReuseAcrossLifetimes) {
  // a -> r1 -> r2 -> r3 -> out: r1 and r3 may share bytes, r2 may not share with either.
  Network net;
  net.add_symbol("n", {1, 100});
  int a = net.add_input("a", TensorType{DType::kFloat32, {S("n")}});
  int r1 = add(net, net::UnaryParams{net::UnaryOp::kRelu}, {a}, "r1");
  int r2 = add(net, net::UnaryParams{net::UnaryOp::kExp}, {r1}, "r2");
  int r3 = add(net, net::UnaryParams{net::UnaryOp::kNeg}, {r2}, "r3");
  int out = add(net, net::UnaryParams{net::UnaryOp::kAbs}, {r3}, "out");
  net.mark_output(out, "out");
  Plan p = finish(std::move(net), "reuse");
  p.memory.arena_bytes = 800;
  p.memory.offsets = {-1, 0, 400, 0, -1};
  p.memory.sizes = {0, 400, 400, 400, 0};
  ASSERT_TRUE(plan::verify(p).is_ok()) << plan::verify(p).message();
  expect_plans_equal(p, round_trip(p, false));

  p.memory.offsets = {-1, 0, 399, 0, -1};  // r2 overlaps r1 and r3 while they are live
  p.memory.arena_bytes = 799;
  Status s = plan::verify(p);
  EXPECT_EQ(s.code(), ErrorCode::kCorruptPlan);
  EXPECT_NE(s.message().find("share arena bytes"), std::string::npos) << s.message();
}

TEST(PlanRoundTrip, MaxTensorBytesUsesSymbolRanges) {
  Plan p = all_kinds_plan();
  const Network& net = p.network;
  auto find = [&](const std::string& name) {
    for (const auto& t : net.tensors()) {
      if (t.name == name) return t.id;
    }
    return -1;
  };
  EXPECT_EQ(*plan::max_tensor_bytes(net, find("conv")), 8u * 8 * 3 * 3 * 4);   // s0 <= 8
  EXPECT_EQ(*plan::max_tensor_bytes(net, find("half")), 2u * 8 * 2);           // f16[2, s0]
  EXPECT_EQ(*plan::max_tensor_bytes(net, find("iota")), 16u * 4);              // s1 <= 16
  EXPECT_FALSE(plan::max_tensor_bytes(net, 10000).has_value());
}

TEST(PlanSerialize, RefusesPlansThatDoNotVerify) {
  Plan p = small_plan();
  p.memory.sizes[5] -= 1;  // conv1's activation one byte short
  auto bytes = plan::serialize(p);
  ASSERT_FALSE(bytes.has_value());
  EXPECT_EQ(bytes.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bytes.status().message().find("cannot serialize plan 'small'"), std::string::npos);
  EXPECT_NE(bytes.status().message().find("'conv1'"), std::string::npos) << bytes.status().message();

  Plan q = small_plan();
  q.memory.offsets.pop_back();
  EXPECT_FALSE(plan::serialize(q).has_value());
}

TEST(PlanSerialize, RefusesWhatTheFormatCannotHold) {
  Plan p = small_plan();
  p.name = "bad \xff name";
  auto bytes = plan::serialize(p);
  ASSERT_FALSE(bytes.has_value());
  EXPECT_NE(bytes.status().message().find("not valid UTF-8"), std::string::npos) << bytes.status().message();

  // A dim with too many terms.
  Network net;
  for (int i = 0; i < 300; ++i) net.add_symbol("a" + std::to_string(i), {1, 2});
  SymExpr big(0);
  for (int i = 0; i < 300; ++i) big += SymExpr::symbol("a" + std::to_string(i));
  int x = net.add_input("x", TensorType{DType::kFloat32, {big}});
  int y = add(net, net::IdentityParams{}, {x}, "y");
  net.mark_output(y, "y");
  Plan q = finish(std::move(net), "wide");
  bytes = plan::serialize(q);
  ASSERT_FALSE(bytes.has_value());
  EXPECT_NE(bytes.status().message().find("terms"), std::string::npos) << bytes.status().message();
}

TEST(PlanVerify, NamesTheProblem) {
  struct Case {
    const char* what;
    void (*edit)(Plan&);
    const char* expect;
  };
  const Case cases[] = {
      {"output repeated", [](Plan& p) { p.network.mark_output(p.network.outputs()[0], "again"); }, "repeats tensor"},
      {"input as output",
       [](Plan& p) { p.network.mark_output(0, "x"); p.memory = simple_memory_plan(p.network); },
       "which no layer produces"},
      {"unbounded symbol",
       [](Plan& p) { p.network.add_symbol("s0", {1, ir::SymRange::kInf}); },
       "unbounded over the symbol ranges"},
      {"bad symbol range", [](Plan& p) { p.network.add_symbol("s0", {5, 4}); }, "need 0 <= min <= max"},
      {"activation past the arena", [](Plan& p) { p.memory.arena_bytes -= 1; }, "ends past the arena"},
      {"input with an arena slot", [](Plan& p) { p.memory.offsets[0] = 0; }, "is not an activation"},
      {"activation without a slot", [](Plan& p) { p.memory.offsets[5] = -1; }, "has arena offset -1"},
      {"arena larger than used", [](Plan& p) { p.memory.arena_bytes += 64; }, "but the activations end at byte"},
      {"layers out of order",
       [](Plan& p) { std::swap(p.network.mutable_layers()[0], p.network.mutable_layers()[1]); },
       "before it is defined"},
      {"wrong recorded type",
       [](Plan& p) { p.network.mutable_tensor(6).type.shape[1] = SymExpr(5); }, "is recorded as"},
      {"f64 tensor", [](Plan& p) { p.network.mutable_tensor(0).type.dtype = DType::kFloat64; }, "engines do not support"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Plan p = small_plan();
    c.edit(p);
    Status s = plan::verify(p);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::kCorruptPlan);
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
    // The same plan, written without verification, is rejected on load with the same message.
    auto bytes = plan::detail::encode(p);
    ASSERT_TRUE(bytes.has_value()) << bytes.status().message();
    expect_error(*bytes, ErrorCode::kCorruptPlan, c.expect);
  }
}

}  // namespace
}  // namespace plan_test
