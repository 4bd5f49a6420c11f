// Shared pieces of the CUDA kernels (internal): error checks returning Status, element storage
// types and their conversions (the CPU reference's rules, kernels/cpu/elements.h), fast integer
// division, and the strided index math that the elementwise and data-movement kernels share.
//
// Index conventions: element counts and offsets are int64 everywhere. Kernels take a `narrow`
// flag, true when every index they divide is below 2^31; Divisor then uses a multiply-shift
// instead of a 64-bit division (uniform across the grid, so the branch costs nothing).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#ifndef INGOT_CUDA_EMULATION
#include <cooperative_groups.h>
#endif

#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cuda/divisor.cuh"
#include "kernels/cuda/kernels.h"
#include "support/status.h"

namespace ingot::kernels::cuda::detail {

using ir::DType;
using Tensors = std::vector<DeviceTensor>;

constexpr int kMaxRank = 8;              // after collapsing dims (see collapse_dims)
// Grid-stride loops cover work beyond this many blocks. The emulation build lowers it, so that
// its tests run every loop past its first iteration.
#ifdef INGOT_CUDA_MAX_GRID_BLOCKS
constexpr int64_t kMaxGridBlocks = INGOT_CUDA_MAX_GRID_BLOCKS;
#else
constexpr int64_t kMaxGridBlocks = int64_t{1} << 20;
#endif

// ---------------------------------------------------------------- errors

// Wraps a CUDA runtime call: on failure returns an internal error naming `what`.
#define INGOT_CUDA_RETURN_IF_ERROR(call, what)                                             \
  do {                                                                                     \
    cudaError_t ingot_cuda_err_ = (call);                                                  \
    if (ingot_cuda_err_ != cudaSuccess) {                                                  \
      return ::ingot::error(::ingot::ErrorCode::kInternal, what, ": ", #call, " failed: ", \
                            cudaGetErrorName(ingot_cuda_err_), " (",                       \
                            cudaGetErrorString(ingot_cuda_err_), ")");                      \
    }                                                                                      \
  } while (0)

// The status of the kernel launches just enqueued (cudaGetLastError), naming the layer.
inline Status check_launch(const char* layer) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess) return Status::ok();
  return error(ErrorCode::kInternal, layer, ": kernel launch failed: ", cudaGetErrorName(err), " (",
               cudaGetErrorString(err), ")");
}

// ---------------------------------------------------------------- launching

// Launches `kernel` on `stream`. Every launch goes through here, so that the host emulation
// build (tests/cuda/emulation/, INGOT_CUDA_EMULATION) can run the same kernels on the CPU.
template <typename... Params, typename... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, Args&&... args) {
#ifdef INGOT_CUDA_EMULATION
  ::ingot_emulation::run_kernel(kernel, grid, block, smem, std::forward<Args>(args)...);
  (void)stream;
#else
  kernel<<<grid, block, smem, stream>>>(std::forward<Args>(args)...);
#endif
}

// Programmatic dependent launch (Hopper and later): a kernel launched by launch_dependent()
// may start while the kernel before it on the stream is still finishing, so that its launch and
// block scheduling overlap the previous kernel's tail instead of following it. Such a kernel must
// call wait_for_producers() before it touches global memory (reads its inputs, or writes a buffer
// that the previous kernel may still read): that waits until the previous kernel has completed
// and its writes are visible. CUDA graphs capture the launch as a programmatic edge.
// programmatic_launch_enabled() says whether the current device and the kernels' build allow it
// (compute capability 9.0+, kernels compiled for sm_90+) and INGOT_PDL is not "0" (on by
// default since the engine A/B of bench/NOTES.md note 53: 1.6% faster at batch 1, even at 32).
bool programmatic_launch_enabled();

__device__ __forceinline__ void wait_for_producers() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Lets the kernel launched after this one (programmatically: launch_dependent, launch_clustered)
// start before this one's blocks exit: its blocks run up to their wait_for_producers(), which
// still waits for all of this kernel, alongside this one's (a GEMM fetches its weights then).
// Without it the next kernel starts as this one's last blocks exit.
__device__ __forceinline__ void allow_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

