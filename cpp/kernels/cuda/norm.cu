#include <algorithm>

#include "kernels/cuda/norm.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

using net::NormKind;

// ---------------------------------------------------------------- layer / RMS / group norm

struct NormArgs {
  const void* x = nullptr;
  void* y = nullptr;
  const void* w = nullptr;  // nullptr: absent
  const void* b = nullptr;
  DType w_dtype = DType::kFloat32, b_dtype = DType::kFloat32;
  int64_t rows = 0;
  int64_t len = 0;  // elements normalized together
  float eps = 0.0f;
  bool rms = false;
  bool vec = false;             // warp rows: x / y take vector accesses
  bool vec_w = false, vec_b = false;
  // Group norm (block kernel only): row = sample * groups + group; the parameter index of
  // element i of a row is group * per_group + i / spatial.
  bool group = false;
  int64_t per_group = 1;
  Divisor groups_div, spatial_div;
  bool narrow = true;
};

constexpr int kWarpRowsThreads = 128;
constexpr int kMaxCachedFloats = 11776;  // 46 KiB of dynamic shared memory

// v[i] = fn(v[i], p[element of slot i]) for the slots inside the row; p of storage type P.
template <typename P, typename T, int E, typename Fn>
__device__ __forceinline__ void apply_param_typed(const P* p, bool vec_p, int64_t len, int lane, bool vec, float (&v)[E], Fn fn) {
  constexpr int V = kRowVec<T, E>;
  if (vec && vec_p) {
#pragma unroll
    for (int c = 0; c < E / V; ++c) {
      int64_t at = (static_cast<int64_t>(c) * 32 + lane) * V;
      if (at < len) {
        Vec<P, V> q = *vec_ptr<const Vec<P, V>>(p + at);
#pragma unroll
        for (int j = 0; j < V; ++j) v[c * V + j] = fn(v[c * V + j], to_float(q.v[j]));
      }
    }
    return;
  }
#pragma unroll
  for (int i = 0; i < E; ++i) {
    int64_t at = slot<E, V>(i, lane, vec);
    if (at < len) v[i] = fn(v[i], to_float(p[at]));
  }
}

template <typename T, int E, typename Fn>
__device__ __forceinline__ void apply_param(const void* p, DType t, bool vec_p, int64_t len, int lane, bool vec, float (&v)[E], Fn fn) {
  switch (t) {
    case DType::kFloat16: apply_param_typed<__half, T, E>(static_cast<const __half*>(p), vec_p, len, lane, vec, v, fn); break;
    case DType::kBFloat16:
      apply_param_typed<__nv_bfloat16, T, E>(static_cast<const __nv_bfloat16*>(p), vec_p, len, lane, vec, v, fn);
      break;
    default: apply_param_typed<float, T, E>(static_cast<const float*>(p), vec_p, len, lane, vec, v, fn); break;
  }
}

