#include "runtime/gemm_search.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ingot::runtime {
namespace {

LtConfig seed(int32_t algo, uint32_t tile, uint32_t stages) {
  LtConfig c;
  c.algo = algo;
  c.tile = tile;
  c.stages = stages;
  return c;
}

TEST(GemmSearch, SplitCountsLeaveAtLeast64OfKToEachSplit) {
  EXPECT_EQ(splitk_counts(768), (std::vector<int32_t>{1, 2, 3, 4, 6, 8, 12}));
  EXPECT_EQ(splitk_counts(3072), (std::vector<int32_t>{1, 2, 3, 4, 6, 8, 12, 16}));
  EXPECT_EQ(splitk_counts(100), (std::vector<int32_t>{1}));
  EXPECT_EQ(splitk_counts(0), (std::vector<int32_t>{1}));
}

TEST(GemmSearch, SplitVariantsComeFirstWithEachSupportedReductionScheme) {
  LtCaps caps;
  caps.splitk = true;
  caps.reduction_mask = 1 | 4;  // in place and output type, not compute type
  auto v = gemm_variants({seed(7, 20, 3)}, [&](size_t) { return caps; }, 256, 1000);
  // k = 256: splits 1 (the seed itself, skipped), 2, 3, 4; two schemes each.
  ASSERT_EQ(v.size(), 6u);
  for (const auto& x : v) {
    EXPECT_EQ(x.seed, 0u);
    EXPECT_EQ(x.config.algo, 7);
    EXPECT_EQ(x.config.tile, 20u);
    EXPECT_EQ(x.config.stages, 3u);
    EXPECT_TRUE(x.config.reduction == 1 || x.config.reduction == 4);
  }
  EXPECT_EQ(v[0].config.splitk, 2);
  EXPECT_EQ(v[5].config.splitk, 4);
}

TEST(GemmSearch, ASplitSeedGetsItsUnsplitVariantAndNoSchemeOnIt) {
  LtCaps caps;
  caps.splitk = true;
  caps.reduction_mask = 2;
  LtConfig s = seed(1, 5, 2);
  s.splitk = 4;
  s.reduction = 2;
  auto v = gemm_variants({s}, [&](size_t) { return caps; }, 256, 1000);
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].config.splitk, 1);
  EXPECT_EQ(v[0].config.reduction, 0u);
  EXPECT_TRUE(std::none_of(v.begin(), v.end(), [&](const LtVariant& x) { return x.config == s; }));
}

TEST(GemmSearch, TilesWithTheSeedsStagesBeforeEveryPair) {
  LtCaps caps;
  caps.tiles = {10, 20, 30};
  caps.stages = {1, 2};
  auto v = gemm_variants({seed(3, 20, 2)}, [&](size_t) { return caps; }, 768, 1000);
  // No split-K support: tile 10 and 30 with stages 2, then the pairs not yet listed.
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0].config, seed(3, 10, 2));
  EXPECT_EQ(v[1].config, seed(3, 30, 2));
  EXPECT_EQ(v[2].config, seed(3, 10, 1));
  EXPECT_EQ(v[3].config, seed(3, 20, 1));
  EXPECT_EQ(v[4].config, seed(3, 30, 1));
}

TEST(GemmSearch, NoDuplicatesAcrossSeedsAndNoneEqualToASeed) {
  LtCaps caps;
  caps.tiles = {10, 20};
  caps.splitk = true;
  caps.reduction_mask = 7;
  // The second seed is the first's tile variant; variants of both overlap.
  auto v = gemm_variants({seed(3, 10, 0), seed(3, 20, 0)}, [&](size_t) { return caps; }, 768, 1000);
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_NE(v[i].config, seed(3, 10, 0));
    EXPECT_NE(v[i].config, seed(3, 20, 0));
    for (size_t j = i + 1; j < v.size(); ++j) EXPECT_NE(v[i].config, v[j].config);
  }
  // 6 split counts > 1 for k = 768 x 3 schemes, for each of the two tiles.
  EXPECT_EQ(v.size(), 2u * 6u * 3u);
}

TEST(GemmSearch, UnknownCapsAndTheLimit) {
  LtCaps caps;
  caps.tiles = {1, 2, 3, 4};
  auto v = gemm_variants({seed(1, 1, 0), seed(2, 1, 0)},
                         [&](size_t i) -> std::optional<LtCaps> {
                           if (i == 0) return std::nullopt;
                           return caps;
                         },
                         768, 2);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].seed, 1u);
  EXPECT_EQ(v[0].config, seed(2, 2, 0));
  EXPECT_EQ(v[1].config, seed(2, 3, 0));
  EXPECT_TRUE(gemm_variants({}, [&](size_t) { return caps; }, 768, 10).empty());
  EXPECT_TRUE(gemm_variants({seed(2, 1, 0)}, [&](size_t) { return caps; }, 768, 0).empty());
}

}  // namespace
}  // namespace ingot::runtime
