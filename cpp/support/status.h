// Status and Expected<T>: compile-time and load-time problems are values, not exceptions.
// A Status carries a code and a message that names what went wrong (node, op, shape, file).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "support/strings.h"

namespace ingot {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something malformed
  kUnsupported,      // valid, but ingot cannot do it (yet)
  kCorruptPlan,      // plan bytes failed verification
  kVersionMismatch,  // plan format version differs
  kBackendMismatch,  // plan built for a backend or device this runtime lacks
  kShapeMismatch,    // runtime shapes or dtypes do not fit the engine
  kNotFound,
  kIO,
  kInternal,
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes context ("while converting node %3: ") to the message of an error.
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    Status s(code_, context + message_);
    s.node_ = node_;
    return s;
  }

  // The graph node an error is about (an ATen node name), when one is known: the compile
  // driver moves that node to PyTorch and tries again.
  Status with_node(std::string node) const {
    Status s = *this;
    s.node_ = std::move(node);
    return s;
  }
  const std::string& node() const { return node_; }

  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string node_;
};

template <typename... Args>
Status error(ErrorCode code, Args&&... args) {
  return Status(code, str_cat(std::forward<Args>(args)...));
}
template <typename... Args>
Status invalid_argument(Args&&... args) {
  return error(ErrorCode::kInvalidArgument, std::forward<Args>(args)...);
}
template <typename... Args>
Status unsupported(Args&&... args) {
  return error(ErrorCode::kUnsupported, std::forward<Args>(args)...);
}

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Expected(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).is_ok()) {
      v_ = Status(ErrorCode::kInternal, "Expected<T> constructed from an OK status");
    }
  }

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Status& status() const {
    static const Status kOk;
    return has_value() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ingot

#define INGOT_CONCAT_IMPL(a, b) a##b
#define INGOT_CONCAT(a, b) INGOT_CONCAT_IMPL(a, b)

#define INGOT_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::ingot::Status ingot_status_ = (expr);         \
    if (!ingot_status_.is_ok()) return ingot_status_; \
  } while (0)

#define INGOT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.has_value()) return tmp.status();        \
  lhs = std::move(tmp).value()

#define INGOT_ASSIGN_OR_RETURN(lhs, expr) \
  INGOT_ASSIGN_OR_RETURN_IMPL(INGOT_CONCAT(ingot_expected_, __LINE__), lhs, expr)
