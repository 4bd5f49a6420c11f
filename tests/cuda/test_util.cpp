#include "test_util.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>

#include "ir/symbolic.h"
#include "net/network.h"
#include "support/half.h"

namespace ingot::kernels::cuda::testing {

namespace {

// Extra device bytes past every tensor; none in the emulation, where AddressSanitizer then sees
// any access past the end.
#ifdef INGOT_CUDA_EMULATION
constexpr size_t kPad = 0;
#else
constexpr size_t kPad = 64;
#endif

int64_t product(const Dims& d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  return n;
}

std::string dims_str(const Dims& d) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < d.size(); ++i) os << (i ? ", " : "") << d[i];
  os << "]";
  return os.str();
}

std::string coords_str(int64_t index, const Dims& d) {
  Dims c(d.size());
  for (size_t i = d.size(); i-- > 0;) {
    c[i] = d[i] > 0 ? index % d[i] : 0;
    index = d[i] > 0 ? index / d[i] : 0;
  }
  return dims_str(c);
}

bool is_float(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 || t == DType::kFloat64;  // f64: channel sums
}

// One unit in the last place of f16 / bf16 at magnitude |v|.
double ulp_of(DType t, double v) {
  int mant_bits = t == DType::kFloat16 ? 10 : 7;
  int min_exp = t == DType::kFloat16 ? -14 : -126;
  double a = std::fabs(v);
  int e = a > 0 ? std::ilogb(a) : min_exp;
  if (e < min_exp) e = min_exp;
  return std::ldexp(1.0, e - mant_bits);
}

cudaStream_t test_stream() {
  static cudaStream_t stream = [] {
    cudaStream_t s = nullptr;
    if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess) s = nullptr;
    return s;
  }();
  return stream;
}

}  // namespace

bool have_device() {
  static const bool present = [] {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
  }();
  return present;
}