template <typename T, int E>
__global__ void __launch_bounds__(kWarpRowsThreads) norm_warp_kernel(const __grid_constant__ NormArgs a) {
  wait_for_producers();  // launched by launch_dependent
  allow_dependents();    // the next kernel may start its prologue
  constexpr int V = kRowVec<T, E>;
  const int lane = threadIdx.x & 31;
  const int64_t warps = blockDim.x / 32;
  const float n = static_cast<float>(a.len);
  // The weight and bias of this lane's slots, the same for every row: read once, before the
  // first row, so that their loads overlap the row's instead of following its reductions.
  float wv[E], bv[E];
#pragma unroll
  for (int i = 0; i < E; ++i) wv[i] = 1.0f, bv[i] = 0.0f;
  auto take = [](float, float p) { return p; };
  if (a.w) apply_param<T, E>(a.w, a.w_dtype, a.vec_w, a.len, lane, a.vec, wv, take);
  if (a.b) apply_param<T, E>(a.b, a.b_dtype, a.vec_b, a.len, lane, a.vec, bv, take);
  for (int64_t row = blockIdx.x * warps + threadIdx.x / 32; row < a.rows; row += gridDim.x * warps) {
    const T* x = static_cast<const T*>(a.x) + row * a.len;
    T* y = static_cast<T*>(a.y) + row * a.len;
    float v[E];
    load_row<T, E>(x, a.len, lane, a.vec, 0.0f, v);
    // y = ((x - center) - shift) * scale: the mean as center + shift, the center a first
    // estimate and the shift the mean of the deviations from it, so that x - center is exact
    // and rows far from zero (mean >> std) keep float accuracy.
    float center = 0.0f, shift = 0.0f, scale;
    if (a.rms) {
      float ss = 0.0f;
#pragma unroll
      for (int i = 0; i < E; ++i) ss += v[i] * v[i];
      ss = warp_sum(ss);
      scale = 1.0f / sqrtf(ss / n + a.eps);
    } else {
      float s = 0.0f;
#pragma unroll
      for (int i = 0; i < E; ++i) s += v[i];
      const float mean0 = warp_sum(s) / n;
      float d1 = 0.0f, d2 = 0.0f;
#pragma unroll
      for (int i = 0; i < E; ++i) {
        float d = slot<E, V>(i, lane, a.vec) < a.len ? v[i] - mean0 : 0.0f;
        d1 += d;
        d2 += d * d;
      }
      d1 = warp_sum(d1);
      d2 = warp_sum(d2);
      center = mean0;
      shift = d1 / n;
      scale = 1.0f / sqrtf(fmaxf(d2 - d1 * d1 / n, 0.0f) / n + a.eps);
    }
#pragma unroll
    for (int i = 0; i < E; ++i) v[i] = ((v[i] - center) - shift) * scale;
    if (a.w) {
#pragma unroll
      for (int i = 0; i < E; ++i) v[i] *= wv[i];
    }
    if (a.b) {
#pragma unroll
      for (int i = 0; i < E; ++i) v[i] += bv[i];
    }
    store_row<T, E>(y, a.len, lane, a.vec, v);
  }
}

template <typename T>
__global__ void __launch_bounds__(1024) norm_block_kernel(const __grid_constant__ NormArgs a) {
  wait_for_producers();  // launched by launch_dependent
  allow_dependents();    // the next kernel may start its prologue
  float* cache = dynamic_smem<float>();  // a.len floats when the launch provides them, else none
  const bool cached = a.len <= kMaxCachedFloats;
  const int t = threadIdx.x, S = blockDim.x;
  const float n = static_cast<float>(a.len);
  auto sum_op = [](float p, float q) { return p + q; };
  for (int64_t row = blockIdx.x; row < a.rows; row += gridDim.x) {
    const T* x = static_cast<const T*>(a.x) + row * a.len;
    T* y = static_cast<T*>(a.y) + row * a.len;
    float acc = 0.0f;
    for (int64_t i = t; i < a.len; i += S) {
      float v = to_float(x[i]);
      if (cached) cache[i] = v;
      acc += a.rms ? v * v : v;
    }
    acc = block_reduce(acc, sum_op, 0.0f);
    float center = 0.0f, shift = 0.0f, scale;  // as in norm_warp_kernel
    if (a.rms) {
      scale = 1.0f / sqrtf(acc / n + a.eps);
    } else {
      const float mean0 = acc / n;
      float d1 = 0.0f, d2 = 0.0f;
      for (int64_t i = t; i < a.len; i += S) {
        float d = (cached ? cache[i] : to_float(x[i])) - mean0;
        d1 += d;
        d2 += d * d;
      }
      d1 = block_reduce(d1, sum_op, 0.0f);
      d2 = block_reduce(d2, sum_op, 0.0f);
      center = mean0;
      shift = d1 / n;
      scale = 1.0f / sqrtf(fmaxf(d2 - d1 * d1 / n, 0.0f) / n + a.eps);
    }
    int64_t param_base = 0;
    if (a.group) {
      int64_t sample = a.groups_div.div(row, a.narrow);
      param_base = (row - sample * a.groups_div.value) * a.per_group;
    }
    for (int64_t i = t; i < a.len; i += S) {
      float v = (((cached ? cache[i] : to_float(x[i])) - center) - shift) * scale;
      int64_t k = a.group ? param_base + a.spatial_div.div(i, a.narrow) : i;
      if (a.w) v *= load_param(a.w, a.w_dtype, k);
      if (a.b) v += load_param(a.b, a.b_dtype, k);
      y[i] = from_float<T>(v);
    }
  }
}

