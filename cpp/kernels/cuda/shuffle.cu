#include <cmath>
#include <cstring>

#include "kernels/cuda/shuffle.cuh"
#include "net/network.h"
#include "support/half.h"

namespace ingot::kernels::cuda::detail {

namespace {

constexpr int kThreads = 256;

// ---------------------------------------------------------------- strided copy

struct CopyArgs {
  StridedLayout<1> layout;
  Divisor groups_per_row;
  int64_t groups = 0;
  const void* src = nullptr;  // already advanced to the first source element
  void* dst = nullptr;
  bool narrow = true;
  bool vec_in = false, vec_out = false;
};

template <typename U, int VEC>
__global__ void __launch_bounds__(kThreads) copy_kernel(const __grid_constant__ CopyArgs args) {
  const U* src = vec_ptr<const U>(args.src);
  U* dst = vec_ptr<U>(args.dst);
  const StridedLayout<1>& l = args.layout;
  for (int64_t g = global_thread(); g < args.groups; g += grid_threads()) {
    int64_t row = args.groups_per_row.div(g, args.narrow);
    int64_t col = (g - row * args.groups_per_row.value) * VEC;
    int count = static_cast<int>(l.inner - col < VEC ? l.inner - col : VEC);
    int64_t off[1];
    l.row_offsets(row, off, args.narrow);
    U v[VEC];
    load_group_raw<VEC>(src + off[0] + col * l.inner_stride[0], l.inner_stride[0], count, args.vec_in, v);
    store_group_raw<VEC>(dst + row * l.inner + col, count, args.vec_out, v);
  }
}

// out[b][c][r] = in[b][r][c] for in [batch, rows, cols], in 32x32 tiles through shared memory.
struct TransposeArgs {
  const void* src = nullptr;
  void* dst = nullptr;
  int64_t rows = 0, cols = 0;
  int64_t tiles = 0;  // batch * row_tiles * col_tiles
  Divisor col_tiles, tiles_per_batch;
  bool narrow = true;
};

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // threads per block: kTile x kTileRows

template <typename U>
__global__ void __launch_bounds__(kTile* kTileRows) transpose_kernel(const __grid_constant__ TransposeArgs args) {
  __shared__ U tile[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t rows = args.rows, cols = args.cols;
  for (int64_t t = blockIdx.x; t < args.tiles; t += gridDim.x) {
    int64_t b = args.tiles_per_batch.div(t, args.narrow);
    int64_t rem = t - b * args.tiles_per_batch.value;
    int64_t tr = args.col_tiles.div(rem, args.narrow);
    int64_t tc = rem - tr * args.col_tiles.value;
    int64_t r0 = tr * kTile, c0 = tc * kTile;
    const U* in = static_cast<const U*>(args.src) + b * rows * cols;
    U* out = static_cast<U*>(args.dst) + b * rows * cols;
#pragma unroll
    for (int k = 0; k < kTile; k += kTileRows) {
      int64_t r = r0 + ty + k, c = c0 + tx;
      if (r < rows && c < cols) tile[ty + k][tx] = in[r * cols + c];
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTile; k += kTileRows) {
      int64_t c = c0 + ty + k, r = r0 + tx;
      if (c < cols && r < rows) out[c * rows + r] = tile[tx][ty + k];
    }
    __syncthreads();
  }
}

// out[b][p][c] = in[b][c][p] for in [batch, C, P] with few channels (an image's NCHW -> NHWC):
// the tiled transpose needs 16 or more of them and the element-wise copy strides its reads by P
// (2.6 MB of fp16 RGB at batch 32 took 25 us on the H200). A thread takes V pixels of every
// channel: C loads of V elements (16 bytes where P and the pointers allow), one store of C * V.
struct PlanesArgs {
  const void* src = nullptr;
  void* dst = nullptr;
  int64_t pixels = 0;           // P
  int64_t groups = 0;           // batch * ceil(P / V)
  Divisor groups_per_sample;    // ceil(P / V)
  bool narrow = true;
  bool vector = false;          // P % V == 0 and both pointers 16-byte aligned
};

constexpr int64_t kMaxPlanes = 4;

template <typename U, int C>
__global__ void __launch_bounds__(kThreads) planes_kernel(const __grid_constant__ PlanesArgs a) {
  constexpr int V = kVec16<U>;
  const U* src = static_cast<const U*>(a.src);
  U* dst = static_cast<U*>(a.dst);
  for (int64_t g = global_thread(); g < a.groups; g += grid_threads()) {
    const int64_t b = a.groups_per_sample.div(g, a.narrow);
    const int64_t p0 = (g - b * a.groups_per_sample.value) * V;
    const int count = static_cast<int>(a.pixels - p0 < V ? a.pixels - p0 : V);
    U v[C][V];
#pragma unroll
    for (int c = 0; c < C; ++c) load_group_raw<V>(src + (b * C + c) * a.pixels + p0, 1, count, a.vector, v[c]);
    U* out = dst + (b * a.pixels + p0) * C;
    if (a.vector) {  // count == V: C * V elements, C aligned 16-byte stores
#pragma unroll
      for (int q = 0; q < C; ++q) {
        Vec<U, V> w;
#pragma unroll
        for (int e = 0; e < V; ++e) w.v[e] = v[(q * V + e) % C][(q * V + e) / C];
        *vec_ptr<Vec<U, V>>(out + q * V) = w;
      }
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j) {
        if (j >= count) break;
#pragma unroll
        for (int c = 0; c < C; ++c) out[j * C + c] = v[c][j];
      }
    }
  }
}

template <typename U, int C>
void launch_planes_as(PlanesArgs a, int64_t batch, cudaStream_t stream) {
  constexpr int V = kVec16<U>;
  const int64_t per_sample = (a.pixels + V - 1) / V;
  a.groups_per_sample = Divisor::make(per_sample);
  a.groups = batch * per_sample;
  a.narrow = a.groups < kNarrowLimit;
  a.vector = a.pixels % V == 0 && aligned_to(a.src, 16) && aligned_to(a.dst, 16);
  launch_kernel(planes_kernel<U, C>, grid_for(a.groups, kThreads), kThreads, 0, stream, a);
}

Status launch_planes(const char* layer, const void* src, void* dst, int64_t batch, int64_t channels, int64_t pixels,
                     size_t elem, cudaStream_t stream) {
  PlanesArgs a;
  a.src = src;
  a.dst = dst;
  a.pixels = pixels;
  bool dispatched = visit_size(elem, [&](auto tag) {
    using U = decltype(tag);
    if (channels == 2) launch_planes_as<U, 2>(a, batch, stream);
    else if (channels == 3) launch_planes_as<U, 3>(a, batch, stream);
    else launch_planes_as<U, 4>(a, batch, stream);
  });
  if (!dispatched) return unsupported(layer, ": element size ", elem);
  return check_launch(layer);
}

// Launches the strided copy of `layout` (source advanced to its first element).
Status launch_copy(const char* layer, const StridedLayout<1>& layout, const void* src, void* dst, size_t elem,
                   int64_t n, cudaStream_t stream) {
  CopyArgs args;
  args.layout = layout;
  args.src = src;
  args.dst = dst;
  args.narrow = n < kNarrowLimit;
  bool dispatched = visit_size(elem, [&](auto tag) {
    using U = decltype(tag);
    constexpr int V = kVec16<U>;
    const StridedLayout<1>& l = args.layout;
    args.vec_in = vector_readable(l, 0, src, V, sizeof(U));
    bool friendly = args.vec_in || l.inner_stride[0] == 0;
    if (friendly && l.inner >= V && vector_writable(l, dst, V, sizeof(U))) {
      args.vec_out = true;
      int64_t gpr = (l.inner + V - 1) / V;
      args.groups_per_row = Divisor::make(gpr);
      args.groups = gpr * l.rows;
      launch_kernel(copy_kernel<U, V>, grid_for(args.groups, kThreads), kThreads, 0, stream, args);
      return;
    }
    args.vec_in = args.vec_out = false;
    args.groups_per_row = Divisor::make(l.inner);
    args.groups = n;
    launch_kernel(copy_kernel<U, 1>, grid_for(n, kThreads), kThreads, 0, stream, args);
  });
  if (!dispatched) return unsupported(layer, ": element size ", elem);
  return check_launch(layer);
}

// Copies `src` into the dense `dst` of `out_dims`, reading element i at base + sum(i_d * s_d).
Status strided_copy(const char* layer, const DeviceTensor& x, const DeviceTensor& y, std::vector<int64_t> strides,
                    int64_t base, cudaStream_t stream) {
  int64_t n = y.numel();
  if (n == 0) return Status::ok();
  size_t elem = ir::dtype_size(y.dtype);
  StridedLayout<1> l;
  INGOT_RETURN_IF_ERROR(make_layout<1>(layer, y.dims, {std::move(strides)}, &l));
  const void* src = static_cast<const char*>(x.data) + base * static_cast<int64_t>(elem);
  // A batched transpose of the two innermost collapsed axes: out [B, P, Q] reading in [B, Q, P].
  int64_t p_dim = l.outer_rank >= 1 ? l.outer_dims[0].value : 0;
  bool transpose = l.outer_rank >= 1 && l.outer_rank <= 2 && l.outer_strides[0][0] == 1 &&
                   l.inner_stride[0] == p_dim && (l.outer_rank == 1 || l.outer_strides[1][0] == p_dim * l.inner) &&
                   p_dim >= 16 && l.inner >= 16;
  if (!transpose) {
    // The same pattern with 2-4 innermost output elements (channels) over many pixels.
    const bool planes = l.outer_rank >= 1 && l.outer_rank <= 2 && l.outer_strides[0][0] == 1 &&
                        l.inner_stride[0] == p_dim && (l.outer_rank == 1 || l.outer_strides[1][0] == p_dim * l.inner) &&
                        l.inner >= 2 && l.inner <= kMaxPlanes && p_dim >= 64;
    if (planes) {
      const int64_t batch = l.outer_rank == 2 ? l.outer_dims[1].value : 1;
      return launch_planes(layer, src, y.data, batch, l.inner, p_dim, elem, stream);
    }
    return launch_copy(layer, l, src, y.data, elem, n, stream);
  }

  TransposeArgs args;
  args.src = src;
  args.dst = y.data;
  args.rows = l.inner;  // input rows = output's innermost dim
  args.cols = p_dim;
  int64_t batch = l.outer_rank == 2 ? l.outer_dims[1].value : 1;
  int64_t row_tiles = (args.rows + kTile - 1) / kTile, col_tiles = (args.cols + kTile - 1) / kTile;
  args.col_tiles = Divisor::make(col_tiles);
  args.tiles_per_batch = Divisor::make(row_tiles * col_tiles);
  args.tiles = batch * row_tiles * col_tiles;
  args.narrow = args.tiles < kNarrowLimit;
  unsigned grid = static_cast<unsigned>(args.tiles < kMaxGridBlocks ? args.tiles : kMaxGridBlocks);
  dim3 block(kTile, kTileRows);
  bool dispatched = visit_size(elem, [&](auto tag) {
    using U = decltype(tag);
    launch_kernel(transpose_kernel<U>, grid, block, 0, stream, args);
  });
  if (!dispatched) return unsupported(layer, ": element size ", elem);
  return check_launch(layer);
}

// ---------------------------------------------------------------- concat

constexpr int kMaxConcatInputs = 32;

struct ConcatArgs {
  void* dst = nullptr;
  int64_t out_row = 0;  // units per outer index in the output
  int64_t outer = 0;
  bool narrow = true;
  const void* src[kMaxConcatInputs] = {};
  int64_t row[kMaxConcatInputs] = {};     // units per outer index in input k
  int64_t offset[kMaxConcatInputs] = {};  // units into an output row where input k starts
  Divisor row_div[kMaxConcatInputs];
};

template <typename U>
__global__ void __launch_bounds__(kThreads) concat_kernel(const __grid_constant__ ConcatArgs args) {
  const int k = blockIdx.y;
  const U* src = vec_ptr<const U>(args.src[k]);
  U* dst = vec_ptr<U>(args.dst) + args.offset[k];
  const int64_t row = args.row[k], total = args.outer * row;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    int64_t o = args.row_div[k].div(i, args.narrow);
    dst[o * args.out_row + (i - o * row)] = src[i];
  }
}

// The widest unit of 16, 8, 4, 2 or 1 bytes that divides every size and pointer given.
size_t widest_unit(const std::vector<int64_t>& byte_counts, const std::vector<const void*>& pointers) {
  for (size_t u = 16; u > 1; u /= 2) {
    bool ok = true;
    for (int64_t b : byte_counts) ok = ok && b % static_cast<int64_t>(u) == 0;
    for (const void* p : pointers) ok = ok && aligned_to(p, u);
    if (ok) return u;
  }
  return 1;
}

template <typename Fn>
bool visit_unit(size_t bytes, Fn&& fn) {
  if (bytes == 16) {
    fn(uint4{});
    return true;
  }
  return visit_size(bytes, fn);
}

// ---------------------------------------------------------------- gather

struct GatherArgs {
  const void* data = nullptr;
  const void* indices = nullptr;
  void* out = nullptr;
  bool idx64 = true;
  bool narrow = true;
  int64_t size = 0;         // data dim along the axis
  int64_t n_idx = 0;        // number of indices
  int64_t inner_units = 0;  // units per gathered slice
  int64_t total = 0;        // units in the output
  Divisor inner_div, nidx_div;
};

template <typename U>
__global__ void __launch_bounds__(kThreads) gather_kernel(const __grid_constant__ GatherArgs args) {
  const U* data = vec_ptr<const U>(args.data);
  U* out = vec_ptr<U>(args.out);
  for (int64_t i = global_thread(); i < args.total; i += grid_threads()) {
    int64_t t = args.inner_div.div(i, args.narrow);
    int64_t k = i - t * args.inner_units;
    int64_t o = args.nidx_div.div(t, args.narrow);
    int64_t j = t - o * args.n_idx;
    int64_t idx = args.idx64 ? static_cast<const int64_t*>(args.indices)[j]
                             : static_cast<int64_t>(static_cast<const int32_t*>(args.indices)[j]);
    if (idx < 0) idx += args.size;
    U v{};
    if (idx >= 0 && idx < args.size) v = data[(o * args.size + idx) * args.inner_units + k];
    out[i] = v;
  }
}

// ---------------------------------------------------------------- fill and iota

template <typename U>
__global__ void __launch_bounds__(kThreads) fill_kernel(U* p, int64_t n, U value, uint4 value16, bool vector) {
  int64_t head = 0;
  if (vector) {
    int64_t chunks = n / kVec16<U>;
    uint4* q = vec_ptr<uint4>(p);
    for (int64_t i = global_thread(); i < chunks; i += grid_threads()) q[i] = value16;
    head = chunks * kVec16<U>;
  }
  for (int64_t i = head + global_thread(); i < n; i += grid_threads()) p[i] = value;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) iota_kernel(T* out, int64_t n, double start, double step, int64_t istart,
                                                       int64_t istep) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    if constexpr (kIsFloat<T>) {
      double v = start + static_cast<double>(i) * step;
      out[i] = from_float<T>(static_cast<float>(v));
    } else {
      uint64_t v = static_cast<uint64_t>(istart) + static_cast<uint64_t>(i) * static_cast<uint64_t>(istep);
      out[i] = from_int<T>(static_cast<int64_t>(v));
    }
  }
}

