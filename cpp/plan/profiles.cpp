// Optimization profiles in the plan format: the "PROF" section and its verification. Kept in
// one file so that the rest of the format does not depend on how profiles are laid out.
#include "plan/bytes.h"
#include "plan/format.h"
#include "plan/plan.h"
#include "support/strings.h"

namespace ingot::plan::detail {

namespace {

template <typename... Args>
Status corrupt(Args&&... args) {
  return error(ErrorCode::kCorruptPlan, std::forward<Args>(args)...);
}

std::string range_str(int64_t v) { return v == ir::SymRange::kInf ? std::string("inf") : std::to_string(v); }

}  // namespace

void write_profiles(ByteWriter& w, const Plan& plan) {
  const net::Network& net = plan.network;
  w.set_prefix("profiles.");
  w.u32(kTagProfiles, "tag");
  w.count(plan.profiles.size(), "count");
  for (size_t p = 0; p < plan.profiles.size(); ++p) {
    const Profile& prof = plan.profiles[p];
    w.set_prefix(w.mapping() ? str_cat("profiles[", p, "].") : std::string());
    if (prof.ranges.size() != net.symbols().size()) {
      w.fail(invalid_argument("profile ", p, " has ranges for ", prof.ranges.size(), " symbol(s), the plan has ",
                              net.symbols().size()));
    }
    w.count(net.symbols().size(), "ranges.count");
    size_t s = 0;
    for (const auto& [name, range] : net.symbols()) {
      auto it = prof.ranges.find(name);
      if (it == prof.ranges.end()) {
        w.fail(invalid_argument("profile ", p, " has no range for symbol ", name));
        continue;
      }
      w.set_prefix(w.mapping() ? str_cat("profiles[", p, "].ranges[", s++, "].") : std::string());
      w.i64(it->second.min, "min");
      w.i64(it->second.opt, "opt");
      w.i64(it->second.max, "max");
    }
    w.set_prefix(w.mapping() ? str_cat("profiles[", p, "].") : std::string());
    w.count(prof.tactics.size(), "tactics.count");
    for (const auto& t : prof.tactics) w.str(t, "tactics");
  }
}

std::vector<Profile> read_profiles(ByteReader& r, const std::vector<std::string>& symbols, size_t layer_count) {
  r.set_context("profiles");
  r.expect_tag(kTagProfiles, "PROF");
  std::vector<Profile> out;
  uint32_t n = r.count("profile count", 8);
  for (uint32_t p = 0; p < n && r.ok(); ++p) {
    r.set_context(str_cat("profile ", p));
    Profile prof;
    uint32_t n_sym = r.count("symbol count", 24);
    if (!r.ok()) return out;
    if (n_sym != symbols.size()) {
      r.fail("has ranges for ", n_sym, " symbol(s), but the plan has ", symbols.size());
      return out;
    }
    for (uint32_t s = 0; s < n_sym && r.ok(); ++s) {
      ProfileRange range;
      range.min = r.i64("min");
      range.opt = r.i64("opt");
      range.max = r.i64("max");
      prof.ranges.emplace(symbols[s], range);
    }
    uint32_t n_tactics = r.count("tactic count", 4);
    if (!r.ok()) return out;
    if (n_tactics != layer_count) {
      r.fail("has ", n_tactics, " tactic(s), but the plan has ", layer_count, " layer(s)");
      return out;
    }
    for (uint32_t l = 0; l < n_tactics && r.ok(); ++l) prof.tactics.push_back(r.str("tactic"));
    out.push_back(std::move(prof));
  }
  return out;
}

Status verify_profiles(const Plan& plan) {
  const net::Network& net = plan.network;
  for (size_t p = 0; p < plan.profiles.size(); ++p) {
    const Profile& prof = plan.profiles[p];
    if (prof.tactics.size() != net.layers().size()) {
      return corrupt("profile ", p, " has ", prof.tactics.size(), " tactic(s), but the plan has ", net.layers().size(),
                     " layer(s)");
    }
    if (prof.ranges.size() != net.symbols().size()) {
      return corrupt("profile ", p, " has ranges for ", prof.ranges.size(), " symbol(s), but the plan has ",
                     net.symbols().size());
    }
    for (const auto& [name, sym] : net.symbols()) {
      auto it = prof.ranges.find(name);
      if (it == prof.ranges.end()) return corrupt("profile ", p, " has no range for symbol ", name);
      const ProfileRange& r = it->second;
      if (!(0 <= r.min && r.min <= r.opt && r.opt <= r.max)) {
        return corrupt("profile ", p, " gives symbol ", name, " min ", r.min, ", opt ", r.opt, ", max ", r.max,
                       "; need 0 <= min <= opt <= max");
      }
      if (r.min < sym.min || r.max > sym.max) {
        return corrupt("profile ", p, " gives symbol ", name, " the range [", r.min, ", ", r.max,
                       "], outside the plan's range [", sym.min, ", ", range_str(sym.max), "]");
      }
    }
  }
  return Status::ok();
}

}  // namespace ingot::plan::detail