template <typename T>
void launch_norm_warp(const NormArgs& a, int e, cudaStream_t stream) {
  unsigned grid = grid_for(a.rows, kWarpRowsThreads / 32);
  switch (e) {
    case 1: launch_dependent(norm_warp_kernel<T, 1>, grid, kWarpRowsThreads, 0, stream, a); break;
    case 2: launch_dependent(norm_warp_kernel<T, 2>, grid, kWarpRowsThreads, 0, stream, a); break;
    case 4: launch_dependent(norm_warp_kernel<T, 4>, grid, kWarpRowsThreads, 0, stream, a); break;
    case 8: launch_dependent(norm_warp_kernel<T, 8>, grid, kWarpRowsThreads, 0, stream, a); break;
    case 16: launch_dependent(norm_warp_kernel<T, 16>, grid, kWarpRowsThreads, 0, stream, a); break;
    case 24: launch_dependent(norm_warp_kernel<T, 24>, grid, kWarpRowsThreads, 0, stream, a); break;
    default: launch_dependent(norm_warp_kernel<T, 32>, grid, kWarpRowsThreads, 0, stream, a); break;
  }
}

template <typename T>
void launch_norm_block(const NormArgs& a, cudaStream_t stream) {
  int threads = static_cast<int>(std::clamp<int64_t>((a.len / 8 + 31) / 32 * 32, 128, 1024));
  size_t smem = a.len <= kMaxCachedFloats ? static_cast<size_t>(a.len) * sizeof(float) : 0;
  unsigned grid = static_cast<unsigned>(std::min(a.rows, kMaxGridBlocks));
  launch_dependent(norm_block_kernel<T>, grid, threads, smem, stream, a);
}

// ---------------------------------------------------------------- batch norm

struct BatchArgs {
  const void* x = nullptr;
  void* y = nullptr;
  const void* w = nullptr;  // nullptr: absent
  const void* b = nullptr;
  const void* mean = nullptr;
  const void* var = nullptr;
  DType w_dtype = DType::kFloat32, b_dtype = DType::kFloat32, mean_dtype = DType::kFloat32, var_dtype = DType::kFloat32;
  int64_t spatial = 0;
  int64_t groups = 0;  // planes * groups per plane
  Divisor groups_per_plane, channels;
  float eps = 0.0f;
  bool narrow = true;
  bool vec = false;
};

constexpr int kBatchThreads = 256;

template <typename T, int VEC>
__global__ void __launch_bounds__(kBatchThreads) batch_norm_kernel(const __grid_constant__ BatchArgs a) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  for (int64_t g = global_thread(); g < a.groups; g += grid_threads()) {
    int64_t plane = a.groups_per_plane.div(g, a.narrow);
    int64_t col = (g - plane * a.groups_per_plane.value) * VEC;
    int count = static_cast<int>(a.spatial - col < VEC ? a.spatial - col : VEC);
    int64_t c = plane - a.channels.div(plane, a.narrow) * a.channels.value;
    float scale = (a.w ? load_param(a.w, a.w_dtype, c) : 1.0f) / sqrtf(load_param(a.var, a.var_dtype, c) + a.eps);
    float mean = load_param(a.mean, a.mean_dtype, c);
    float shift = a.b ? load_param(a.b, a.b_dtype, c) : 0.0f;
    int64_t at = plane * a.spatial + col;
    T v[VEC];
    load_group_raw<VEC>(x + at, 1, count, a.vec, v);
#pragma unroll
    for (int j = 0; j < VEC; ++j) v[j] = from_float<T>((to_float(v[j]) - mean) * scale + shift);
    store_group_raw<VEC>(y + at, count, a.vec, v);
  }
}

