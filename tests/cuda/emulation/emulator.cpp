// The block runner of cuda_emulation.h and the CUDA runtime functions that the kernels and the
// tests call, implemented on the host (the emulated test binary does not link cudart).
#include <pthread.h>

#include <array>
#include <barrier>
#include <latch>
#include <semaphore>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace ingot_emulation {

namespace {

constexpr size_t kStackBytes = size_t{1} << 20;
constexpr size_t kMaxDynamicSmem = 48 * 1024;  // without cudaFuncSetAttribute opt-in

struct Warp {
  explicit Warp(std::ptrdiff_t lanes) : bar(lanes) {}
  std::barrier<> bar;
  uint64_t slots[32] = {};
  uint32_t words[32][6] = {};
};

struct Block {
  Block(std::ptrdiff_t threads, size_t smem_bytes, std::barrier<>* grid_barrier = nullptr, std::barrier<>* cluster_barrier = nullptr)
      : bar(threads), grid(grid_barrier), cluster(cluster_barrier) {
    for (std::ptrdiff_t first = 0; first < threads; first += 32) {
      warps.push_back(std::make_unique<Warp>(std::min<std::ptrdiff_t>(32, threads - first)));
    }
    // Fresh garbage in shared memory: kernels must not rely on its contents.
    smem.assign(smem_bytes / 16 + 1, std::array<unsigned char, 16>{});
    for (auto& chunk : smem) chunk.fill(0xA5);
  }
  std::barrier<> bar;
  std::barrier<>* grid;  // over every thread of a cooperative launch; null otherwise
  std::barrier<>* cluster;  // over every thread of the block's cluster (a cluster launch); null otherwise
  const std::vector<std::unique_ptr<Block>>* peers = nullptr;  // the cluster's blocks, by rank
  unsigned rank = 0;                                             // this block's rank in them
  std::vector<std::unique_ptr<Warp>> warps;
  std::vector<std::array<unsigned char, 16>> smem;
};

thread_local ThreadContext tls_context{};
thread_local Block* tls_block = nullptr;
thread_local int tls_lane = 0;
thread_local int tls_warp = 0;

std::mutex error_mutex;
cudaError_t last_error = cudaSuccess;

void set_error(cudaError_t e) {
  std::lock_guard<std::mutex> lock(error_mutex);
  last_error = e;
}

struct ThreadStart {
  const std::function<void()>* body;
  Block* block;
  ThreadContext context;
  int linear;
  std::latch* done;
};

// One emulated thread's work: the kernel body, then leaving the block's barriers.
void run_thread(const ThreadStart& s) {
  tls_context = s.context;
  tls_block = s.block;
  tls_lane = s.linear % 32;
  tls_warp = s.linear / 32;
  (*s.body)();
  // An exited thread no longer takes part in barriers, as on the device.
  s.block->warps[static_cast<size_t>(tls_warp)]->bar.arrive_and_drop();
  s.block->bar.arrive_and_drop();
  if (s.block->grid) s.block->grid->arrive_and_drop();
  if (s.block->cluster) s.block->cluster->arrive_and_drop();
  tls_block = nullptr;
  s.done->count_down();
}

// Worker threads that persist across launches (creating up to 1024 threads per block would
// dominate the run time). Worker i runs thread i of each block.
class Pool {
 public:
  void run(std::vector<ThreadStart>& starts) {
    while (workers_.size() < starts.size()) add_worker();
    for (size_t i = 0; i < starts.size(); ++i) {
      workers_[i]->job = &starts[i];
      workers_[i]->go.release();
    }
  }

 private:
  struct Worker {
    std::binary_semaphore go{0};
    const ThreadStart* job = nullptr;
  };

  static void* loop(void* arg) {
    auto* w = static_cast<Worker*>(arg);
    for (;;) {
      w->go.acquire();
      run_thread(*w->job);
    }
    return nullptr;
  }

  void add_worker() {
    workers_.push_back(std::make_unique<Worker>());
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kStackBytes);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t id;
    if (pthread_create(&id, &attr, loop, workers_.back().get()) != 0) {
      std::fprintf(stderr, "emulation: pthread_create failed\n");
      std::abort();
    }
    pthread_attr_destroy(&attr);
  }

  std::vector<std::unique_ptr<Worker>> workers_;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: its detached workers outlive main()
  return *p;
}

}  // namespace

ThreadContext& context() { return tls_context; }

void* dynamic_smem() { return tls_block ? static_cast<void*>(tls_block->smem.data()) : nullptr; }

void check_aligned(const void* p, size_t alignment) {
  if (reinterpret_cast<uintptr_t>(p) % alignment == 0) return;
  std::fprintf(stderr, "emulation: misaligned vector access at %p (needs %zu-byte alignment)\n", p, alignment);
  std::abort();
}

