// The tensor-core GEMM for products with few rows (linear_mma.cuh says why and how).
#include "kernels/cuda/linear_mma.cuh"

#include <algorithm>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/mma.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

constexpr int kTileK = 32;               // values of K a pipeline stage holds
constexpr int kStages = 3;               // cp.async pipeline depth
constexpr int kRowValues = kTileK + 8;   // a staged row: 80 bytes, 20 words (conflict-free fragments)
constexpr int kChunksPerRow = kTileK / 8;  // 16-byte copies a staged row
constexpr int kMaxSplit = 8;             // blocks of a cluster, the portable limit

struct LinearArgs {
  const void* a = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;
  const void* residual = nullptr;
  void* y = nullptr;
  int64_t m = 0;
  int n = 0, k = 0;
  int split = 1, k_per_split = 0;  // k_per_split: a multiple of kTileK
  bool constant_w = false;         // w is read before wait_for_producers()
  net::UnaryOp act = net::UnaryOp::kIdentity;
  float alpha = 0.0f, beta = 0.0f;
};

// Floats a row of the partial tile: BN + 8, so that the float2 fragment writes of a half-warp
// fall on distinct banks and rows stay 16-byte aligned.
template <int BN>
__host__ __device__ constexpr int red_stride() {
  return BN + 8;
}

template <int BM, int BN>
constexpr size_t smem_bytes() {
  const size_t pipe = static_cast<size_t>(kStages) * (BM + BN) * kRowValues * 2;
  const size_t red = static_cast<size_t>(BM) * red_stride<BN>() * sizeof(float);
  return pipe > red ? pipe : red;
}

