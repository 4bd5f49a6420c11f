// Activation memory planning: greedy placement by size, reusing bytes of tensors whose
// lifetimes do not overlap. A reshape of an activation is a view: its output shares the
// input's bytes (one block whose lifetime covers both), and backends skip the layer.
#include <algorithm>

#include "build/builder.h"

namespace ingot::build {

namespace {

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

struct Block {
  int tensor;
  uint64_t size;
  size_t first, last;  // layer indices of definition and last use
};

}  // namespace

Expected<plan::MemoryPlan> plan_memory(const net::Network& net) {
  const auto& tensors = net.tensors();
  const auto& layers = net.layers();
  plan::MemoryPlan mp;
  mp.offsets.assign(tensors.size(), -1);
  mp.sizes.assign(tensors.size(), 0);
  std::vector<bool> is_output(tensors.size(), false);
  for (int id : net.outputs()) is_output[static_cast<size_t>(id)] = true;

  std::vector<Block> blocks;
  std::vector<int> block_of(tensors.size(), -1);
  for (const net::Tensor& t : tensors) {
    if (t.producer < 0 || is_output[static_cast<size_t>(t.id)]) continue;
    ir::SymRange r = ir::numel(t.type.shape).bounds([&](const std::string& s) { return net.symbol_range(s); });
    if (r.max == ir::SymRange::kInf) {
      return invalid_argument("tensor '", t.name, "' of shape ", t.type.str(),
                              " has no upper bound; give every dynamic input dimension a maximum");
    }
    uint64_t bytes = static_cast<uint64_t>(std::max<int64_t>(r.max, 0)) * ir::dtype_size(t.type.dtype);
    block_of[static_cast<size_t>(t.id)] = static_cast<int>(blocks.size());
    blocks.push_back({t.id, align_up(std::max<uint64_t>(bytes, 1), kArenaAlignment),
                      static_cast<size_t>(t.producer), static_cast<size_t>(t.producer)});
  }
  for (size_t l = 0; l < layers.size(); ++l) {
    for (int id : layers[l].inputs) {
      if (id >= 0 && block_of[static_cast<size_t>(id)] >= 0) {
        Block& b = blocks[static_cast<size_t>(block_of[static_cast<size_t>(id)])];
        b.last = std::max(b.last, l);
      }
    }
  }
  // Views: a reshape's output joins its input's block (blocks alias through chains of reshapes).
  std::vector<int> alias(blocks.size(), -1);  // block -> the block whose bytes it uses
  auto root = [&](int b) {
    while (alias[static_cast<size_t>(b)] >= 0) b = alias[static_cast<size_t>(b)];
    return b;
  };
  for (const net::Layer& layer : layers) {
    if (layer.kind() != net::LayerKind::kReshape || layer.inputs.size() != 1 || layer.outputs.size() != 1) continue;
    int in = layer.inputs[0], out = layer.outputs[0];
    if (in < 0 || out < 0 || block_of[static_cast<size_t>(in)] < 0 || block_of[static_cast<size_t>(out)] < 0) continue;
    int r = root(block_of[static_cast<size_t>(in)]), o = block_of[static_cast<size_t>(out)];
    Block& rb = blocks[static_cast<size_t>(r)];
    rb.last = std::max(rb.last, blocks[static_cast<size_t>(o)].last);
    rb.size = std::max(rb.size, blocks[static_cast<size_t>(o)].size);
    alias[static_cast<size_t>(o)] = r;
  }
  std::vector<size_t> order;
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (alias[i] < 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return blocks[a].size > blocks[b].size; });

  struct Placed { uint64_t offset, size; size_t first, last; };
  std::vector<Placed> placed;
  for (size_t i : order) {
    const Block& b = blocks[i];
    std::vector<std::pair<uint64_t, uint64_t>> busy;  // [offset, end) of overlapping lifetimes
    for (const Placed& p : placed) {
      if (p.first <= b.last && b.first <= p.last) busy.push_back({p.offset, p.offset + p.size});
    }
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (const auto& [start, end] : busy) {
      if (offset + b.size <= start) break;
      offset = std::max(offset, align_up(end, kArenaAlignment));
    }
    placed.push_back({offset, b.size, b.first, b.last});
    mp.offsets[static_cast<size_t>(b.tensor)] = static_cast<int64_t>(offset);
    mp.sizes[static_cast<size_t>(b.tensor)] = b.size;
    mp.arena_bytes = std::max(mp.arena_bytes, offset + b.size);
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (alias[i] < 0) continue;
    const Block& r = blocks[static_cast<size_t>(root(static_cast<int>(i)))];
    mp.offsets[static_cast<size_t>(blocks[i].tensor)] = mp.offsets[static_cast<size_t>(r.tensor)];
    mp.sizes[static_cast<size_t>(blocks[i].tensor)] = r.size;
  }
  return mp;
}

}  // namespace ingot::build