// The CPU's float_to_int for a double value (kernels/cpu/elements.cpp).
int64_t host_float_to_int(double v, DType to) {
  if (to == DType::kBool) return v != 0.0 ? 1 : 0;
  if (to == DType::kInt64) {
    if (std::isnan(v) || v >= 9223372036854775808.0 || v < -9223372036854775808.0) return INT64_MIN;
    return static_cast<int64_t>(v);
  }
  if (std::isnan(v) || v >= 2147483648.0 || v < -2147483648.0) return INT32_MIN;
  return static_cast<int64_t>(static_cast<int32_t>(v));
}

// `v` stored as one element of dtype `t` into `bytes` (little-endian), as the CPU's
// store_double_at does.
void host_store(DType t, double v, unsigned char* bytes) {
  auto put = [&](auto x) { std::memcpy(bytes, &x, sizeof(x)); };
  switch (t) {
    case DType::kFloat32: put(static_cast<float>(v)); break;
    case DType::kFloat16: put(Half(static_cast<float>(v)).bits); break;
    case DType::kBFloat16: put(BFloat16(static_cast<float>(v)).bits); break;
    case DType::kInt8: put(static_cast<int8_t>(static_cast<uint8_t>(host_float_to_int(v, t)))); break;
    case DType::kUInt8: put(static_cast<uint8_t>(host_float_to_int(v, t))); break;
    case DType::kInt32: put(static_cast<int32_t>(static_cast<uint32_t>(host_float_to_int(v, t)))); break;
    case DType::kInt64: put(host_float_to_int(v, t)); break;
    case DType::kBool: put(static_cast<uint8_t>(v != 0.0 ? 1 : 0)); break;
    default: break;
  }
}

