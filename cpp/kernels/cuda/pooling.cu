#include "kernels/cuda/pooling.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

constexpr int kThreads = 256;

struct PoolArgs {
  const void* x = nullptr;
  void* y = nullptr;
  int64_t total = 0;  // output elements
  int64_t in[3] = {1, 1, 1};
  int64_t out[3] = {1, 1, 1};
  int64_t k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0};
  int64_t dil[3] = {1, 1, 1};
  Divisor out_div[3];  // out[0..2]
  bool max = true;
  bool count_include_pad = true;
  int64_t divisor_override = 0;
  bool narrow = true;
};

template <typename T>
__global__ void __launch_bounds__(kThreads) pool_kernel(const __grid_constant__ PoolArgs a) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  const int64_t in_plane = a.in[0] * a.in[1] * a.in[2];
  for (int64_t o = global_thread(); o < a.total; o += grid_threads()) {
    int64_t q = a.out_div[2].div(o, a.narrow);
    const int64_t ow = o - q * a.out[2];
    int64_t q2 = a.out_div[1].div(q, a.narrow);
    const int64_t oh = q - q2 * a.out[1];
    int64_t plane = a.out_div[0].div(q2, a.narrow);
    const int64_t od = q2 - plane * a.out[0];
    const T* xp = x + plane * in_plane;
    if (a.max) {
      // Taps in window order, as the CPU reference: best replaced when v > best or v is NaN.
      if constexpr (kIsFloat<T>) {
        float best = -__builtin_huge_valf();
        for (int64_t kd = 0; kd < a.k[0]; ++kd) {
          int64_t id = od * a.stride[0] - a.pad[0] + kd * a.dil[0];
          if (id < 0 || id >= a.in[0]) continue;
          for (int64_t kh = 0; kh < a.k[1]; ++kh) {
            int64_t ih = oh * a.stride[1] - a.pad[1] + kh * a.dil[1];
            if (ih < 0 || ih >= a.in[1]) continue;
            const T* row = xp + (id * a.in[1] + ih) * a.in[2];
            for (int64_t kw = 0; kw < a.k[2]; ++kw) {
              int64_t iw = ow * a.stride[2] - a.pad[2] + kw * a.dil[2];
              if (iw < 0 || iw >= a.in[2]) continue;
              float v = to_float(row[iw]);
              if (v > best || v != v) best = v;
            }
          }
        }
        y[o] = from_float<T>(best);
      } else {
        int64_t best = INT64_MIN;
        for (int64_t kd = 0; kd < a.k[0]; ++kd) {
          int64_t id = od * a.stride[0] - a.pad[0] + kd * a.dil[0];
          if (id < 0 || id >= a.in[0]) continue;
          for (int64_t kh = 0; kh < a.k[1]; ++kh) {
            int64_t ih = oh * a.stride[1] - a.pad[1] + kh * a.dil[1];
            if (ih < 0 || ih >= a.in[1]) continue;
            const T* row = xp + (id * a.in[1] + ih) * a.in[2];
            for (int64_t kw = 0; kw < a.k[2]; ++kw) {
              int64_t iw = ow * a.stride[2] - a.pad[2] + kw * a.dil[2];
              if (iw < 0 || iw >= a.in[2]) continue;
              int64_t v = to_int(row[iw]);
              if (v > best) best = v;
            }
          }
        }
        y[o] = from_int<T>(best);
      }
      continue;
    }
    // Average: the window along each axis, clipped to the padded input and to the input.
    int64_t begin[3], end[3], padded[3];
    const int64_t pos[3] = {od, oh, ow};
#pragma unroll
    for (int d = 0; d < 3; ++d) {
      int64_t b = pos[d] * a.stride[d] - a.pad[d];
      int64_t e = b + a.k[d] < a.in[d] + a.pad[d] ? b + a.k[d] : a.in[d] + a.pad[d];
      padded[d] = e - b;
      begin[d] = b > 0 ? b : 0;
      end[d] = e < a.in[d] ? e : a.in[d];
    }
    if (begin[0] >= end[0] || begin[1] >= end[1] || begin[2] >= end[2]) {
      if constexpr (kIsFloat<T>) y[o] = from_float<T>(0.0f);
      else y[o] = from_int<T>(0);
      continue;
    }
    int64_t divisor = a.divisor_override;
    if (divisor == 0 && a.count_include_pad) divisor = padded[0] * padded[1] * padded[2];
    if (divisor == 0) divisor = (end[0] - begin[0]) * (end[1] - begin[1]) * (end[2] - begin[2]);
    if constexpr (kIsFloat<T>) {
      double sum = 0.0;
      for (int64_t id = begin[0]; id < end[0]; ++id) {
        for (int64_t ih = begin[1]; ih < end[1]; ++ih) {
          const T* row = xp + (id * a.in[1] + ih) * a.in[2];
          for (int64_t iw = begin[2]; iw < end[2]; ++iw) sum += static_cast<double>(to_float(row[iw]));
        }
      }
      y[o] = from_float<T>(static_cast<float>(sum / static_cast<double>(divisor)));
    } else {
      int64_t sum = 0;
      for (int64_t id = begin[0]; id < end[0]; ++id) {
        for (int64_t ih = begin[1]; ih < end[1]; ++ih) {
          const T* row = xp + (id * a.in[1] + ih) * a.in[2];
          for (int64_t iw = begin[2]; iw < end[2]; ++iw) sum += to_int(row[iw]);
        }
      }
      y[o] = from_int<T>(sum / divisor);
    }
  }
}

}  // namespace

