// Host emulation of the CUDA execution model, for testing the kernels of kernels/cuda/ on
// machines without a GPU (CI). Force-included (-include) before every source of the emulated
// test binary; the kernel sources compile unchanged with the host compiler.
//
// - Every launch runs at once, block after block; each block runs its threads as OS threads,
//   so __syncthreads() is a barrier over the block, __syncwarp() one over the warp, and
//   __shfl_xor_sync / __shfl_sync exchanges over the warp (with the semantics the kernels rely
//   on: full warps, exited threads drop out).
// - __shared__ variables become statics (blocks never run concurrently, except in a cooperative
//   launch and within a cluster of a cluster launch: those kernels keep to dynamic shared
//   memory), dynamic shared memory is a per-block buffer of the launch's size.
// - The launch configuration is checked as the device would (block and grid limits, dynamic
//   shared memory without opt-in); errors are reported through cudaGetLastError().
// - "Device" memory is host memory (cudaMalloc with 256-byte alignment and no slack, so that
//   AddressSanitizer sees every out-of-bounds access); vector accesses check their alignment.
// emulator.cpp implements the runtime functions the kernels and the tests call.
#pragma once

#ifdef __CUDACC__
#error "cuda_emulation.h is for the host compiler only"
#endif

#define INGOT_CUDA_EMULATION 1
#define __shared__ static
#define __launch_bounds__(...)

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <math.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace ingot_emulation {

struct ThreadContext {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};

ThreadContext& context();
void* dynamic_smem();
void check_aligned(const void* p, size_t alignment);
void syncthreads();
uint64_t shuffle_xor_bits(uint64_t bits, int lane_mask);
uint64_t shuffle_idx_bits(uint64_t bits, int src_lane);
// Every lane's six words, to every lane of the warp (the emulated tensor-core product, mma.cuh).
void exchange_words(const uint32_t (&mine)[6], uint32_t (&all)[32][6]);
void syncwarp();

// Runs body() on every thread of every block of the launch (after checking the configuration).
void run_blocks(dim3 grid, dim3 block, size_t smem, const std::function<void()>& body);
// A cooperative launch: every block of the grid at once (grid * block OS threads), so that
// grid_sync() is a barrier over all of them; grids over kCooperativeBlocks blocks fail with
// cudaErrorCooperativeLaunchTooLarge as on the device.
inline constexpr int64_t kCooperativeBlocks = 8;
void run_grid(dim3 grid, dim3 block, size_t smem, const std::function<void()>& body);
void grid_sync();
// A cluster launch (clusters of `cluster_x` consecutive blocks along x, at most
// kMaxClusterBlocks as the device's portable limit): the blocks of one cluster run at once (the
// clusters one after another), so that cluster_sync() is a barrier over them and cluster_peer()
// maps a pointer into this block's dynamic shared memory to the same offset in the block of
// that rank.
inline constexpr unsigned kMaxClusterBlocks = 8;
void run_clusters(dim3 grid, dim3 block, size_t smem, unsigned cluster_x, const std::function<void()>& body);
void cluster_sync();
unsigned cluster_rank();
void* cluster_peer(void* p, unsigned rank);

template <typename... P, typename... A>
void run_kernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, A&&... args) {
  const std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
  run_blocks(grid, block, smem, [&] { std::apply(kernel, params); });
}

template <typename... P, typename... A>
void run_cluster_kernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, unsigned cluster_x, A&&... args) {
  const std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
  run_clusters(grid, block, smem, cluster_x, [&] { std::apply(kernel, params); });
}

template <typename... P, typename... A>
void run_cooperative_kernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, A&&... args) {
  const std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
  run_grid(grid, block, smem, [&] { std::apply(kernel, params); });
}

}  // namespace ingot_emulation

#define threadIdx (::ingot_emulation::context().thread_idx)
#define blockIdx (::ingot_emulation::context().block_idx)
#define blockDim (::ingot_emulation::context().block_dim)
#define gridDim (::ingot_emulation::context().grid_dim)

inline void __syncthreads() { ::ingot_emulation::syncthreads(); }
// The block's threads run as OS threads: a real atomic (blocks run one after another).
inline double atomicAdd(double* address, double value) { return std::atomic_ref<double>(*address).fetch_add(value); }
inline void __syncwarp(unsigned = 0xffffffffu) { ::ingot_emulation::syncwarp(); }

namespace ingot_emulation {
// v's bits exchanged over the warp by `exchange` (shuffle_xor_bits / shuffle_idx_bits).
template <typename T>
inline T shuffle_value(T v, int arg, uint64_t (*exchange)(uint64_t, int)) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffle of at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = exchange(bits, arg);
  T r;
  std::memcpy(&r, &bits, sizeof(T));
  return r;
}
}  // namespace ingot_emulation

template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int lane_mask, int = 32) {
  return ::ingot_emulation::shuffle_value(v, lane_mask, ::ingot_emulation::shuffle_xor_bits);
}

template <typename T>
inline T __shfl_sync(unsigned, T v, int src_lane, int = 32) {
  return ::ingot_emulation::shuffle_value(v, src_lane, ::ingot_emulation::shuffle_idx_bits);
}



inline float __int_as_float(int x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

inline double __longlong_as_double(long long x) {
  double d;
  std::memcpy(&d, &x, 8);
  return d;
}