DeviceBuffer::DeviceBuffer(size_t bytes) {
  if (cudaMalloc(&ptr_, bytes == 0 ? 1 : bytes) != cudaSuccess) {
    ptr_ = nullptr;
    ADD_FAILURE() << "cudaMalloc of " << bytes << " bytes failed";
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}

HostTensor::HostTensor(DType t, Dims d) : dtype(t), dims(std::move(d)) {
  storage.assign((nbytes() + 7) / 8 + 1, 0);
}

int64_t HostTensor::numel() const { return product(dims); }
size_t HostTensor::nbytes() const { return static_cast<size_t>(numel()) * ir::dtype_size(dtype); }

double HostTensor::get(int64_t i) const {
  const char* p = reinterpret_cast<const char*>(storage.data());
  switch (dtype) {
    case DType::kFloat32: { float f; std::memcpy(&f, p + 4 * i, 4); return f; }
    case DType::kFloat64: { double f; std::memcpy(&f, p + 8 * i, 8); return f; }
    case DType::kFloat16: { uint16_t b; std::memcpy(&b, p + 2 * i, 2); return Half::to_float(b); }
    case DType::kBFloat16: { uint16_t b; std::memcpy(&b, p + 2 * i, 2); return BFloat16::to_float(b); }
    default: return static_cast<double>(get_int(i));
  }
}

int64_t HostTensor::get_int(int64_t i) const {
  const char* p = reinterpret_cast<const char*>(storage.data());
  switch (dtype) {
    case DType::kInt8: { int8_t x; std::memcpy(&x, p + i, 1); return x; }
    case DType::kUInt8: { uint8_t x; std::memcpy(&x, p + i, 1); return x; }
    case DType::kBool: { uint8_t x; std::memcpy(&x, p + i, 1); return x; }  // raw byte: 0/1 expected
    case DType::kInt32: { int32_t x; std::memcpy(&x, p + 4 * i, 4); return x; }
    case DType::kInt64: { int64_t x; std::memcpy(&x, p + 8 * i, 8); return x; }
    default: return static_cast<int64_t>(get(i));
  }
}

void HostTensor::set(int64_t i, double v) {
  char* p = reinterpret_cast<char*>(storage.data());
  switch (dtype) {
    case DType::kFloat32: { float f = static_cast<float>(v); std::memcpy(p + 4 * i, &f, 4); return; }
    case DType::kFloat64: std::memcpy(p + 8 * i, &v, 8); return;
    case DType::kFloat16: { uint16_t b = Half::from_float(static_cast<float>(v)); std::memcpy(p + 2 * i, &b, 2); return; }
    case DType::kBFloat16: { uint16_t b = BFloat16::from_float(static_cast<float>(v)); std::memcpy(p + 2 * i, &b, 2); return; }
    case DType::kInt8: { auto x = static_cast<int8_t>(static_cast<int64_t>(v)); std::memcpy(p + i, &x, 1); return; }
    case DType::kUInt8: { auto x = static_cast<uint8_t>(static_cast<int64_t>(v)); std::memcpy(p + i, &x, 1); return; }
    case DType::kBool: { uint8_t x = v != 0.0 ? 1 : 0; std::memcpy(p + i, &x, 1); return; }
    case DType::kInt32: { auto x = static_cast<int32_t>(static_cast<int64_t>(v)); std::memcpy(p + 4 * i, &x, 4); return; }
    case DType::kInt64: { auto x = static_cast<int64_t>(v); std::memcpy(p + 8 * i, &x, 8); return; }
    default: ADD_FAILURE() << "bad dtype"; return;
  }
}

void fill_random(HostTensor& t, const Dist& dist, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int64_t n = t.numel();
  if (is_float(t.dtype)) {
    double lo = dist.kind == Dist::kDefault || dist.kind == Dist::kNonZero ? -4.0 : dist.lo;
    double hi = dist.kind == Dist::kDefault || dist.kind == Dist::kNonZero ? 4.0 : dist.hi;
    std::uniform_real_distribution<double> u(lo, hi);
    std::uniform_int_distribution<int64_t> ui(static_cast<int64_t>(lo), static_cast<int64_t>(hi));
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    const double special[] = {nan, inf, -inf, 0.0, -0.0, 1e10, -1e10};
    for (int64_t i = 0; i < n; ++i) {
      double v;
      if (dist.kind == Dist::kInts) {
        v = static_cast<double>(ui(rng));
      } else if (dist.kind == Dist::kSpecials && rng() % 8 == 0) {
        v = special[rng() % 7];
      } else {
        v = u(rng);
        while (dist.kind == Dist::kNonZero && std::fabs(v) < 0.25) v = u(rng);
      }
      t.set(i, v);
    }
    return;
  }
  int64_t lo, hi;
  switch (t.dtype) {
    case DType::kInt8: lo = -128; hi = 127; break;
    case DType::kUInt8: lo = 0; hi = 255; break;
    case DType::kInt32: lo = -100000; hi = 100000; break;
    case DType::kInt64: lo = -1000000000000; hi = 1000000000000; break;
    default: lo = 0; hi = 1; break;  // bool
  }
  if (dist.kind == Dist::kInts || dist.kind == Dist::kUniform) {
    lo = static_cast<int64_t>(dist.lo);
    hi = static_cast<int64_t>(dist.hi);
  }
  std::uniform_int_distribution<int64_t> u(lo, hi);
  char* p = reinterpret_cast<char*>(t.storage.data());
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = u(rng);
    while (dist.kind == Dist::kNonZero && v == 0) v = u(rng);
    if (t.dtype == DType::kInt64) std::memcpy(p + 8 * i, &v, 8);
    else t.set(i, static_cast<double>(v));
  }
}

