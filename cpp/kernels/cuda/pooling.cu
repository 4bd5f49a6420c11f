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

// ---------------------------------------------------------------- channels-last (NHWC, 2-d)

// One thread per VEC consecutive channels of one output pixel: neighbouring threads read
// neighbouring channels (coalesced), VEC * sizeof(T) bytes per access.
struct NhwcArgs {
  const void* x = nullptr;
  void* y = nullptr;
  int64_t total = 0;  // output pixels * channel groups
  int64_t channels = 1;
  int64_t in[2] = {1, 1};
  int64_t k[2] = {1, 1};
  int64_t stride[2] = {1, 1};
  int64_t pad[2] = {0, 0};
  int64_t dil[2] = {1, 1};
  Divisor groups;      // channels / VEC
  Divisor out_div[2];  // output height, width
  bool max = true;
  bool count_include_pad = true;
  int64_t divisor_override = 0;
  bool narrow = true;
};

// Calls fn(taps) with the VEC channels of every tap of the window at (oh, ow) that lies inside the
// input, in window order (the CPU reference's). With the kernel size known at compile time
// (KH, KW > 0) every tap is loaded first, from a position clamped into the input, so that the
// loads issue back to back; the taps outside the input are then skipped.
template <typename T, int VEC, int KH, int KW, typename Fn>
__device__ __forceinline__ void for_each_tap(const NhwcArgs& a, const T* xn, int64_t oh, int64_t ow, Fn&& fn) {
  const int64_t row = a.in[1] * a.channels;  // elements per input row
  const int64_t h0 = oh * a.stride[0] - a.pad[0], w0 = ow * a.stride[1] - a.pad[1];
  if constexpr (KH > 0 && KW > 0) {
    T taps[KH][KW][VEC];
    bool inside[KH][KW];
#pragma unroll
    for (int kh = 0; kh < KH; ++kh) {
      const int64_t ih = h0 + kh * a.dil[0];
      const int64_t ch = ih < 0 ? 0 : ih >= a.in[0] ? a.in[0] - 1 : ih;
#pragma unroll
      for (int kw = 0; kw < KW; ++kw) {
        const int64_t iw = w0 + kw * a.dil[1];
        const int64_t cw = iw < 0 ? 0 : iw >= a.in[1] ? a.in[1] - 1 : iw;
        inside[kh][kw] = ih == ch && iw == cw;
        load_group_raw<VEC>(xn + ch * row + cw * a.channels, 1, VEC, true, taps[kh][kw]);
      }
    }
#pragma unroll
    for (int kh = 0; kh < KH; ++kh) {
#pragma unroll
      for (int kw = 0; kw < KW; ++kw) {
        if (inside[kh][kw]) fn(taps[kh][kw]);
      }
    }
  } else {
    T taps[VEC];
    for (int64_t kh = 0; kh < a.k[0]; ++kh) {
      const int64_t ih = h0 + kh * a.dil[0];
      if (ih < 0 || ih >= a.in[0]) continue;
      for (int64_t kw = 0; kw < a.k[1]; ++kw) {
        const int64_t iw = w0 + kw * a.dil[1];
        if (iw < 0 || iw >= a.in[1]) continue;
        load_group_raw<VEC>(xn + ih * row + iw * a.channels, 1, VEC, true, taps);
        fn(taps);
      }
    }
  }
}

// KH, KW: the kernel size when it is one of the compiled-in ones, else 0 (read from the args).
template <typename T, int VEC, int KH, int KW>
__global__ void __launch_bounds__(kThreads) pool_nhwc_kernel(const __grid_constant__ NhwcArgs a) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  for (int64_t o = global_thread(); o < a.total; o += grid_threads()) {
    const int64_t pixel = a.groups.div(o, a.narrow);
    const int64_t c = (o - pixel * a.groups.value) * VEC;
    const int64_t q = a.out_div[1].div(pixel, a.narrow);
    const int64_t ow = pixel - q * a.out_div[1].value;
    const int64_t n = a.out_div[0].div(q, a.narrow);
    const int64_t oh = q - n * a.out_div[0].value;
    const T* xn = x + n * a.in[0] * a.in[1] * a.channels + c;
    T v[VEC];
    if (a.max) {
      // Best replaced when v > best or v is NaN, tap by tap, as on the CPU.
      if constexpr (kIsFloat<T>) {
        float best[VEC];
#pragma unroll
        for (int j = 0; j < VEC; ++j) best[j] = -__builtin_huge_valf();
        for_each_tap<T, VEC, KH, KW>(a, xn, oh, ow, [&](const T (&t)[VEC]) {
#pragma unroll
          for (int j = 0; j < VEC; ++j) {
            float f = to_float(t[j]);
            if (f > best[j] || f != f) best[j] = f;
          }
        });
#pragma unroll
        for (int j = 0; j < VEC; ++j) v[j] = from_float<T>(best[j]);
      } else {
        int64_t best[VEC];
#pragma unroll
        for (int j = 0; j < VEC; ++j) best[j] = INT64_MIN;
        for_each_tap<T, VEC, KH, KW>(a, xn, oh, ow, [&](const T (&t)[VEC]) {
#pragma unroll
          for (int j = 0; j < VEC; ++j) {
            int64_t i = to_int(t[j]);
            if (i > best[j]) best[j] = i;
          }
        });
#pragma unroll
        for (int j = 0; j < VEC; ++j) v[j] = from_int<T>(best[j]);
      }
      store_group_raw<VEC>(y + o * VEC, VEC, true, v);  // y + pixel * channels + c
      continue;
    }
    // Average (no dilation): the window along each axis, clipped to the padded input and to the
    // input; the taps inside the input are those of the second.
    int64_t begin[2], end[2], padded[2];
    const int64_t pos[2] = {oh, ow};
#pragma unroll
    for (int d = 0; d < 2; ++d) {
      int64_t b = pos[d] * a.stride[d] - a.pad[d];
      int64_t e = b + a.k[d] < a.in[d] + a.pad[d] ? b + a.k[d] : a.in[d] + a.pad[d];
      padded[d] = e - b;
      begin[d] = b > 0 ? b : 0;
      end[d] = e < a.in[d] ? e : a.in[d];
    }
    int64_t divisor = a.divisor_override;
    if (divisor == 0 && a.count_include_pad) divisor = padded[0] * padded[1];
    if (divisor == 0) divisor = (end[0] - begin[0]) * (end[1] - begin[1]);
    if (begin[0] >= end[0] || begin[1] >= end[1]) divisor = 1;  // no taps: the sums stay 0, as on the CPU
    if constexpr (kIsFloat<T>) {
      double sum[VEC];
#pragma unroll
      for (int j = 0; j < VEC; ++j) sum[j] = 0.0;
      for_each_tap<T, VEC, KH, KW>(a, xn, oh, ow, [&](const T (&t)[VEC]) {
#pragma unroll
        for (int j = 0; j < VEC; ++j) sum[j] += static_cast<double>(to_float(t[j]));
      });
#pragma unroll
      for (int j = 0; j < VEC; ++j) v[j] = from_float<T>(static_cast<float>(sum[j] / static_cast<double>(divisor)));
    } else {
      int64_t sum[VEC];
#pragma unroll
      for (int j = 0; j < VEC; ++j) sum[j] = 0;
      for_each_tap<T, VEC, KH, KW>(a, xn, oh, ow, [&](const T (&t)[VEC]) {
#pragma unroll
        for (int j = 0; j < VEC; ++j) sum[j] += to_int(t[j]);
      });
#pragma unroll
      for (int j = 0; j < VEC; ++j) v[j] = from_int<T>(sum[j] / divisor);
    }
    store_group_raw<VEC>(y + o * VEC, VEC, true, v);
  }
}

