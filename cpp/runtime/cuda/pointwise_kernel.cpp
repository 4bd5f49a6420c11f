#include "runtime/cuda/pointwise_kernel.h"

#include <nvrtc.h>

#include <algorithm>
#include <map>
#include <mutex>

#include <cmath>
#include <cstring>
#include <sstream>

#include "net/pointwise.h"
#include "runtime/cuda/cuda_util.h"
#include "runtime/cuda/float_ops_source.h"

namespace ingot::runtime::cuda {

namespace {

// Helpers every kernel carries after kFloatOpsSource (kernels/cuda/float_ops.cuh): 16-bit
// conversions by PTX (no headers under NVRTC) and the activations' helpers.
constexpr const char* kPrelude = R"(
__device__ __forceinline__ float h2f(unsigned short h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
__device__ __forceinline__ unsigned short f2h(float f) { unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
__device__ __forceinline__ float b2f(unsigned short b) { return __uint_as_float(((unsigned int)b) << 16); }
__device__ __forceinline__ unsigned short f2b(float f) { unsigned short b; asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(b) : "f"(f)); return b; }
__device__ __forceinline__ float flag(bool b) { return b ? 1.0f : 0.0f; }
__device__ __forceinline__ float relu6s(float x) { float m = (x + 3.0f < 0.0f) ? 0.0f : x + 3.0f; return (6.0f < m) ? 6.0f : m; }
__device__ __forceinline__ float clampf(float v, float lo, float hi) { float r = v < lo ? lo : v; return r > hi ? hi : r; }
)";

// PointwiseKernelArgs as the generated source declares it, from the header's constants.
std::string args_struct() {
  std::ostringstream os;
  os << "struct PointwiseKernelArgs {\n  const void* in[" << kPointwiseMaxInputs << "];\n  long long strides["
     << kPointwiseMaxInputs << "][" << kPointwiseMaxRank << "];\n  long long dims[" << kPointwiseMaxRank
     << "];\n  long long n;\n  void* out;\n  int rank;\n};\n";
  return os.str();
}

// A float literal with the exact bits of `v` (NaN and infinities included).
std::string literal(double v) {
  const float f = static_cast<float>(v);
  uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof bits);
  std::ostringstream os;
  os << "__uint_as_float(" << bits << "u)";
  return os.str();
}

std::string load_expr(ir::DType t, int k) {
  const std::string at = "[off" + std::to_string(k) + "]";
  const std::string p = "a.in[" + std::to_string(k) + "])";
  switch (t) {
    case ir::DType::kFloat32: return "((const float*)" + p + at;
    case ir::DType::kFloat16: return "h2f(((const unsigned short*)" + p + at + ")";
    case ir::DType::kBFloat16: return "b2f(((const unsigned short*)" + p + at + ")";
    default: return "flag(((const unsigned char*)" + p + at + " != 0)";  // bool
  }
}

Expected<std::string> unary_expr(net::UnaryOp op, const std::string& v, double alpha, double beta) {
  const std::string A = literal(alpha), B = literal(beta);
  using U = net::UnaryOp;
  switch (op) {
    case U::kIdentity: return v;
    case U::kRelu: return "(" + v + " < 0.0f ? 0.0f : " + v + ")";
    case U::kSigmoid: return "(1.0f / (1.0f + expf(-" + v + ")))";
    case U::kTanh: return "tanhf(" + v + ")";
    case U::kGeluErf: return "(0.5f * " + v + " * (1.0f + erff(" + v + " * 0.70710678118654752f)))";
    case U::kGeluTanh:
      return "(0.5f * " + v + " * (1.0f + tanhf(0.79788456080286536f * (" + v + " + 0.044715f * " + v + " * " + v + " * " + v +
             "))))";
    case U::kSilu: return "(" + v + " / (1.0f + expf(-" + v + ")))";
    case U::kExp: return "expf(" + v + ")";
    case U::kLog: return "logf(" + v + ")";
    case U::kSqrt: return "sqrtf(" + v + ")";
    case U::kRsqrt: return "(1.0f / sqrtf(" + v + "))";
    case U::kNeg: return "(-" + v + ")";
    case U::kAbs: return "fabsf(" + v + ")";
    case U::kErf: return "erff(" + v + ")";
    case U::kSin: return "sinf(" + v + ")";
    case U::kCos: return "cosf(" + v + ")";
    case U::kReciprocal: return "(1.0f / " + v + ")";
    case U::kFloor: return "floorf(" + v + ")";
    case U::kCeil: return "ceilf(" + v + ")";
    case U::kRound: return "rintf(" + v + ")";
    case U::kSign: return "((float)((0.0f < " + v + ") - (" + v + " < 0.0f)))";
    case U::kLogicalNot: return "flag(" + v + " == 0.0f)";
    case U::kLeakyRelu: return "(" + v + " > 0.0f ? " + v + " : " + v + " * " + A + ")";
    case U::kElu: return "(" + v + " > 0.0f ? " + v + " * " + B + " : expm1f(" + v + ") * " + A + " * " + B + ")";
    case U::kClamp:
      if (std::isnan(alpha) || std::isnan(beta)) return literal(NAN);
      return "clampf(" + v + ", " + A + ", " + B + ")";
    case U::kHardSigmoid: return "(relu6s(" + v + ") / 6.0f)";
    case U::kHardSwish: return "(" + v + " * relu6s(" + v + ") / 6.0f)";
    case U::kSoftplus:
      return "(" + v + " * " + A + " > " + B + " ? " + v + " : log1pf(expf(" + v + " * " + A + ")) / " + A + ")";
    case U::kMish: return "(" + v + " * tanhf(log1pf(expf(" + v + "))))";
    case U::kLog1p: return "log1pf(" + v + ")";
    case U::kExpm1: return "expm1f(" + v + ")";
    case U::kTan: return "tanf(" + v + ")";
    case U::kAsin: return "asinf(" + v + ")";
    case U::kAcos: return "acosf(" + v + ")";
    case U::kAtan: return "atanf(" + v + ")";
    case U::kSinh: return "sinhf(" + v + ")";
    case U::kCosh: return "coshf(" + v + ")";
    case U::kAsinh: return "asinhf(" + v + ")";
    case U::kAcosh: return "acoshf(" + v + ")";
    case U::kAtanh: return "atanhf(" + v + ")";
    case U::kLog2: return "log2f(" + v + ")";
    case U::kLog10: return "log10f(" + v + ")";
    case U::kExp2: return "exp2f(" + v + ")";
    case U::kTrunc: return "truncf(" + v + ")";
    case U::kIsNan: return "flag(" + v + " != " + v + ")";
    case U::kIsInf: return "flag(fabsf(" + v + ") == " + literal(INFINITY) + ")";
    case U::kFrac: return "(" + v + " - truncf(" + v + "))";
    case U::kSquare: return "(" + v + " * " + v + ")";
    default: return unsupported("pointwise kernel: unary ", net::enum_name(op));
  }
}

Expected<std::string> binary_expr(net::BinaryOp op, const std::string& a, const std::string& b) {
  using B = net::BinaryOp;
  switch (op) {
    case B::kAdd: return "(" + a + " + " + b + ")";
    case B::kSub: return "(" + a + " - " + b + ")";
    case B::kMul: return "(" + a + " * " + b + ")";
    case B::kDiv: return "(" + a + " / " + b + ")";
    case B::kFloorDiv: return "ingot_float_ops::floor_div(" + a + ", " + b + ")";
    case B::kRemainder: return "ingot_float_ops::remainder_of(" + a + ", " + b + ")";
    case B::kPow: return "powf(" + a + ", " + b + ")";
    case B::kMax: return "ingot_float_ops::max_nan(" + a + ", " + b + ")";
    case B::kMin: return "ingot_float_ops::min_nan(" + a + ", " + b + ")";
    case B::kEq: return "flag(" + a + " == " + b + ")";
    case B::kNe: return "flag(" + a + " != " + b + ")";
    case B::kLt: return "flag(" + a + " < " + b + ")";
    case B::kLe: return "flag(" + a + " <= " + b + ")";
    case B::kGt: return "flag(" + a + " > " + b + ")";
    case B::kGe: return "flag(" + a + " >= " + b + ")";
    case B::kLogicalAnd: return "flag(" + a + " != 0.0f && " + b + " != 0.0f)";
    case B::kLogicalOr: return "flag(" + a + " != 0.0f || " + b + " != 0.0f)";
    case B::kLogicalXor: return "flag((" + a + " != 0.0f) != (" + b + " != 0.0f))";
    case B::kTruncDiv: return "truncf(" + a + " / " + b + ")";
    case B::kAtan2: return "atan2f(" + a + ", " + b + ")";
    default: return unsupported("pointwise kernel: binary ", net::enum_name(op));
  }
}

std::string cast_expr(ir::DType to, const std::string& v) {
  switch (to) {
    case ir::DType::kFloat16: return "h2f(f2h(" + v + "))";
    case ir::DType::kBFloat16: return "b2f(f2b(" + v + "))";
    case ir::DType::kBool: return "flag(" + v + " != 0.0f)";
    default: return v;
  }
}

std::string store_stmt(ir::DType t, const std::string& v) {
  switch (t) {
    case ir::DType::kFloat32: return "((float*)a.out)[i] = " + v + ";";
    case ir::DType::kFloat16: return "((unsigned short*)a.out)[i] = f2h(" + v + ");";
    case ir::DType::kBFloat16: return "((unsigned short*)a.out)[i] = f2b(" + v + ");";
    default: return "((unsigned char*)a.out)[i] = " + v + " != 0.0f;";
  }
}

}  // namespace

