// Optimization profiles at build time: complete each profile over the network's symbols,
// check it against the symbol ranges, and narrow those ranges to the profiles' hull (nothing
// outside it can run, so memory is planned for the largest shape some profile allows).
#include <algorithm>

#include "build/builder.h"

namespace ingot::build {

namespace {

std::string bound_str(int64_t v) { return v == ir::SymRange::kInf ? std::string("inf") : std::to_string(v); }

}  // namespace

Status apply_profiles(net::Network& net, const BuildSettings& settings, std::vector<plan::Profile>* out) {
  out->clear();
  if (settings.profiles.empty()) return Status::ok();
  for (size_t p = 0; p < settings.profiles.size(); ++p) {
    for (const auto& [name, r] : settings.profiles[p]) {
      if (!(0 <= r.min && r.min <= r.opt && r.opt <= r.max)) {
        return invalid_argument("engine '", settings.name, "' profile ", p, ": dynamic dimension ", name, " has min ",
                                r.min, ", opt ", r.opt, ", max ", r.max, "; need 0 <= min <= opt <= max");
      }
    }
  }
  std::map<std::string, ir::SymRange> hull;
  for (size_t p = 0; p < settings.profiles.size(); ++p) {
    plan::Profile prof;
    for (const auto& [name, sym] : net.symbols()) {
      auto it = settings.profiles[p].find(name);
      plan::ProfileRange r;
      if (it == settings.profiles[p].end()) {
        if (sym.max == ir::SymRange::kInf) {
          return invalid_argument("engine '", settings.name, "' profile ", p, " gives no range for dynamic dimension ",
                                  name, ", which has no upper bound");
        }
        r = {sym.min, sym.max, sym.max};
      } else {
        r = it->second;
        if (r.max < sym.min || r.min > sym.max) {
          return invalid_argument("engine '", settings.name, "' profile ", p, ": dynamic dimension ", name,
                                  " range [", r.min, ", ", r.max, "] does not meet the range [", sym.min, ", ",
                                  bound_str(sym.max), "] the model allows");
        }
        // The exported program may know a narrower range (e.g. from the model's own checks).
        r.min = std::max(r.min, sym.min);
        r.max = std::min(r.max, sym.max);
        r.opt = std::clamp(r.opt, r.min, r.max);
      }
      prof.ranges.emplace(name, r);
      auto h = hull.find(name);
      if (h == hull.end()) {
        hull.emplace(name, ir::SymRange{r.min, r.max});
      } else {
        h->second.min = std::min(h->second.min, r.min);
        h->second.max = std::max(h->second.max, r.max);
      }
    }
    out->push_back(std::move(prof));
  }
  for (const auto& [name, r] : hull) net.add_symbol(name, r);
  return Status::ok();
}

}  // namespace ingot::build
