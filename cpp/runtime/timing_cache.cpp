#include "runtime/timing_cache.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "support/strings.h"

namespace ingot::runtime {
namespace {

constexpr const char* kHeader = "ingot-timing-cache 1";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

bool clean(const std::string& s) { return s.find_first_of("\t\n|@") == std::string::npos; }

}  // namespace

TimingCache& TimingCache::process() {
  static TimingCache cache;
  return cache;
}

Status TimingCache::load(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Status::ok();  // no cache yet
  std::string line;
  if (!std::getline(f, line) || line != kHeader) {
    return invalid_argument("timing cache '", path, "': not an ingot timing cache (first line must be '", kHeader, "')");
  }
  std::map<std::string, CachedTactic> read;
  for (int n = 2; std::getline(f, line); ++n) {
    if (line.empty()) continue;
    std::vector<std::string> cols = split(line, '\t');
    if (cols.size() != 3 || cols[0].empty()) {
      return invalid_argument("timing cache '", path, "' line ", n, ": expected key<TAB>tactic<TAB>timed");
    }
    CachedTactic e{cols[1], {}};
    if (!cols[2].empty()) {
      for (const std::string& item : split(cols[2], '|')) {
        size_t at = item.rfind('@');
        char* end = nullptr;
        double ms = at == std::string::npos ? 0 : std::strtod(item.c_str() + at + 1, &end);
        if (at == std::string::npos || end == item.c_str() + at + 1 || *end != '\0') {
          return invalid_argument("timing cache '", path, "' line ", n, ": bad timed entry '", item, "'");
        }
        e.timed.push_back({item.substr(0, at), ms});
      }
    }
    read[cols[0]] = std::move(e);
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [k, v] : read) entries_[k] = std::move(v);
  return Status::ok();
}

Status TimingCache::save(const std::string& path) const {
  std::ostringstream s;
  s << kHeader << "\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, e] : entries_) {
      s << key << '\t' << e.tactic << '\t';
      for (size_t i = 0; i < e.timed.size(); ++i) s << (i ? "|" : "") << e.timed[i].tactic << '@' << e.timed[i].ms;
      s << '\n';
    }
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << s.str();
    if (!f.flush()) return invalid_argument("timing cache '", path, "': cannot write '", tmp, "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return invalid_argument("timing cache '", path, "': cannot replace it");
  }
  return Status::ok();
}

std::optional<CachedTactic> TimingCache::find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void TimingCache::put(const std::string& key, CachedTactic entry) {
  if (!clean(key) || !clean(entry.tactic)) return;  // not representable in the file
  std::lock_guard<std::mutex> lock(mu_);
  entries_[key] = std::move(entry);
}

size_t TimingCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

std::string timing_key(const std::string& device, const net::LayerParams& params,
                       const std::vector<std::optional<TensorKey>>& in, const std::vector<std::optional<TensorKey>>& out,
                       bool allow_tf32, int level) {
  std::ostringstream s;
  s << device << ";" << net::layer_kind_name(net::kind_of(params)) << "(" << net::params_str(params) << ")";
  auto tensors = [&](const std::vector<std::optional<TensorKey>>& ts) {
    for (const auto& t : ts) {
      s << ";";
      if (t) s << ir::dtype_name(t->dtype) << shape_str(t->dims);
      else s << "-";
    }
  };
  tensors(in);
  s << ";->";
  tensors(out);
  s << ";tf32=" << allow_tf32 << ";level=" << level << ";timed=" << kTimingMethod;
  std::string key = s.str();
  for (char& c : key) {
    if (c == '\t' || c == '\n' || c == '|' || c == '@') c = ' ';
  }
  return key;
}

}  // namespace ingot::runtime
