// Small string helpers: str_cat for messages, join for lists.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace ingot {

template <typename... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <typename Range, typename Fn>
std::string join(const Range& range, std::string_view sep, Fn&& fn) {
  std::string out;
  bool first = true;
  for (const auto& item : range) {
    if (!first) out += sep;
    first = false;
    out += fn(item);
  }
  return out;
}

template <typename Range>
std::string join(const Range& range, std::string_view sep) {
  return join(range, sep, [](const auto& x) { return str_cat(x); });
}

inline std::string shape_str(const std::vector<int64_t>& dims) {
  return "(" + join(dims, ", ") + ")";
}

// Formats a double so that parsing it back gives the same value, and it still reads as a float.
std::string format_double(double v);

}  // namespace ingot