Status need_counts(const char* layer, const Tensors& in, const Tensors& out, size_t n_in) {
  if (in.size() != n_in || out.size() != 1) return invalid_argument(layer, ": takes ", n_in, " inputs and 1 output");
  for (const DeviceTensor& t : in) {
    if (t.dtype != out[0].dtype) return invalid_argument(layer, ": input and output dtypes differ");
  }
  return Status::ok();
}

Status copy_bytes(const char* layer, const DeviceTensor& x, const DeviceTensor& y, cudaStream_t stream) {
  if (x.numel() != y.numel() || x.dtype != y.dtype) {
    return invalid_argument(layer, ": input ", ir::dtype_name(x.dtype), ingot::shape_str(x.dims), " and output ",
                            ir::dtype_name(y.dtype), ingot::shape_str(y.dims), " differ in size");
  }
  size_t bytes = static_cast<size_t>(y.numel()) * ir::dtype_size(y.dtype);
  if (bytes == 0 || x.data == y.data) return Status::ok();
  INGOT_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(y.data, x.data, bytes, cudaMemcpyDeviceToDevice, stream), layer);
  return Status::ok();
}

int64_t product(const std::vector<int64_t>& d, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end && i < d.size(); ++i) n *= d[i];
  return n;
}

}  // namespace

