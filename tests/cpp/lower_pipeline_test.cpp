#include "lower_test_util.h"

namespace ingot::lower {
namespace {

using testing::count_ops;
using testing::parse_ir;

// nn.TransformerEncoderLayer(64, 4, 128, batch_first=True).eval() exported by torch.export with
// dynamic batch and sequence dims and run_decompositions(), written as IR (weights external).
const char* kEncoderLayer = R"(graph {
  symbol s28 : [2, 64]
  symbol s98 : [2, 128]
  constant %p_attn_in_proj_weight : f32[192, 64] = external
  constant %p_attn_in_proj_bias : f32[192] = external
  constant %p_attn_out_proj_weight : f32[64, 64] = external
  constant %p_attn_out_proj_bias : f32[64] = external
  constant %p_linear1_weight : f32[128, 64] = external
  constant %p_linear1_bias : f32[128] = external
  constant %p_linear2_weight : f32[64, 128] = external
  constant %p_linear2_bias : f32[64] = external
  constant %p_norm1_weight : f32[64] = external
  constant %p_norm1_bias : f32[64] = external
  constant %p_norm2_weight : f32[64] = external
  constant %p_norm2_bias : f32[64] = external
  input %src : f32[s28, s98, 64]
  %permute : f32[s98, s28, 64] = aten::permute(%src, [1, 0, 2])
  %permute_1 : f32[64, 192] = aten::permute(%p_attn_in_proj_weight, [1, 0])
  %expand : f32[s98, s28, 64] = aten::expand(%permute, [s98, s28, 64], False)
  %view : f32[s98, s28, 64] = aten::view(%expand, [s98, s28, 64])
  %expand_1 : f32[s98, 64, 192] = aten::expand(%permute_1, [s98, 64, 192], False)
  %view_1 : f32[s98, 64, 192] = aten::view(%expand_1, [s98, 64, 192])
  %bmm : f32[s98, s28, 192] = aten::bmm(%view, %view_1)
  %view_2 : f32[s98, s28, 192] = aten::view(%bmm, [s98, s28, 192])
  %add_20 : f32[s98, s28, 192] = aten::add.Tensor(%view_2, %p_attn_in_proj_bias, 1)
  %view_3 : f32[s98, s28, 3, 64] = aten::view(%add_20, [s98, s28, 3, 64])
  %unsqueeze : f32[1, s98, s28, 3, 64] = aten::unsqueeze(%view_3, 0)
  %permute_2 : f32[3, s98, s28, 1, 64] = aten::permute(%unsqueeze, [3, 1, 2, 0, 4])
  %squeeze : f32[3, s98, s28, 64] = aten::squeeze.dims(%permute_2, [-2])
  %clone : f32[3, s98, s28, 64] = aten::clone(%squeeze, torch.contiguous_format)
  %select : f32[s98, s28, 64] = aten::select.int(%clone, 0, 0)
  %select_1 : f32[s98, s28, 64] = aten::select.int(%clone, 0, 1)
  %select_2 : f32[s98, s28, 64] = aten::select.int(%clone, 0, 2)
  %view_4 : f32[s98, 4*s28, 16] = aten::view(%select, [s98, 4*s28, 16])
  %permute_3 : f32[4*s28, s98, 16] = aten::permute(%view_4, [1, 0, 2])
  %view_5 : f32[s98, 4*s28, 16] = aten::view(%select_1, [s98, 4*s28, 16])
  %permute_4 : f32[4*s28, s98, 16] = aten::permute(%view_5, [1, 0, 2])
  %view_6 : f32[s98, 4*s28, 16] = aten::view(%select_2, [s98, 4*s28, 16])
  %permute_5 : f32[4*s28, s98, 16] = aten::permute(%view_6, [1, 0, 2])
  %view_7 : f32[s28, 4, s98, 16] = aten::view(%permute_3, [s28, 4, s98, 16])
  %view_8 : f32[s28, 4, s98, 16] = aten::view(%permute_4, [s28, 4, s98, 16])
  %view_9 : f32[s28, 4, s98, 16] = aten::view(%permute_5, [s28, 4, s98, 16])
  %mul_102 : f32[s28, 4, s98, 16] = aten::mul.Scalar(%view_7, 0.5)
  %permute_6 : f32[s28, 4, 16, s98] = aten::permute(%view_8, [0, 1, 3, 2])
  %mul_103 : f32[s28, 4, 16, s98] = aten::mul.Scalar(%permute_6, 0.5)
  %expand_2 : f32[s28, 4, s98, 16] = aten::expand(%mul_102, [s28, 4, s98, 16], False)
  %view_10 : f32[4*s28, s98, 16] = aten::view(%expand_2, [4*s28, s98, 16])
  %expand_3 : f32[s28, 4, 16, s98] = aten::expand(%mul_103, [s28, 4, 16, s98], False)
  %view_11 : f32[4*s28, 16, s98] = aten::view(%expand_3, [4*s28, 16, s98])
  %bmm_1 : f32[4*s28, s98, s98] = aten::bmm(%view_10, %view_11)
  %view_12 : f32[s28, 4, s98, s98] = aten::view(%bmm_1, [s28, 4, s98, s98])
  %_softmax : f32[s28, 4, s98, s98] = aten::_softmax(%view_12, -1, False)
  %eq_134 : bool[s28, 4, s98, s98] = aten::eq.Scalar(%view_12, -inf)
  %logical_not : bool[s28, 4, s98, s98] = aten::logical_not(%eq_134)
  %any_1 : bool[s28, 4, s98, 1] = aten::any.dim(%logical_not, -1, True)
  %logical_not_1 : bool[s28, 4, s98, 1] = aten::logical_not(%any_1)
  %full_like : f32[s28, 4, s98, s98] = aten::full_like(%_softmax, 0, None, None, None, False, torch.preserve_format)
  %where : f32[s28, 4, s98, s98] = aten::where.self(%logical_not_1, %full_like, %_softmax)
  %expand_4 : f32[s28, 4, s98, s98] = aten::expand(%where, [s28, 4, s98, s98], False)
  %view_13 : f32[4*s28, s98, s98] = aten::view(%expand_4, [4*s28, s98, s98])
  %expand_5 : f32[s28, 4, s98, 16] = aten::expand(%view_9, [s28, 4, s98, 16], False)
  %view_14 : f32[4*s28, s98, 16] = aten::view(%expand_5, [4*s28, s98, 16])
  %bmm_2 : f32[4*s28, s98, 16] = aten::bmm(%view_13, %view_14)
  %view_15 : f32[s28, 4, s98, 16] = aten::view(%bmm_2, [s28, 4, s98, 16])
  %permute_7 : f32[s98, s28, 4, 16] = aten::permute(%view_15, [2, 0, 1, 3])
  %clone_1 : f32[s98, s28, 4, 16] = aten::clone(%permute_7, torch.contiguous_format)
  %permute_8 : f32[s28, 4, s98, 16] = aten::permute(%clone_1, [1, 2, 0, 3])
  %permute_9 : f32[s98, s28, 4, 16] = aten::permute(%permute_8, [2, 0, 1, 3])
  %view_16 : f32[s28*s98, 64] = aten::view(%permute_9, [s28*s98, 64])
  %permute_10 : f32[64, 64] = aten::permute(%p_attn_out_proj_weight, [1, 0])
  %addmm : f32[s28*s98, 64] = aten::addmm(%p_attn_out_proj_bias, %view_16, %permute_10, 1, 1)
  %view_17 : f32[s98, s28, 64] = aten::view(%addmm, [s98, s28, 64])
  %permute_11 : f32[s28, s98, 64] = aten::permute(%view_17, [1, 0, 2])
  %clone_2 : f32[s28, s98, 64] = aten::clone(%permute_11, None)
  %add_133 : f32[s28, s98, 64] = aten::add.Tensor(%src, %clone_2, 1)
  %native_layer_norm : f32[s28, s98, 64], %native_layer_norm_out1 : f32[s28, s98, 1], %native_layer_norm_out2 : f32[s28, s98, 1] = aten::native_layer_norm(%add_133, [64], %p_norm1_weight, %p_norm1_bias, 1e-05)
  %view_18 : f32[s28*s98, 64] = aten::view(%native_layer_norm, [s28*s98, 64])
  %permute_12 : f32[64, 128] = aten::permute(%p_linear1_weight, [1, 0])
  %addmm_1 : f32[s28*s98, 128] = aten::addmm(%p_linear1_bias, %view_18, %permute_12, 1, 1)
  %view_19 : f32[s28, s98, 128] = aten::view(%addmm_1, [s28, s98, 128])
  %relu : f32[s28, s98, 128] = aten::relu(%view_19)
  %clone_3 : f32[s28, s98, 128] = aten::clone(%relu, None)
  %view_20 : f32[s28*s98, 128] = aten::view(%clone_3, [s28*s98, 128])
  %permute_13 : f32[128, 64] = aten::permute(%p_linear2_weight, [1, 0])
  %addmm_2 : f32[s28*s98, 64] = aten::addmm(%p_linear2_bias, %view_20, %permute_13, 1, 1)
  %view_21 : f32[s28, s98, 64] = aten::view(%addmm_2, [s28, s98, 64])
  %clone_4 : f32[s28, s98, 64] = aten::clone(%view_21, None)
  %add_182 : f32[s28, s98, 64] = aten::add.Tensor(%native_layer_norm, %clone_4, 1)
  %native_layer_norm_1 : f32[s28, s98, 64], %native_layer_norm_1_out1 : f32[s28, s98, 1], %native_layer_norm_1_out2 : f32[s28, s98, 1] = aten::native_layer_norm(%add_182, [64], %p_norm2_weight, %p_norm2_bias, 1e-05)
  output %native_layer_norm_1
}
)";

