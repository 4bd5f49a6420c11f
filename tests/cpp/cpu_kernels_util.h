// Helpers for the CPU kernel tests: owned tensors built from double values, read back as
// doubles or int64, and a one-call layer runner. Conversions here are written independently of
// the kernels' own element access (only the Half / BFloat16 storage types are shared).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "support/half.h"

namespace ingot::kernels::cpu::testing {

using ir::DType;
using Dims = std::vector<int64_t>;

inline int64_t numel(const Dims& d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  return n;
}

struct Tensor {
  DType dtype = DType::kFloat32;
  Dims dims;
  std::vector<uint64_t> storage;  // 8-byte aligned bytes

  void* data() { return storage.data(); }
  const void* data() const { return storage.data(); }
  int64_t numel() const { return testing::numel(dims); }
  TensorView view() { return TensorView{storage.data(), dtype, dims}; }

  void set(int64_t i, double v) {
    char* p = reinterpret_cast<char*>(storage.data());
    switch (dtype) {
      case DType::kFloat32: { float f = static_cast<float>(v); std::memcpy(p + 4 * i, &f, 4); break; }
      case DType::kFloat16: { Half h(static_cast<float>(v)); std::memcpy(p + 2 * i, &h.bits, 2); break; }
      case DType::kBFloat16: { BFloat16 h(static_cast<float>(v)); std::memcpy(p + 2 * i, &h.bits, 2); break; }
      case DType::kInt8: { auto x = static_cast<int8_t>(static_cast<int64_t>(v)); std::memcpy(p + i, &x, 1); break; }
      case DType::kUInt8: { auto x = static_cast<uint8_t>(static_cast<int64_t>(v)); std::memcpy(p + i, &x, 1); break; }
      case DType::kBool: { uint8_t x = v != 0 ? 1 : 0; std::memcpy(p + i, &x, 1); break; }
      case DType::kInt32: { auto x = static_cast<int32_t>(static_cast<int64_t>(v)); std::memcpy(p + 4 * i, &x, 4); break; }
      case DType::kInt64: { auto x = static_cast<int64_t>(v); std::memcpy(p + 8 * i, &x, 8); break; }
      default: ADD_FAILURE() << "bad dtype";
    }
  }
  void set_int(int64_t i, int64_t v) {
    char* p = reinterpret_cast<char*>(storage.data());
    if (dtype == DType::kInt64) std::memcpy(p + 8 * i, &v, 8);
    else set(i, static_cast<double>(v));
  }
  double get(int64_t i) const {
    const char* p = reinterpret_cast<const char*>(storage.data());
    switch (dtype) {
      case DType::kFloat32: { float f; std::memcpy(&f, p + 4 * i, 4); return f; }
      case DType::kFloat16: { Half h; std::memcpy(&h.bits, p + 2 * i, 2); return static_cast<float>(h); }
      case DType::kBFloat16: { BFloat16 h; std::memcpy(&h.bits, p + 2 * i, 2); return static_cast<float>(h); }
      case DType::kInt8: { int8_t x; std::memcpy(&x, p + i, 1); return x; }
      case DType::kUInt8: case DType::kBool: { uint8_t x; std::memcpy(&x, p + i, 1); return x; }
      case DType::kInt32: { int32_t x; std::memcpy(&x, p + 4 * i, 4); return x; }
      case DType::kInt64: { int64_t x; std::memcpy(&x, p + 8 * i, 8); return static_cast<double>(x); }
      default: ADD_FAILURE() << "bad dtype"; return 0;
    }
  }
  int64_t get_int(int64_t i) const {
    if (dtype != DType::kInt64) return static_cast<int64_t>(get(i));
    int64_t x;
    std::memcpy(&x, reinterpret_cast<const char*>(storage.data()) + 8 * i, 8);
    return x;
  }
  std::vector<double> values() const {
    std::vector<double> v(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) v[static_cast<size_t>(i)] = get(i);
    return v;
  }
  std::vector<int64_t> ints() const {
    std::vector<int64_t> v(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) v[static_cast<size_t>(i)] = get_int(i);
    return v;
  }
};

inline size_t elem_size(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kInt32: return 4;
    case DType::kFloat16: case DType::kBFloat16: return 2;
    case DType::kInt64: return 8;
    default: return 1;
  }
}