template <typename... Params, typename... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                      Args&&... args) {
#ifdef INGOT_CUDA_EMULATION
  ::ingot_emulation::run_kernel(kernel, grid, block, smem, std::forward<Args>(args)...);
  (void)stream;
#else
  if (!programmatic_launch_enabled()) {
    kernel<<<grid, block, smem, stream>>>(std::forward<Args>(args)...);
    return;
  }
  cudaLaunchAttribute attr{};
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = &attr;
  config.numAttrs = 1;
  // Errors surface through cudaGetLastError (check_launch), as with <<<>>>.
  (void)cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
#endif
}

// Whether the current device runs the kernels' sm_90 code: compute capability 9.0+ and the
// kernels built for sm_90+ (a PTX build for an older architecture, JIT-compiled for the device,
// has none of the sm_90 instructions). Decided once per device. The emulation build answers
// true (it emulates thread block clusters).
bool sm90_code_on_device();

// A launch in thread block clusters of `cluster_x` consecutive blocks along x (1: no clusters;
// at most 8, the portable limit; grid.x a multiple of it; sm90_code_on_device() must hold for
// more than 1), programmatic like launch_dependent() where that is enabled. The kernel keeps to
// dynamic shared memory when cluster_x > 1 (the emulation runs a cluster's blocks at once).
template <typename... Params, typename... Args>
void launch_clustered(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                      unsigned cluster_x, Args&&... args) {
#ifdef INGOT_CUDA_EMULATION
  if (cluster_x > 1) {
    ::ingot_emulation::run_cluster_kernel(kernel, grid, block, smem, cluster_x, std::forward<Args>(args)...);
  } else {
    ::ingot_emulation::run_kernel(kernel, grid, block, smem, std::forward<Args>(args)...);
  }
  (void)stream;
#else
  cudaLaunchAttribute attrs[2] = {};
  unsigned n = 0;
  if (cluster_x > 1) {
    attrs[n].id = cudaLaunchAttributeClusterDimension;
    attrs[n].val.clusterDim.x = cluster_x;
    attrs[n].val.clusterDim.y = 1;
    attrs[n].val.clusterDim.z = 1;
    ++n;
  }
  if (programmatic_launch_enabled()) {
    attrs[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attrs[n].val.programmaticStreamSerializationAllowed = 1;
    ++n;
  }
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = attrs;
  config.numAttrs = n;
  (void)cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
#endif
}

// A barrier over the blocks of the cluster (launch_clustered with cluster_x > 1); shared memory
// writes before it are visible to every block of the cluster after it.
__device__ __forceinline__ void cluster_sync() {
#ifdef INGOT_CUDA_EMULATION
  ::ingot_emulation::cluster_sync();
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  cooperative_groups::this_cluster().sync();
#endif
}

// `p` (in this block's dynamic shared memory) mapped to the block of cluster rank `rank`
// (distributed shared memory: reads of another block's tile, between two cluster_sync()s).
template <typename T>
__device__ __forceinline__ T* cluster_peer(T* p, unsigned rank) {
#ifdef INGOT_CUDA_EMULATION
  return static_cast<T*>(::ingot_emulation::cluster_peer(const_cast<void*>(static_cast<const void*>(p)), rank));
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  return cooperative_groups::this_cluster().map_shared_rank(p, rank);
#else
  return p;
#endif
}

// Asynchronous 16-byte copies global -> shared (cp.async, sm_80+), zero-filled where `valid`
// is false (`src` must still be a valid address then; nothing is read). Groups of them are
// committed and waited for: cp_async_wait<N>() returns when at most N groups are in flight.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
#ifdef INGOT_CUDA_EMULATION
  ::ingot_emulation::check_aligned(dst, 16);
  ::ingot_emulation::check_aligned(src, 16);
  if (valid) std::memcpy(dst, src, 16);
  else std::memset(dst, 0, 16);
#else
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 16 : 0) : "memory");
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#ifndef INGOT_CUDA_EMULATION
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#ifndef INGOT_CUDA_EMULATION
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

// A cooperative launch (cudaLaunchCooperativeKernel): every block of the grid is resident at
// once, so the kernel may wait at grid_sync(); the grid must be at most cooperative_blocks().
// Fails (cudaErrorCooperativeLaunchTooLarge, through cudaGetLastError) where it is larger.
// CUDA graphs capture it as a cooperative kernel node.
template <typename Arg>
void launch_cooperative(void (*kernel)(Arg), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, const Arg& arg) {
#ifdef INGOT_CUDA_EMULATION
  ::ingot_emulation::run_cooperative_kernel(kernel, grid, block, smem, arg);
  (void)stream;
#else
  void* args[] = {const_cast<Arg*>(&arg)};
  cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), grid, block, args, smem, stream);
