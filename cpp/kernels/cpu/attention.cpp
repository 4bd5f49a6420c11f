// Scaled dot-product attention: out = softmax(q·kᵀ·scale + mask)·v per batch index, batch dims
// of q, k, v and the mask broadcast. A bool mask keeps the positions that are true, a floating
// mask is added to the scores; causal lets query i see keys j <= i (top-left aligned, as torch's
// is_causal). A query row whose keys are all masked out gives zeros. Strided operands and a
// strided output (AttentionParams' views) are gathered into packed copies and scattered back.
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"
#include "net/network.h"

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

// Concrete values of a view's dims / strides / offset (symbols were substituted by the runtime).
Expected<std::vector<int64_t>> concrete(const net::Shape& s, const char* what) {
  if (auto d = ir::static_dims(s)) return *d;
  return invalid_argument("attention: ", what, " ", ir::shape_str(s), " is not concrete");
}

// Calls fn(packed_index, strided_index) for every element of `dims` in row-major order.
template <typename Fn>
void for_each_strided(const Dims& dims, const Dims& strides, int64_t offset, Fn&& fn) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  Dims idx(dims.size(), 0);
  int64_t at = offset;
  for (int64_t i = 0; i < n; ++i) {
    fn(i, at);
    for (size_t d = dims.size(); d-- > 0;) {
      at += strides[d];
      if (++idx[d] < dims[d]) break;
      at -= strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

// The operand of a strided view, packed into `buffer`.
Expected<TensorView> gather(const TensorView& storage, const net::Shape& shape, const net::Shape& strides,
                            const net::SymExpr& offset, const char* what, std::vector<uint8_t>* buffer) {
  INGOT_ASSIGN_OR_RETURN(Dims dims, concrete(shape, what));
  INGOT_ASSIGN_OR_RETURN(Dims st, concrete(strides, what));
  INGOT_ASSIGN_OR_RETURN(Dims off, concrete({offset}, what));
  INGOT_RETURN_IF_ERROR(net::check_strided_view(what, dims, st, off[0], storage.numel()));
  size_t elem = ir::dtype_size(storage.dtype);
  TensorView v{nullptr, storage.dtype, dims};
  buffer->assign(static_cast<size_t>(v.numel()) * elem, 0);
  const auto* src = static_cast<const uint8_t*>(storage.data);
  for_each_strided(dims, st, off[0], [&](int64_t i, int64_t at) {
    std::memcpy(buffer->data() + static_cast<size_t>(i) * elem, src + static_cast<size_t>(at) * elem, elem);
  });
  v.data = buffer->data();
  return v;
}

Status run_packed(const net::AttentionParams& p, const Tensors& in, const Tensors& out);

}  // namespace

Status run(const net::AttentionParams& p, const Tensors& in, const Tensors& out) {
  if (!p.strided_inputs() && !p.strided_output()) return run_packed(p, in, out);
  Tensors packed_in = in;
  std::vector<uint8_t> qb, kb, vb, ob;
  if (!p.q_shape.empty()) { INGOT_ASSIGN_OR_RETURN(packed_in[0], gather(in[0], p.q_shape, p.q_strides, p.q_offset, "q", &qb)); }
  if (!p.k_shape.empty()) { INGOT_ASSIGN_OR_RETURN(packed_in[1], gather(in[1], p.k_shape, p.k_strides, p.k_offset, "k", &kb)); }
  if (!p.v_shape.empty()) { INGOT_ASSIGN_OR_RETURN(packed_in[2], gather(in[2], p.v_shape, p.v_strides, p.v_offset, "v", &vb)); }
  if (!p.strided_output()) return run_packed(p, packed_in, out);
  // The logical output: q's batch dims and rows, v's columns.
  const Dims &qd = packed_in[0].dims, &vd = packed_in[2].dims;
  Dims od(qd.begin(), qd.end() - 1);
  od.push_back(vd.back());
  INGOT_ASSIGN_OR_RETURN(Dims ost, concrete(p.out_strides, "output strides"));
  INGOT_RETURN_IF_ERROR(net::check_strided_view("attention output", od, ost, 0, out[0].numel()));
  size_t elem = ir::dtype_size(out[0].dtype);
  TensorView logical{nullptr, out[0].dtype, od};
  ob.assign(static_cast<size_t>(logical.numel()) * elem, 0);
  logical.data = ob.data();
  INGOT_RETURN_IF_ERROR(run_packed(p, packed_in, {logical}));
  auto* dst = static_cast<uint8_t*>(out[0].data);
  for_each_strided(od, ost, 0, [&](int64_t i, int64_t at) {
    std::memcpy(dst + static_cast<size_t>(at) * elem, ob.data() + static_cast<size_t>(i) * elem, elem);
  });
  return Status::ok();
}

namespace {

Status run_packed(const net::AttentionParams& p, const Tensors& in, const Tensors& out) {
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

}  // namespace

}  // namespace ingot::kernels::cpu::detail