Expected<std::string> pointwise_kernel_source(const net::PointwiseParams& p, const std::vector<ir::DType>& inputs,
                                              ir::DType out, const std::string& name) {
  if (inputs.size() > static_cast<size_t>(kPointwiseMaxInputs)) {
    return unsupported("pointwise kernel: ", inputs.size(), " inputs (at most ", kPointwiseMaxInputs, ")");
  }
  std::vector<ir::TensorType> types;
  for (ir::DType t : inputs) types.push_back({t, p.shape});
  std::vector<const ir::TensorType*> ptrs;
  for (const auto& t : types) ptrs.push_back(&t);
  INGOT_RETURN_IF_ERROR(net::check_pointwise(p, ptrs));
  const int n_in = static_cast<int>(inputs.size());
  std::ostringstream os;
  os << kFloatOpsSource << args_struct() << kPrelude << "extern \"C\" __global__ void " << name << "(const PointwiseKernelArgs a) {\n"
     << "  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < a.n; i += (long long)gridDim.x * blockDim.x) {\n"
     << "    long long rem = i";
  for (int k = 0; k < n_in; ++k) os << ", off" << k << " = 0";
  os << ";\n    for (int d = a.rank - 1; d >= 0; --d) {\n"
     << "      const long long q = rem / a.dims[d], c = rem - q * a.dims[d];\n      rem = q;\n";
  for (int k = 0; k < n_in; ++k) os << "      off" << k << " += c * a.strides[" << k << "][d];\n";
  os << "    }\n";
  for (size_t i = 0; i < p.steps(); ++i) {
    const net::PointwiseOp s = net::pointwise_step(p, i);
    auto v = [](int k) { return "v" + std::to_string(k); };
    std::string e;
    switch (s.kind) {
      case net::PointwiseStep::kInput: e = load_expr(inputs[static_cast<size_t>(s.op)], static_cast<int>(s.op)); break;
      case net::PointwiseStep::kConstant: e = literal(s.alpha); break;
      case net::PointwiseStep::kUnary: {
        INGOT_ASSIGN_OR_RETURN(e, unary_expr(static_cast<net::UnaryOp>(s.op), v(s.x), s.alpha, s.beta));
        break;
      }
      case net::PointwiseStep::kBinary: {
        INGOT_ASSIGN_OR_RETURN(e, binary_expr(static_cast<net::BinaryOp>(s.op), v(s.x), v(s.y)));
        break;
      }
      case net::PointwiseStep::kSelect: e = "(" + v(s.x) + " != 0.0f ? " + v(s.y) + " : " + v(s.z) + ")"; break;
      case net::PointwiseStep::kCast: e = cast_expr(s.dtype, v(s.x)); break;
      default: return unsupported("pointwise kernel: step ", i, " of kind ", net::enum_name(s.kind));
    }
    os << "    const float v" << i << " = " << e << ";\n";
  }
  os << "    " << store_stmt(out, "v" + std::to_string(p.steps() - 1)) << "\n  }\n}\n";
  return os.str();
}

