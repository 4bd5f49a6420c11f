// Element access for the CPU kernels (internal): every engine dtype loaded as float, double or
// int64 and stored back. Floating values are rounded once, on store (f16/bf16 to nearest even);
// integers are stored with two's-complement wrap-around, bool as 0/1.
//
// Kernels convert whole tensors at their boundary (load_*, store_*, FloatInput, FloatOutput)
// and compute on plain arrays, so the dtype switch happens once per tensor, not per element.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "support/half.h"

namespace ingot::kernels::cpu::detail {

using ir::DType;

// Elements of a tensor read as float / double (floats exact, ints converted) or as int64
// (ints exact, bool 0/1, floats truncated toward zero as a cast to the integer type would).
std::vector<float> load_floats(const TensorView& t);
std::vector<double> load_doubles(const TensorView& t);
std::vector<int64_t> load_ints(const TensorView& t);

// Writes `t.numel()` values into `t`, converting to its dtype.
void store_floats(const float* src, const TensorView& t);
void store_doubles(const double* src, const TensorView& t);
void store_ints(const int64_t* src, const TensorView& t);

// One value converted to `to` and written at element `i` of `data`.
void store_double_at(void* data, DType to, int64_t i, double v);
void store_int_at(void* data, DType to, int64_t i, int64_t v);

// What a cast of a floating value to an integer dtype gives in eager PyTorch on x86: truncation
// toward zero; NaN and values out of range give the hardware's "integer indefinite" (i8/u8/i32
// through a 32-bit conversion, then wrapped).
int64_t float_to_int(double v, DType to);

// A float array view of an input: f32 data is borrowed, other dtypes are converted once.
class FloatInput {
 public:
  explicit FloatInput(const TensorView& t);
  const float* data() const { return ptr_; }
  float operator[](int64_t i) const { return ptr_[i]; }

 private:
  std::vector<float> buffer_;
  const float* ptr_ = nullptr;
};

// A float array to compute an output in: f32 outputs are written in place, other dtypes go
// through a buffer that commit() rounds into the tensor.
class FloatOutput {
 public:
  explicit FloatOutput(const TensorView& t);
  float* data() { return ptr_; }
  void commit();

 private:
  TensorView view_;
  std::vector<float> buffer_;
  float* ptr_ = nullptr;
};

inline bool is_float_dtype(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16;
}

}  // namespace ingot::kernels::cpu::detail
