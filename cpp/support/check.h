// Invariant checks: a failed check is a bug in ingot, not a user error. It throws
// ingot::InternalError with file and line; bindings turn it into the Python error type.
#pragma once

#include <stdexcept>
#include <string>

#include "support/strings.h"

namespace ingot {

class InternalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& msg);

}  // namespace ingot

#define INGOT_CHECK(cond, ...)                                                          \
  do {                                                                                  \
    if (!(cond)) ::ingot::check_failed(__FILE__, __LINE__, #cond, ::ingot::str_cat(__VA_ARGS__)); \
  } while (0)
