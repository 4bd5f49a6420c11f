// Scaled dot-product attention: out = softmax(q·kᵀ·scale + mask)·v per batch index, batch dims
// of q, k, v and the mask broadcast. A bool mask keeps the positions that are true, a floating
// mask is added to the scores; causal lets query i see keys j <= i (top-left aligned, as torch's
// is_causal). A query row whose keys are all masked out gives zeros.
#include <cmath>
#include <limits>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

Dims batch_dims(const Dims& d) { return Dims(d.begin(), d.end() - 2); }

// The mask as additive float scores: bool false -> -inf, true -> 0.
std::vector<float> mask_scores(const TensorView& mask) {
  if (mask.dtype != DType::kBool) return load_floats(mask);
  std::vector<float> s(static_cast<size_t>(mask.numel()));
  const auto* m = static_cast<const uint8_t*>(mask.data);
  for (size_t i = 0; i < s.size(); ++i) s[i] = m[i] ? 0.0f : -std::numeric_limits<float>::infinity();
  return s;
}

// Softmax of one row of scores in place; a row with no finite maximum (all masked) becomes 0.
void softmax_row(float* s, int64_t len) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < len; ++j) {
    if (s[j] > mx || std::isnan(s[j])) mx = s[j];
  }
  if (mx == -std::numeric_limits<float>::infinity()) {
    std::fill(s, s + len, 0.0f);
    return;
  }
  double sum = 0.0;
  for (int64_t j = 0; j < len; ++j) {
    s[j] = std::exp(s[j] - mx);
    sum += s[j];
  }
  for (int64_t j = 0; j < len; ++j) s[j] = static_cast<float>(s[j] / sum);
}

}  // namespace

Status run(const net::AttentionParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &q = in[0], &k = in[1], &v = in[2], &y = out[0];
  size_t r = q.dims.size();
  int64_t l = q.dims[r - 2], e = q.dims[r - 1], s = k.dims[r - 2], ev = v.dims[r - 1];
  Dims batch = batch_dims(y.dims);
  Dims scores_dims = batch;
  scores_dims.push_back(l);
  scores_dims.push_back(s);

  bool has_mask = has_input(in, 3);
  std::vector<float> mask;
  Dims mask_strides(scores_dims.size(), 0);
  if (has_mask) {
    mask = mask_scores(in[3]);
    mask_strides = broadcast_strides(in[3].dims, scores_dims);
  }
  int64_t mask_row = mask_strides[batch.size()], mask_col = mask_strides[batch.size() + 1];
  Dims mask_batch_strides(mask_strides.begin(), mask_strides.end() - 2);

  FloatInput fq(q), fk(k), fv(v);
  FloatOutput fy(y);
  std::vector<float> kt(static_cast<size_t>(e * s)), scores(static_cast<size_t>(l * s));
  const float scale = static_cast<float>(p.scale);
  // Batch offsets in matrices for q, k, v; in elements for the mask.
  StridedWalk walk(batch, {broadcast_strides(batch_dims(q.dims), batch), broadcast_strides(batch_dims(k.dims), batch),
                           broadcast_strides(batch_dims(v.dims), batch), mask_batch_strides});
  int64_t sq = walk.inner_stride(0), sk = walk.inner_stride(1), sv = walk.inner_stride(2), sm = walk.inner_stride(3);
  walk.for_each_run([&](int64_t index, const int64_t* offs, int64_t len) {
    for (int64_t bi = 0; bi < len; ++bi) {
      const float* qm = fq.data() + (offs[0] + bi * sq) * l * e;
      const float* km = fk.data() + (offs[1] + bi * sk) * s * e;
      const float* vm = fv.data() + (offs[2] + bi * sv) * s * ev;
      const float* mm = has_mask ? mask.data() + offs[3] + bi * sm : nullptr;
      float* om = fy.data() + (index + bi) * l * ev;
      for (int64_t j = 0; j < s; ++j) {
        for (int64_t c = 0; c < e; ++c) kt[static_cast<size_t>(c * s + j)] = km[j * e + c];
      }
      std::fill(scores.begin(), scores.end(), 0.0f);
      gemm_accumulate(l, s, e, qm, e, kt.data(), s, scores.data(), s);
      for (int64_t i = 0; i < l; ++i) {
        float* row = scores.data() + i * s;
        for (int64_t j = 0; j < s; ++j) {
          row[j] *= scale;
          if (mm) row[j] += mm[i * mask_row + j * mask_col];
          if (p.causal && j > i) row[j] = -std::numeric_limits<float>::infinity();
        }
        softmax_row(row, s);
      }
      std::fill(om, om + l * ev, 0.0f);
      gemm_accumulate(l, ev, s, scores.data(), s, vm, ev, om, ev);
    }
  });
  fy.commit();
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