inline Tensor empty(DType dtype, Dims dims) {
  Tensor t;
  t.dtype = dtype;
  t.dims = std::move(dims);
  size_t bytes = static_cast<size_t>(t.numel()) * elem_size(dtype);
  t.storage.assign((bytes + 7) / 8 + 1, 0xdeadbeefdeadbeefULL);  // garbage: kernels must write every element
  return t;
}

inline Tensor make(DType dtype, Dims dims, const std::vector<double>& values) {
  Tensor t = empty(dtype, std::move(dims));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel()) << "test data size";
  for (int64_t i = 0; i < t.numel() && i < static_cast<int64_t>(values.size()); ++i) t.set(i, values[static_cast<size_t>(i)]);
  return t;
}

inline Tensor make_ints(DType dtype, Dims dims, const std::vector<int64_t>& values) {
  Tensor t = empty(dtype, std::move(dims));
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel()) << "test data size";
  for (int64_t i = 0; i < t.numel() && i < static_cast<int64_t>(values.size()); ++i) t.set_int(i, values[static_cast<size_t>(i)]);
  return t;
}

inline Tensor f32(Dims dims, const std::vector<double>& values) { return make(DType::kFloat32, std::move(dims), values); }

// Values in [lo, hi) that f16 and bf16 represent exactly (multiples of 1/16 with few bits), so
// a tensor converted to those dtypes holds the same numbers.
inline std::vector<double> random_values(int64_t n, uint32_t seed, double lo = -2.0, double hi = 2.0) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dist(static_cast<int>(lo * 16), static_cast<int>(hi * 16) - 1);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = dist(gen) / 16.0;
  return v;
}

inline Tensor random(DType dtype, Dims dims, uint32_t seed, double lo = -2.0, double hi = 2.0) {
  Tensor t = empty(dtype, dims);
  return make(dtype, dims, random_values(t.numel(), seed, lo, hi));
}

// Converts a tensor's values to another dtype (values rounded by the storage types).
inline Tensor as(const Tensor& t, DType dtype) { return make(dtype, t.dims, t.values()); }

// Runs a layer whose single output has `dtype` and `dims`; fails the test on an error.
inline Tensor run1(const net::LayerParams& params, std::vector<Tensor*> inputs, DType dtype, Dims dims) {
  std::vector<TensorView> in;
  for (Tensor* t : inputs) in.push_back(t ? t->view() : TensorView{nullptr, DType::kFloat32, {}});
  Tensor out = empty(dtype, std::move(dims));
  Status s = run_layer(params, in, {out.view()});
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return out;
}

// Runs a layer and returns its status (output of `dtype` and `dims`).
inline Status run_status(const net::LayerParams& params, std::vector<Tensor*> inputs, DType dtype, Dims dims) {
  std::vector<TensorView> in;
  for (Tensor* t : inputs) in.push_back(t ? t->view() : TensorView{nullptr, DType::kFloat32, {}});
  Tensor out = empty(dtype, std::move(dims));
  return run_layer(params, in, {out.view()});
}

// Element-wise comparison with a relative + absolute tolerance; NaN equals NaN.
inline void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-5,
                        const char* what = "") {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " element " << i << ": got " << got[i] << ", want nan";
      continue;
    }
    if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << what << " element " << i;
      continue;
    }
    EXPECT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << what << " element " << i;
  }
}

// Exact comparison (bitwise for floats except that NaN equals NaN and -0 differs from +0).
inline void expect_exact(const std::vector<double>& got, const std::vector<double>& want, const char* what = "") {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " element " << i << ": got " << got[i];
      continue;
    }
    EXPECT_EQ(got[i], want[i]) << what << " element " << i;
    EXPECT_EQ(std::signbit(got[i]), std::signbit(want[i])) << what << " sign of element " << i;
  }
}

// The f32 result rounded to `dtype`, as a kernel computing in float must produce.
inline std::vector<double> rounded(const std::vector<double>& f32_values, DType dtype) {
  std::vector<double> r(f32_values.size());
  for (size_t i = 0; i < r.size(); ++i) {
    float f = static_cast<float>(f32_values[i]);
    r[i] = dtype == DType::kFloat16 ? static_cast<float>(Half(f)) : dtype == DType::kBFloat16 ? static_cast<float>(BFloat16(f)) : f;
  }
  return r;
}

}  // namespace ingot::kernels::cpu::testing
