// Which cuBLASLt configurations a wide GEMM search times beyond the heuristic's own list.
//
// cuBLASLt's heuristic ranks whole configurations (algorithm, tile, stages, split-K, reduction
// scheme, ...) by a model of the GPU. For products with few rows (batch 1 transformers: 128-197
// rows) the ranking is a guess about a latency-bound kernel, and the heuristic's list holds few
// split-K or smaller-tile variants of its best algorithms. The wide search takes each of the
// heuristic's configurations as a seed and varies the knobs that trade parallelism for work per
// block: the number of K splits with each reduction scheme the algorithm supports, and the tile
// with each stage count. This file decides the variants; runtime/cuda applies them to copies of
// the seeds' algorithm descriptors, keeps those cuBLASLt accepts, and times them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace ingot::runtime {

// The configuration attributes of one cuBLASLt algorithm that the search varies (values as
// cuBLASLt numbers them: cublasLtMatmulTile_t, cublasLtMatmulStages_t,
// cublasLtReductionScheme_t).
struct LtConfig {
  int32_t algo = 0;
  uint32_t tile = 0, stages = 0;
  int32_t splitk = 1;
  uint32_t reduction = 0;
  bool operator==(const LtConfig&) const = default;
};

// What an algorithm supports (CUBLASLT_ALGO_CAP_*): its tiles and stage counts (empty: only
// the seed's), split-K, and the reduction schemes as a mask.
struct LtCaps {
  std::vector<uint32_t> tiles, stages;
  bool splitk = false;
  uint32_t reduction_mask = 0;
};

// A variant of seed `seed` (an index into the seeds passed).
struct LtVariant {
  size_t seed = 0;
  LtConfig config;
};

// The K split counts tried: each leaves at least 64 of K to a split.
std::vector<int32_t> splitk_counts(int64_t k);

// Variants of the seeds, none equal to a seed or to another variant, at most `limit`:
// first every seed's split-K variants (seeds in order; split counts from splitk_counts(k), each
// with every reduction scheme in the seed's caps; the seed's tile and stages), then every
// seed's supported tiles with its stage count, then every supported (tile, stage count) pair;
// the last two keep the seed's split and reduction. Many of these cuBLASLt will refuse (a
// stage count that does not fit a tile's shared memory, say): the caller checks them in this
// order and times the first ones accepted. `caps(i)` is seed i's algorithm's caps, nullopt where they are
// not known: that seed gets no variants.
std::vector<LtVariant> gemm_variants(const std::vector<LtConfig>& seeds,
                                     const std::function<std::optional<LtCaps>(size_t)>& caps, int64_t k,
                                     size_t limit);

}  // namespace ingot::runtime
