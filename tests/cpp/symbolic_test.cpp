#include <gtest/gtest.h>

#include "ir/symbolic.h"

using ingot::ir::parse_sym_expr;
using ingot::ir::SymExpr;
using ingot::ir::SymRange;

namespace {

SymExpr P(const char* text) {
  auto e = parse_sym_expr(text);
  EXPECT_TRUE(e.has_value()) << e.status().message();
  return e.has_value() ? *e : SymExpr();
}

TEST(SymExpr, ConstantsFold) {
  EXPECT_EQ(P("2*3 + 4").constant_value(), 10);
  EXPECT_EQ(P("7 // 2").constant_value(), 3);
  EXPECT_EQ(P("-7 // 2").constant_value(), -4);  // floor, as in Python
  EXPECT_EQ(P("-7 % 3").constant_value(), 2);
  EXPECT_EQ(P("max(3, 9) - min(3, 9)").constant_value(), 6);
}

TEST(SymExpr, PolynomialCanonicalForm) {
  EXPECT_EQ(P("s0 + s1"), P("s1 + s0"));
  EXPECT_EQ(P("2*(s0 + 1)"), P("2*s0 + 2"));
  EXPECT_EQ(P("s0*s1 - s1*s0"), SymExpr(0));
  EXPECT_EQ(P("(s0 + 1)*(s0 - 1)"), P("s0*s0 - 1"));
  EXPECT_NE(P("s0"), P("s1"));
}

TEST(SymExpr, DivisionSimplifies) {
  EXPECT_EQ(P("(4*s0 + 8) // 4"), P("s0 + 2"));
  EXPECT_EQ(P("(4*s0 + 9) // 4"), P("s0 + 2"));        // floor(9/4) == 2
  EXPECT_EQ(P("(s0*s1*3) // (s1*3)"), P("s0"));
  EXPECT_EQ(P("(2*s0 + 2) // (s0 + 1)"), SymExpr(2));
  EXPECT_EQ(P("(4*s0 + 9) % 4"), SymExpr(1));
  EXPECT_FALSE(P("(s0 - 1) // 2").is_constant());
  EXPECT_EQ(P("(2*s0 + s1) // 2"), P("s0 + s1 // 2"));
}

TEST(SymExpr, PrintParseRoundTrip) {
  const char* cases[] = {"s0", "3*s0 + 1", "(s0 - 1) // 2 + 1", "max(s0, 4)", "s0*s1 % 8",
                         "-s0 + 5", "2*(s0 // 3)", "-(s0 // 3) + s1", "min(s0 + 1, 2*s1) * s2",
                         "((s0 + 2*3 - 7) // 2 + 1) * 64", "s0 // (s1 + 1)", "-3*s0*s1 - 12"};
  for (const char* c : cases) {
    SymExpr e = P(c);
    SymExpr again = P(e.str().c_str());
    EXPECT_EQ(e, again) << c << " printed as " << e.str();
  }
}

TEST(SymExpr, Evaluate) {
  SymExpr e = P("(s0 + 2*3 - 7) // 2 + 1");
  EXPECT_EQ(*e.evaluate({{"s0", 224}}), 112);
  auto missing = P("s0 + s1").evaluate({{"s0", 1}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.status().message().find("s1"), std::string::npos);
  EXPECT_FALSE(P("4 // s0").evaluate({{"s0", 0}}).has_value());
}

TEST(SymExpr, Bounds) {
  auto ranges = [](const std::string& n) { return n == "s0" ? SymRange{1, 64} : SymRange{2, 10}; };
  SymRange r = P("s0*3*224*224").bounds(ranges);
  EXPECT_EQ(r.min, 3 * 224 * 224);
  EXPECT_EQ(r.max, 64 * 3 * 224 * 224);
  SymRange d = P("(s0 - 1) // 2 + 1").bounds(ranges);
  EXPECT_EQ(d.min, 1);
  EXPECT_EQ(d.max, 32);
  EXPECT_EQ(P("s0 % 8").bounds(ranges).max, 7);
  EXPECT_EQ(P("s0*s1").bounds([](const std::string&) { return SymRange{1, SymRange::kInf}; }).max,
            SymRange::kInf);
}

TEST(SymExpr, Substitute) {
  SymExpr e = P("s0*s1 + s0 // 2");
  EXPECT_EQ(e.substitute({{"s0", SymExpr(8)}}), P("8*s1 + 4"));
  EXPECT_EQ(e.symbols(), (std::vector<std::string>{"s0", "s1"}));
}

TEST(SymExpr, ParseErrorsNamePosition) {
  for (const char* bad : {"", "s0 +", "(s0", "3 $ 4", "max(s0)", "99999999999999999999"}) {
    auto e = parse_sym_expr(bad);
    EXPECT_FALSE(e.has_value()) << bad;
    if (!e) EXPECT_NE(e.status().message().find("offset"), std::string::npos);
  }
}

}  // namespace

namespace {
TEST(SymExpr, ExtremeDivisionsDoNotTrap) {
  EXPECT_EQ(P("9223372036854775807 % 7").constant_value(), 9223372036854775807LL % 7);
  auto e = P("s0 // s1");
  EXPECT_EQ(*e.evaluate({{"s0", INT64_MIN}, {"s1", -1}}), INT64_MAX);
  EXPECT_EQ(*P("s0 % s1").evaluate({{"s0", INT64_MIN}, {"s1", -1}}), 0);
  EXPECT_EQ(*P("s0 % s1").evaluate({{"s0", -7}, {"s1", 3}}), 2);
  EXPECT_EQ(*P("s0 % s1").evaluate({{"s0", 7}, {"s1", -3}}), -2);
}
}  // namespace
