// Reductions over a set of axes, and softmax / log-softmax along one axis.
//
// Floating inputs accumulate in double and round once on store; integer inputs reduce exactly
// in int64 (sum and prod wrap around as the dtype would).
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

using net::ReduceOp;

// Visits every input element with the index of the output element it reduces into:
// fn(input_index, output_index).
struct ReductionMap {
  Dims in_dims;
  StridedWalk walk;
  int64_t count;  // input elements per output element

  template <typename Fn>
  void for_each(Fn&& fn) const {
    int64_t s = walk.inner_stride(0);
    walk.for_each_run([&](int64_t index, const int64_t* offs, int64_t n) {
      for (int64_t i = 0; i < n; ++i) fn(index + i, offs[0] + i * s);
    });
  }
};

ReductionMap make_map(const Dims& x_dims, const std::vector<int64_t>& axes) {
  Dims in = x_dims.empty() ? Dims{1} : x_dims;
  Dims kept = in;
  int64_t count = 1;
  for (int64_t a : axes) {
    count *= in[static_cast<size_t>(a)];
    kept[static_cast<size_t>(a)] = 1;
  }
  return ReductionMap{in, StridedWalk(in, {broadcast_strides(kept, in)}), count};
}

template <typename T>
void fill(std::vector<T>& v, T value) {
  std::fill(v.begin(), v.end(), value);
}

Status reduce_float(const net::ReduceParams& p, const ReductionMap& m, const TensorView& x, const TensorView& y) {
  FloatInput fx(x);
  const float* v = fx.data();
  std::vector<double> acc(static_cast<size_t>(y.numel()));
  double n = static_cast<double>(m.count);
  switch (p.op) {
    case ReduceOp::kSum:
    case ReduceOp::kMean:
    case ReduceOp::kVar:
      fill(acc, 0.0);
      m.for_each([&](int64_t i, int64_t o) { acc[o] += v[i]; });
      if (p.op == ReduceOp::kSum) break;
      for (double& a : acc) a /= n;
      if (p.op == ReduceOp::kMean) break;
      {
        // Second pass around the mean: sum of squared deviations.
        std::vector<double> m2(acc.size(), 0.0);
        m.for_each([&](int64_t i, int64_t o) {
          double d = v[i] - acc[o];
          m2[o] += d * d;
        });
        double divisor = std::max(0.0, n - p.correction);
        for (size_t o = 0; o < acc.size(); ++o) acc[o] = m2[o] / divisor;
      }
      break;
    case ReduceOp::kProd:
      fill(acc, 1.0);
      m.for_each([&](int64_t i, int64_t o) { acc[o] *= v[i]; });
      break;
    case ReduceOp::kMax:
      fill(acc, -std::numeric_limits<double>::infinity());
      m.for_each([&](int64_t i, int64_t o) {
        if (v[i] > acc[o] || std::isnan(v[i])) acc[o] = v[i];
      });
      break;
    case ReduceOp::kMin:
      fill(acc, std::numeric_limits<double>::infinity());
      m.for_each([&](int64_t i, int64_t o) {
        if (v[i] < acc[o] || std::isnan(v[i])) acc[o] = v[i];
      });
      break;
    case ReduceOp::kAny:
      fill(acc, 0.0);
      m.for_each([&](int64_t i, int64_t o) { acc[o] = (acc[o] != 0.0 || v[i] != 0.0f) ? 1.0 : 0.0; });
      break;
    case ReduceOp::kAll:
      fill(acc, 1.0);
      m.for_each([&](int64_t i, int64_t o) { acc[o] = (acc[o] != 0.0 && v[i] != 0.0f) ? 1.0 : 0.0; });
      break;
    default: return invalid_argument("reduce: unknown op");
  }
  store_doubles(acc.data(), y);
  return Status::ok();
}

