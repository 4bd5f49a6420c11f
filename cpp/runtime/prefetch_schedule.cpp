#include "runtime/prefetch_schedule.h"

#include <algorithm>

namespace ingot::runtime {

namespace {
constexpr uint64_t kMergeGap = 4096;  // fetching a little padding costs less than another span
}  // namespace

std::vector<ByteSpan> merge_spans(std::vector<ByteSpan> spans, uint64_t gap) {
  std::erase_if(spans, [](const ByteSpan& s) { return s.bytes == 0; });
  std::sort(spans.begin(), spans.end(), [](const ByteSpan& a, const ByteSpan& b) { return a.offset < b.offset; });
  std::vector<ByteSpan> out;
  for (const ByteSpan& s : spans) {
    if (!out.empty() && s.offset <= out.back().offset + out.back().bytes + gap) {
      uint64_t end = std::max(out.back().offset + out.back().bytes, s.offset + s.bytes);
      out.back().bytes = end - out.back().offset;
    } else {
      out.push_back(s);
    }
  }
  return out;
}

std::vector<std::vector<ByteSpan>> schedule_prefetch(const std::vector<std::vector<ByteSpan>>& reads, uint64_t window) {
  const size_t n = reads.size();
  std::vector<std::vector<ByteSpan>> out(n);
  if (window == 0) return out;
  std::vector<uint64_t> total(n, 0);
  for (size_t l = 0; l < n; ++l) {
    for (const ByteSpan& s : reads[l]) total[l] += s.bytes;
  }
  std::vector<uint64_t> fetched(n, 0);  // per layer: the bytes fetched for it
  size_t next = 0;                      // the first layer whose reads are not fetched (or skipped) yet
  uint64_t outstanding = 0;             // bytes fetched for layers [l, next)
  for (size_t l = 0; l < n; ++l) {
    if (l > 0) outstanding -= fetched[l - 1];  // layer l-1 has read its bytes
    if (next < l) next = l;
    if (outstanding > window / 2) continue;
    std::vector<ByteSpan> fetch;
    while (next < n) {
      if (total[next] > window) {  // would push out what it needs itself
        if (next == l) {
          ++next;
          continue;
        }
        break;
      }
      if (outstanding + total[next] > window) break;
      fetch.insert(fetch.end(), reads[next].begin(), reads[next].end());
      fetched[next] = total[next];
      outstanding += total[next];
      ++next;
    }
    out[l] = merge_spans(std::move(fetch), kMergeGap);
  }
  return out;
}

}  // namespace ingot::runtime
