#include "runtime/gemm_search.h"

#include <algorithm>

namespace ingot::runtime {

std::vector<int32_t> splitk_counts(int64_t k) {
  std::vector<int32_t> out;
  for (int32_t s : {1, 2, 3, 4, 6, 8, 12, 16}) {
    if (s == 1 || k / s >= 64) out.push_back(s);
  }
  return out;
}

std::vector<LtVariant> gemm_variants(const std::vector<LtConfig>& seeds,
                                     const std::function<std::optional<LtCaps>(size_t)>& caps, int64_t k,
                                     size_t limit) {
  std::vector<LtVariant> out;
  std::vector<std::optional<LtCaps>> known(seeds.size());
  for (size_t i = 0; i < seeds.size(); ++i) known[i] = caps(i);
  auto seen = [&](const LtConfig& c) {
    if (std::find(seeds.begin(), seeds.end(), c) != seeds.end()) return true;
    return std::any_of(out.begin(), out.end(), [&](const LtVariant& v) { return v.config == c; });
  };
  auto add = [&](size_t seed, const LtConfig& c) {
    if (out.size() < limit && !seen(c)) out.push_back({seed, c});
  };
  const std::vector<int32_t> splits = splitk_counts(k);
  for (size_t i = 0; i < seeds.size() && out.size() < limit; ++i) {
    if (!known[i] || !known[i]->splitk) continue;
    for (int32_t s : splits) {
      LtConfig c = seeds[i];
      c.splitk = s;
      if (s == 1) {
        c.reduction = 0;
        add(i, c);
        continue;
      }
      for (uint32_t scheme : {1u, 2u, 4u}) {
        if (!(known[i]->reduction_mask & scheme)) continue;
        c.reduction = scheme;
        add(i, c);
      }
    }
  }
  // Tiles first with the seed's stage count (the likeliest to be accepted), then every pair.
  for (bool every_stage : {false, true}) {
    for (size_t i = 0; i < seeds.size() && out.size() < limit; ++i) {
      if (!known[i]) continue;
      std::vector<uint32_t> tiles = known[i]->tiles, stages = known[i]->stages;
      if (tiles.empty()) tiles = {seeds[i].tile};
      if (!every_stage || stages.empty()) stages = {seeds[i].stages};
      for (uint32_t t : tiles) {
        for (uint32_t st : stages) {
          LtConfig c = seeds[i];
          c.tile = t;
          c.stages = st;
          add(i, c);
        }
      }
    }
  }
  return out;
}

}  // namespace ingot::runtime