template <typename T, int BM, int BN>
__global__ void __launch_bounds__(BM * BN / 32) linear_mma_kernel(const __grid_constant__ LinearArgs a) {
  constexpr int kThreads = BM * BN / 32, kWarpsN = BN / 32;
  unsigned char* smem = dynamic_smem<unsigned char>();
  T* sa = reinterpret_cast<T*>(smem);    // [kStages][BM][kRowValues]
  T* sw = sa + kStages * BM * kRowValues;  // [kStages][BN][kRowValues]
  const T* A = static_cast<const T*>(a.a);
  const T* W = static_cast<const T*>(a.w);
  const int split = a.split;
  const int rank = static_cast<int>(blockIdx.x) % split;  // the block's rank in its cluster
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * BM;
  const int col0 = static_cast<int>(blockIdx.x) / split * BN;
  const int k_begin = rank * a.k_per_split;
  const int k_end = k_begin + a.k_per_split < a.k ? k_begin + a.k_per_split : a.k;
  const int tiles = k_end > k_begin ? (k_end - k_begin + kTileK - 1) / kTileK : 0;

  // This thread's 16-byte copies of a stage, set up once: chunk c = threadIdx.x + i * kThreads of
  // the a tile (kAChunks of them) and of the w tile (kWChunks), each a row piece of 8 values at
  // column kc of its K slice; a copy past M, N or the slice's end is a zero fill.
  constexpr int kAChunks = BM * kChunksPerRow / kThreads, kWChunks = BN * kChunksPerRow / kThreads;
  static_assert(kAChunks * kThreads == BM * kChunksPerRow && kWChunks * kThreads == BN * kChunksPerRow);
  struct Copy {
    const T* src;  // the piece in the slice's first K tile (a valid address even where unused)
    int dst;       // offset in a stage
    int kc;        // column in the K tile
    bool row_ok;
  };
  auto copy_of = [&](const T* base, int64_t first, int64_t limit, int c) {
    const int r = c / kChunksPerRow, kc = c % kChunksPerRow * 8;
    const bool row_ok = first + r < limit;
    return Copy{row_ok ? base + (first + r) * a.k + k_begin + kc : base, r * kRowValues + kc, kc, row_ok};
  };
  Copy ca[kAChunks], cw[kWChunks];
#pragma unroll
  for (int i = 0; i < kAChunks; ++i) ca[i] = copy_of(A, row0, a.m, static_cast<int>(threadIdx.x) + i * kThreads);
#pragma unroll
  for (int i = 0; i < kWChunks; ++i) cw[i] = copy_of(W, col0, a.n, static_cast<int>(threadIdx.x) + i * kThreads);
  auto issue = [&](T* stage, const Copy& c, int kt) {
    const bool ok = c.row_ok && k_begin + kt * kTileK + c.kc < k_end;
    cp_async16(stage + c.dst, ok ? c.src + kt * kTileK : c.src, ok);
  };
  auto load_a = [&](int stage, int kt) {
#pragma unroll
    for (int i = 0; i < kAChunks; ++i) issue(sa + stage * BM * kRowValues, ca[i], kt);
  };
  auto load_w = [&](int stage, int kt) {
#pragma unroll
    for (int i = 0; i < kWChunks; ++i) issue(sw + stage * BN * kRowValues, cw[i], kt);
  };

  const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x & 31);
  const int g = lane >> 2, t = lane & 3;
  const int wm = warp / kWarpsN, wn = warp % kWarpsN;
  const bool rows_here = row0 + wm * 32 < a.m;  // the warp's sub-tile has rows of a (uniform per warp)
  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
    }
  }

  // The pipeline's first stages. A constant w is fetched before the wait for the kernel before
  // (programmatic launch: that kernel may still be running); a is its output, so after. The
  // first group holds those w tiles too: waiting for it waits for them.
  if (a.constant_w) {
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
      if (s < tiles) load_w(s, s);
    }
  }
  wait_for_producers();  // launched by launch_clustered, programmatic where enabled
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < tiles) {
      if (!a.constant_w) load_w(s, s);
      load_a(s, s);
    }
    cp_async_commit();  // empty groups keep the count uniform
  }
  for (int kt = 0; kt < tiles; ++kt) {
    cp_async_wait<kStages - 2>();  // tile kt has landed (this thread's copies)
    __syncthreads();               // ... everyone's; and tile kt - 1 is consumed
    const int next = kt + kStages - 1;
    if (next < tiles) {
      load_w(next % kStages, next);
      load_a(next % kStages, next);
    }
    cp_async_commit();
    if (!rows_here) continue;
    // Fragments by ldmatrix (mma.cuh says which row each lane names): the warp's two 16-row
    // tiles of a and four 8-column tiles of w, 16 values of K at a time.
    const T* ta = sa + (kt % kStages) * BM * kRowValues + (wm * 32 + (lane & 7) + ((lane >> 3) & 1) * 8) * kRowValues +
                  (lane >> 4) * 8;
    const T* tw = sw + (kt % kStages) * BN * kRowValues + (wn * 32 + (lane & 7) + (lane >> 4) * 8) * kRowValues +
                  ((lane >> 3) & 1) * 8;
#pragma unroll
    for (int ks = 0; ks < kTileK / 16; ++ks) {
      uint32_t af[2][4], bf[4][2];
#pragma unroll
      for (int i = 0; i < 2; ++i) ldmatrix_x4(af[i], ta + i * 16 * kRowValues + ks * 16);
#pragma unroll
      for (int jp = 0; jp < 2; ++jp) {
        uint32_t r[4];
        ldmatrix_x4(r, tw + jp * 16 * kRowValues + ks * 16);
        bf[2 * jp][0] = r[0], bf[2 * jp][1] = r[1], bf[2 * jp + 1][0] = r[2], bf[2 * jp + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < 2; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) mma_16x8x16<T>(acc[i][j], af[i], bf[j]);
      }
    }
  }
  allow_dependents();  // what remains is the epilogue: the next kernel may start its prologue
  cp_async_wait<0>();
  __syncthreads();  // the stages are free: the partial tile takes their place

  constexpr int kRed = red_stride<BN>();
  float* red = reinterpret_cast<float*>(smem);  // [BM][kRed]
