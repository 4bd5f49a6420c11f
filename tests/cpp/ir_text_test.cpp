#include <gtest/gtest.h>

#include "ir/graph.h"

using namespace ingot::ir;

namespace {

const char* kGraph = R"(graph {
  symbol s0 : [1, 64]
  input %x : f32[s0, 3, 8, 8]
  constant %w : f32[4, 3, 1, 1] = [0.5, 1.0, -2.0, 3.0, 0.25, 0.125, 1.5, 2.5, -1.0, 4.0, 8.0, 16.0]
  constant %idx : i64[2] = [3, -9007199254740993]
  %conv : f32[s0, 4, 8, 8] = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %r : f32[s0, 4, 8, 8] = aten::relu(%conv)
  %v : f32[s0, 256] = aten::view(%r, [s0, -1])
  %m : f32[s0, 4, 8, 8], %i : i64[s0, 4, 8, 8] = aten::max_pool2d_with_indices(%r, [3, 3], [1, 1], [1, 1], [1, 1], False)
  %c : f32[2*s0, 4, 8, 8] = aten::cat([%m, %r], 0)
  %t : f16[s0, 256] = aten::_to_copy(%v, torch.float16, torch.strided, device("cpu"), None, False, torch.preserve_format)
  %e : f32[s0, 4, 8, 8] = aten::mul.Scalar(%r, 1e-05)
  %l : f32[(s0 - 1) // 2 + 1, 4, 8, 8] = aten::slice.Tensor(%r, 0, 0, s0, 2)
  %idx2 : f32[s0, 4, 8, 8] = aten::index.Tensor(%r, [None, %idx])
  output %c, %t, %e, %l
}
)";

TEST(IrText, RoundTripsExactly) {
  auto g = parse_graph(kGraph);
  ASSERT_TRUE(g.has_value()) << g.status().message();
  std::string printed = (*g)->str();
  auto again = parse_graph(printed);
  ASSERT_TRUE(again.has_value()) << again.status().message() << "\n" << printed;
  EXPECT_EQ((*again)->str(), printed);
  // The int64 constant survives beyond double precision.
  EXPECT_EQ((*again)->find_value("idx")->constant().get_int(1), -9007199254740993LL);
}

TEST(IrText, StructureIsRead) {
  auto g = parse_graph(kGraph);
  ASSERT_TRUE(g.has_value()) << g.status().message();
  Graph& graph = **g;
  EXPECT_EQ(graph.inputs().size(), 1u);
  EXPECT_EQ(graph.nodes().size(), 9u);
  EXPECT_EQ(graph.symbol_range("s0").max, 64);
  Node* pool = graph.find_value("m")->producer();
  EXPECT_EQ(pool->op(), "aten::max_pool2d_with_indices");
  EXPECT_EQ(pool->outputs().size(), 2u);
  EXPECT_EQ(graph.find_value("r")->uses().size(), 6u);
  EXPECT_EQ(graph.find_value("t")->producer()->arg(1).dtype(), DType::kFloat16);
  EXPECT_EQ(graph.find_value("e")->producer()->arg(1).floating(), 1e-05);
  EXPECT_TRUE(graph.verify().is_ok());
}

TEST(IrText, ErrorsNameTheLine) {
  struct Case { const char* text; const char* expect; };
  Case cases[] = {
      {"graph {\n  %y : f32[2] = aten::relu(%x)\n}", "line 2"},
      {"graph {\n  input %x : q9[2]\n}", "unknown dtype"},
      {"graph {\n  input %x : f32[s0]\n}", "undeclared symbol"},
      {"graph {\n  input %x : f32[2]\n  input %x : f32[2]\n}", "defined twice"},
      {"graph {\n  constant %w : f32[2] = [1.0]\n}", "has 1 values"},
      {"graph {\n  constant %w : f32[2] = external\n}", "no data"},
      {"graph {\n  input %x : f32[2]\n", "missing '}'"},
  };
  for (const auto& c : cases) {
    auto g = parse_graph(c.text);
    ASSERT_FALSE(g.has_value()) << c.text;
    EXPECT_NE(g.status().message().find(c.expect), std::string::npos) << g.status().message();
  }
}

TEST(IrGraph, EditingKeepsUsesConsistent) {
  auto g = parse_graph(kGraph);
  ASSERT_TRUE(g.has_value());
  Graph& graph = **g;
  Value* r = graph.find_value("r");
  Value* conv = graph.find_value("conv");
  graph.replace_all_uses(r, conv);
  EXPECT_FALSE(r->has_uses());
  graph.erase_node(r->producer());
  EXPECT_TRUE(graph.verify().is_ok()) << graph.verify().message();
  EXPECT_EQ(graph.find_value("c")->producer()->arg(0).tensors()[1], conv);
}

TEST(IrGraph, ErasedNodeHasNoGraph) {
  auto g = parse_graph(kGraph);
  ASSERT_TRUE(g.has_value());
  Graph& graph = **g;
  Node* idx2 = graph.find_value("idx2")->producer();
  EXPECT_EQ(idx2->graph(), &graph);
  graph.erase_node(idx2);
  EXPECT_EQ(idx2->graph(), nullptr);
  EXPECT_TRUE(graph.verify().is_ok()) << graph.verify().message();
}

}  // namespace
