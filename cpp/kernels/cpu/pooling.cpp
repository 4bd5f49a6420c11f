// Max and average pooling, 1-d to 3-d (run as 3-d with leading axes of size 1), and 2-d
// channels-last (NHWC): the same loops with the channels interleaved in memory.
//
// Average pooling divides as ATen's avg_pool does: a window's size is first clipped to the
// padded input (which matters for the extra windows of ceil_mode), then to the input itself;
// count_include_pad divides by the first, otherwise by the second; divisor_override wins.
// Integer inputs sum exactly and divide with truncation, as ATen does for integer tensors.
#include <cmath>
#include <limits>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

struct Geometry {
  int64_t in[3] = {1, 1, 1};
  int64_t out[3] = {1, 1, 1};
  int64_t k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0};
  int64_t dil[3] = {1, 1, 1};
  int64_t channels = 1;
  bool channels_last = false;  // an (n, c) plane's elements lie `channels` apart
};

Geometry make_geometry(const net::PoolingParams& p, const Dims& x, const Dims& y) {
  Geometry g;
  size_t nsp = p.kernel.size(), shift = 3 - nsp, first = p.channels_last ? 1 : 2;
  g.channels = p.channels_last ? x.back() : x[1];
  g.channels_last = p.channels_last;
  for (size_t i = 0; i < nsp; ++i) {
    g.in[shift + i] = x[first + i];
    g.out[shift + i] = y[first + i];
    g.k[shift + i] = p.kernel[i];
    g.stride[shift + i] = p.stride[i];
    g.pad[shift + i] = p.padding[i];
    g.dil[shift + i] = p.dilation[i];
  }
  return g;
}

// One window along one axis: the input range it covers and the sizes its divisor uses.
struct Window {
  int64_t begin, end;     // clipped to the input
  int64_t padded_extent;  // clipped to the padded input
};

Window window(const Geometry& g, int axis, int64_t o) {
  int64_t begin = o * g.stride[axis] - g.pad[axis];
  int64_t end = std::min(begin + g.k[axis], g.in[axis] + g.pad[axis]);
  Window w{std::max<int64_t>(begin, 0), std::min(end, g.in[axis]), end - begin};
  return w;
}

// Element stride between neighbours along the innermost spatial axis.
int64_t step_of(const Geometry& g) { return g.channels_last ? g.channels : 1; }

// Calls fn(output index, plane of input, od, oh, ow) for every output element of every (n, c)
// plane; the input element at spatial offset s of the plane is xp[s * step].
template <typename T, typename Fn>
void for_each_output(const Geometry& g, int64_t planes, const T* x, Fn&& fn) {
  int64_t in_plane = g.in[0] * g.in[1] * g.in[2], out_plane = g.out[0] * g.out[1] * g.out[2];
  const int64_t step = step_of(g);
  for (int64_t pl = 0; pl < planes; ++pl) {
    int64_t n = pl / g.channels, c = pl % g.channels;
    const T* xp = x + (g.channels_last ? n * in_plane * g.channels + c : pl * in_plane);
    int64_t o = g.channels_last ? n * out_plane * g.channels + c : pl * out_plane;
    for (int64_t od = 0; od < g.out[0]; ++od) {
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        for (int64_t ow = 0; ow < g.out[2]; ++ow, o += step) fn(o, xp, od, oh, ow);
      }
    }
  }
}

// Max over the window's taps that fall inside the input; NaN wins.
template <typename T, typename Acc>
void max_pool(const Geometry& g, int64_t planes, const T* x, Acc* y, Acc lowest) {
  const int64_t step = step_of(g);
  for_each_output(g, planes, x, [&](int64_t o, const T* xp, int64_t od, int64_t oh, int64_t ow) {
    Acc best = lowest;
    for (int64_t kd = 0; kd < g.k[0]; ++kd) {
      int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
      if (id < 0 || id >= g.in[0]) continue;
      for (int64_t kh = 0; kh < g.k[1]; ++kh) {
        int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
        if (ih < 0 || ih >= g.in[1]) continue;
        const T* row = xp + (id * g.in[1] + ih) * g.in[2] * step;
        for (int64_t kw = 0; kw < g.k[2]; ++kw) {
          int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dil[2];
          if (iw < 0 || iw >= g.in[2]) continue;
          Acc v = row[iw * step];
          if (v > best || v != v) best = v;  // v != v: NaN
        }
      }
    }
    y[o] = best;
  });
}

// Sum over the window and its divisor; Acc is double for floating inputs, int64 for integers.
template <typename T, typename Acc, typename Divide>
void avg_pool(const Geometry& g, const net::PoolingParams& p, int64_t planes, const T* x, Acc* y, Divide divide) {
  const int64_t step = step_of(g);
  for_each_output(g, planes, x, [&](int64_t o, const T* xp, int64_t od, int64_t oh, int64_t ow) {
    Window wd = window(g, 0, od), wh = window(g, 1, oh), ww = window(g, 2, ow);
    if (wd.begin >= wd.end || wh.begin >= wh.end || ww.begin >= ww.end) {
      y[o] = Acc(0);
      return;
    }
    Acc sum = Acc(0);
    for (int64_t id = wd.begin; id < wd.end; ++id) {
      for (int64_t ih = wh.begin; ih < wh.end; ++ih) {
        const T* row = xp + (id * g.in[1] + ih) * g.in[2] * step;
        for (int64_t iw = ww.begin; iw < ww.end; ++iw) sum += static_cast<Acc>(row[iw * step]);
      }
    }
    int64_t divisor = p.divisor_override;
    if (divisor == 0 && p.count_include_pad) divisor = wd.padded_extent * wh.padded_extent * ww.padded_extent;
    if (divisor == 0) divisor = (wd.end - wd.begin) * (wh.end - wh.begin) * (ww.end - ww.begin);
    y[o] = divide(sum, divisor);
  });
}

}  // namespace

Status run(const net::PoolingParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &x = in[0], &y = out[0];
  if (p.kind == net::PoolKind::kAvg) {
    for (int64_t d : p.dilation) {
      if (d != 1) return unsupported("pooling: average pooling with dilation ", ingot::shape_str(p.dilation));
    }
  }
  if (p.channels_last && (x.dims.size() != 4 || p.kernel.size() != 2)) {
    return invalid_argument("pooling: channels_last needs a 2-d kernel and a rank-4 input, got ", ingot::shape_str(x.dims));
  }
  Geometry g = make_geometry(p, x.dims, y.dims);
  int64_t planes = x.dims[0] * g.channels;
  if (is_float_dtype(x.dtype)) {
    FloatInput fx(x);
    std::vector<double> acc(static_cast<size_t>(y.numel()));
    if (p.kind == net::PoolKind::kMax) {
      max_pool(g, planes, fx.data(), acc.data(), -std::numeric_limits<double>::infinity());
    } else {
      avg_pool(g, p, planes, fx.data(), acc.data(), [](double s, int64_t d) { return s / static_cast<double>(d); });
    }
    store_doubles(acc.data(), y);
    return Status::ok();
  }
  std::vector<int64_t> vx = load_ints(x), acc(static_cast<size_t>(y.numel()));
  if (p.kind == net::PoolKind::kMax) {
    max_pool(g, planes, vx.data(), acc.data(), std::numeric_limits<int64_t>::min());
  } else {
    avg_pool(g, p, planes, vx.data(), acc.data(), [](int64_t s, int64_t d) { return s / d; });
  }
  store_ints(acc.data(), y);
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