void syncthreads() { tls_block->bar.arrive_and_wait(); }

uint64_t shuffle_xor_bits(uint64_t bits, int lane_mask) {
  Warp& w = *tls_block->warps[static_cast<size_t>(tls_warp)];
  w.slots[tls_lane] = bits;
  w.bar.arrive_and_wait();
  int src = tls_lane ^ lane_mask;
  uint64_t r = src < 32 ? w.slots[src] : bits;
  w.bar.arrive_and_wait();  // everyone has read before the next exchange writes
  return r;
}

uint64_t shuffle_idx_bits(uint64_t bits, int src_lane) {
  Warp& w = *tls_block->warps[static_cast<size_t>(tls_warp)];
  w.slots[tls_lane] = bits;
  w.bar.arrive_and_wait();
  uint64_t r = w.slots[static_cast<size_t>(src_lane & 31)];
  w.bar.arrive_and_wait();  // everyone has read before the next exchange writes
  return r;
}

void exchange_words(const uint32_t (&mine)[6], uint32_t (&all)[32][6]) {
  Warp& w = *tls_block->warps[static_cast<size_t>(tls_warp)];
  std::memcpy(w.words[tls_lane], mine, sizeof(mine));
  w.bar.arrive_and_wait();
  std::memcpy(all, w.words, sizeof(all));
  w.bar.arrive_and_wait();  // everyone has read before the next exchange writes
}

void syncwarp() { tls_block->warps[static_cast<size_t>(tls_warp)]->bar.arrive_and_wait(); }

namespace {

// Checks the configuration as the device would; reports an invalid one.
bool valid_launch(dim3 grid, dim3 block, size_t smem) {
  uint64_t threads = uint64_t{block.x} * block.y * block.z;
  bool bad = threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || grid.x == 0 ||
             grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535 ||
             smem > kMaxDynamicSmem;
  if (bad) {
    std::fprintf(stderr, "emulation: invalid launch configuration grid (%u, %u, %u) block (%u, %u, %u) smem %zu\n", grid.x,
                 grid.y, grid.z, block.x, block.y, block.z, smem);
    set_error(cudaErrorInvalidConfiguration);
  }
  return !bad;
}

// The starts of block (bx, by, bz)'s threads, appended to `starts`.
void add_block_starts(dim3 grid, dim3 block, uint3 block_idx, Block* b, const std::function<void()>& body,
                      std::latch* done, std::vector<ThreadStart>& starts) {
  int linear = 0;
  for (unsigned tz = 0; tz < block.z; ++tz) {
    for (unsigned ty = 0; ty < block.y; ++ty) {
      for (unsigned tx = 0; tx < block.x; ++tx, ++linear) {
        ThreadStart& s = starts.emplace_back();
        s.body = &body;
        s.block = b;
        s.context.thread_idx = uint3{tx, ty, tz};
        s.context.block_idx = block_idx;
        s.context.block_dim = block;
        s.context.grid_dim = grid;
        s.linear = linear;
        s.done = done;
      }
    }
  }
}

}  // namespace

void run_blocks(dim3 grid, dim3 block, size_t smem, const std::function<void()>& body) {
  if (!valid_launch(grid, block, smem)) return;
  const auto threads = static_cast<std::ptrdiff_t>(uint64_t{block.x} * block.y * block.z);
  for (unsigned bz = 0; bz < grid.z; ++bz) {
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        Block b(threads, smem);
        std::latch done(threads);
        std::vector<ThreadStart> starts;
        starts.reserve(static_cast<size_t>(threads));
        add_block_starts(grid, block, uint3{bx, by, bz}, &b, body, &done, starts);
        pool().run(starts);
        done.wait();
      }
    }
  }
}

void run_grid(dim3 grid, dim3 block, size_t smem, const std::function<void()>& body) {
  if (!valid_launch(grid, block, smem)) return;
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  if (blocks > static_cast<uint64_t>(kCooperativeBlocks)) {
    std::fprintf(stderr, "emulation: cooperative grid of %llu blocks (at most %lld)\n", static_cast<unsigned long long>(blocks),
                 static_cast<long long>(kCooperativeBlocks));
    set_error(cudaErrorCooperativeLaunchTooLarge);
    return;
  }
  const auto threads = static_cast<std::ptrdiff_t>(uint64_t{block.x} * block.y * block.z);
  const auto all = threads * static_cast<std::ptrdiff_t>(blocks);
  std::barrier<> grid_barrier(all);
  std::latch done(all);
  std::vector<std::unique_ptr<Block>> owned;
  std::vector<ThreadStart> starts;
  starts.reserve(static_cast<size_t>(all));
  for (unsigned bz = 0; bz < grid.z; ++bz) {
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        owned.push_back(std::make_unique<Block>(threads, smem, &grid_barrier));
        add_block_starts(grid, block, uint3{bx, by, bz}, owned.back().get(), body, &done, starts);
      }
    }
  }
  pool().run(starts);
  done.wait();
}