Status launch_pooling(const net::PoolingParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "pooling";
  if (in.size() != 1 || out.size() != 1) return invalid_argument(L, ": takes 1 input and 1 output");
  const DeviceTensor &x = in[0], &y = out[0];
  size_t nsp = p.kernel.size();
  if (nsp < 1 || nsp > 3 || x.dims.size() != nsp + 2 || y.dims.size() != nsp + 2 || p.stride.size() != nsp ||
      p.padding.size() != nsp || p.dilation.size() != nsp) {
    return invalid_argument(L, ": input ", ingot::shape_str(x.dims), " does not fit a ", nsp, "-d kernel");
  }
  if (y.dtype != x.dtype || y.dims[0] != x.dims[0] || y.dims[1] != x.dims[1]) return invalid_argument(L, ": output does not match the input");
  if (p.kind != net::PoolKind::kMax && p.kind != net::PoolKind::kAvg) return invalid_argument(L, ": unknown kind");
  for (size_t i = 0; i < nsp; ++i) {
    if (p.kernel[i] < 1 || p.stride[i] < 1 || p.dilation[i] < 1 || p.padding[i] < 0) {
      return invalid_argument(L, ": invalid kernel/stride/padding/dilation");
    }
    if (p.kind == net::PoolKind::kAvg && p.dilation[i] != 1) {
      return unsupported(L, ": average pooling with dilation ", ingot::shape_str(p.dilation));
    }
  }
  int64_t total = y.numel();
  if (total == 0) return Status::ok();

  PoolArgs a;
  a.x = x.data;
  a.y = y.data;
  a.total = total;
  size_t shift = 3 - nsp;
  for (size_t i = 0; i < nsp; ++i) {
    a.in[shift + i] = x.dims[2 + i];
    a.out[shift + i] = y.dims[2 + i];
    a.k[shift + i] = p.kernel[i];
    a.stride[shift + i] = p.stride[i];
    a.pad[shift + i] = p.padding[i];
    a.dil[shift + i] = p.dilation[i];
  }
  for (int d = 0; d < 3; ++d) a.out_div[d] = Divisor::make(a.out[d]);
  a.max = p.kind == net::PoolKind::kMax;
  a.count_include_pad = p.count_include_pad;
  a.divisor_override = p.divisor_override;
  a.narrow = total < kNarrowLimit;
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    launch_kernel(pool_kernel<T>, grid_for(total, kThreads), kThreads, 0, stream, a);
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