LowerOptions without_folding() {
  LowerOptions o;
  o.fold_constants = false;
  return o;
}

const ir::Node* linear_reading(const ir::Graph& g, const std::string& weight) {
  for (const ir::Node* n : g.nodes()) {
    if (n->op() == "aten::linear" && n->arg(1).tensor()->name() == weight) return n;
  }
  return nullptr;
}

TEST(Pipeline, TransformerEncoderLayerProjectionsBecomeLinear) {
  auto g = parse_ir(kEncoderLayer);
  Expected<std::vector<PassStats>> stats = run_pipeline(*g, without_folding());
  ASSERT_TRUE(stats.has_value()) << stats.status().message();
  ASSERT_TRUE(g->verify().is_ok());

  EXPECT_EQ(count_ops(*g, "aten::linear"), 4);
  EXPECT_EQ(count_ops(*g, "aten::addmm"), 0);
  EXPECT_EQ(count_ops(*g, "aten::mm"), 0);
  EXPECT_EQ(count_ops(*g, "aten::bmm"), 0);
  EXPECT_EQ(count_ops(*g, "aten::matmul"), 2);  // the two attention products
  EXPECT_EQ(count_ops(*g, "aten::expand"), 0);
  EXPECT_EQ(count_ops(*g, "aten::clone"), 0);

  // Every projection reads its weight untransposed, with its bias joined.
  const std::pair<const char*, const char*> projections[] = {
      {"p_attn_in_proj_weight", "p_attn_in_proj_bias"},
      {"p_attn_out_proj_weight", "p_attn_out_proj_bias"},
      {"p_linear1_weight", "p_linear1_bias"},
      {"p_linear2_weight", "p_linear2_bias"},
  };
  for (const auto& [weight, bias] : projections) {
    const ir::Node* linear = linear_reading(*g, weight);
    ASSERT_NE(linear, nullptr) << weight;
    ASSERT_TRUE(linear->arg(2).is_tensor()) << weight;
    EXPECT_EQ(linear->arg(2).tensor()->name(), bias);
    EXPECT_FALSE(linear->schema().empty());
  }
  // The input projection reads the (seq, batch, feature) permute of the input directly.
  const ir::Node* in_proj = linear_reading(*g, "p_attn_in_proj_weight");
  EXPECT_EQ(in_proj->arg(0).tensor()->producer()->op(), "aten::permute");
  EXPECT_EQ(in_proj->output(0)->type().str(), "f32[s98, s28, 192]");
  // The feed-forward linears work on the 3-D activations.
  EXPECT_EQ(linear_reading(*g, "p_linear1_weight")->output(0)->type().str(), "f32[s28, s98, 128]");

  ASSERT_EQ(stats->size(), 5u);
  const char* names[] = {"remove_noops", "canonicalize_linear", "fold_batch_norm", "eliminate_common_subexpressions",
                         "eliminate_dead_code"};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*stats)[i].name, names[i]);
  EXPECT_GT((*stats)[0].rewrites, 0);
  EXPECT_GT((*stats)[1].rewrites, 0);
}

