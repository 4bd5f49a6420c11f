#include "runtime/profiles.h"

#include "support/strings.h"

namespace ingot::runtime {

namespace {

bool contains_all(const plan::Profile& p, const std::map<std::string, int64_t>& values) {
  for (const auto& [name, v] : values) {
    auto it = p.ranges.find(name);
    if (it != p.ranges.end() && !it->second.contains(v)) return false;
  }
  return true;
}

std::string profile_str(const plan::Profile& p, const std::map<std::string, int64_t>& values) {
  std::string out;
  for (const auto& [name, v] : values) {
    auto it = p.ranges.find(name);
    if (it == p.ranges.end()) continue;
    out += str_cat(out.empty() ? "" : ", ", name, " in [", it->second.min, ", ", it->second.max, "]");
  }
  return out;
}

}  // namespace

std::string profile_ranges_str(const plan::Plan& plan, const std::string& symbol) {
  std::string out;
  for (size_t p = 0; p < plan.profiles.size(); ++p) {
    auto it = plan.profiles[p].ranges.find(symbol);
    if (it == plan.profiles[p].ranges.end()) continue;
    out += str_cat(out.empty() ? "" : ", ", "[", it->second.min, ", ", it->second.max, "] (profile ", p, ")");
  }
  return out;
}

Expected<int> select_profile(const plan::Plan& plan, const std::map<std::string, int64_t>& values,
                             const SymbolSource& source, int want) {
  const auto& profiles = plan.profiles;
  if (profiles.empty()) {
    if (want > 0) return invalid_argument("engine '", plan.name, "' has no optimization profile ", want);
    return -1;
  }
  if (want >= 0) {
    if (static_cast<size_t>(want) >= profiles.size()) {
      return invalid_argument("engine '", plan.name, "' has ", profiles.size(), " optimization profile(s), not ", want + 1);
    }
    if (!contains_all(profiles[static_cast<size_t>(want)], values)) {
      return error(ErrorCode::kShapeMismatch, "engine '", plan.name, "': the input shapes (",
                   profile_str(profiles[static_cast<size_t>(want)], values), " wanted) are outside profile ", want);
    }
    return want;
  }
  for (size_t p = 0; p < profiles.size(); ++p) {
    if (contains_all(profiles[p], values)) return static_cast<int>(p);
  }
  // A value that no profile's range contains: name it.
  for (const auto& [name, v] : values) {
    bool covered = false;
    for (const auto& prof : profiles) {
      auto it = prof.ranges.find(name);
      covered |= it == prof.ranges.end() || it->second.contains(v);
    }
    if (!covered) {
      return error(ErrorCode::kShapeMismatch, "engine '", plan.name, "' ", source(name), " is ", v,
                   ", which no optimization profile covers (dynamic dimension ", name, "; the profiles allow ",
                   profile_ranges_str(plan, name), ")");
    }
  }
  // Each value lies in some profile, but no profile holds them all.
  std::string got, allowed;
  for (const auto& [name, v] : values) got += str_cat(got.empty() ? "" : ", ", source(name), " = ", v, " (", name, ")");
  for (size_t p = 0; p < profiles.size(); ++p) {
    allowed += str_cat(p ? "; " : "", "profile ", p, ": ", profile_str(profiles[p], values));
  }
  return error(ErrorCode::kShapeMismatch, "engine '", plan.name, "': no optimization profile covers ", got,
               " together (", allowed, ")");
}

}  // namespace ingot::runtime
