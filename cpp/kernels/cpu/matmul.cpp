// Batched matrix multiply with torch.matmul batch broadcasting (both operands rank >= 2),
// optional transposes of either operand, and an optional bias broadcast to the result.
#include <algorithm>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

// Every [rows x cols] matrix of `m` (count of them) transposed to [cols x rows].
std::vector<float> transpose_matrices(const float* m, int64_t count, int64_t rows, int64_t cols) {
  std::vector<float> t(static_cast<size_t>(count * rows * cols));
  for (int64_t b = 0; b < count; ++b) {
    const float* src = m + b * rows * cols;
    float* dst = t.data() + b * rows * cols;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
    }
  }
  return t;
}

Dims batch_dims(const Dims& d) { return Dims(d.begin(), d.end() - 2); }

}  // namespace

Status run(const net::MatMulParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &a = in[0], &b = in[1], &y = out[0];
  size_t ra = a.dims.size(), ry = y.dims.size();
  int64_t m = y.dims[ry - 2], n = y.dims[ry - 1];
  int64_t k = p.transpose_a ? a.dims[ra - 2] : a.dims[ra - 1];
  Dims out_batch = batch_dims(y.dims), a_batch = batch_dims(a.dims), b_batch = batch_dims(b.dims);

  FloatInput fa(a), fb(b);
  FloatOutput fy(y);
  std::fill(fy.data(), fy.data() + y.numel(), 0.0f);
  const float* pa = fa.data();
  const float* pb = fb.data();
  std::vector<float> ta, tb;
  if (p.transpose_a && m * k > 0) {
    ta = transpose_matrices(pa, product(a_batch), k, m);
    pa = ta.data();
  }
  if (p.transpose_b && k * n > 0) {
    tb = transpose_matrices(pb, product(b_batch), n, k);
    pb = tb.data();
  }
  // Offsets (in matrices) of each operand for every output batch index.
  StridedWalk walk = broadcast_walk(out_batch, {a_batch, b_batch});
  int64_t sa = walk.inner_stride(0), sb = walk.inner_stride(1);
  walk.for_each_run([&](int64_t index, const int64_t* offs, int64_t len) {
    for (int64_t i = 0; i < len; ++i) {
      const float* am = pa + (offs[0] + i * sa) * m * k;
      const float* bm = pb + (offs[1] + i * sb) * k * n;
      gemm_accumulate(m, n, k, am, k, bm, n, fy.data() + (index + i) * m * n, n);
    }
  });
  if (has_input(in, 2)) {
    FloatInput bias(in[2]);
    StridedWalk bw = broadcast_walk(y.dims, {in[2].dims});
    int64_t s = bw.inner_stride(0);
    float* py = fy.data();
    bw.for_each_run([&](int64_t index, const int64_t* offs, int64_t len) {
      for (int64_t i = 0; i < len; ++i) py[index + i] += bias[offs[0] + i * s];
    });
  }
  fy.commit();
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