Status launch_reshape(const net::ReshapeParams&, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  INGOT_RETURN_IF_ERROR(need_counts("reshape", in, out, 1));
  return copy_bytes("reshape", in[0], out[0], stream);
}

Status launch_identity(const net::IdentityParams&, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  INGOT_RETURN_IF_ERROR(need_counts("identity", in, out, 1));
  return copy_bytes("identity", in[0], out[0], stream);
}

Status launch_permute(const net::PermuteParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "permute";
  INGOT_RETURN_IF_ERROR(need_counts(L, in, out, 1));
  const DeviceTensor &x = in[0], &y = out[0];
  size_t rank = x.dims.size();
  if (p.perm.size() != rank || y.dims.size() != rank) return invalid_argument(L, ": perm ", ingot::shape_str(p.perm), " does not fit rank ", rank);
  std::vector<int64_t> in_strides = dense_strides(x.dims), strides(rank);
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = p.perm[i];
    if (a < 0 || a >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(a)]) {
      return invalid_argument(L, ": ", ingot::shape_str(p.perm), " is not a permutation");
    }
    seen[static_cast<size_t>(a)] = true;
    if (y.dims[i] != x.dims[static_cast<size_t>(a)]) return invalid_argument(L, ": output dims ", ingot::shape_str(y.dims), " do not match");
    strides[i] = in_strides[static_cast<size_t>(a)];
  }
  return strided_copy(L, x, y, std::move(strides), 0, stream);
}

