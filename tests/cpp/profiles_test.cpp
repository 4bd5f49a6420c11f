// Optimization profiles: the plan section (round trip, verifier, corrupt bytes), the builder
// (hull of the profiles, memory for the largest profile) and the runtime's profile selection.
#include <string>

#include "build/builder.h"
#include "ingot/ingot.h"
#include "plan_test_util.h"
#include "runtime/engine.h"

namespace plan_test {
namespace {

using plan::detail::FieldSpan;

// small_plan() (x: [s0, 3, 4, 4], s0 in [1, 64]) with profiles s0 in [1, 3] and [5, 64].
Plan two_profile_plan() {
  Plan p = small_plan();
  size_t layers = p.network.layers().size();
  plan::Profile a, b;
  a.ranges["s0"] = {1, 2, 3};
  b.ranges["s0"] = {5, 16, 64};
  a.tactics.assign(layers, "");
  b.tactics.assign(layers, "");
  a.tactics[0] = "fwd=1,math=0";
  b.tactics[0] = "fwd=6,math=1";
  p.profiles = {a, b};
  return p;
}

std::vector<uint8_t> encoded(const Plan& p, std::vector<FieldSpan>* layout = nullptr) {
  auto bytes = plan::detail::encode(p, layout);
  EXPECT_TRUE(bytes.has_value()) << bytes.status().message();
  return bytes.has_value() ? *bytes : std::vector<uint8_t>{};
}

std::vector<uint8_t> patched(std::vector<uint8_t> bytes, const FieldSpan& f, uint64_t v) {
  store_le(bytes, f.offset, v, f.size);
  plan::detail::update_checksum(bytes);
  return bytes;
}

TEST(PlanProfiles, RoundTrip) {
  Plan p = two_profile_plan();
  Plan back = round_trip(p, false);
  expect_plans_equal(p, back);
  EXPECT_EQ(back.profiles, p.profiles);
  ASSERT_EQ(back.profiles.size(), 2u);
  EXPECT_EQ(back.profiles[1].ranges.at("s0"), (plan::ProfileRange{5, 16, 64}));
  EXPECT_EQ(back.profiles[1].tactics[0], "fwd=6,math=1");
  auto again = plan::serialize(back);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *plan::serialize(p));  // canonical
}

TEST(PlanProfiles, VerifierChecksRangesAndTacticCounts) {
  auto expect_bad = [](Plan p, const std::string& needle) {
    Status s = plan::verify(p);
    ASSERT_FALSE(s.is_ok()) << needle;
    EXPECT_EQ(s.code(), ErrorCode::kCorruptPlan);
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  Plan p = two_profile_plan();
  ASSERT_TRUE(plan::verify(p).is_ok());
  Plan wide = p;
  wide.profiles[1].ranges["s0"] = {5, 16, 65};
  expect_bad(wide, "profile 1 gives symbol s0 the range [5, 65], outside the plan's range [1, 64]");
  Plan opt = p;
  opt.profiles[0].ranges["s0"] = {1, 4, 3};
  expect_bad(opt, "need 0 <= min <= opt <= max");
  Plan tactics = p;
  tactics.profiles[0].tactics.pop_back();
  expect_bad(tactics, "profile 0 has 5 tactic(s), but the plan has 6 layer(s)");
  Plan symbols = p;
  symbols.profiles[1].ranges.erase("s0");
  symbols.profiles[1].ranges["t"] = {1, 1, 1};
  expect_bad(symbols, "profile 1 has no range for symbol s0");
  // serialize() refuses what verify() refuses.
  EXPECT_FALSE(plan::serialize(wide).has_value());
}

TEST(PlanProfiles, CorruptSectionIsRejected) {
  Plan p = two_profile_plan();
  std::vector<FieldSpan> layout;
  auto bytes = encoded(p, &layout);
  expect_error(patched(bytes, field(layout, "profiles[1].ranges[0].max"), 65), ErrorCode::kCorruptPlan,
               "outside the plan's range [1, 64]");
  expect_error(patched(bytes, field(layout, "profiles[0].ranges[0].opt"), 9), ErrorCode::kCorruptPlan,
               "min 1, opt 9, max 3");
  expect_error(patched(bytes, field(layout, "profiles[0].ranges.count"), 2), ErrorCode::kCorruptPlan,
               "profile 0: has ranges for 2 symbol(s), but the plan has 1");
  expect_error(patched(bytes, field(layout, "profiles[1].tactics.count"), 5), ErrorCode::kCorruptPlan,
               "profile 1: has 5 tactic(s), but the plan has 6 layer(s)");
  expect_error(patched(bytes, field(layout, "profiles.count"), 0xFFFFFFF), ErrorCode::kCorruptPlan, "profile count");
  expect_error(patched(bytes, field(layout, "profiles.tag"), 0x12345678), ErrorCode::kCorruptPlan, "PROF");
  // Every single-byte flip inside the section: rejected, or a different tactic string that
  // still reads back canonically.
  size_t begin = field(layout, "profiles.tag").offset;
  for (size_t i = begin; i < bytes.size(); ++i) {
    const FieldSpan* owner = nullptr;
    for (const auto& f : layout) {
      if (f.offset <= i && i < f.offset + f.size) owner = &f;
    }
    if (!owner || owner->path.rfind("profiles", 0) != 0) continue;
    auto copy = bytes;
    copy[i] ^= 0xFF;
    plan::detail::update_checksum(copy);
    auto r = plan::deserialize(copy, nullptr);
    if (!r.has_value()) {
      ASSERT_EQ(r.status().code(), ErrorCode::kCorruptPlan) << owner->path;
      continue;
    }
    ASSERT_NE(owner->path.find("tactics"), std::string::npos) << "flip in " << owner->path << " was accepted";
    ASSERT_EQ(*plan::serialize(*r), copy);
  }
}

TEST(PlanProfiles, OldVersionIsNamed) {
  auto bytes = *plan::serialize(two_profile_plan());
  store_le(bytes, 8, 2, 4);
  expect_error(bytes, ErrorCode::kVersionMismatch, "format version 2");
}

// ---------------------------------------------------------------- builder

net::Network batch_chain() {
  Network net;
  net.add_symbol("s0", {1, 100});
  int x = net.add_input("x", TensorType{DType::kFloat32, {S("s0"), 10}});
  int r = add(net, net::UnaryParams{net::UnaryOp::kRelu}, {x}, "relu");
  int n = add(net, net::UnaryParams{net::UnaryOp::kNeg}, {r}, "neg");
  net.mark_output(n, "y");
  return net;
}

TEST(BuildProfiles, SymbolRangesBecomeTheHullAndMemoryItsMax) {
  build::BuildSettings bs;
  bs.profiles = {{{"s0", {1, 2, 4}}}, {{"s0", {8, 16, 32}}}};
  auto p = build::build_plan(batch_chain(), bs);
  ASSERT_TRUE(p.has_value()) << p.status().message();
  EXPECT_EQ(p->network.symbol_range("s0"), (ir::SymRange{1, 32}));
  ASSERT_EQ(p->profiles.size(), 2u);
  EXPECT_EQ(p->profiles[1].ranges.at("s0"), (plan::ProfileRange{8, 16, 32}));
  EXPECT_EQ(p->profiles[0].tactics.size(), p->network.layers().size());
  // The one activation (relu's output) holds 32 x 10 floats, not 100 x 10.
  EXPECT_EQ(p->memory.arena_bytes, (32u * 10 * 4 + 255) / 256 * 256);
  EXPECT_TRUE(plan::verify(*p).is_ok());
}

TEST(BuildProfiles, ProfilesAreCheckedAgainstTheModel) {
  build::BuildSettings bs;
  bs.profiles = {{{"s0", {200, 300, 400}}}};
  auto p = build::build_plan(batch_chain(), bs);
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.status().message().find("range [200, 400] does not meet the range [1, 100]"), std::string::npos)
      << p.status().message();
  bs.profiles = {{{"s0", {4, 2, 8}}}};
  p = build::build_plan(batch_chain(), bs);
  ASSERT_FALSE(p.has_value());
  EXPECT_NE(p.status().message().find("min 4, opt 2, max 8"), std::string::npos) << p.status().message();
  // A profile wider than the model's range is clipped to it.
  bs.profiles = {{{"s0", {1, 50, 500}}}};
  p = build::build_plan(batch_chain(), bs);
  ASSERT_TRUE(p.has_value()) << p.status().message();
  EXPECT_EQ(p->profiles[0].ranges.at("s0"), (plan::ProfileRange{1, 50, 100}));
}

// ---------------------------------------------------------------- runtime selection

class ProfileSelection : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = runtime::Engine::from_plan(two_profile_plan());
    ASSERT_TRUE(e.has_value()) << e.status().message();
    engine_ = *e;
    ctx_ = engine_->create_context();
  }
  Status shape(int64_t batch, int profile = -1) { return ctx_->set_input_shapes({{batch, 3, 4, 4}}, profile); }

  std::shared_ptr<const runtime::Engine> engine_;
  std::unique_ptr<runtime::ExecutionContext> ctx_;
};

