// NetworkRewriter: rebuilds a network layer by layer into a new one. Builder passes use it to
// replace, drop or insert layers; every layer added goes through its shape function again, so
// a pass cannot produce an inconsistent network.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/network.h"

namespace ingot::build {

class NetworkRewriter {
 public:
  // Starts the new network with the old one's symbols and inputs; constants are mapped as
  // they are first used (constant_transform, if set, may replace their data, e.g. to convert
  // precision).
  explicit NetworkRewriter(const net::Network& old,
                           std::function<ir::ConstantData(const net::Tensor&)> constant_transform = nullptr);

  const net::Network& old() const { return old_; }
  net::Network& out() { return out_; }

  // The new id of an old tensor (-1 stays -1). Constants are added on first use.
  int map(int old_id);
  // Makes old tensor `old_id` refer to `new_id` from now on.
  void set(int old_id, int new_id) { map_[old_id] = new_id; }
  bool is_mapped(int old_id) const { return map_.count(old_id) > 0; }

  // Adds a layer with already-mapped inputs; returns the new output ids.
  Expected<std::vector<int>> add(net::LayerParams p, std::vector<int> new_inputs, const std::string& name,
                                 const std::vector<std::string>& origins, const std::string& tactic = "");
  // Copies old layer `index` with its inputs mapped (params possibly replaced) and maps its outputs.
  Status copy(size_t index);
  Status copy(size_t index, net::LayerParams params);

  // Marks the old outputs (mapped) as outputs of the new network and returns it.
  net::Network finish();

 private:
  const net::Network& old_;
  net::Network out_;
  std::map<int, int> map_;
  std::function<ir::ConstantData(const net::Tensor&)> constant_transform_;
};

// How many layer inputs read each tensor (by id; a layer reading a tensor twice counts twice).
std::vector<int> reader_counts(const net::Network& net);

// For each tensor (by id), the one layer that reads it when exactly one layer input does and it
// is not a network output; nullopt otherwise. Fusion passes absorb such intermediates.
std::vector<std::optional<size_t>> sole_readers(const net::Network& net);

}  // namespace ingot::build
