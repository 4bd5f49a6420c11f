#include <limits>

#include "kernels/cuda/attention.cuh"
#include "net/network.h"

namespace ingot::kernels::cuda {

namespace detail {
namespace {

constexpr int kRowsPerWarp = 4;
constexpr int kWarps = 4;
constexpr int kRows = kRowsPerWarp * kWarps;  // query rows per block
constexpr int kKeys = 32;                      // keys per tile: one per lane

template <typename T, int DMAX>
__global__ void __launch_bounds__(kWarps * 32) attention_kernel(const __grid_constant__ AttnArgs a) {
  wait_for_producers();  // launched by launch_dependent
  allow_dependents();    // the next kernel may start its prologue
  __shared__ float qs[kRows][DMAX];
  __shared__ float kt[DMAX][kKeys + 1];
  __shared__ float vt[kKeys][DMAX];
  __shared__ float key_bias[kKeys];  // a mask the same for every query row (BERT's): one tile of it
  const bool per_key_bias = a.bias && a.bias_strides[2] == 0;
  constexpr int C = DMAX / 32;  // output columns per lane
  const float kNegInf = -__int_as_float(0x7f800000);
  const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x & 31);
  const T* q = static_cast<const T*>(a.q);
  const T* k = static_cast<const T*>(a.k);
  const T* v = static_cast<const T*>(a.v);
  const int64_t row_tiles = (a.L + kRows - 1) / kRows;
  for (int64_t item = blockIdx.x; item < a.B * a.H * row_tiles; item += gridDim.x) {
    const int64_t rt = item % row_tiles, bh = item / row_tiles, h = bh % a.H, b = bh / a.H;
    const int64_t i0 = rt * kRows;
    __syncthreads();  // the previous item is done with the shared tiles
    for (int64_t idx = threadIdx.x; idx < kRows * a.D; idx += blockDim.x) {
      int64_t r = idx / a.D, d = idx - r * a.D, i = i0 + r;
      const View4& w = a.qv;
      qs[r][d] = i < a.L ? to_float(q[w.offset + b * w.strides[0] + h * w.strides[1] + i * w.strides[2] + d * w.strides[3]]) * a.scale
                         : 0.0f;
    }
    float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][C];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      m[r] = kNegInf;
      l[r] = 0.0f;
#pragma unroll
      for (int c = 0; c < C; ++c) acc[r][c] = 0.0f;
    }
    const int64_t key_end = a.causal ? (i0 + kRows < a.S ? i0 + kRows : a.S) : a.S;
    for (int64_t j0 = 0; j0 < key_end; j0 += kKeys) {
      __syncthreads();  // q is staged; the previous tile is consumed
      for (int64_t idx = threadIdx.x; idx < kKeys * a.D; idx += blockDim.x) {
        int64_t jj = idx / a.D, d = idx - jj * a.D, j = j0 + jj;
        const View4& w = a.kv;
        kt[d][jj] = j < a.S ? to_float(k[w.offset + b * w.strides[0] + h * w.strides[1] + j * w.strides[2] + d * w.strides[3]]) : 0.0f;
      }
      for (int64_t idx = threadIdx.x; idx < kKeys * a.Dv; idx += blockDim.x) {
        int64_t jj = idx / a.Dv, d = idx - jj * a.Dv, j = j0 + jj;
        const View4& w = a.vv;
        vt[jj][d] = j < a.S ? to_float(v[w.offset + b * w.strides[0] + h * w.strides[1] + j * w.strides[2] + d * w.strides[3]]) : 0.0f;
      }
      if (per_key_bias && threadIdx.x < kKeys) {
        key_bias[threadIdx.x] = j0 + threadIdx.x < a.S ? bias_at(a, b, h, 0, j0 + threadIdx.x) : 0.0f;
      }
      __syncthreads();
      float s[kRowsPerWarp];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) s[r] = 0.0f;
      for (int64_t d = 0; d < a.D; ++d) {
        float kd = kt[d][lane];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) s[r] += qs[warp * kRowsPerWarp + r][d] * kd;
      }
      const int64_t j = j0 + lane;
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const int64_t i = i0 + warp * kRowsPerWarp + r;
        const bool valid = j < a.S && i < a.L && !(a.causal && j > i);
        float sc = s[r];
        if (valid && a.bias) sc += per_key_bias ? key_bias[lane] : bias_at(a, b, h, i, j);
        if (!valid) sc = kNegInf;
        const float m_new = nan_max(m[r], warp_max(sc));
        const float p = m_new == kNegInf ? 0.0f : expf(sc - m_new);
        const float corr = m_new == kNegInf ? 1.0f : expf(m[r] - m_new);
        l[r] = l[r] * corr + warp_reduce(p, [](float x, float y) { return x + y; });
        m[r] = m_new;
#pragma unroll
        for (int c = 0; c < C; ++c) acc[r][c] *= corr;
        for (int jj = 0; jj < kKeys; ++jj) {
          const float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
          for (int c = 0; c < C; ++c) acc[r][c] += pj * vt[jj][lane + 32 * c];
        }
      }
    }
    T* o = static_cast<T*>(a.o);
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int64_t i = i0 + warp * kRowsPerWarp + r;
      if (i >= a.L) continue;
      const bool none = m[r] == kNegInf;  // every key masked: zeros, as the CPU reference