Expected<std::string> compile_pointwise_kernel(const std::string& source, const std::string& name, int arch) {
  nvrtcProgram prog = nullptr;
  if (nvrtcCreateProgram(&prog, source.c_str(), (name + ".cu").c_str(), 0, nullptr, nullptr) != NVRTC_SUCCESS) {
    return error(ErrorCode::kInternal, "pointwise kernel ", name, ": nvrtcCreateProgram failed");
  }
  const std::string gpu = "--gpu-architecture=sm_" + std::to_string(arch);
  const char* options[] = {gpu.c_str(), "--std=c++17"};
  const nvrtcResult compiled = nvrtcCompileProgram(prog, 2, options);
  std::string log;
  size_t log_size = 0;
  if (nvrtcGetProgramLogSize(prog, &log_size) == NVRTC_SUCCESS && log_size > 1) {
    log.resize(log_size);
    nvrtcGetProgramLog(prog, log.data());
    log.resize(log_size - 1);
  }
  std::string cubin;
  size_t size = 0;
  if (compiled == NVRTC_SUCCESS && nvrtcGetCUBINSize(prog, &size) == NVRTC_SUCCESS) {
    cubin.resize(size);
    if (nvrtcGetCUBIN(prog, cubin.data()) != NVRTC_SUCCESS) cubin.clear();
  }
  nvrtcDestroyProgram(&prog);
  if (cubin.empty()) {
    return error(ErrorCode::kInternal, "pointwise kernel ", name, ": NVRTC (", nvrtcGetErrorString(compiled), ") for sm_",
                 arch, ": ", log);
  }
  return cubin;
}

