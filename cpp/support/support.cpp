#include <cmath>
#include <cstdio>
#include <cstring>

#include "support/check.h"
#include "support/status.h"

namespace ingot {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kCorruptPlan: return "corrupt plan";
    case ErrorCode::kVersionMismatch: return "version mismatch";
    case ErrorCode::kBackendMismatch: return "backend mismatch";
    case ErrorCode::kShapeMismatch: return "shape mismatch";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kIO: return "i/o error";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return str_cat(error_code_name(code_), ": ", message_);
}

void check_failed(const char* file, int line, const char* cond, const std::string& msg) {
  throw InternalError(str_cat("ingot internal error at ", file, ":", line, ": check `", cond,
                              "` failed", msg.empty() ? "" : ": ", msg));
}

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  // Prefer the shortest representation that round-trips.
  for (int prec = 1; prec <= 17; ++prec) {
    char tmp[64];
    std::snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
    if (std::strtod(tmp, nullptr) == v) {
      std::strcpy(buf, tmp);
      break;
    }
  }
  std::string s(buf);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

}  // namespace ingot