TEST(Pipeline, ReachesAFixedPoint) {
  auto g = parse_ir(kEncoderLayer);
  ASSERT_TRUE(run_pipeline(*g, without_folding()).has_value());
  std::string once = g->str();
  Expected<std::vector<PassStats>> again = run_pipeline(*g, without_folding());
  ASSERT_TRUE(again.has_value());
  for (const PassStats& s : *again) EXPECT_EQ(s.rewrites, 0) << s.name;
  EXPECT_EQ(g->str(), once);
}

const char* kConvBnLinear = R"(graph {
  input %x : f32[2, 1, 2, 2]
  constant %w : f32[2, 1, 1, 1] = [1.0, 3.0]
  constant %gamma : f32[2] = [1.0, 0.5]
  constant %beta : f32[2] = [0.25, 1.0]
  constant %mean : f32[2] = [0.5, 1.0]
  constant %var : f32[2] = [4.0, 0.25]
  constant %fc_w : f32[3, 8] = external
  constant %fc_b : f32[3] = external
  %conv : f32[2, 2, 2, 2] = aten::convolution(%x, %w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %bn : f32[2, 2, 2, 2], %bn_mean : f32[0], %bn_rstd : f32[0] = aten::_native_batch_norm_legit_no_training(%conv, %gamma, %beta, %mean, %var, 0.1, 0.0)
  %relu : f32[2, 2, 2, 2] = aten::relu(%bn)
  %flat : f32[2, 8] = aten::view(%relu, [2, 8])
  %drop : f32[2, 8] = aten::dropout(%flat, 0.5, False)
  %t : f32[8, 3] = aten::permute(%fc_w, [1, 0])
  %fc : f32[2, 3] = aten::addmm(%fc_b, %drop, %t, 1, 1)
  output %fc
})";