#pragma unroll
  for (int i = 0; i < 2; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int r = wm * 32 + i * 16 + g, c = wn * 32 + j * 8 + 2 * t;
      *vec_ptr<float2>(red + r * kRed + c) = make_float2(acc[i][j][0], acc[i][j][1]);
      *vec_ptr<float2>(red + (r + 8) * kRed + c) = make_float2(acc[i][j][2], acc[i][j][3]);
    }
  }
  if (split > 1) cluster_sync();  // every block's partial tile is written
  else __syncthreads();

  // This block's rows of the tile, 8 columns a step: the sum over the cluster's partial tiles
  // (in rank order: the same result whichever block adds), then bias, residual, activation.
  const int rows = BM / split;
  constexpr int kOcts = BN / 8;
  const T* bias = static_cast<const T*>(a.bias);
  const T* res = static_cast<const T*>(a.residual);
  T* y = static_cast<T*>(a.y);
  for (int q = static_cast<int>(threadIdx.x); q < rows * kOcts; q += kThreads) {
    const int r = rank * rows + q / kOcts, c = q % kOcts * 8;
    const int64_t row = row0 + r;
    const int col = col0 + c;
    if (row >= a.m || col >= a.n) continue;  // N % 8 == 0: a group is all in or all out
    float v[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) v[e] = 0.0f;
    for (int p = 0; p < split; ++p) {
      const float* src = (split > 1 ? cluster_peer(red, static_cast<unsigned>(p)) : red) + r * kRed + c;
      const float4 x0 = *vec_ptr<const float4>(src), x1 = *vec_ptr<const float4>(src + 4);
      v[0] += x0.x, v[1] += x0.y, v[2] += x0.z, v[3] += x0.w;
      v[4] += x1.x, v[5] += x1.y, v[6] += x1.z, v[7] += x1.w;
    }
    if (bias) {
      const Vec<T, 8> b = *vec_ptr<const Vec<T, 8>>(bias + col);
#pragma unroll
      for (int e = 0; e < 8; ++e) v[e] += to_float(b.v[e]);
    }
    const int64_t off = row * a.n + col;
    if (res) {
      const Vec<T, 8> x = *vec_ptr<const Vec<T, 8>>(res + off);
#pragma unroll
      for (int e = 0; e < 8; ++e) v[e] += to_float(x.v[e]);
    }
    activate_stored<T>(a.act, v, a.alpha, a.beta);
    Vec<T, 8> out;
#pragma unroll
    for (int e = 0; e < 8; ++e) out.v[e] = from_float<T>(v[e]);
    *vec_ptr<Vec<T, 8>>(y + off) = out;
  }
  if (split > 1) cluster_sync();  // a block's tile stays until every block of the cluster has read it
}

template <typename T, int BM, int BN>
void launch_as(const LinearArgs& a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.split * ceil_div(a.n, BN)), static_cast<unsigned>(ceil_div(a.m, BM)));
  launch_clustered(linear_mma_kernel<T, BM, BN>, grid, dim3(BM * BN / 32), smem_bytes<BM, BN>(), stream,
                   static_cast<unsigned>(a.split), a);
}

template <typename T>
void launch_typed(const LinearArgs& a, const LinearKernel& kernel, cudaStream_t stream) {
  if (kernel.block_rows == 128) launch_as<T, 128, 64>(a, stream);
  else if (kernel.block_cols == 128) launch_as<T, 64, 128>(a, stream);
  else launch_as<T, 64, 64>(a, stream);
}

int k_per_split(int64_t k, int split) { return static_cast<int>(ceil_div(ceil_div(k, split), kTileK) * kTileK); }

}  // namespace

Status linear_mma_supported(const LinearOperands& o, const LinearKernel& kernel) {
  const bool tile = (kernel.block_rows == 64 && kernel.block_cols == 64) ||
                    (kernel.block_rows == 128 && kernel.block_cols == 64) ||
                    (kernel.block_rows == 64 && kernel.block_cols == 128);
  if (!tile) {
    return unsupported("linear kernel: no ", kernel.block_rows, "x", kernel.block_cols,
                       " tile (64x64, 128x64 or 64x128)");
  }
  const int s = kernel.split;
  if (s != 1 && s != 2 && s != 4 && s != kMaxSplit) return unsupported("linear kernel: split ", s, " (1, 2, 4 or 8)");
  if (s > 1 && !sm90_code_on_device()) {
    return unsupported("linear kernel: split ", s, " needs thread block clusters (sm_90 code on a compute capability 9.0+ device)");
  }
  if (o.dtype != DType::kFloat16 && o.dtype != DType::kBFloat16) {
    return unsupported("linear kernel: ", ir::dtype_name(o.dtype), " (f16 / bf16 only)");
  }
  if (o.m < 1 || o.n < 8 || o.k < 8 || o.k % 8 || o.n % 8) {
    return unsupported("linear kernel: [", o.m, ", ", o.k, "] x [", o.k, ", ", o.n,
                       "] (M >= 1, K and N multiples of 8)");
  }
  if (o.k > (int64_t{1} << 30) || o.n > (int64_t{1} << 30) || ceil_div(o.m, kernel.block_rows) > 65535) {
    return unsupported("linear kernel: [", o.m, ", ", o.k, "] x [", o.k, ", ", o.n, "] too large");
  }
  if (s > 1 && int64_t{s - 1} * k_per_split(o.k, s) >= o.k) {
    return unsupported("linear kernel: K = ", o.k, " leaves blocks of a split of ", s, " without work");
  }
  if (!is_epilogue_activation(o.act)) return unsupported("linear kernel: activation ", net::enum_name(o.act));
  if (!aligned_to(o.a, 16) || !aligned_to(o.w, 16) || !aligned_to(o.y, 16) || (o.bias && !aligned_to(o.bias, 16)) ||
      (o.residual && !aligned_to(o.residual, 16))) {
    return unsupported("linear kernel: operands not 16-byte aligned");
  }
  return Status::ok();
}

