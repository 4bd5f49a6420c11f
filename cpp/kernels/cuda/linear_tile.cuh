// The main loop of our tensor-core GEMM tiles, shared by the few-rows linear kernel
// (linear_mma.cu) and the fused feed-forward kernel (ffn_fused.cu): a block of BM x BN / 32
// threads accumulates a BM x BN tile of a [M, K] . w [N, K]^T over a slice [k_begin, k_end) of
// K, each warp a 32 x 32 sub-tile as 2 x 4 mma tiles (m16n8k16, mma.cuh) with fragments loaded by
// ldmatrix. a and w are staged through a cp.async pipeline of P::kStages stages of P::kTileK
// values of K (rows padded by 8 values, so the 16-byte rows an ldmatrix names fall on distinct
// banks).
#pragma once

#include "kernels/cuda/cuda_common.cuh"
#include "kernels/cuda/mma.cuh"

namespace ingot::kernels::cuda::detail {

// KT values of K a stage, ST stages. The default (32, 3) keeps the 64x64 .. 128x64 tiles within
// 48 KB; the deep one (64, 4) holds three stages in flight of twice the K, 3x the bytes, for
// products whose time is the latency of streaming w (LinearKernel::deep, bench/NOTES.md note 70).
template <int KT, int ST>
struct Pipeline {
  static_assert(KT % 16 == 0 && ST >= 2);
  static constexpr int kTileK = KT;
  static constexpr int kStages = ST;
  static constexpr int kRowValues = KT + 8;
  static constexpr int kChunksPerRow = KT / 8;  // 16-byte copies a staged row
};
using ShallowPipeline = Pipeline<32, 3>;
using DeepPipeline = Pipeline<64, 4>;

// Bytes of shared memory the stages of a BM x BN tile take.
template <int BM, int BN, typename P>
__host__ __device__ constexpr size_t pipeline_smem_bytes() {
  return static_cast<size_t>(P::kStages) * (BM + BN) * P::kRowValues * 2;
}

// One tile's product. Every thread of the block constructs it with the same arguments; a and w
// rows have `ld` values (K of the whole product: a slice reads columns k_begin .. k_end). Rows of
// a past `m` and of w past `n`, and columns past k_end, are staged as zeros.
template <typename T, int BM, int BN, typename P>
class TileProduct {
 public:
  static constexpr int kThreads = BM * BN / 32;
  static constexpr int kWarpsN = BN / 32;

  __device__ TileProduct(T* smem, const T* a, const T* w, int64_t ld, int64_t m, int64_t n, int64_t row0, int64_t col0,
                         int k_begin, int k_end)
      : sa_(smem), sw_(smem + P::kStages * BM * P::kRowValues), k_begin_(k_begin), k_end_(k_end),
        tiles_(k_end > k_begin ? (k_end - k_begin + P::kTileK - 1) / P::kTileK : 0) {
#pragma unroll
    for (int i = 0; i < kAChunks; ++i) ca_[i] = copy_of(a, ld, row0, m, static_cast<int>(threadIdx.x) + i * kThreads);
#pragma unroll
    for (int i = 0; i < kWChunks; ++i) cw_[i] = copy_of(w, ld, col0, n, static_cast<int>(threadIdx.x) + i * kThreads);
  }

  // Issues the w copies of the first stages without committing them: for a w that does not
  // depend on the kernel before (or on the phase before), so that they stream during the wait.
  // run(acc, true) then counts them in its first group.
  __device__ void prefetch_w() {
#pragma unroll
    for (int s = 0; s < P::kStages - 1; ++s) {
      if (s < tiles_) load_w(s, s);
    }
  }

