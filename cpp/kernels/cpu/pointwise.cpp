// Pointwise programs (net::PointwiseParams): each step over a chunk of output elements at a
// time, in float, through the same code as the unfused layers (run() of the elementwise and
// unary kernels on float chunks), so that a fused chain differs from the layers it replaces only
// by the rounding it no longer does between them.
#include <algorithm>
#include <cmath>
#include <optional>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"
#include "net/pointwise.h"

namespace ingot::kernels::cpu::detail {

namespace {

constexpr int64_t kChunk = 4096;  // output elements a pass over the steps

TensorView floats_view(float* p, int64_t n) { return TensorView{p, DType::kFloat32, {n}}; }

// Bool results (0 / 1 bytes) of a kernel back into float values.
void bools_to_floats(const uint8_t* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = b[i] ? 1.0f : 0.0f;
}

// One step over `n` elements: operands from `v` (per step), result into `y`.
Status run_step(const net::PointwiseOp& s, const std::vector<std::vector<float>>& v, float* y, int64_t n,
                std::vector<uint8_t>& flags) {
  auto operand = [&](int k) { return const_cast<float*>(v[static_cast<size_t>(k)].data()); };
  switch (s.kind) {
    case net::PointwiseStep::kConstant:
      std::fill(y, y + n, static_cast<float>(s.alpha));
      return Status::ok();
    case net::PointwiseStep::kUnary: {
      const auto op = static_cast<net::UnaryOp>(s.op);
      const float* x = operand(s.x);
      switch (op) {
        case net::UnaryOp::kLogicalNot: for (int64_t i = 0; i < n; ++i) y[i] = x[i] == 0.0f ? 1.0f : 0.0f; return Status::ok();
        case net::UnaryOp::kIsNan: for (int64_t i = 0; i < n; ++i) y[i] = std::isnan(x[i]) ? 1.0f : 0.0f; return Status::ok();
        case net::UnaryOp::kIsInf: for (int64_t i = 0; i < n; ++i) y[i] = std::isinf(x[i]) ? 1.0f : 0.0f; return Status::ok();
        default: break;
      }
      net::UnaryParams u;
      u.op = op, u.alpha = s.alpha, u.beta = s.beta;
      return run(u, {floats_view(operand(s.x), n)}, {floats_view(y, n)});
    }
    case net::PointwiseStep::kBinary: {
      const auto op = static_cast<net::BinaryOp>(s.op);
      const Tensors in{floats_view(operand(s.x), n), floats_view(operand(s.y), n)};
      if (!net::is_comparison(op)) return run(net::ElementwiseParams{op}, in, {floats_view(y, n)});
      INGOT_RETURN_IF_ERROR(run(net::ElementwiseParams{op}, in, {TensorView{flags.data(), DType::kBool, {n}}}));
      bools_to_floats(flags.data(), y, n);
      return Status::ok();
    }
    case net::PointwiseStep::kSelect: {
      const float *c = operand(s.x), *a = operand(s.y), *b = operand(s.z);
      for (int64_t i = 0; i < n; ++i) y[i] = c[i] != 0.0f ? a[i] : b[i];
      return Status::ok();
    }
    case net::PointwiseStep::kCast: {
      const float* x = operand(s.x);
      switch (s.dtype) {
        case DType::kFloat16: for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(Half(x[i])); break;
        case DType::kBFloat16: for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(BFloat16(x[i])); break;
        case DType::kBool: for (int64_t i = 0; i < n; ++i) y[i] = x[i] != 0.0f ? 1.0f : 0.0f; break;
        default: std::copy(x, x + n, y); break;
      }
      return Status::ok();
    }
    default:
      return error(ErrorCode::kInternal, "pointwise: step kind ", net::enum_name(s.kind), " reached run_step");
  }
}

}  // namespace

Status run(const net::PointwiseParams& p, const Tensors& in, const Tensors& out) {
  const TensorView& y = out[0];
  const size_t steps = p.steps();
  std::vector<net::PointwiseOp> ops;
  for (size_t i = 0; i < steps; ++i) ops.push_back(net::pointwise_step(p, i));

  std::vector<FloatInput> inputs;
  std::vector<Dims> dims;
  inputs.reserve(in.size());
  for (const TensorView& t : in) {
    inputs.emplace_back(t);
    dims.push_back(t.dims);
  }
  const bool bool_out = y.dtype == DType::kBool;
  std::vector<float> bool_values(bool_out ? static_cast<size_t>(y.numel()) : 0);
  std::optional<FloatOutput> fy;
  if (!bool_out) fy.emplace(y);
  float* result = bool_out ? bool_values.data() : fy->data();

  std::vector<std::vector<float>> v(steps, std::vector<float>(kChunk));
  std::vector<uint8_t> flags(kChunk);
  Status status;
  StridedWalk walk = broadcast_walk(y.dims, dims);
  walk.for_each_run([&](int64_t o, const int64_t* offs, int64_t len) {
    for (int64_t start = 0; start < len && status.is_ok(); start += kChunk) {
      const int64_t n = std::min(kChunk, len - start);
      for (size_t i = 0; i < steps && status.is_ok(); ++i) {
        const net::PointwiseOp& s = ops[i];
        float* dst = v[i].data();
        if (s.kind == net::PointwiseStep::kInput) {
          const auto k = static_cast<size_t>(s.op);
          const int64_t stride = walk.inner_stride(k);
          const float* src = inputs[k].data() + offs[k] + start * stride;
          for (int64_t e = 0; e < n; ++e) dst[e] = src[e * stride];
        } else {
          status = run_step(s, v, dst, n, flags);
        }
      }
      if (status.is_ok()) std::copy(v[steps - 1].data(), v[steps - 1].data() + n, result + o + start);
    }
  });
  INGOT_RETURN_IF_ERROR(status);
  if (bool_out) {
    auto* b = static_cast<uint8_t*>(y.data);
    for (size_t i = 0; i < bool_values.size(); ++i) b[i] = bool_values[i] != 0.0f;
  } else {
    fy->commit();
  }
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