#pragma unroll
      for (int c = 0; c < C; ++c) {
        const int64_t d = lane + 32 * c;
        if (d >= a.Dv) continue;
        const View4& w = a.ov;
        o[w.offset + b * w.strides[0] + h * w.strides[1] + i * w.strides[2] + d * w.strides[3]] =
            from_float<T>(none ? 0.0f : acc[r][c] / l[r]);
      }
    }
  }
}

constexpr int64_t kMaxHeadDim = 128;

// The dims of `t` or of its strided view, as [B, H, rows, cols] (rank 3: H = 1).
Status view_of(const DeviceTensor& t, const net::Shape& shape, const net::Shape& strides, const net::SymExpr& offset,
               const char* what, View4* v) {
  std::vector<int64_t> d, s;
  int64_t off = 0;
  if (shape.empty()) {
    d = t.dims;
    s.assign(d.size(), 1);
    for (size_t i = d.size(); i-- > 1;) s[i - 1] = s[i] * d[i];
  } else {
    auto dd = ir::static_dims(shape), ss = ir::static_dims(strides);
    auto oo = offset.as_constant();
    if (!dd || !ss || !oo) return invalid_argument("attention: the ", what, " view is not concrete");
    d = *dd, s = *ss, off = *oo;
    INGOT_RETURN_IF_ERROR(net::check_strided_view(what, d, s, off, t.numel()));
  }
  if (d.size() != 3 && d.size() != 4) return unsupported("attention: ", what, " of rank ", d.size());
  if (d.size() == 3) d.insert(d.begin() + 1, 1), s.insert(s.begin() + 1, 0);
  for (int i = 0; i < 4; ++i) v->dims[i] = d[static_cast<size_t>(i)], v->strides[i] = s[static_cast<size_t>(i)];
  v->offset = off;
  return Status::ok();
}

}  // namespace

