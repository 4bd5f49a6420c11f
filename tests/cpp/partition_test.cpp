#include <gtest/gtest.h>

#include "convert/registry.h"
#include "ir/graph.h"
#include "partition/partition.h"

using namespace ingot;

namespace {

std::unique_ptr<ir::Graph> parse(const char* text) {
  auto g = ir::parse_graph(text);
  EXPECT_TRUE(g.has_value()) << g.status().message();
  return std::move(*g);
}

std::vector<std::string> names(const partition::Segment& s) {
  std::vector<std::string> out;
  for (const ir::Node* n : s.nodes) out.push_back(n->name());
  return out;
}

// relu, relu | erfinv (no converter) | sigmoid, tanh, neg
const char* kChain = R"(graph {
  input %x : f32[3, 4]
  %a : f32[3, 4] = aten::relu(%x)
  %b : f32[3, 4] = aten::relu(%a)
  %c : f32[3, 4] = aten::erfinv(%b)
  %d : f32[3, 4] = aten::sigmoid(%c)
  %e : f32[3, 4] = aten::tanh(%d)
  %f : f32[3, 4] = aten::neg(%e)
  output %f
})";

partition::Partition run(const ir::Graph& g, partition::Settings s) {
  auto support = partition::compute_support(g, s, convert::Settings{});
  auto p = partition::partition_graph(g, support, s);
  EXPECT_TRUE(p.has_value()) << p.status().message();
  return std::move(*p);
}

TEST(Partition, AlternatesEngineAndTorchSegments) {
  auto g = parse(kChain);
  partition::Settings s;
  s.min_block_size = 1;
  auto p = run(*g, s);
  ASSERT_EQ(p.segments.size(), 3u);
  EXPECT_EQ(p.segments[0].kind, partition::SegmentKind::kEngine);
  EXPECT_EQ(names(p.segments[0]), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.segments[1].kind, partition::SegmentKind::kTorch);
  EXPECT_EQ(names(p.segments[2]), (std::vector<std::string>{"d", "e", "f"}));
  // Boundaries: the first engine exports %b, the torch block reads it and exports %c.
  ASSERT_EQ(p.segments[0].outputs.size(), 1u);
  EXPECT_EQ(p.segments[0].outputs[0]->name(), "b");
  EXPECT_EQ(p.segments[1].inputs[0]->name(), "b");
  EXPECT_EQ(p.segments[2].outputs[0]->name(), "f");
  ASSERT_EQ(p.torch_reasons.size(), 1u);
  EXPECT_NE(p.torch_reasons[0].why.find("no converter for aten::erfinv"), std::string::npos);
  EXPECT_EQ(p.torch_reasons[0].kind, partition::FallbackKind::kNoConverter);
}

TEST(Partition, MinBlockSizeDemotesSmallBlocks) {
  auto g = parse(kChain);
  partition::Settings s;
  s.min_block_size = 3;
  auto p = run(*g, s);
  ASSERT_EQ(p.segments.size(), 2u);
  EXPECT_EQ(p.segments[0].kind, partition::SegmentKind::kTorch);
  EXPECT_EQ(names(p.segments[0]), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(names(p.segments[1]), (std::vector<std::string>{"d", "e", "f"}));
  bool found = false;
  for (const auto& r : p.torch_reasons) {
    if (r.why.find("below min_block_size=3") == std::string::npos) continue;
    found = true;
    EXPECT_EQ(r.kind, partition::FallbackKind::kBelowMinBlockSize);
  }
  EXPECT_TRUE(found);
}

TEST(Partition, TorchExecutedOpsMatchOverloadsAndBaseNames) {
  auto g = parse(kChain);
  partition::Settings s;
  s.min_block_size = 1;
  s.torch_executed_ops = {"aten::tanh"};
  auto p = run(*g, s);
  ASSERT_EQ(p.segments.size(), 5u);
  EXPECT_EQ(names(p.segments[3]), (std::vector<std::string>{"e"}));
  bool listed = false;
  for (const auto& r : p.torch_reasons) {
    if (r.node->name() != "e") continue;
    listed = true;
    EXPECT_EQ(r.kind, partition::FallbackKind::kTorchExecutedOps);
    EXPECT_STREQ(partition::fallback_kind_name(r.kind), "torch_executed_ops");
  }
  EXPECT_TRUE(listed);
  EXPECT_TRUE(partition::op_matches("aten::add.Tensor", {"aten::add"}));
  EXPECT_TRUE(partition::op_matches("aten::add.Tensor", {"aten::add.Tensor"}));
  EXPECT_FALSE(partition::op_matches("aten::add.Tensor", {"aten::add.Scalar"}));
  EXPECT_TRUE(partition::op_matches("aten::relu", {"aten::relu.default"}));
}

TEST(Partition, RequireFullCompilationListsEveryUnsupportedOp) {
  auto g = parse(R"(graph {
    input %x : f32[4]
    %a : f32[4] = aten::erfinv(%x)
    %b : f32[4] = aten::relu(%a)
    %c : f32[4] = aten::lgamma(%b)
    output %c
  })");
  partition::Settings s;
  s.require_full_compilation = true;
  auto support = partition::compute_support(*g, s, convert::Settings{});
  auto p = partition::partition_graph(*g, support, s);
  ASSERT_FALSE(p.has_value());
  const std::string& m = p.status().message();
  EXPECT_NE(m.find("2 op(s)"), std::string::npos) << m;
  EXPECT_NE(m.find("aten::erfinv (node %a)"), std::string::npos) << m;
  EXPECT_NE(m.find("aten::lgamma (node %c)"), std::string::npos) << m;
}