Status launch_expand(const net::ExpandParams&, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "expand";
  INGOT_RETURN_IF_ERROR(need_counts(L, in, out, 1));
  std::vector<int64_t> strides;
  if (!broadcast_strides(in[0].dims, out[0].dims, &strides)) {
    return invalid_argument(L, ": cannot expand ", ingot::shape_str(in[0].dims), " to ", ingot::shape_str(out[0].dims));
  }
  return strided_copy(L, in[0], out[0], std::move(strides), 0, stream);
}

Status launch_slice(const net::SliceParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "slice";
  INGOT_RETURN_IF_ERROR(need_counts(L, in, out, 1));
  const DeviceTensor &x = in[0], &y = out[0];
  size_t rank = x.dims.size();
  size_t n = p.axes.size();
  if (p.starts.size() != n || p.ends.size() != n || p.steps.size() != n || y.dims.size() != rank) {
    return invalid_argument(L, ": axes, starts, ends and steps differ in length");
  }
  std::vector<int64_t> strides = dense_strides(x.dims);
  int64_t base = 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t a = p.axes[i];
    auto start = p.starts[i].as_constant();
    if (a < 0 || a >= static_cast<int64_t>(rank) || p.steps[i] < 1) return invalid_argument(L, ": bad axis or step");
    if (!start) return unsupported(L, ": start ", p.starts[i].str(), " is symbolic; substitute it before launching");
    if (*start < 0 || *start > x.dims[static_cast<size_t>(a)]) return invalid_argument(L, ": start ", *start, " out of range");
    base += *start * strides[static_cast<size_t>(a)];
    strides[static_cast<size_t>(a)] *= p.steps[i];
  }
  if (y.numel() == 0) return Status::ok();
  // Every source element read lies inside the input.
  int64_t last = base;
  for (size_t d = 0; d < rank; ++d) last += (y.dims[d] - 1) * strides[d];
  if (last >= x.numel()) {
    return invalid_argument(L, ": output ", ingot::shape_str(y.dims), " reads past the end of input ", ingot::shape_str(x.dims));
  }
  return strided_copy(L, x, y, std::move(strides), base, stream);
}