TEST(Pipeline, ConvBatchNormClassifierWithFolding) {
  auto g = parse_ir(kConvBnLinear);
  LowerOptions options;
  int evaluated = 0;
  options.evaluator = [&](const ir::Node& n) -> Expected<std::vector<ir::ConstantData>> {
    ++evaluated;
    return unsupported("no kernels in this test");
  };
  Expected<std::vector<PassStats>> stats = run_pipeline(*g, options);
  ASSERT_TRUE(stats.has_value()) << stats.status().message();
  EXPECT_EQ(testing::canonical_text(*g), testing::canonical_text(*parse_ir(R"(graph {
  input %x : f32[2, 1, 2, 2]
  constant %fc_w : f32[3, 8] = external
  constant %fc_b : f32[3] = external
  constant %w_bn : f32[2, 1, 1, 1] = [0.5, 3.0]
  constant %b_bn : f32[2] = [0.0, 0.0]
  %conv : f32[2, 2, 2, 2] = aten::convolution(%x, %w_bn, %b_bn, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
  %relu : f32[2, 2, 2, 2] = aten::relu(%conv)
  %flat : f32[2, 8] = aten::view(%relu, [2, 8])
  %fc : f32[2, 3] = aten::linear(%flat, %fc_w, %fc_b)
  output %fc
})")));
  ASSERT_EQ(stats->size(), 7u);
  EXPECT_EQ((*stats)[4].name, "fold_constants");
  EXPECT_EQ((*stats)[4].rewrites, 0);
  EXPECT_EQ(evaluated, 0);  // permute(fc_w) became a linear weight before folding could see it
}

TEST(Pipeline, FoldingWithoutEvaluatorIsAnError) {
  auto g = parse_ir(kConvBnLinear);
  Expected<std::vector<PassStats>> stats = run_pipeline(*g, LowerOptions{});
  ASSERT_FALSE(stats.has_value());
  EXPECT_NE(stats.status().message().find("fold_constants"), std::string::npos) << stats.status().message();
}

}  // namespace
}  // namespace ingot::lower
