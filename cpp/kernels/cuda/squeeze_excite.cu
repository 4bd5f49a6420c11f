#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/squeeze_excite.cuh"

namespace ingot::kernels::cuda::detail {

namespace {

struct GateArgs {
  const double* partial = nullptr;  // [n, splits, c]
  const void *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr;
  void* y = nullptr;  // [n, c]
  int64_t n = 0, hw = 0, c = 0, r = 0, splits = 1;
  net::UnaryOp act1 = net::UnaryOp::kIdentity, act2 = net::UnaryOp::kIdentity;
  float act1_alpha = 0, act1_beta = 0, act2_alpha = 0, act2_beta = 0;
};

constexpr int kGateThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kGateThreads) squeeze_excite_gate_kernel(const __grid_constant__ GateArgs a) {
  float* pooled = dynamic_smem<float>();  // [c], then hidden [r]
  float* hidden = pooled + a.c;
  const T* w1 = static_cast<const T*>(a.w1);
  const T* w2 = static_cast<const T*>(a.w2);
  const int lane = static_cast<int>(threadIdx.x & 31), warp = static_cast<int>(threadIdx.x >> 5);
  const int warps = static_cast<int>(blockDim.x >> 5);
  for (int64_t b = blockIdx.x; b < a.n; b += gridDim.x) {
    const double* part = a.partial + b * a.splits * a.c;
    for (int64_t k = threadIdx.x; k < a.c; k += blockDim.x) {
      double s = 0;
      for (int64_t sp = 0; sp < a.splits; ++sp) s += part[sp * a.c + k];
      pooled[k] = static_cast<float>(s / static_cast<double>(a.hw));
    }
    __syncthreads();
    for (int64_t j = warp; j < a.r; j += warps) {
      float s = 0;
      for (int64_t k = lane; k < a.c; k += 32) s += to_float(w1[j * a.c + k]) * pooled[k];
      s = warp_reduce(s, [](float p, float q) { return p + q; });
      if (lane == 0) {
        if (a.b1) s += to_float(static_cast<const T*>(a.b1)[j]);
        hidden[j] = activate(a.act1, s, a.act1_alpha, a.act1_beta);
      }
    }
    __syncthreads();
    for (int64_t k = threadIdx.x; k < a.c; k += blockDim.x) {
      float s = a.b2 ? to_float(static_cast<const T*>(a.b2)[k]) : 0.0f;
      const T* row = w2 + k * a.r;
      for (int64_t j = 0; j < a.r; ++j) s += to_float(row[j]) * hidden[j];
      static_cast<T*>(a.y)[b * a.c + k] = from_float<T>(activate(a.act2, s, a.act2_alpha, a.act2_beta));
    }
    __syncthreads();  // pooled[] and hidden[] are rewritten for the next sample
  }
}

}  // namespace

Status squeeze_excite_supported(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out) {
  const char* L = "squeeze_excite";
  if (in.size() != 5 || out.size() != 1) return invalid_argument(L, ": takes x, w1, b1?, w2, b2? and one output");
  const DeviceTensor &x = in[0], &w1 = in[1], &w2 = in[3], &y = out[0];
  if (x.dims.size() != 4 || w1.dims.size() != 2 || w2.dims.size() != 2) {
    return invalid_argument(L, ": x must be [N, H, W, C] and the weights 2-D, got ", ingot::shape_str(x.dims), ", ",
                            ingot::shape_str(w1.dims), ", ", ingot::shape_str(w2.dims));
  }
  int64_t c = x.dims[3], r = w1.dims[0];
  if (w1.dims[1] != c || w2.dims[0] != c || w2.dims[1] != r || y.numel() != x.dims[0] * c) {
    return invalid_argument(L, ": shapes do not match (x ", ingot::shape_str(x.dims), ", w1 ", ingot::shape_str(w1.dims),
                            ", w2 ", ingot::shape_str(w2.dims), ", out ", ingot::shape_str(y.dims), ")");
  }
  if ((in[2].data && in[2].numel() != r) || (in[4].data && in[4].numel() != c)) return invalid_argument(L, ": bias sizes do not match");
  for (const DeviceTensor* t : {&w1, &in[2], &w2, &in[4], &y}) {
    if (t->data && t->dtype != x.dtype) return invalid_argument(L, ": every tensor must be ", ir::dtype_name(x.dtype));
  }
  if (!ir::is_floating(x.dtype)) return unsupported(L, " on ", ir::dtype_name(x.dtype));
  if (!is_epilogue_activation(p.act1) || !is_epilogue_activation(p.act2)) {
    return unsupported(L, ": activations ", net::enum_name(p.act1), " / ", net::enum_name(p.act2));
  }
  if (c + r > kSqueezeExciteMaxFloats) return unsupported(L, ": ", c, " channels and ", r, " hidden units do not fit");
  return Status::ok();
}

size_t squeeze_excite_workspace(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out) {
  if (!squeeze_excite_supported(p, in, out).is_ok()) return 0;
  const DeviceTensor& x = in[0];
  int64_t n = x.dims[0], hw = x.dims[1] * x.dims[2], c = x.dims[3];
  return static_cast<size_t>(n * column_splits(n, hw, c, ir::dtype_size(x.dtype)) * c) * sizeof(double);
}

Status launch_squeeze_excite(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out, void* workspace,
                             cudaStream_t stream) {
  const char* L = "squeeze_excite";
  INGOT_RETURN_IF_ERROR(squeeze_excite_supported(p, in, out));
  if (!workspace) return invalid_argument(L, ": needs a workspace of ", squeeze_excite_workspace(p, in, out), " bytes");
  const DeviceTensor& x = in[0];
  GateArgs a;
  a.n = x.dims[0], a.hw = x.dims[1] * x.dims[2], a.c = x.dims[3], a.r = in[1].dims[0];
  if (a.n == 0 || a.c == 0) return Status::ok();
  if (a.hw == 0) return unsupported(L, ": a mean over empty spatial dims");
  INGOT_RETURN_IF_ERROR(launch_column_sums(x, a.n, a.hw, a.c, workspace, stream));
  a.partial = static_cast<const double*>(workspace);
  a.splits = column_splits(a.n, a.hw, a.c, ir::dtype_size(x.dtype));
  a.w1 = in[1].data, a.b1 = in[2].data, a.w2 = in[3].data, a.b2 = in[4].data, a.y = out[0].data;
  a.act1 = p.act1, a.act2 = p.act2;
  a.act1_alpha = static_cast<float>(p.act1_alpha), a.act1_beta = static_cast<float>(p.act1_beta);
  a.act2_alpha = static_cast<float>(p.act2_alpha), a.act2_beta = static_cast<float>(p.act2_beta);
  size_t smem = static_cast<size_t>(a.c + a.r) * sizeof(float);
  unsigned grid = static_cast<unsigned>(std::min<int64_t>(a.n, kMaxGridBlocks));
  bool dispatched = visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) launch_kernel(squeeze_excite_gate_kernel<T>, grid, kGateThreads, smem, stream, a);
  });
  if (!dispatched) return unsupported(L, " on ", ir::dtype_name(x.dtype));
  return check_launch(L);
}

}  // namespace ingot::kernels::cuda::detail