Status launch_concat(const net::ConcatParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "concat";
  if (in.empty() || out.size() != 1) return invalid_argument(L, ": needs inputs and 1 output");
  const DeviceTensor& y = out[0];
  size_t rank = y.dims.size();
  if (p.axis < 0 || p.axis >= static_cast<int64_t>(rank)) return invalid_argument(L, ": axis ", p.axis, " out of range");
  size_t axis = static_cast<size_t>(p.axis);
  int64_t elem = static_cast<int64_t>(ir::dtype_size(y.dtype));
  int64_t outer = product(y.dims, 0, axis);
  int64_t axis_total = 0;
  std::vector<int64_t> byte_counts{product(y.dims, axis, rank) * elem};
  std::vector<const void*> pointers{y.data};
  for (const DeviceTensor& t : in) {
    if (t.dtype != y.dtype || t.dims.size() != rank) return invalid_argument(L, ": input ", ingot::shape_str(t.dims), " does not match the output");
    for (size_t d = 0; d < rank; ++d) {
      if (d != axis && t.dims[d] != y.dims[d]) return invalid_argument(L, ": input ", ingot::shape_str(t.dims), " does not match the output");
    }
    byte_counts.push_back(axis_total * product(y.dims, axis + 1, rank) * elem);  // offset
    axis_total += t.dims[axis];
    byte_counts.push_back(t.numel() / (outer > 0 ? outer : 1) * elem);  // row
    if (t.numel() > 0) pointers.push_back(t.data);
  }
  if (axis_total != y.dims[axis]) return invalid_argument(L, ": inputs do not add up to the output along axis ", axis);
  if (y.numel() == 0) return Status::ok();
  int64_t unit = static_cast<int64_t>(widest_unit(byte_counts, pointers));

  ConcatArgs args;
  args.dst = y.data;
  args.outer = outer;
  args.out_row = product(y.dims, axis, rank) * elem / unit;
  int64_t offset = 0;  // units
  for (size_t first = 0; first < in.size(); first += kMaxConcatInputs) {
    int count = 0;
    int64_t max_work = 0;
    for (size_t i = first; i < in.size() && i < first + kMaxConcatInputs; ++i) {
      const DeviceTensor& t = in[i];
      int64_t row = product(t.dims, axis, rank) * elem / unit;
      if (row > 0) {
        args.src[count] = t.data;
        args.row[count] = row;
        args.offset[count] = offset;
        args.row_div[count] = Divisor::make(row);
        max_work = std::max(max_work, row * outer);
        ++count;
      }
      offset += row;
    }
    if (count == 0) continue;
    args.narrow = max_work < kNarrowLimit && args.out_row * outer < kNarrowLimit;
    dim3 grid(grid_for(max_work, kThreads), static_cast<unsigned>(count));
    bool dispatched = visit_unit(static_cast<size_t>(unit), [&](auto tag) {
      using U = decltype(tag);
      launch_kernel(concat_kernel<U>, grid, kThreads, 0, stream, args);
    });
    if (!dispatched) return unsupported(L, ": unit ", unit);
    INGOT_RETURN_IF_ERROR(check_launch(L));
  }
  return Status::ok();
}