  // acc += the tile's product over the slice; the warp's sub-tile is (warp / kWarpsN, warp %
  // kWarpsN) in 32 x 32 steps, acc[i][j] its mma tile (16 i, 8 j). Warps whose rows start at or
  // past `rows_in_tile` rows into the tile skip the products (their acc stays). Returns with
  // every copy landed and the stages free (after a __syncthreads).
  __device__ void run(float (&acc)[2][4][4], bool w_prefetched, int rows_in_tile) {
#pragma unroll
    for (int s = 0; s < P::kStages - 1; ++s) {
      if (s < tiles_) {
        if (!w_prefetched) load_w(s, s);
        load_a(s, s);
      }
      cp_async_commit();  // empty groups keep the count uniform
    }
    const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x & 31);
    const int wm = warp / kWarpsN, wn = warp % kWarpsN;
    const bool rows_here = wm * 32 < rows_in_tile;  // uniform per warp
    for (int kt = 0; kt < tiles_; ++kt) {
      cp_async_wait<P::kStages - 2>();  // tile kt has landed (this thread's copies)
      __syncthreads();                  // ... everyone's; and tile kt - 1 is consumed
      const int next = kt + P::kStages - 1;
      if (next < tiles_) {
        load_w(next % P::kStages, next);
        load_a(next % P::kStages, next);
      }
      cp_async_commit();
      if (!rows_here) continue;
      // Fragments by ldmatrix (mma.cuh says which row each lane names): the warp's two 16-row
      // tiles of a and four 8-column tiles of w, 16 values of K at a time.
      constexpr int kRow = P::kRowValues;
      const T* ta = sa_ + (kt % P::kStages) * BM * kRow + (wm * 32 + (lane & 7) + ((lane >> 3) & 1) * 8) * kRow +
                    (lane >> 4) * 8;
      const T* tw = sw_ + (kt % P::kStages) * BN * kRow + (wn * 32 + (lane & 7) + (lane >> 4) * 8) * kRow +
                    ((lane >> 3) & 1) * 8;
#pragma unroll
      for (int ks = 0; ks < P::kTileK / 16; ++ks) {
        uint32_t af[2][4], bf[4][2];
#pragma unroll
        for (int i = 0; i < 2; ++i) ldmatrix_x4(af[i], ta + i * 16 * kRow + ks * 16);
#pragma unroll
        for (int jp = 0; jp < 2; ++jp) {
          uint32_t r[4];
          ldmatrix_x4(r, tw + jp * 16 * kRow + ks * 16);
          bf[2 * jp][0] = r[0], bf[2 * jp][1] = r[1], bf[2 * jp + 1][0] = r[2], bf[2 * jp + 1][1] = r[3];
        }
#pragma unroll
        for (int i = 0; i < 2; ++i) {
#pragma unroll
          for (int j = 0; j < 4; ++j) mma_16x8x16<T>(acc[i][j], af[i], bf[j]);
        }
      }
    }
    cp_async_wait<0>();
    __syncthreads();  // the stages are free
  }

 private:
  static constexpr int kAChunks = BM * P::kChunksPerRow / kThreads, kWChunks = BN * P::kChunksPerRow / kThreads;
  static_assert(kAChunks * kThreads == BM * P::kChunksPerRow && kWChunks * kThreads == BN * P::kChunksPerRow);

  // One 16-byte copy of a stage, set up once: a row piece of 8 values at column kc of the K
  // tile; a copy past the rows or the slice's end is a zero fill.
  struct Copy {
    const T* src;  // the piece in the slice's first K tile (a valid address even where unused)
    int dst;       // offset in a stage
    int kc;        // column in the K tile
    bool row_ok;
  };

  __device__ Copy copy_of(const T* base, int64_t ld, int64_t first, int64_t limit, int c) const {
    const int r = c / P::kChunksPerRow, kc = c % P::kChunksPerRow * 8;
    const bool row_ok = first + r < limit;
    return Copy{row_ok ? base + (first + r) * ld + k_begin_ + kc : base, r * P::kRowValues + kc, kc, row_ok};
  }
  __device__ void issue(T* stage, const Copy& c, int kt) const {
    const bool ok = c.row_ok && k_begin_ + kt * P::kTileK + c.kc < k_end_;
    cp_async16(stage + c.dst, ok ? c.src + kt * P::kTileK : c.src, ok);
  }
  __device__ void load_a(int stage, int kt) const {
#pragma unroll
    for (int i = 0; i < kAChunks; ++i) issue(sa_ + stage * BM * P::kRowValues, ca_[i], kt);
  }
  __device__ void load_w(int stage, int kt) const {
#pragma unroll
    for (int i = 0; i < kWChunks; ++i) issue(sw_ + stage * BN * P::kRowValues, cw_[i], kt);
  }

  T* sa_;  // [kStages][BM][kRowValues]
  T* sw_;  // [kStages][BN][kRowValues]
  int k_begin_, k_end_, tiles_;
  Copy ca_[kAChunks], cw_[kWChunks];
};

}  // namespace ingot::kernels::cuda::detail