// The widest access (at most 16 bytes, floating types only) that divides the channels and that
// both tensors' base pointers are aligned to; 1 otherwise.
template <typename T>
int nhwc_vector_width(int64_t channels, const void* x, const void* y) {
  if constexpr (!kIsFloat<T>) {
    return 1;
  } else {
    for (int v = kVec16<T>; v > 1; v /= 2) {
      size_t bytes = static_cast<size_t>(v) * sizeof(T);
      if (channels % v == 0 && aligned_to(x, bytes) && aligned_to(y, bytes)) return v;
    }
    return 1;
  }
}

// Floating types get kernels for the common 3x3 and 2x2 windows (over an input that is not empty:
// their loads are clamped into it); everything else reads the window size from the args.
template <typename T, int VEC>
void launch_nhwc_as(const NhwcArgs& args, cudaStream_t stream) {
  NhwcArgs a = args;
  a.groups = Divisor::make(a.channels / VEC);
  a.total = a.total / VEC;
  auto kernel = pool_nhwc_kernel<T, VEC, 0, 0>;
  if constexpr (kIsFloat<T>) {
    const bool any_input = a.in[0] > 0 && a.in[1] > 0;
    if (any_input && a.k[0] == 3 && a.k[1] == 3) kernel = pool_nhwc_kernel<T, VEC, 3, 3>;
    if (any_input && a.k[0] == 2 && a.k[1] == 2) kernel = pool_nhwc_kernel<T, VEC, 2, 2>;
  }
  launch_kernel(kernel, grid_for(a.total, kThreads), kThreads, 0, stream, a);
}

// x [N, H, W, C] -> y [N, OH, OW, C], not empty; launch_pooling checked the parameters.
Status launch_pooling_nhwc(const net::PoolingParams& p, const DeviceTensor& x, const DeviceTensor& y,
                           cudaStream_t stream) {
  const char* L = "pooling";
  const int64_t total = y.numel();
  NhwcArgs a;
  a.x = x.data;
  a.y = y.data;
  a.total = total;  // elements; launch_nhwc_as divides by the vector width
  a.channels = x.dims[3];
  for (int d = 0; d < 2; ++d) {
    a.in[d] = x.dims[1 + d];
    a.out_div[d] = Divisor::make(y.dims[1 + d]);
    a.k[d] = p.kernel[d];
    a.stride[d] = p.stride[d];
    a.pad[d] = p.padding[d];
    a.dil[d] = p.dilation[d];
  }
  a.max = p.kind == net::PoolKind::kMax;
  a.count_include_pad = p.count_include_pad;
  a.divisor_override = p.divisor_override;
  a.narrow = total < kNarrowLimit;
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const int vec = nhwc_vector_width<T>(a.channels, x.data, y.data);
    if constexpr (kIsFloat<T> && kVec16<T> >= 8) {
      if (vec == 8) return launch_nhwc_as<T, 8>(a, stream);
    }
    if constexpr (kIsFloat<T>) {
      if (vec == 4) return launch_nhwc_as<T, 4>(a, stream);
      if (vec == 2) return launch_nhwc_as<T, 2>(a, stream);
    }
    launch_nhwc_as<T, 1>(a, stream);
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
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
  if (p.channels_last && nsp != 2) {
    return invalid_argument(L, ": channels_last needs a 2-d kernel and a rank-4 input, got ", ingot::shape_str(x.dims));
  }
  const size_t channel = p.channels_last ? 3 : 1;
  if (y.dtype != x.dtype || y.dims[0] != x.dims[0] || y.dims[channel] != x.dims[channel]) {
    return invalid_argument(L, ": output does not match the input");
  }
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
  if (p.channels_last) return launch_pooling_nhwc(p, x, y, stream);

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