void launch_linear_mma(const LinearOperands& o, const LinearKernel& kernel, cudaStream_t stream) {
  LinearArgs a;
  a.a = o.a, a.w = o.w, a.bias = o.bias, a.residual = o.residual, a.y = o.y;
  a.m = o.m, a.n = static_cast<int>(o.n), a.k = static_cast<int>(o.k);
  a.split = kernel.split;
  a.constant_w = kernel.constant_b;
  a.k_per_split = k_per_split(o.k, kernel.split);
  a.act = o.act, a.alpha = o.alpha, a.beta = o.beta;
  if (o.dtype == DType::kFloat16) launch_typed<__half>(a, kernel, stream);
  else launch_typed<__nv_bfloat16>(a, kernel, stream);
}

}  // namespace ingot::kernels::cuda::detail

namespace ingot::kernels::cuda {

namespace {

// The layer's operands as the kernel reads them, or why they are not its layout.
Expected<detail::LinearOperands> linear_operands(const net::MatMulParams& p, const std::vector<DeviceTensor>& in,
                                                 const std::vector<DeviceTensor>& out) {
  if (in.size() < 2 || out.size() != 1) return invalid_argument("matmul: needs a, b and one output");
  const DeviceTensor &a = in[0], &b = in[1], &y = out[0];
  if (p.transpose_a || !p.transpose_b) {
    return unsupported("linear kernel: a [M, K] and b [N, K] (transpose_b) only");
  }
  if (a.dims.size() < 2 || b.dims.size() != 2 || y.dims.size() != a.dims.size()) {
    return unsupported("linear kernel: a ", ingot::shape_str(a.dims), " by a 2-D b ", ingot::shape_str(b.dims), " only");
  }
  detail::LinearOperands o;
  o.k = a.dims.back();
  o.m = a.numel() / std::max<int64_t>(o.k, 1);
  o.n = b.dims[0];
  if (b.dims[1] != o.k || y.dims.back() != o.n || y.numel() != o.m * o.n) {
    return invalid_argument("matmul: a ", ingot::shape_str(a.dims), ", b^T ", ingot::shape_str(b.dims), " and output ",
                            ingot::shape_str(y.dims), " do not match");
  }
  const ir::DType t = y.dtype;
  if (a.dtype != t || b.dtype != t) return unsupported("linear kernel: operands of mixed dtypes");
  o.a = a.data, o.w = b.data, o.y = y.data, o.dtype = t;
  if (in.size() > 2 && in[2].data) {
    if (in[2].dtype != t || in[2].numel() != o.n || (!in[2].dims.empty() && in[2].dims.back() != o.n)) {
      return unsupported("linear kernel: bias ", ingot::shape_str(in[2].dims), " is not a row of ", o.n);
    }
    o.bias = in[2].data;
  }
  if (in.size() > 3 && in[3].data) {
    if (in[3].dtype != t || in[3].dims != y.dims) {
      return unsupported("linear kernel: residual ", ingot::shape_str(in[3].dims), " is not the output's ", ingot::shape_str(y.dims));
    }
    o.residual = in[3].data;
  }
  o.act = p.activation;
  o.alpha = static_cast<float>(p.act_alpha), o.beta = static_cast<float>(p.act_beta);
  return o;
}

}  // namespace

Status linear_supported(const net::MatMulParams& p, const std::vector<DeviceTensor>& inputs,
                        const std::vector<DeviceTensor>& outputs, LinearKernel kernel) {
  INGOT_ASSIGN_OR_RETURN(detail::LinearOperands o, linear_operands(p, inputs, outputs));
  return detail::linear_mma_supported(o, kernel);
}

Status launch_linear(const net::MatMulParams& p, const std::vector<DeviceTensor>& inputs,
                     const std::vector<DeviceTensor>& outputs, cudaStream_t stream, LinearKernel kernel) {
  INGOT_ASSIGN_OR_RETURN(detail::LinearOperands o, linear_operands(p, inputs, outputs));
  INGOT_RETURN_IF_ERROR(detail::linear_mma_supported(o, kernel));
  detail::launch_linear_mma(o, kernel, stream);
  return detail::check_launch("matmul (linear kernel)");
}

}  // namespace ingot::kernels::cuda