namespace {

constexpr const char* kKernelName = "ingot_pointwise";
constexpr int kThreads = 256;

// Loaded kernels by (architecture, source); their libraries stay loaded for the process's life.
Expected<cudaKernel_t> kernel_for(const std::string& source, int arch) {
  static std::mutex mu;
  static std::map<std::pair<int, std::string>, cudaKernel_t> loaded;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(arch, source);
  if (auto it = loaded.find(key); it != loaded.end()) return it->second;
  INGOT_ASSIGN_OR_RETURN(std::string cubin, compile_pointwise_kernel(source, kKernelName, arch));
  cudaLibrary_t library = nullptr;
  INGOT_CUDA_TRY(cudaLibraryLoadData(&library, cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0));
  cudaKernel_t kernel = nullptr;
  INGOT_CUDA_TRY(cudaLibraryGetKernel(&kernel, library, kKernelName));
  loaded[key] = kernel;
  return kernel;
}

}  // namespace

Expected<PointwiseKernel> PointwiseKernel::build(const net::PointwiseParams& p, const std::vector<ir::DType>& inputs,
                                                 ir::DType out) {
  INGOT_ASSIGN_OR_RETURN(std::string source, pointwise_kernel_source(p, inputs, out, kKernelName));
  int device = 0, major = 0, minor = 0;
  INGOT_CUDA_TRY(cudaGetDevice(&device));
  INGOT_CUDA_TRY(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  INGOT_CUDA_TRY(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  PointwiseKernel k;
  INGOT_ASSIGN_OR_RETURN(k.kernel_, kernel_for(source, major * 10 + minor));
  return k;
}

Status PointwiseKernel::bind(const std::vector<kernels::cuda::DeviceTensor>& in, const kernels::cuda::DeviceTensor& y) {
  if (in.size() > static_cast<size_t>(kPointwiseMaxInputs)) {
    return unsupported("pointwise: ", in.size(), " inputs (at most ", kPointwiseMaxInputs, ")");
  }
  PointwiseKernelArgs a{};
  a.n = y.numel();
  // The output's dims with each input's broadcast strides, size-1 dims dropped and dims that
  // are contiguous for every operand merged.
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> strides(in.size());
  std::vector<std::vector<int64_t>> all(in.size(), std::vector<int64_t>(y.dims.size(), 0));
  for (size_t k = 0; k < in.size(); ++k) {
    const auto& d = in[k].dims;
    if (d.size() > y.dims.size()) return invalid_argument("pointwise: input #", k, " has a higher rank than the output");
    int64_t stride = 1;
    for (size_t j = 0; j < d.size(); ++j) {
      const size_t yd = y.dims.size() - 1 - j, xd = d.size() - 1 - j;
      if (d[xd] != 1 && d[xd] != y.dims[yd]) return invalid_argument("pointwise: input #", k, " does not broadcast to the output");
      all[k][yd] = d[xd] == 1 ? 0 : stride;
      stride *= d[xd];
    }
  }
  for (size_t j = 0; j < y.dims.size(); ++j) {
    if (y.dims[j] == 1) continue;
    bool merge = !dims.empty();
    for (size_t k = 0; merge && k < in.size(); ++k) merge = strides[k].back() == all[k][j] * y.dims[j];
    if (merge) {
      dims.back() *= y.dims[j];
      for (size_t k = 0; k < in.size(); ++k) strides[k].back() = all[k][j];
    } else {
      dims.push_back(y.dims[j]);
      for (size_t k = 0; k < in.size(); ++k) strides[k].push_back(all[k][j]);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    for (auto& s : strides) s.push_back(0);
  }
  if (dims.size() > static_cast<size_t>(kPointwiseMaxRank)) {
    return unsupported("pointwise: rank ", dims.size(), " after merging dims (at most ", kPointwiseMaxRank, ")");
  }
  a.rank = static_cast<int>(dims.size());
  for (size_t j = 0; j < dims.size(); ++j) a.dims[j] = dims[j];
  for (size_t k = 0; k < in.size(); ++k) {
    for (size_t j = 0; j < dims.size(); ++j) a.strides[k][j] = strides[k][j];
  }
  args_ = a;
  inputs_ = in.size();
  return Status::ok();
}

Status PointwiseKernel::launch(const std::vector<kernels::cuda::DeviceTensor>& in, const kernels::cuda::DeviceTensor& y,
                               cudaStream_t stream) const {
  if (!kernel_ || in.size() != inputs_ || y.numel() != args_.n) {
    return error(ErrorCode::kInternal, "pointwise: launch with ", in.size(), " inputs and ", y.numel(),
                 " output elements, bound to ", inputs_, " and ", args_.n);
  }
  if (args_.n == 0) return Status::ok();
  PointwiseKernelArgs a = args_;
  a.out = y.data;
  for (size_t k = 0; k < in.size(); ++k) a.in[k] = in[k].data;
  const int64_t blocks = std::min<int64_t>((a.n + kThreads - 1) / kThreads, 132 * 16);
  void* args[] = {&a};
  INGOT_CUDA_TRY(cudaLaunchKernel(reinterpret_cast<const void*>(kernel_), dim3(static_cast<unsigned>(blocks)),
                                  dim3(kThreads), args, 0, stream));
  return Status::ok();
}

Status launch_pointwise(const net::PointwiseParams& p, const std::vector<kernels::cuda::DeviceTensor>& inputs,
                        const std::vector<kernels::cuda::DeviceTensor>& outputs, cudaStream_t stream) {
  if (outputs.size() != 1) return invalid_argument("pointwise: one output, got ", outputs.size());
  std::vector<ir::DType> dtypes;
  for (const auto& t : inputs) dtypes.push_back(t.dtype);
  INGOT_ASSIGN_OR_RETURN(PointwiseKernel k, PointwiseKernel::build(p, dtypes, outputs[0].dtype));
  INGOT_RETURN_IF_ERROR(k.bind(inputs, outputs[0]));
  return k.launch(inputs, outputs[0], stream);
}

}  // namespace ingot::runtime::cuda
