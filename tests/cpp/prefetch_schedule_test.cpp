// The L2 prefetch schedule: every layer's reads are fetched before it runs (unless larger than
// the window), never more than the window is fetched ahead, fetches come in few batches, and
// spans merge.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/prefetch_schedule.h"

namespace ingot::runtime {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// n layers reading `bytes` each, laid out one after the other with 256-byte padding between.
std::vector<std::vector<ByteSpan>> chain(size_t n, uint64_t bytes) {
  std::vector<std::vector<ByteSpan>> reads(n);
  uint64_t at = 0;
  for (auto& r : reads) {
    r.push_back({at, bytes});
    at += bytes + 256;
  }
  return reads;
}

bool covered(const std::vector<ByteSpan>& spans, const ByteSpan& s) {
  for (const ByteSpan& f : spans) {
    if (f.offset <= s.offset && s.offset + s.bytes <= f.offset + f.bytes) return true;
  }
  return false;
}

TEST(PrefetchSchedule, EveryReadIsFetchedBeforeItsLayerAndWithinTheWindow) {
  auto reads = chain(48, 3 * kMiB);
  reads[5].clear();  // a layer without weights
  const uint64_t window = 16 * kMiB;
  auto plan = schedule_prefetch(reads, window);
  ASSERT_EQ(plan.size(), reads.size());
  std::vector<ByteSpan> issued;
  size_t batches = 0;
  for (size_t l = 0; l < reads.size(); ++l) {
    issued.insert(issued.end(), plan[l].begin(), plan[l].end());
    batches += !plan[l].empty();
    for (const ByteSpan& s : reads[l]) EXPECT_TRUE(covered(issued, s)) << "layer " << l;
    // Fetched but not yet read once layer l runs: no more than the window.
    uint64_t ahead = 0;
    for (size_t j = l; j < reads.size(); ++j) {
      for (const ByteSpan& s : reads[j]) ahead += covered(issued, s) ? s.bytes : 0;
    }
    EXPECT_LE(ahead, window) << "layer " << l;
  }
  // 144 MiB in refills of at least half the window: far fewer batches than layers.
  EXPECT_LE(batches, 48u * 3 / 8 + 2);
  EXPECT_GE(batches, 48u * 3 / 16);
}

TEST(PrefetchSchedule, TheFirstBatchFillsTheWindow) {
  auto plan = schedule_prefetch(chain(10, 4 * kMiB), 16 * kMiB);
  ASSERT_EQ(plan[0].size(), 1u);  // layers 0-3, merged into one span over their padding
  EXPECT_EQ(plan[0][0].offset, 0u);
  EXPECT_EQ(plan[0][0].bytes, 4 * (4 * kMiB) + 3 * 256);
  EXPECT_TRUE(plan[1].empty());  // 12 MiB still ahead: above half the window
  EXPECT_FALSE(plan[2].empty());  // 8 MiB ahead: refill
}

TEST(PrefetchSchedule, LayersLargerThanTheWindowAreSkippedNotStalled) {
  std::vector<std::vector<ByteSpan>> reads = {{{0, kMiB}}, {{kMiB, 64 * kMiB}}, {{80 * kMiB, kMiB}}, {{90 * kMiB, kMiB}}};
  auto plan = schedule_prefetch(reads, 16 * kMiB);
  std::vector<ByteSpan> issued;
  for (size_t l = 0; l < plan.size(); ++l) {
    issued.insert(issued.end(), plan[l].begin(), plan[l].end());
    if (l != 1) {
      for (const ByteSpan& s : reads[l]) EXPECT_TRUE(covered(issued, s)) << "layer " << l;
    }
  }
  for (const ByteSpan& s : issued) EXPECT_LE(s.bytes, 16 * kMiB);
}

TEST(PrefetchSchedule, ZeroWindowFetchesNothing) {
  auto plan = schedule_prefetch(chain(4, kMiB), 0);
  for (const auto& p : plan) EXPECT_TRUE(p.empty());
}

TEST(PrefetchSchedule, MergeSortsJoinsNearbyAndDropsEmpty) {
  std::vector<ByteSpan> merged = merge_spans({{10000, 100}, {0, 100}, {200, 50}, {5000, 0}, {150, 100}}, 64);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0], (ByteSpan{0, 250}));
  EXPECT_EQ(merged[1], (ByteSpan{10000, 100}));
}

}  // namespace
}  // namespace ingot::runtime