namespace {

// Compares one output; returns a failure description or "".
std::string compare(const Case& c, size_t k, const HostTensor& ref, const HostTensor& got) {
  int64_t n = ref.numel(), bad = 0, first = -1;
  std::ostringstream examples;
  for (int64_t i = 0; i < n; ++i) {
    bool ok;
    std::string want, have;
    if (is_float(ref.dtype)) {
      double r = ref.get(i), g = got.get(i);
      if (std::isnan(r)) ok = std::isnan(g);
      else if (std::isinf(r) || std::isinf(g)) ok = r == g;
      else if (ref.dtype == DType::kFloat64) ok = std::fabs(g - r) <= c.sums_atol + c.rtol * std::fabs(r);
      else if (ref.dtype == DType::kFloat32) ok = std::fabs(g - r) <= c.atol + c.rtol * std::fabs(r);
      else ok = std::fabs(g - r) <= ulp_of(ref.dtype, std::max(std::fabs(r), std::fabs(g))) + c.atol;
      if (!ok) {
        std::ostringstream w, h;
        w.precision(9);
        h.precision(9);
        w << r;
        h << g;
        want = w.str();
        have = h.str();
      }
    } else {
      int64_t r = ref.get_int(i), g = got.get_int(i);
      ok = r == g;
      if (!ok) {
        want = std::to_string(r);
        have = std::to_string(g);
      }
    }
    if (ok) continue;
    if (bad < 5) examples << "\n    at " << i << " " << coords_str(i, ref.dims) << ": got " << have << ", want " << want;
    if (first < 0) first = i;
    ++bad;
  }
  if (bad == 0) return "";
  std::ostringstream os;
  os << net::layer_kind_name(net::kind_of(c.params)) << " case " << c.name << ": output #" << k << " "
     << ir::dtype_name(ref.dtype) << dims_str(ref.dims) << ": " << bad << " of " << n
     << " elements differ from the CPU reference (first at index " << first << ")" << examples.str();
  return os.str();
}

}  // namespace