// ---------------------------------------------------------------- host side

template <typename Fn>
bool visit_float_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::kFloat32: fn(float{}); return true;
    case DType::kFloat16: fn(__half{}); return true;
    case DType::kBFloat16: fn(__nv_bfloat16{}); return true;
    default: return false;
  }
}

bool present(const Tensors& in, size_t i) { return i < in.size() && in[i].data != nullptr; }

// An optional per-element parameter: absent, or floating with `numel` elements.
Status check_param(const char* layer, const Tensors& in, size_t i, int64_t numel, const char* what, bool required) {
  if (!present(in, i)) {
    if (required && numel > 0) return invalid_argument(layer, ": ", what, " is required");
    return Status::ok();
  }
  if (!is_float_dtype(in[i].dtype) || in[i].numel() != numel) {
    return invalid_argument(layer, ": ", what, " ", ir::dtype_name(in[i].dtype), ingot::shape_str(in[i].dims), " must be floating with ",
                            numel, " elements");
  }
  return Status::ok();
}

int64_t product(const std::vector<int64_t>& d, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end && i < d.size(); ++i) n *= d[i];
  return n;
}

Status launch_batch(const net::NormalizationParams& p, const Tensors& in, const DeviceTensor& x, const DeviceTensor& y,
                    cudaStream_t stream) {
  const char* L = "normalization";
  if (in.size() != 5) return invalid_argument(L, ": batch norm takes x, weight?, bias?, running_mean, running_var");
  if (x.dims.size() < 2) return invalid_argument(L, ": batch norm needs rank >= 2, got ", ingot::shape_str(x.dims));
  int64_t c = x.dims[1];
  INGOT_RETURN_IF_ERROR(check_param(L, in, 1, c, "weight", false));
  INGOT_RETURN_IF_ERROR(check_param(L, in, 2, c, "bias", false));
  INGOT_RETURN_IF_ERROR(check_param(L, in, 3, c, "running_mean", true));
  INGOT_RETURN_IF_ERROR(check_param(L, in, 4, c, "running_var", true));
  if (x.numel() == 0) return Status::ok();
  BatchArgs a;
  a.x = x.data;
  a.y = y.data;
  if (present(in, 1)) {
    a.w = in[1].data;
    a.w_dtype = in[1].dtype;
  }
  if (present(in, 2)) {
    a.b = in[2].data;
    a.b_dtype = in[2].dtype;
  }
  a.mean = in[3].data;
  a.mean_dtype = in[3].dtype;
  a.var = in[4].data;
  a.var_dtype = in[4].dtype;
  a.spatial = product(x.dims, 2, x.dims.size());
  int64_t planes = x.dims[0] * c;
  a.channels = Divisor::make(c);
  a.eps = static_cast<float>(p.eps);
  a.narrow = x.numel() < kNarrowLimit;
  bool dispatched = visit_float_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    constexpr int V = kVec16<T>;
    a.vec = aligned_to(x.data, V * sizeof(T)) && aligned_to(y.data, V * sizeof(T)) && (planes == 1 || a.spatial % V == 0);
    if (a.vec && a.spatial >= V) {
      int64_t gpp = (a.spatial + V - 1) / V;
      a.groups_per_plane = Divisor::make(gpp);
      a.groups = planes * gpp;
      launch_kernel(batch_norm_kernel<T, V>, grid_for(a.groups, kBatchThreads), kBatchThreads, 0, stream, a);
      return;
    }
    a.vec = false;
    a.groups_per_plane = Divisor::make(a.spatial);
    a.groups = planes * a.spatial;
    launch_kernel(batch_norm_kernel<T, 1>, grid_for(a.groups, kBatchThreads), kBatchThreads, 0, stream, a);
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace

Status launch_normalization(const net::NormalizationParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "normalization";
  if (in.empty() || out.size() != 1) return invalid_argument(L, ": needs x and 1 output");
  const DeviceTensor &x = in[0], &y = out[0];
  if (!is_float_dtype(x.dtype) || y.dtype != x.dtype || y.dims != x.dims) {
    return invalid_argument(L, ": needs a floating input and an output of its type, got ", ir::dtype_name(x.dtype),
                            ingot::shape_str(x.dims), " -> ", ir::dtype_name(y.dtype), ingot::shape_str(y.dims));
  }
  if (!(p.eps >= 0.0)) return invalid_argument(L, ": eps must be >= 0");
  if (p.kind == NormKind::kBatch) return launch_batch(p, in, x, y, stream);
  if (in.size() > 3) return invalid_argument(L, ": ", net::enum_name(p.kind), " norm takes x, weight?, bias?");

  NormArgs a;
  a.x = x.data;
  a.y = y.data;
  a.eps = static_cast<float>(p.eps);
  size_t rank = x.dims.size();
  int64_t param_numel = 0;
  switch (p.kind) {
    case NormKind::kLayer:
    case NormKind::kRms: {
      if (p.axis < 0 || p.axis >= static_cast<int64_t>(rank)) return invalid_argument(L, ": axis ", p.axis, " out of range");
      a.len = product(x.dims, static_cast<size_t>(p.axis), rank);
      a.rows = product(x.dims, 0, static_cast<size_t>(p.axis));
      a.rms = p.kind == NormKind::kRms;
      param_numel = a.len;
      break;
    }
    case NormKind::kGroup: {
      if (rank < 2) return invalid_argument(L, ": group norm needs rank >= 2");
      int64_t c = x.dims[1], g = p.num_groups;
      if (g < 1 || c % g != 0) return invalid_argument(L, ": ", c, " channels are not divisible by ", g, " groups");
      int64_t spatial = product(x.dims, 2, rank);
      a.group = true;
      a.per_group = c / g;
      a.len = a.per_group * spatial;
      a.rows = x.dims[0] * g;
      a.groups_div = Divisor::make(g);
      a.spatial_div = Divisor::make(spatial);
      param_numel = c;
      break;
    }
    default: return invalid_argument(L, ": unknown kind");
  }
  INGOT_RETURN_IF_ERROR(check_param(L, in, 1, param_numel, "weight", false));
  INGOT_RETURN_IF_ERROR(check_param(L, in, 2, param_numel, "bias", false));
  if (x.numel() == 0) return Status::ok();
  if (present(in, 1)) {
    a.w = in[1].data;
    a.w_dtype = in[1].dtype;
  }
  if (present(in, 2)) {
    a.b = in[2].data;
    a.b_dtype = in[2].dtype;
  }
  a.narrow = x.numel() < kNarrowLimit;
  bool dispatched = visit_float_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if (a.group || a.len > 1024) {
      launch_norm_block<T>(a, stream);
      return;
    }
    int e = 1;
    while (e * 32 < a.len) e *= 2;
    if (e == 32 && a.len <= 24 * 32) e = 24;  // hidden size 768 (BERT / ViT base) exactly
    size_t v = static_cast<size_t>(std::min(e, kVec16<T>));
    a.vec = a.len % static_cast<int64_t>(v) == 0 && aligned_to(x.data, v * sizeof(T)) && aligned_to(y.data, v * sizeof(T));
    a.vec_w = a.w && aligned_to(a.w, v * ir::dtype_size(a.w_dtype));
    a.vec_b = a.b && aligned_to(a.b, v * ir::dtype_size(a.b_dtype));
    launch_norm_warp<T>(a, e, stream);
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