// Everything launch_attention needs, or why it cannot run the layer.
Expected<AttnArgs> plan_attention(const net::AttentionParams& p, const Tensors& in, const Tensors& out) {
  if (in.size() < 3 || in.size() > 4 || out.size() != 1) return invalid_argument("attention: takes q, k, v, mask? and one output");
  const DeviceTensor &q = in[0], &k = in[1], &v = in[2], &y = out[0];
  if (!ir::is_floating(q.dtype) || k.dtype != q.dtype || v.dtype != q.dtype || y.dtype != q.dtype) {
    return unsupported("attention of ", ir::dtype_name(q.dtype), " / ", ir::dtype_name(k.dtype), " / ",
                       ir::dtype_name(v.dtype), " into ", ir::dtype_name(y.dtype));
  }
  AttnArgs a;
  INGOT_RETURN_IF_ERROR(view_of(q, p.q_shape, p.q_strides, p.q_offset, "q", &a.qv));
  INGOT_RETURN_IF_ERROR(view_of(k, p.k_shape, p.k_strides, p.k_offset, "k", &a.kv));
  INGOT_RETURN_IF_ERROR(view_of(v, p.v_shape, p.v_strides, p.v_offset, "v", &a.vv));
  for (int i = 0; i < 2; ++i) {
    if (a.kv.dims[i] != a.qv.dims[i] || a.vv.dims[i] != a.qv.dims[i]) return unsupported("attention: broadcast batch dims");
  }
  a.B = a.qv.dims[0], a.H = a.qv.dims[1], a.L = a.qv.dims[2], a.D = a.qv.dims[3];
  a.S = a.kv.dims[2], a.Dv = a.vv.dims[3];
  if (a.kv.dims[3] != a.D || a.vv.dims[2] != a.S) return invalid_argument("attention: q, k and v do not match");
  if (a.D > kMaxHeadDim || a.Dv > kMaxHeadDim || a.D < 1 || a.Dv < 1) return unsupported("attention: head dims ", a.D, " / ", a.Dv);
  // The output: q's batch dims and rows, v's columns; packed, or the layer's strided view.
  size_t rank = q.dims.size();
  if (!p.q_shape.empty()) rank = p.q_shape.size();
  std::vector<int64_t> od;
  if (rank == 4) od = {a.B, a.H, a.L, a.Dv};
  else od = {a.B, a.L, a.Dv};
  if (p.strided_output()) {
    INGOT_RETURN_IF_ERROR(view_of(y, ir::shape_of(od), p.out_strides, net::SymExpr(0), "output", &a.ov));
  } else {
    if (y.numel() != a.B * a.H * a.L * a.Dv) return invalid_argument("attention: output ", ingot::shape_str(y.dims), " does not match");
    INGOT_RETURN_IF_ERROR(view_of(DeviceTensor{y.data, y.dtype, od}, {}, {}, net::SymExpr(0), "output", &a.ov));
  }
  if (in.size() > 3 && in[3].data) {
    const DeviceTensor& m = in[3];
    if (m.dtype != DType::kBool && !ir::is_floating(m.dtype)) return unsupported("attention: a ", ir::dtype_name(m.dtype), " mask");
    // Right-aligned against [batch..., L, S] with q's batch dims (rank 3: [B, L, S]).
    std::vector<int64_t> full = rank == 4 ? std::vector<int64_t>{a.B, a.H, a.L, a.S} : std::vector<int64_t>{a.B, a.L, a.S};
    if (m.dims.size() > full.size()) return unsupported("attention: mask ", ingot::shape_str(m.dims), " has too many dims");
    std::vector<int64_t> st(full.size(), 0);
    int64_t stride = 1;
    for (size_t i = m.dims.size(); i-- > 0;) {
      size_t at = full.size() - m.dims.size() + i;
      if (m.dims[i] != 1 && m.dims[i] != full[at]) {
        return invalid_argument("attention: mask ", ingot::shape_str(m.dims), " does not broadcast to ", ingot::shape_str(full));
      }
      st[at] = m.dims[i] == 1 ? 0 : stride;
      stride *= m.dims[i];
    }
    if (rank == 3) st.insert(st.begin() + 1, 0);
    for (int i = 0; i < 4; ++i) a.bias_strides[i] = st[static_cast<size_t>(i)];
    a.bias = m.data;
    a.bias_dtype = m.dtype;
  }
  a.q = q.data, a.k = k.data, a.v = v.data, a.o = y.data;
  a.scale = static_cast<float>(p.scale);
  a.causal = p.causal;
  return a;
}

Status launch_attention(const net::AttentionParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  INGOT_ASSIGN_OR_RETURN(AttnArgs a, plan_attention(p, in, out));
  if (a.B * a.H * a.L == 0 || a.Dv == 0) return Status::ok();
  int64_t items = a.B * a.H * ((a.L + kRows - 1) / kRows);
  unsigned grid = static_cast<unsigned>(std::min(items, kMaxGridBlocks));
  bool wide = a.D > 64 || a.Dv > 64;
  bool dispatched = visit_dtype(in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      if (wide) launch_dependent(attention_kernel<T, 128>, grid, kWarps * 32, 0, stream, a);
      else launch_dependent(attention_kernel<T, 64>, grid, kWarps * 32, 0, stream, a);
    }
  });
  if (!dispatched) return unsupported("attention on ", ir::dtype_name(in[0].dtype));
  return check_launch("attention");
}

}  // namespace detail

Status attention_supported(const net::AttentionParams& p, const std::vector<DeviceTensor>& inputs,
                           const std::vector<DeviceTensor>& outputs) {
  return detail::plan_attention(p, inputs, outputs).status();
}

Status attention_supported(const net::AttentionParams& p, const std::vector<DeviceTensor>& inputs,
                           const std::vector<DeviceTensor>& outputs, AttentionKernel kernel) {
  INGOT_ASSIGN_OR_RETURN(detail::AttnArgs a, detail::plan_attention(p, inputs, outputs));
  if (!kernel.tensor_cores) return Status::ok();
  return detail::attention_mma_supported(a, inputs[0].dtype, kernel.warps);
}

}  // namespace ingot::kernels::cuda
