// Harness for the CUDA kernel tests: a case is one layer (parameters + input specs); run_case()
// fills the inputs with seeded random data, runs the CPU reference (kernels::cpu::run_layer)
// and the CUDA launch on the same bytes, and compares. The GPU output is poisoned before the
// launch and the launch runs twice with different poison bytes: an element the kernel does not
// write differs between the two runs and is reported.
//
// Tolerances: integers and bool exactly; f32 |got - ref| <= atol + rtol * |ref|; f16 / bf16
// one unit in the last place of the format (at the larger magnitude) plus atol. NaN matches
// NaN, infinities match themselves.
#pragma once

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "kernels/cuda/kernels.h"
#include "net/layers.h"

namespace ingot::kernels::cuda::testing {

using ir::DType;
using Dims = std::vector<int64_t>;

// True if a CUDA device is usable (cudaGetDeviceCount > 0).
bool have_device();

#define INGOT_SKIP_WITHOUT_GPU()                                                        \
  do {                                                                                  \
    if (!::ingot::kernels::cuda::testing::have_device()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

// How an input is filled. kDefault: floats uniform in [-4, 4]; i8 / u8 over their whole range;
// i32 in [-1e5, 1e5]; i64 in [-1e12, 1e12]; bool 0/1.
struct Dist {
  enum Kind { kDefault, kUniform, kInts, kSpecials, kNonZero };
  Kind kind = kDefault;
  double lo = 0.0, hi = 0.0;
};
inline Dist uniform(double lo, double hi) { return {Dist::kUniform, lo, hi}; }
inline Dist ints(double lo, double hi) { return {Dist::kInts, lo, hi}; }
// Uniform in [lo, hi] with about one element in eight NaN, +-inf, +-0 or +-1e10.
inline Dist specials(double lo = -4.0, double hi = 4.0) { return {Dist::kSpecials, lo, hi}; }
// The default distribution without zeros (integer divisors).
inline Dist nonzero() { return {Dist::kNonZero, 0.0, 0.0}; }

struct InputSpec {
  DType dtype = DType::kFloat32;
  Dims dims;
  Dist dist;
  bool absent = false;  // an absent optional input (data == nullptr)
  int misalign = 0;     // device copy placed this many elements past an aligned address
};

inline InputSpec in(DType t, Dims d, Dist dist = {}) { return InputSpec{t, std::move(d), dist}; }
inline InputSpec absent() {
  InputSpec s;
  s.absent = true;
  return s;
}
inline InputSpec misaligned(InputSpec s, int elems = 1) {
  s.misalign = elems;
  return s;
}

struct HostTensor;

struct Case {
  std::string name;  // unique within a suite; letters, digits and '_'
  net::LayerParams params;
  std::vector<InputSpec> inputs;
  double rtol = 1e-5;
  double atol = 1e-6;
  double sums_atol = 2e-3;  // f64 outputs (a convolution's channel sums: float partial sums of the stored outputs)
  int out_misalign = 0;  // output placed this many elements past an aligned address
  bool workspace = true;  // launch with workspace_size() bytes of scratch (false: nullptr)
  // Launches the case instead of launch() (another mode of a layer's kernels, as a runner's
  // tactic picks it), with the same inputs, outputs and workspace; empty: launch().
  std::function<Status(const std::vector<DeviceTensor>&, const std::vector<DeviceTensor>&, cudaStream_t, void*)> launcher;
  // Recomputes reference outputs that derive from others from what the launch wrote (a
  // convolution's channel sums from its y as stored: y may differ from the reference by an
  // ulp an element, which its sums would add up); empty: the CPU reference's as they are.
  std::function<void(const std::vector<HostTensor>& got, std::vector<HostTensor>& ref)> derive_reference;
};

inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Builds a case; tolerances can be set on the result.
inline Case make_case(std::string name, net::LayerParams params, std::vector<InputSpec> inputs) {
  Case c;
  c.name = std::move(name);
  c.params = std::move(params);
  c.inputs = std::move(inputs);
  return c;
}
inline Case with_tol(Case c, double rtol, double atol) {
  c.rtol = rtol;
  c.atol = atol;
  return c;
}

// Runs `c` on both backends and reports every mismatch through gtest.
void run_case(const Case& c);

// gtest parameter names.
struct CaseName {
  std::string operator()(const ::testing::TestParamInfo<Case>& info) const { return info.param.name; }
};

// ---- small device helpers shared by the tests

// Owns one cudaMalloc allocation.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_) { o.ptr_ = nullptr; }
  char* get() const { return static_cast<char*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

// Host bytes of a tensor (8-byte aligned) with typed access.
struct HostTensor {
  DType dtype = DType::kFloat32;
  Dims dims;
  std::vector<uint64_t> storage;

  HostTensor() = default;
  HostTensor(DType t, Dims d);
  int64_t numel() const;
  size_t nbytes() const;
  void* data() { return storage.data(); }
  const void* data() const { return storage.data(); }
  double get(int64_t i) const;  // as double (ints exactly up to 2^53)
  int64_t get_int(int64_t i) const;
  void set(int64_t i, double v);
};

// Fills `t` from `dist` with a generator seeded by `seed`.
void fill_random(HostTensor& t, const Dist& dist, uint64_t seed);

// A convolution a kernel must refuse; `what` names it in failures. A present optional input
// has any non-null data (the other tensors' data stay null until expect_launch_refuses).
struct ConvRefusal {
  const char* what;
  net::ConvolutionParams p;
  std::vector<DeviceTensor> in, out;
};

// Refusal cases made from one convolution a kernel accepts: with(what, change) adds a copy of
// it altered by `change` (a callable taking ConvRefusal&).
struct ConvRefusals {
  net::ConvolutionParams p;
  std::vector<DeviceTensor> in, out;
  std::vector<ConvRefusal> cases;
  template <typename Change>
  void with(const char* what, Change change) {
    ConvRefusal b{what, p, in, out};
    change(b);
    cases.push_back(std::move(b));
  }
};

// A launcher of one kernel of a convolution (launch() when empty).
using ConvLauncher = std::function<Status(const net::ConvolutionParams&, const std::vector<DeviceTensor>&,
                                          const std::vector<DeviceTensor>&)>;

// `launcher` refuses each (with a GPU): x, w, the outputs and the present optional inputs point
// into one 1 MiB buffer first, so that a kernel that ran anyway would read and write real
// memory.
void expect_launch_refuses(const std::vector<ConvRefusal>& refusals, const ConvLauncher& launcher = {});

}  // namespace ingot::kernels::cuda::testing