TEST_F(ProfileSelection, PicksTheFirstProfileThatFits) {
  for (int64_t b : {1, 2, 3}) {
    ASSERT_TRUE(shape(b).is_ok());
    EXPECT_EQ(ctx_->active_profile(), 0) << b;
    EXPECT_EQ(ctx_->bound_shapes().tactic(engine_->plan(), 0), "fwd=1,math=0");
  }
  for (int64_t b : {5, 17, 64}) {
    ASSERT_TRUE(shape(b).is_ok());
    EXPECT_EQ(ctx_->active_profile(), 1) << b;
    EXPECT_EQ(ctx_->bound_shapes().tactic(engine_->plan(), 0), "fwd=6,math=1");
  }
  // The same shape again keeps its profile; the shapes' key differs per profile.
  ASSERT_TRUE(shape(2).is_ok());
  uint64_t key = ctx_->bound_shapes().key;
  EXPECT_EQ(ctx_->active_profile(), 0);
  ASSERT_TRUE(shape(2).is_ok());
  EXPECT_EQ(ctx_->bound_shapes().key, key);
}

TEST_F(ProfileSelection, GapsAndOutOfRangeAreNamed) {
  Status gap = shape(4);
  ASSERT_FALSE(gap.is_ok());
  EXPECT_EQ(gap.code(), ErrorCode::kShapeMismatch);
  EXPECT_NE(gap.message().find("input 'x' (#0) dim 0 is 4, which no optimization profile covers"), std::string::npos)
      << gap.message();
  EXPECT_NE(gap.message().find("[1, 3] (profile 0), [5, 64] (profile 1)"), std::string::npos) << gap.message();
  Status high = shape(65);
  ASSERT_FALSE(high.is_ok());
  EXPECT_NE(high.message().find("input 'x' (#0) dim 0 is 65, outside the range [1, 64]"), std::string::npos)
      << high.message();
  Status zero = shape(0);
  ASSERT_FALSE(zero.is_ok());
  EXPECT_NE(zero.message().find("dim 0 is 0, outside the range [1, 64]"), std::string::npos) << zero.message();
}

