// The timing cache (used by the CUDA backend's tactic search): tactic choices measured by
// earlier builds, keyed by everything that decides them (the GPU and library versions, the
// layer kind and parameters, input and output shapes and dtypes, TF32, the optimization
// level). Builds in one process share one cache; with a file
// (BuildSettings::timing_cache) the cache is read before the tactic search and written after
// it, so a later build of the same layers times nothing.
//
// File format, one entry per line: key TAB tactic TAB timed, where timed is a list of
// "tactic@ms" joined by '|'. The first line is the header "ingot-timing-cache 1".
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/network.h"
#include "support/status.h"

namespace ingot::runtime {

struct CachedTactic {
  std::string tactic;
  std::vector<net::TimedTactic> timed;
};

class TimingCache {
 public:
  static TimingCache& process();  // the one shared by this process's builds

  // Adds the entries of `path` (a missing file adds nothing); a malformed file is an error
  // naming the file and line.
  Status load(const std::string& path);
  // Writes every entry to `path` (through a temporary file, renamed into place).
  Status save(const std::string& path) const;
  std::optional<CachedTactic> find(const std::string& key) const;
  void put(const std::string& key, CachedTactic entry);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, CachedTactic> entries_;
};

// How candidates are timed (runtime/cuda's time_on_stream: a replay of captured calls). Keys
// carry it, so that entries timed another way (host-launched calls before 2026-12-03, whose
// times were host-bound for small kernels) are timed again instead of reused.
inline constexpr const char* kTimingMethod = "graph-replay";

// The cache key of a layer about to be tuned: the device, the layer kind and parameters, each
// input's and output's dtype and dims (nullopt: an absent optional input), TF32, the level and
// the timing method.
struct TensorKey {
  ir::DType dtype;
  std::vector<int64_t> dims;
};
std::string timing_key(const std::string& device, const net::LayerParams& params,
                       const std::vector<std::optional<TensorKey>>& in, const std::vector<std::optional<TensorKey>>& out,
                       bool allow_tf32, int level);

}  // namespace ingot::runtime