void run_case(const Case& c) {
  SCOPED_TRACE(c.name);
  const char* kind = net::layer_kind_name(net::kind_of(c.params));
  uint64_t seed = std::hash<std::string>{}(c.name);

  // Inputs and the output types the layer's shape function gives.
  std::vector<HostTensor> host_in(c.inputs.size());
  std::vector<cpu::TensorView> cpu_in(c.inputs.size());
  std::vector<ir::TensorType> types(c.inputs.size());
  std::vector<const ir::TensorType*> type_ptrs(c.inputs.size(), nullptr);
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    const InputSpec& s = c.inputs[k];
    if (s.absent) continue;
    host_in[k] = HostTensor(s.dtype, s.dims);
    fill_random(host_in[k], s.dist, seed + 7919 * (k + 1));
    cpu_in[k] = cpu::TensorView{host_in[k].data(), s.dtype, s.dims};
    types[k] = ir::TensorType{s.dtype, ir::shape_of(s.dims)};
    type_ptrs[k] = &types[k];
  }
  auto out_types = net::infer_types(c.params, type_ptrs);
  ASSERT_TRUE(out_types.has_value()) << kind << " case " << c.name << ": shape function failed: " << out_types.status().message();
  std::vector<HostTensor> ref;
  std::vector<cpu::TensorView> cpu_out;
  for (const ir::TensorType& t : *out_types) {
    auto dims = ir::static_dims(t.shape);
    ASSERT_TRUE(dims.has_value()) << c.name << ": output shape is not static";
    ref.emplace_back(t.dtype, *dims);
  }
  for (HostTensor& r : ref) cpu_out.push_back(cpu::TensorView{r.data(), r.dtype, r.dims});
  Status cpu_status = cpu::run_layer(c.params, cpu_in, cpu_out);
  ASSERT_TRUE(cpu_status.is_ok()) << kind << " case " << c.name << ": the CPU reference failed: " << cpu_status.message();

  // Device copies, inputs placed `misalign` elements past a 256-byte aligned allocation. Every
  // transfer goes through the (non-blocking) test stream, so that it is ordered with the
  // kernels; cudaMemcpy / cudaMemset would run on the legacy default stream instead.
  cudaStream_t stream = test_stream();
  ASSERT_NE(stream, nullptr) << "cudaStreamCreate failed";
  std::vector<DeviceBuffer> buffers;
  std::vector<DeviceTensor> dev_in(c.inputs.size()), dev_out(ref.size());
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    const InputSpec& s = c.inputs[k];
    if (s.absent) continue;
    size_t off = static_cast<size_t>(s.misalign) * ir::dtype_size(s.dtype);
    buffers.emplace_back(host_in[k].nbytes() + off + kPad);
    char* p = buffers.back().get() + off;
    ASSERT_EQ(cudaMemcpyAsync(p, host_in[k].data(), host_in[k].nbytes(), cudaMemcpyHostToDevice, stream), cudaSuccess);
    dev_in[k] = DeviceTensor{p, s.dtype, s.dims};
  }
  for (size_t k = 0; k < ref.size(); ++k) {
    size_t off = static_cast<size_t>(c.out_misalign) * ir::dtype_size(ref[k].dtype);
    buffers.emplace_back(ref[k].nbytes() + off + kPad);
    dev_out[k] = DeviceTensor{buffers.back().get() + off, ref[k].dtype, ref[k].dims};
  }

  size_t ws_bytes = c.workspace ? workspace_size(c.params, dev_in, dev_out) : 0;
  if (ws_bytes) buffers.emplace_back(ws_bytes);
  void* workspace = ws_bytes ? buffers.back().get() : nullptr;

  std::vector<std::vector<HostTensor>> runs(2);
  const int poison[2] = {0xFF, 0x5A};
  for (int r = 0; r < 2; ++r) {
    for (size_t k = 0; k < ref.size(); ++k) {
      ASSERT_EQ(cudaMemsetAsync(dev_out[k].data, poison[r], ref[k].nbytes(), stream), cudaSuccess);
    }
    Status s = c.launcher ? c.launcher(dev_in, dev_out, stream, workspace) : launch(c.params, dev_in, dev_out, stream, workspace);
    ASSERT_TRUE(s.is_ok()) << kind << " case " << c.name << ": launch failed: " << s.message();
    cudaError_t err = cudaStreamSynchronize(stream);
    ASSERT_EQ(err, cudaSuccess) << kind << " case " << c.name << ": kernel failed: " << cudaGetErrorString(err);
    for (size_t k = 0; k < ref.size(); ++k) {
      runs[r].emplace_back(ref[k].dtype, ref[k].dims);
      ASSERT_EQ(cudaMemcpyAsync(runs[r][k].data(), dev_out[k].data, ref[k].nbytes(), cudaMemcpyDeviceToHost, stream),
                cudaSuccess);
    }
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  }

  if (c.derive_reference) c.derive_reference(runs[0], ref);
  for (size_t k = 0; k < ref.size(); ++k) {
    size_t es = ir::dtype_size(ref[k].dtype);
    const auto* a = reinterpret_cast<const unsigned char*>(runs[0][k].data());
    const auto* b = reinterpret_cast<const unsigned char*>(runs[1][k].data());
    // f64 outputs are sums added by atomics in any order: the two launches agree within the
    // tolerance (their poison is NaN or ~1e127), not bit for bit.
    const bool exact = ref[k].dtype != DType::kFloat64;
    if (!exact) {
      std::string again = compare(c, k, ref[k], runs[1][k]);
      if (!again.empty()) ADD_FAILURE() << "second launch: " << again;
    }
    for (size_t i = 0; exact && i < ref[k].nbytes(); ++i) {
      if (a[i] == b[i]) continue;
      int64_t e = static_cast<int64_t>(i / es);
      ADD_FAILURE() << kind << " case " << c.name << ": output #" << k << " " << ir::dtype_name(ref[k].dtype)
                    << dims_str(ref[k].dims) << ": element " << e << " " << coords_str(e, ref[k].dims)
                    << " is not written (it keeps the poison bytes) or differs between two launches";
      break;
    }
    std::string msg = compare(c, k, ref[k], runs[0][k]);
    if (!msg.empty()) ADD_FAILURE() << msg;
  }
}

void expect_launch_refuses(const std::vector<ConvRefusal>& refusals, const ConvLauncher& launcher) {
  if (!have_device()) return;
  DeviceBuffer buffer(size_t{1} << 20);
  for (ConvRefusal r : refusals) {
    for (auto* ts : {&r.in, &r.out}) {
      for (DeviceTensor& x : *ts) {
        if (x.data || ts == &r.out || &x - ts->data() < 2) x.data = buffer.get();
      }
    }
    EXPECT_FALSE((launcher ? launcher(r.p, r.in, r.out) : launch(r.p, r.in, r.out, nullptr)).is_ok()) << r.what;
  }
}

}  // namespace ingot::kernels::cuda::testing