void run_clusters(dim3 grid, dim3 block, size_t smem, unsigned cluster_x, const std::function<void()>& body) {
  if (!valid_launch(grid, block, smem)) return;
  if (cluster_x == 0 || cluster_x > kMaxClusterBlocks || grid.x % cluster_x != 0) {
    std::fprintf(stderr, "emulation: invalid cluster of %u blocks for grid.x %u\n", cluster_x, grid.x);
    set_error(cudaErrorInvalidClusterSize);
    return;
  }
  const auto threads = static_cast<std::ptrdiff_t>(uint64_t{block.x} * block.y * block.z);
  const auto all = threads * static_cast<std::ptrdiff_t>(cluster_x);
  for (unsigned bz = 0; bz < grid.z; ++bz) {
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx0 = 0; bx0 < grid.x; bx0 += cluster_x) {
        std::barrier<> cluster_barrier(all);
        std::latch done(all);
        std::vector<std::unique_ptr<Block>> blocks;
        std::vector<ThreadStart> starts;
        starts.reserve(static_cast<size_t>(all));
        for (unsigned r = 0; r < cluster_x; ++r) {
          blocks.push_back(std::make_unique<Block>(threads, smem, nullptr, &cluster_barrier));
          blocks.back()->peers = &blocks;
          blocks.back()->rank = r;
        }
        for (unsigned r = 0; r < cluster_x; ++r) {
          add_block_starts(grid, block, uint3{bx0 + r, by, bz}, blocks[r].get(), body, &done, starts);
        }
        pool().run(starts);
        done.wait();
      }
    }
  }
}

void cluster_sync() {
  if (!tls_block->cluster) {
    std::fprintf(stderr, "emulation: cluster_sync() outside a cluster launch\n");
    std::abort();
  }
  tls_block->cluster->arrive_and_wait();
}

unsigned cluster_rank() { return tls_block->rank; }

void* cluster_peer(void* p, unsigned rank) {
  if (!tls_block->peers || rank >= tls_block->peers->size()) {
    std::fprintf(stderr, "emulation: cluster_peer(rank %u) outside a cluster launch or past its blocks\n", rank);
    std::abort();
  }
  auto* base = reinterpret_cast<unsigned char*>(tls_block->smem.data());
  const auto offset = static_cast<unsigned char*>(p) - base;
  if (offset < 0 || static_cast<size_t>(offset) >= tls_block->smem.size() * 16) {
    std::fprintf(stderr, "emulation: cluster_peer of %p, not in the block's dynamic shared memory\n", p);
    std::abort();
  }
  return reinterpret_cast<unsigned char*>((*tls_block->peers)[rank]->smem.data()) + offset;
}

void grid_sync() {
  if (!tls_block->grid) {
    std::fprintf(stderr, "emulation: grid_sync() outside a cooperative launch\n");
    std::abort();
  }
  tls_block->grid->arrive_and_wait();
}

}  // namespace ingot_emulation

// ---------------------------------------------------------------- runtime API

extern "C" {

cudaError_t cudaGetLastError(void) {
  std::lock_guard<std::mutex> lock(ingot_emulation::error_mutex);
  cudaError_t e = ingot_emulation::last_error;
  ingot_emulation::last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError(void) {
  std::lock_guard<std::mutex> lock(ingot_emulation::error_mutex);
  return ingot_emulation::last_error;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorCooperativeLaunchTooLarge: return "cudaErrorCooperativeLaunchTooLarge";
    default: return "cudaError (emulation)";
  }
}

const char* cudaGetErrorString(cudaError_t error) { return cudaGetErrorName(error); }

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t size) {
  if (posix_memalign(ptr, 256, size == 0 ? 1 : size) != 0) return cudaErrorMemoryAllocation;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}

static cudaError_t emulated_copy(void* dst, const void* src, size_t count) {
  const char *d = static_cast<const char*>(dst), *s = static_cast<const char*>(src);
  if (count > 0 && d < s + count && s < d + count && d != s) return cudaErrorInvalidValue;  // overlap
  if (count > 0) std::memcpy(dst, src, count);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, enum cudaMemcpyKind) { return emulated_copy(dst, src, count); }

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, enum cudaMemcpyKind, cudaStream_t) {
  return emulated_copy(dst, src, count);
}

cudaError_t cudaMemset(void* ptr, int value, size_t count) {
  std::memset(ptr, value, count);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t) {
  std::memset(ptr, value, count);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  *stream = reinterpret_cast<cudaStream_t>(new char);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete reinterpret_cast<char*>(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }

}  // extern "C"