Status launch_gather(const net::GatherParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "gather";
  if (in.size() != 2 || out.size() != 1) return invalid_argument(L, ": takes data, indices and 1 output");
  const DeviceTensor &data = in[0], &indices = in[1], &y = out[0];
  if (indices.dtype != DType::kInt64 && indices.dtype != DType::kInt32) return invalid_argument(L, ": indices must be i32 or i64");
  if (data.dtype != y.dtype) return invalid_argument(L, ": data and output dtypes differ");
  size_t rank = data.dims.size();
  if (p.axis < 0 || p.axis >= static_cast<int64_t>(rank)) return invalid_argument(L, ": axis ", p.axis, " out of range");
  size_t axis = static_cast<size_t>(p.axis);
  std::vector<int64_t> want(data.dims.begin(), data.dims.begin() + p.axis);
  want.insert(want.end(), indices.dims.begin(), indices.dims.end());
  want.insert(want.end(), data.dims.begin() + p.axis + 1, data.dims.end());
  if (want != y.dims) return invalid_argument(L, ": output ", ingot::shape_str(y.dims), " should be ", ingot::shape_str(want));
  if (y.numel() == 0) return Status::ok();
  int64_t elem = static_cast<int64_t>(ir::dtype_size(y.dtype));
  int64_t inner_bytes = product(data.dims, axis + 1, rank) * elem;
  int64_t unit = static_cast<int64_t>(widest_unit({inner_bytes}, {data.data, y.data}));

  GatherArgs args;
  args.data = data.data;
  args.indices = indices.data;
  args.out = y.data;
  args.idx64 = indices.dtype == DType::kInt64;
  args.size = data.dims[axis];
  args.n_idx = indices.numel();
  args.inner_units = inner_bytes / unit;
  args.total = y.numel() * elem / unit;
  args.inner_div = Divisor::make(args.inner_units);
  args.nidx_div = Divisor::make(args.n_idx);
  args.narrow = args.total < kNarrowLimit;
  bool dispatched = visit_unit(static_cast<size_t>(unit), [&](auto tag) {
    using U = decltype(tag);
    launch_kernel(gather_kernel<U>, grid_for(args.total, kThreads), kThreads, 0, stream, args);
  });
  if (!dispatched) return unsupported(L, ": unit ", unit);
  return check_launch(L);
}