#endif
}

// A barrier over the whole grid of a cooperative launch; the writes before it are visible to
// every block after it.
__device__ __forceinline__ void grid_sync() {
#ifdef INGOT_CUDA_EMULATION
  ::ingot_emulation::grid_sync();
#else
  cooperative_groups::this_grid().sync();
#endif
}

// The dynamic shared memory of the launch.
template <typename T>
__device__ __forceinline__ T* dynamic_smem() {
#ifdef INGOT_CUDA_EMULATION
  return static_cast<T*>(::ingot_emulation::dynamic_smem());
#else
  extern __shared__ __align__(16) unsigned char ingot_dynamic_smem[];
  return reinterpret_cast<T*>(ingot_dynamic_smem);
#endif
}

#ifdef __CUDACC__
#define INGOT_NOINLINE __noinline__
#else
#define INGOT_NOINLINE __attribute__((noinline))
#endif

// `p` as a pointer to V (a vector or copy unit); the emulation build checks the alignment that
// the device requires.
template <typename V, typename P>
__device__ __forceinline__ V* vec_ptr(P* p) {
#ifdef INGOT_CUDA_EMULATION
  ::ingot_emulation::check_aligned(p, alignof(V));
#endif
  return reinterpret_cast<V*>(p);
}

// ---------------------------------------------------------------- launch geometry

__host__ __device__ constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline unsigned grid_for(int64_t work, int threads) {
  int64_t blocks = (work + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > kMaxGridBlocks) blocks = kMaxGridBlocks;
  return static_cast<unsigned>(blocks);
}

// Blocks of `kernel` (`threads` threads, `smem` bytes of dynamic shared memory) that the current
// device holds at once: one wave. Falls back to one block an SM of an H100 / H200 where the
// query fails; the emulation build answers two blocks an SM of 132 SMs.
template <typename... Params>
int64_t resident_blocks(void (*kernel)(Params...), int threads, size_t smem) {
#ifdef INGOT_CUDA_EMULATION
  (void)kernel, (void)threads, (void)smem;
  return 2 * 132;
#else
  int device = 0, sms = 0, per_sm = 0;
  if (cudaGetDevice(&device) != cudaSuccess || cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess ||
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, smem) != cudaSuccess || sms < 1 || per_sm < 1) {
    cudaGetLastError();  // the failed query's error is not the launch's
    return 132;
  }
  return int64_t{sms} * per_sm;
#endif
}

// The largest grid of `kernel` that launch_cooperative() takes: resident_blocks() on the device;
// the emulation build runs a cooperative grid's blocks at once as OS threads, so it answers
// its own small limit (ingot_emulation::kCooperativeBlocks).
template <typename... Params>
int64_t cooperative_blocks(void (*kernel)(Params...), int threads, size_t smem) {
#ifdef INGOT_CUDA_EMULATION
  (void)kernel, (void)threads, (void)smem;
  return ::ingot_emulation::kCooperativeBlocks;
#else
  return resident_blocks(kernel, threads, smem);
#endif
}

inline bool aligned_to(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

__device__ __forceinline__ int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_threads() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

// ---------------------------------------------------------------- storage types

// bool is stored as one byte; any nonzero byte reads as true, stores write 0 or 1.
struct BoolByte {
  uint8_t bits;
};

template <typename T>
constexpr bool kIsFloat = std::is_same_v<T, float> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

// Calls fn(T{}) with T the storage type of `t` (engine dtypes only); false for others.
template <typename Fn>
bool visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::kFloat32: fn(float{}); return true;
    case DType::kFloat16: fn(__half{}); return true;
    case DType::kBFloat16: fn(__nv_bfloat16{}); return true;
    case DType::kInt8: fn(int8_t{}); return true;
    case DType::kUInt8: fn(uint8_t{}); return true;
    case DType::kInt32: fn(int32_t{}); return true;
    case DType::kInt64: fn(int64_t{}); return true;
    case DType::kBool: fn(BoolByte{}); return true;
    default: return false;
  }
}

