#include "kernels/cpu/elements.h"

#include <cmath>
#include <cstring>

#include "support/check.h"

namespace ingot::kernels::cpu::detail {

namespace {

// Calls fn(static_cast<T*>(nullptr)) with T the storage type of `t` (bool is stored as uint8).
template <typename Fn>
void visit_storage(DType t, Fn&& fn) {
  switch (t) {
    case DType::kFloat32: fn(static_cast<float*>(nullptr)); return;
    case DType::kFloat16: fn(static_cast<Half*>(nullptr)); return;
    case DType::kBFloat16: fn(static_cast<BFloat16*>(nullptr)); return;
    case DType::kInt8: fn(static_cast<int8_t*>(nullptr)); return;
    case DType::kUInt8: fn(static_cast<uint8_t*>(nullptr)); return;
    case DType::kInt32: fn(static_cast<int32_t*>(nullptr)); return;
    case DType::kInt64: fn(static_cast<int64_t*>(nullptr)); return;
    case DType::kBool: fn(static_cast<bool*>(nullptr)); return;
    default: INGOT_CHECK(false, "dtype ", ir::dtype_name(t), " is not an engine dtype");
  }
}

template <typename T>
constexpr bool kIsFloat = std::is_same_v<T, float> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// Storage element -> float / int64.
template <typename T>
float to_float(const void* data, int64_t i) {
  if constexpr (std::is_same_v<T, bool>) return static_cast<const uint8_t*>(data)[i] ? 1.0f : 0.0f;
  else return static_cast<float>(static_cast<const T*>(data)[i]);
}

template <typename T>
int64_t to_int(const void* data, int64_t i) {
  if constexpr (std::is_same_v<T, bool>) return static_cast<const uint8_t*>(data)[i] ? 1 : 0;
  else if constexpr (kIsFloat<T>) return float_to_int(static_cast<float>(static_cast<const T*>(data)[i]), DType::kInt64);
  else return static_cast<int64_t>(static_cast<const T*>(data)[i]);
}

template <typename T>
void from_float(void* data, int64_t i, double v, DType dt) {
  if constexpr (std::is_same_v<T, bool>) static_cast<uint8_t*>(data)[i] = v != 0.0 ? 1 : 0;
  else if constexpr (std::is_same_v<T, float>) static_cast<float*>(data)[i] = static_cast<float>(v);
  else if constexpr (kIsFloat<T>) static_cast<T*>(data)[i] = T(static_cast<float>(v));
  else static_cast<T*>(data)[i] = static_cast<T>(float_to_int(v, dt));
}

template <typename T>
void from_int(void* data, int64_t i, int64_t v) {
  if constexpr (std::is_same_v<T, bool>) static_cast<uint8_t*>(data)[i] = v != 0 ? 1 : 0;
  else if constexpr (std::is_same_v<T, float>) static_cast<float*>(data)[i] = static_cast<float>(v);
  else if constexpr (kIsFloat<T>) static_cast<T*>(data)[i] = T(static_cast<float>(v));
  else static_cast<T*>(data)[i] = static_cast<T>(v);  // modular since C++20
}

}  // namespace

int64_t float_to_int(double v, DType to) {
  if (to == DType::kBool) return v != 0.0 ? 1 : 0;
  if (to == DType::kInt64) {
    if (std::isnan(v) || v >= 9223372036854775808.0 || v < -9223372036854775808.0) return INT64_MIN;
    return static_cast<int64_t>(v);
  }
  if (std::isnan(v) || v >= 2147483648.0 || v < -2147483648.0) return INT32_MIN;
  return static_cast<int64_t>(static_cast<int32_t>(v));
}

std::vector<float> load_floats(const TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  if (t.dtype == DType::kFloat32) {
    if (!out.empty()) std::memcpy(out.data(), t.data, out.size() * sizeof(float));
    return out;
  }
  visit_storage(t.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (size_t i = 0; i < out.size(); ++i) out[i] = to_float<T>(t.data, static_cast<int64_t>(i));
  });
  return out;
}

std::vector<double> load_doubles(const TensorView& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  visit_storage(t.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (size_t i = 0; i < out.size(); ++i) {
      if constexpr (kIsFloat<T> || std::is_same_v<T, bool>) out[i] = to_float<T>(t.data, static_cast<int64_t>(i));
      else out[i] = static_cast<double>(static_cast<const T*>(t.data)[i]);
    }
  });
  return out;
}

std::vector<int64_t> load_ints(const TensorView& t) {
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  visit_storage(t.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (size_t i = 0; i < out.size(); ++i) out[i] = to_int<T>(t.data, static_cast<int64_t>(i));
  });
  return out;
}

void store_floats(const float* src, const TensorView& t) {
  int64_t n = t.numel();
  if (t.dtype == DType::kFloat32) {
    if (n > 0 && src != t.data) std::memcpy(t.data, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  visit_storage(t.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (int64_t i = 0; i < n; ++i) from_float<T>(t.data, i, src[i], t.dtype);
  });
}

void store_doubles(const double* src, const TensorView& t) {
  int64_t n = t.numel();
  visit_storage(t.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (int64_t i = 0; i < n; ++i) from_float<T>(t.data, i, src[i], t.dtype);
  });
}

void store_ints(const int64_t* src, const TensorView& t) {
  int64_t n = t.numel();
  visit_storage(t.dtype, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    for (int64_t i = 0; i < n; ++i) from_int<T>(t.data, i, src[i]);
  });
}

void store_double_at(void* data, DType to, int64_t i, double v) {
  visit_storage(to, [&](auto* tag) { from_float<std::remove_pointer_t<decltype(tag)>>(data, i, v, to); });
}

void store_int_at(void* data, DType to, int64_t i, int64_t v) {
  visit_storage(to, [&](auto* tag) { from_int<std::remove_pointer_t<decltype(tag)>>(data, i, v); });
}

FloatInput::FloatInput(const TensorView& t) {
  if (t.dtype == DType::kFloat32) {
    ptr_ = static_cast<const float*>(t.data);
    return;
  }
  buffer_ = load_floats(t);
  ptr_ = buffer_.data();
}

FloatOutput::FloatOutput(const TensorView& t) : view_(t) {
  if (t.dtype == DType::kFloat32) {
    ptr_ = static_cast<float*>(t.data);
    return;
  }
  buffer_.assign(static_cast<size_t>(t.numel()), 0.0f);
  ptr_ = buffer_.data();
}

void FloatOutput::commit() {
  if (view_.dtype != DType::kFloat32) store_floats(buffer_.data(), view_);
}

}  // namespace ingot::kernels::cpu::detail
