// Where to ask the GPU's L2 cache for weights ahead of the layers that read them.
//
// At small batches the engine's matrix products and convolutions stream their weights from
// device memory once per call, and each of them is too short to reach full bandwidth: their
// time goes to memory latency. A side branch of the engine's CUDA graph can fetch the next
// layers' weights into L2 while the current layers run, so that those layers read from L2.
// This file decides which bytes to fetch before which layer; runtime/cuda runs the fetches.
#pragma once

#include <cstdint>
#include <vector>

namespace ingot::runtime {

// A byte range of the engine's constant buffer.
struct ByteSpan {
  uint64_t offset = 0;
  uint64_t bytes = 0;
  bool operator==(const ByteSpan&) const = default;
};

// reads[l]: the constant bytes layer l reads whole (weights, biases; not tables it gathers a
// few rows from, which the caller leaves out). A range read by several layers belongs to the
// first. Returns, per layer, the spans to fetch just before it runs (merged, sorted): the
// following layers' reads, in layer order, while the bytes fetched and not yet read stay
// within `window`; refills happen once that falls to half of it, so that the fetches come in
// few launches. A layer reading more than `window` is never fetched. window == 0: no fetches.
std::vector<std::vector<ByteSpan>> schedule_prefetch(const std::vector<std::vector<ByteSpan>>& reads, uint64_t window);

// Sorts spans by offset and merges those that overlap or lie within `gap` bytes of each other.
std::vector<ByteSpan> merge_spans(std::vector<ByteSpan> spans, uint64_t gap);

}  // namespace ingot::runtime