TEST(Partition, IndependentBranchesNeverFormACycle) {
  // %b (torch) depends on %a; %d reads %b and %c. Engine nodes %a, %c run before %b; %d after.
  auto g = parse(R"(graph {
    input %x : f32[4]
    %a : f32[4] = aten::relu(%x)
    %b : f32[4] = aten::erfinv(%a)
    %c : f32[4] = aten::sigmoid(%a)
    %d : f32[4] = aten::add.Tensor(%b, %c, 1)
    output %d
  })");
  partition::Settings s;
  s.min_block_size = 1;
  auto p = run(*g, s);
  ASSERT_EQ(p.segments.size(), 3u);
  EXPECT_EQ(names(p.segments[0]), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(names(p.segments[1]), (std::vector<std::string>{"b"}));
  EXPECT_EQ(names(p.segments[2]), (std::vector<std::string>{"d"}));
  EXPECT_EQ(p.segments[0].outputs.size(), 2u);  // %a for erfinv, %c for the add
}

TEST(Partition, UnsupportedArgumentsAndDtypesHaveReasons) {
  auto g = parse(R"(graph {
    input %x : f64[4]
    input %y : f32[2, 3, 8]
    %a : f64[4] = aten::relu(%x)
    %b : f32[2, 3, 8] = aten::scaled_dot_product_attention(%y, %y, %y, None, 0.5, False, None, False)
    %c : i64[4] = aten::_to_copy(%x, torch.int64, None, device("cuda:0"), None, False, None)
    output %a, %b, %c
  })");
  partition::Settings s;
  s.min_block_size = 1;
  auto support = partition::compute_support(*g, s, convert::Settings{});
  ASSERT_EQ(support.unsupported.size(), 3u);
  for (const auto& [n, why] : support.unsupported) {
    if (n->name() == "a") EXPECT_NE(why.find("dtype f64"), std::string::npos) << why;
    if (n->name() == "b") EXPECT_NE(why.find("dropout_p=0.5"), std::string::npos) << why;
  }
}

TEST(PartitionReport, NumbersOnAKnownGraph) {
  auto g = parse(kChain);
  partition::Settings s;
  s.min_block_size = 2;
  auto support = partition::compute_support(*g, s, convert::Settings{});
  auto p = partition::partition_graph(*g, support, s);
  ASSERT_TRUE(p.has_value());
  partition::Report r = partition::make_report(*g, *p, support, s);
  EXPECT_EQ(r.num_ops, 6u);
  EXPECT_EQ(r.num_engines, 2u);
  EXPECT_EQ(r.ops_in_engines, 5u);
  EXPECT_EQ(r.ops_per_engine, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(r.max_ops_per_engine, 3u);
  EXPECT_EQ(r.min_ops_per_engine, 2u);
  EXPECT_DOUBLE_EQ(r.avg_ops_per_engine, 2.5);
  // Candidates: 1, each block size + 1 (3, 4), and the current setting (2).
  ASSERT_EQ(r.options.size(), 4u);
  EXPECT_EQ(r.options[0].min_block_size, 1);
  EXPECT_EQ(r.options[0].engines, 2u);
  EXPECT_EQ(r.options[1].min_block_size, 2);
  EXPECT_EQ(r.options[1].engines, 2u);
  EXPECT_EQ(r.options[2].min_block_size, 3);
  EXPECT_EQ(r.options[2].engines, 1u);
  EXPECT_EQ(r.options[2].ops_in_engines, 3u);
  EXPECT_EQ(r.options[3].min_block_size, 4);
  EXPECT_EQ(r.options[3].engines, 0u);
  EXPECT_EQ(r.fewest_engines.min_block_size, 3);
  EXPECT_NE(r.text.find("recommendation: min_block_size=3"), std::string::npos) << r.text;
}

}  // namespace