// Calls fn(U{}) with U an unsigned integer of the element size (data movement).
template <typename Fn>
bool visit_size(size_t bytes, Fn&& fn) {
  switch (bytes) {
    case 1: fn(uint8_t{}); return true;
    case 2: fn(uint16_t{}); return true;
    case 4: fn(uint32_t{}); return true;
    case 8: fn(uint64_t{}); return true;
    default: return false;
  }
}

inline bool is_float_dtype(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16;
}

// Floating storage -> float (exact) and float -> storage (round to nearest even).
__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half from_float<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Integer storage -> int64 (exact) and int64 -> storage (two's-complement wrap; bool: != 0).
__device__ __forceinline__ int64_t to_int(int8_t v) { return v; }
__device__ __forceinline__ int64_t to_int(uint8_t v) { return v; }
__device__ __forceinline__ int64_t to_int(int32_t v) { return v; }
__device__ __forceinline__ int64_t to_int(int64_t v) { return v; }
__device__ __forceinline__ int64_t to_int(BoolByte v) { return v.bits != 0 ? 1 : 0; }

template <typename T>
__device__ __forceinline__ T from_int(int64_t v) {
  if constexpr (std::is_same_v<T, BoolByte>) return BoolByte{static_cast<uint8_t>(v != 0 ? 1 : 0)};
  else return static_cast<T>(static_cast<uint64_t>(v));  // modular truncation
}

// Any storage -> float, as the CPU's load_floats (ints converted, bool 0/1).
template <typename T>
__device__ __forceinline__ float any_to_float(T v) {
  if constexpr (kIsFloat<T>) return to_float(v);
  else return static_cast<float>(to_int(v));
}

// What a cast of a floating value to an integer dtype gives (CPU float_to_int): truncation;
// NaN and out-of-range values give INT64_MIN for i64 and INT32_MIN (then wrapped) for the
// narrower types; bool is v != 0.
template <typename T>
__device__ __forceinline__ T float_to_int_storage(float v) {
  if constexpr (std::is_same_v<T, BoolByte>) {
    return BoolByte{static_cast<uint8_t>(v != 0.0f ? 1 : 0)};
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (!(v >= -9223372036854775808.0f && v < 9223372036854775808.0f)) return INT64_MIN;  // incl. NaN
    return static_cast<int64_t>(v);
  } else {
    if (!(v >= -2147483648.0f && v < 2147483648.0f)) return static_cast<T>(static_cast<uint32_t>(INT32_MIN));
    return static_cast<T>(static_cast<uint32_t>(static_cast<int32_t>(v)));
  }
}

// ---------------------------------------------------------------- vectors

// N elements loaded or stored with one instruction (N * sizeof(T) bytes, aligned to that).
template <typename T, int N>
struct alignas(sizeof(T) * N) Vec {
  T v[N];
};

// Elements per 16-byte access.
template <typename T>
constexpr int kVec16 = static_cast<int>(16 / sizeof(T));

// One group of `count` (1..VEC) raw elements read with element stride `stride` (0 repeats one
// element): a single aligned vector access when `vector` (stride 1) and the group is full.
// Lanes past `count` are value-initialized.
template <int VEC, typename U>
__device__ __forceinline__ void load_group_raw(const U* p, int64_t stride, int count, bool vector, U (&v)[VEC]) {
  if constexpr (VEC > 1) {
    if (vector && count == VEC) {
      Vec<U, VEC> x = *vec_ptr<const Vec<U, VEC>>(p);
#pragma unroll
      for (int j = 0; j < VEC; ++j) v[j] = x.v[j];
      return;
    }
  }
#pragma unroll
  for (int j = 0; j < VEC; ++j) v[j] = j < count ? p[j * stride] : U{};
}

template <int VEC, typename U>
__device__ __forceinline__ void store_group_raw(U* p, int count, bool vector, const U (&v)[VEC]) {
  if constexpr (VEC > 1) {
    if (vector && count == VEC) {
      Vec<U, VEC> x;
#pragma unroll
      for (int j = 0; j < VEC; ++j) x.v[j] = v[j];
      *vec_ptr<Vec<U, VEC>>(p) = x;
      return;
    }
  }
#pragma unroll
  for (int j = 0; j < VEC; ++j) {
    if (j < count) p[j] = v[j];
  }
}

// ---------------------------------------------------------------- strided layouts

// An output index space walked row by row: the output is dense, `inner` elements per row; each
// of N operands reads element (row, col) at row_offset(row) + col * inner_stride. The outer
// dims (innermost first) locate a row. Built by make_layout from collapsed dims.
template <int N>
struct StridedLayout {
  int outer_rank = 0;
  int64_t rows = 1;
  int64_t inner = 1;
  Divisor outer_dims[kMaxRank];
  int64_t outer_strides[kMaxRank][N];
  int64_t inner_stride[N];

  __device__ __forceinline__ void row_offsets(int64_t row, int64_t (&off)[N], bool narrow) const {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
#pragma unroll
    for (int d = 0; d < kMaxRank; ++d) {
      if (d >= outer_rank) break;
      int64_t r = row, q = row;
      if (d + 1 < outer_rank) {
        q = outer_dims[d].div(row, narrow);
        r = row - q * outer_dims[d].value;
      }
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += r * outer_strides[d][k];
      row = q;
    }
  }
};

// Element offsets of a linear index over `rank` dims (innermost first): a general strided
// enumeration (reduction sets, kept dims).
struct Indexer {
  int rank = 0;
  Divisor dims[kMaxRank];
  int64_t strides[kMaxRank] = {};

  __device__ __forceinline__ int64_t offset(int64_t idx, bool narrow) const {
    int64_t off = 0;
#pragma unroll
    for (int d = 0; d < kMaxRank; ++d) {
      if (d >= rank) break;
      if (d + 1 == rank) {
        off += idx * strides[d];
        break;
      }
      int64_t q = dims[d].div(idx, narrow);
      off += (idx - q * dims[d].value) * strides[d];
      idx = q;
    }
    return off;
  }
};

// Drops size-1 dims and merges adjacent dims that every operand steps through as one (the
// CPU's StridedWalk rule). `dims` are outermost first; strides[k] has one entry per dim.
// Leaves at least one dim.
void collapse_dims(std::vector<int64_t>& dims, std::vector<std::vector<int64_t>>& strides);

// Strides that read `in` (right-aligned, numpy rules) at each index of `out`; 0 where `in` has
// size 1 or no dim. False if `in` does not broadcast to `out`.
bool broadcast_strides(const std::vector<int64_t>& in, const std::vector<int64_t>& out, std::vector<int64_t>* strides);

// Row-major strides of a dense tensor.
std::vector<int64_t> dense_strides(const std::vector<int64_t>& dims);

// Collapses (dims, strides) and fills a StridedLayout; an error names `layer` when more than
// kMaxRank dims remain.
template <int N>
Status make_layout(const char* layer, std::vector<int64_t> dims, std::vector<std::vector<int64_t>> strides,
                   StridedLayout<N>* layout) {
  collapse_dims(dims, strides);
  int rank = static_cast<int>(dims.size());
  if (rank > kMaxRank) {
    return unsupported(layer, ": ", rank, " dims remain after merging contiguous dims; at most ", kMaxRank,
                       " are supported");
  }
  StridedLayout<N> l;
  l.inner = dims[static_cast<size_t>(rank - 1)];
  l.outer_rank = rank - 1;
  l.rows = 1;
  for (int k = 0; k < N; ++k) l.inner_stride[k] = strides[static_cast<size_t>(k)][static_cast<size_t>(rank - 1)];
  for (int d = 0; d < l.outer_rank; ++d) {
    size_t src = static_cast<size_t>(rank - 2 - d);  // innermost outer dim first
    l.outer_dims[d] = Divisor::make(dims[src]);
    l.rows *= dims[src];
    for (int k = 0; k < N; ++k) l.outer_strides[d][k] = strides[static_cast<size_t>(k)][src];
  }
  for (int d = l.outer_rank; d < kMaxRank; ++d) {
    for (int k = 0; k < N; ++k) l.outer_strides[d][k] = 0;
  }
  *layout = l;
  return Status::ok();
}

// Whether operand k of `l` can be read with aligned VEC-element vectors at every group start
// (col a multiple of VEC): its inner stride is 1, its row offsets are multiples of VEC, and
// its base pointer is aligned to VEC * elem_bytes.
template <int N>
bool vector_readable(const StridedLayout<N>& l, int k, const void* base, int vec, size_t elem_bytes) {
  if (l.inner_stride[k] != 1) return false;
  if (!aligned_to(base, static_cast<size_t>(vec) * elem_bytes)) return false;
  for (int d = 0; d < l.outer_rank; ++d) {
    if (l.outer_strides[d][k] % vec != 0) return false;
  }
  return true;
}

// Whether the dense output (rows of l.inner elements) takes aligned VEC-element stores at every
// group start.
template <int N>
bool vector_writable(const StridedLayout<N>& l, const void* out, int vec, size_t elem_bytes) {
  return aligned_to(out, static_cast<size_t>(vec) * elem_bytes) && (l.rows == 1 || l.inner % vec == 0);
}

// ---------------------------------------------------------------- reductions in a warp / block

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Max with NaN propagation (any NaN makes the result NaN).
__device__ __forceinline__ float nan_max(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  return a < b ? b : a;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Reduces one value per thread over a 1-D block (blockDim.x a multiple of 32); every thread
// gets the result. Contains __syncthreads(): call it from all threads of the block.
// 32 values of shared scratch per element type, shared by every block_reduce<T, ...> of a
// kernel (a __shared__ variable in a function template would otherwise exist once per op).
template <typename T>
__device__ __forceinline__ T* reduce_scratch() {
  __shared__ T scratch[32];
  return scratch;
}

template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, Op op, T identity) {
  T* scratch = reduce_scratch<T>();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_reduce(v, op);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = static_cast<int>(blockDim.x >> 5);
  T r = lane < warps ? scratch[lane] : identity;
  r = warp_reduce(r, op);
  __syncthreads();  // scratch is reused by the next call
  return r;
}

// A floating parameter (weight, bias, statistics) of a runtime dtype, as float.
__device__ __forceinline__ float load_param(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::kFloat16: return __half2float(static_cast<const __half*>(p)[i]);
    case DType::kBFloat16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

// Elements per vector of a warp row of E slots per lane.
template <typename T, int E>
constexpr int kRowVec = E < kVec16<T> ? E : kVec16<T>;

// ---------------------------------------------------------------- rows held by one warp

// A row of up to 32 * E elements held in registers by one warp, E per lane. Register slot i
// of a lane holds, in vector mode (row length a multiple of V = kRowVec, pointers aligned to
// V elements), element (i / V * 32 + lane) * V + i % V: chunks of V consecutive elements
// moved by one access; otherwise element i * 32 + lane. Slots past the row's end read as
// `fill` and are not stored.
template <int E, int V>
__device__ __forceinline__ int64_t slot(int i, int lane, bool vec) {
  if (vec) return (static_cast<int64_t>(i / V) * 32 + lane) * V + i % V;
  return static_cast<int64_t>(i) * 32 + lane;
}

template <typename T, int E>
__device__ __forceinline__ void load_row(const T* p, int64_t len, int lane, bool vec, float fill, float (&v)[E]) {
  constexpr int V = kRowVec<T, E>;
  if (vec) {
#pragma unroll
    for (int c = 0; c < E / V; ++c) {
      int64_t at = (static_cast<int64_t>(c) * 32 + lane) * V;
      if (at < len) {
        Vec<T, V> x = *vec_ptr<const Vec<T, V>>(p + at);
#pragma unroll
        for (int j = 0; j < V; ++j) v[c * V + j] = to_float(x.v[j]);
      } else {
#pragma unroll
        for (int j = 0; j < V; ++j) v[c * V + j] = fill;
      }
    }
    return;
  }
#pragma unroll
  for (int i = 0; i < E; ++i) {
    int64_t at = static_cast<int64_t>(i) * 32 + lane;
    v[i] = at < len ? to_float(p[at]) : fill;
  }
}

template <typename T, int E>
__device__ __forceinline__ void store_row(T* p, int64_t len, int lane, bool vec, const float (&v)[E]) {
  constexpr int V = kRowVec<T, E>;
  if (vec) {
#pragma unroll
    for (int c = 0; c < E / V; ++c) {
      int64_t at = (static_cast<int64_t>(c) * 32 + lane) * V;
      if (at < len) {
        Vec<T, V> x;
#pragma unroll
        for (int j = 0; j < V; ++j) x.v[j] = from_float<T>(v[c * V + j]);
        *vec_ptr<Vec<T, V>>(p + at) = x;
      }
    }
    return;
  }
#pragma unroll
  for (int i = 0; i < E; ++i) {
    int64_t at = static_cast<int64_t>(i) * 32 + lane;
    if (at < len) p[at] = from_float<T>(v[i]);
  }
}

}  // namespace ingot::kernels::cuda::detail