Status launch_fill(const net::FillParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "fill";
  if (!in.empty() || out.size() != 1) return invalid_argument(L, ": takes no inputs and 1 output");
  const DeviceTensor& y = out[0];
  if (y.dtype != p.dtype) return invalid_argument(L, ": output dtype ", ir::dtype_name(y.dtype), " is not ", ir::dtype_name(p.dtype));
  int64_t n = y.numel();
  if (n == 0) return Status::ok();
  unsigned char one[8] = {};
  host_store(y.dtype, p.value, one);
  size_t elem = ir::dtype_size(y.dtype);
  unsigned char sixteen[16];
  for (size_t i = 0; i < 16; ++i) sixteen[i] = one[i % elem];
  uint4 value16;
  std::memcpy(&value16, sixteen, 16);
  bool vector = aligned_to(y.data, 16);
  bool dispatched = visit_size(elem, [&](auto tag) {
    using U = decltype(tag);
    U value;
    std::memcpy(&value, one, sizeof(U));
    int64_t work = vector ? n / kVec16<U> + kVec16<U> : n;
    launch_kernel(fill_kernel<U>, grid_for(work, kThreads), kThreads, 0, stream, static_cast<U*>(y.data), n, value, value16, vector);
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(y.dtype));
  return check_launch(L);
}

Status launch_iota(const net::IotaParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream) {
  const char* L = "iota";
  if (!in.empty() || out.size() != 1) return invalid_argument(L, ": takes no inputs and 1 output");
  const DeviceTensor& y = out[0];
  if (y.dtype != p.dtype || y.dims.size() != 1) return invalid_argument(L, ": output must be 1-d ", ir::dtype_name(p.dtype));
  if (auto size = p.size.as_constant(); size && *size != y.dims[0]) {
    return invalid_argument(L, ": size ", *size, " differs from the output's ", y.dims[0]);
  }
  int64_t n = y.numel();
  if (n == 0) return Status::ok();
  // As torch.arange with an integer dtype: start and step are converted to integers first.
  int64_t istart = host_float_to_int(p.start, DType::kInt64), istep = host_float_to_int(p.step, DType::kInt64);
  bool dispatched = visit_dtype(y.dtype, [&](auto tag) {
    using T = decltype(tag);
    launch_kernel(iota_kernel<T>, grid_for(n, kThreads), kThreads, 0, stream, static_cast<T*>(y.data), n, p.start, p.step, istart, istep);
  });
  if (!dispatched) return unsupported(L, ": dtype ", ir::dtype_name(y.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail

namespace ingot::kernels::cuda {

Status copy_strided(const DeviceTensor& src, const std::vector<int64_t>& strides, int64_t offset,
                    const DeviceTensor& dst, cudaStream_t stream) {
  const char* L = "strided copy";
  if (src.dtype != dst.dtype) return invalid_argument(L, ": dtypes differ");
  INGOT_RETURN_IF_ERROR(net::check_strided_view(L, dst.dims, strides, offset, src.numel()));
  return detail::strided_copy(L, src, dst, strides, offset, stream);
}

}  // namespace ingot::kernels::cuda