Status reduce_int(const net::ReduceParams& p, const ReductionMap& m, const TensorView& x, const TensorView& y) {
  std::vector<int64_t> v = load_ints(x);
  std::vector<int64_t> acc(static_cast<size_t>(y.numel()));
  switch (p.op) {
    case ReduceOp::kSum:
      fill<int64_t>(acc, 0);
      m.for_each([&](int64_t i, int64_t o) {
        acc[o] = static_cast<int64_t>(static_cast<uint64_t>(acc[o]) + static_cast<uint64_t>(v[i]));
      });
      break;
    case ReduceOp::kProd:
      fill<int64_t>(acc, 1);
      m.for_each([&](int64_t i, int64_t o) {
        acc[o] = static_cast<int64_t>(static_cast<uint64_t>(acc[o]) * static_cast<uint64_t>(v[i]));
      });
      break;
    case ReduceOp::kMax:
      fill(acc, INT64_MIN);
      m.for_each([&](int64_t i, int64_t o) { acc[o] = std::max(acc[o], v[i]); });
      break;
    case ReduceOp::kMin:
      fill(acc, INT64_MAX);
      m.for_each([&](int64_t i, int64_t o) { acc[o] = std::min(acc[o], v[i]); });
      break;
    case ReduceOp::kAny:
      fill<int64_t>(acc, 0);
      m.for_each([&](int64_t i, int64_t o) { acc[o] = acc[o] || v[i] != 0; });
      break;
    case ReduceOp::kAll:
      fill<int64_t>(acc, 1);
      m.for_each([&](int64_t i, int64_t o) { acc[o] = acc[o] && v[i] != 0; });
      break;
    default:
      return invalid_argument("reduce: ", net::enum_name(p.op), " needs a floating input, got ", ir::dtype_name(x.dtype));
  }
  store_ints(acc.data(), y);
  return Status::ok();
}

}  // namespace

Status run(const net::ReduceParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &x = in[0], &y = out[0];
  ReductionMap m = make_map(x.dims, p.axes);
  if ((p.op == ReduceOp::kMax || p.op == ReduceOp::kMin) && m.count == 0 && y.numel() > 0) {
    return invalid_argument("reduce: ", net::enum_name(p.op), " over an empty set of elements (input ",
                            ir::dtype_name(x.dtype), ingot::shape_str(x.dims), ", axes ", ingot::shape_str(p.axes), ")");
  }
  if (is_float_dtype(x.dtype)) return reduce_float(p, m, x, y);
  return reduce_int(p, m, x, y);
}

Status run(const net::SoftmaxParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &x = in[0], &y = out[0];
  Dims dims = x.dims.empty() ? Dims{1} : x.dims;
  size_t axis = static_cast<size_t>(p.axis < 0 ? p.axis + static_cast<int64_t>(dims.size()) : p.axis);
  int64_t outer = product(dims, 0, axis), len = dims[axis], inner = product(dims, axis + 1, dims.size());
  FloatInput fx(x);
  FloatOutput fy(y);
  const float* xs = fx.data();
  float* ys = fy.data();
  std::vector<float> mx(static_cast<size_t>(inner));
  std::vector<double> sum(static_cast<size_t>(inner));
  for (int64_t o = 0; o < outer; ++o) {
    const float* xo = xs + o * len * inner;
    float* yo = ys + o * len * inner;
    fill(mx, -std::numeric_limits<float>::infinity());
    fill(sum, 0.0);
    for (int64_t l = 0; l < len; ++l) {
      for (int64_t i = 0; i < inner; ++i) {
        float v = xo[l * inner + i];
        if (v > mx[i] || std::isnan(v)) mx[i] = v;
      }
    }
    for (int64_t l = 0; l < len; ++l) {
      for (int64_t i = 0; i < inner; ++i) {
        float e = std::exp(xo[l * inner + i] - mx[i]);
        sum[i] += e;
        if (!p.log) yo[l * inner + i] = e;
      }
    }
    for (int64_t l = 0; l < len; ++l) {
      for (int64_t i = 0; i < inner; ++i) {
        float& r = yo[l * inner + i];
        if (p.log) r = static_cast<float>((xo[l * inner + i] - mx[i]) - std::log(sum[i]));
        else r = static_cast<float>(r / sum[i]);
      }
    }
  }
  fy.commit();
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