TEST_F(ProfileSelection, ForcedProfileMustContainTheShape) {
  ASSERT_TRUE(shape(16, 1).is_ok());
  EXPECT_EQ(ctx_->active_profile(), 1);
  Status s = shape(2, 1);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("outside profile 1"), std::string::npos) << s.message();
  EXPECT_FALSE(shape(2, 7).is_ok());
}

TEST_F(ProfileSelection, RunsInEveryProfile) {
  // The CPU backend ignores tactics but runs under whichever profile was selected.
  for (int64_t b : {1, 3, 5, 64}) {
    std::vector<float> x(static_cast<size_t>(b) * 48, 0.5f), y(static_cast<size_t>(b) * 5);
    Status s = ctx_->run({{x.data(), DType::kFloat32, {b, 3, 4, 4}}}, {{y.data(), DType::kFloat32, {b, 5}}});
    ASSERT_TRUE(s.is_ok()) << s.message();
    float sum = 0;
    for (size_t i = 0; i < 5; ++i) sum += y[i];
    EXPECT_NEAR(sum, 1.0f, 1e-5) << b;  // softmax rows
  }
}

}  // namespace
}  // namespace plan_test

namespace plan_test {
namespace {

TEST(PublicApiProfiles, ContextSaysWhichProfileRan) {
  auto bytes = plan::serialize(two_profile_plan());
  ASSERT_TRUE(bytes.has_value()) << bytes.status().message();
  ingot::Engine engine = ingot::Engine::from_bytes(bytes->data(), bytes->size());
  ingot::Context ctx = engine.create_context();
  ctx.set_input_shapes({{2, 3, 4, 4}});
  EXPECT_EQ(ctx.active_profile(), 0);
  ctx.set_input_shapes({{40, 3, 4, 4}});
  EXPECT_EQ(ctx.active_profile(), 1);
  EXPECT_THROW(ctx.set_input_shapes({{4, 3, 4, 4}}), ingot::Error);  // the gap between the two
}

}  // namespace
}  // namespace plan_test
