#include "kernels/cpu/indexing.h"

#include "support/check.h"

namespace ingot::kernels::cpu::detail {

int64_t product(const Dims& dims, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end && i < dims.size(); ++i) n *= dims[i];
  return n;
}

Dims row_major_strides(const Dims& dims) {
  Dims s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

Dims broadcast_strides(const Dims& in, const Dims& out) {
  INGOT_CHECK(in.size() <= out.size(), "cannot broadcast rank ", in.size(), " to rank ", out.size());
  Dims dense = row_major_strides(in);
  Dims s(out.size(), 0);
  size_t shift = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    INGOT_CHECK(in[i] == out[i + shift] || in[i] == 1, "dimension ", in[i], " does not broadcast to ", out[i + shift]);
    s[i + shift] = in[i] == 1 ? 0 : dense[i];
  }
  return s;
}

bool broadcast_dims(const Dims& a, const Dims& b, Dims* out) {
  size_t n = std::max(a.size(), b.size());
  Dims r(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    r[i] = da == 1 ? db : da;
  }
  *out = std::move(r);
  return true;
}

StridedWalk::StridedWalk(const Dims& dims, const std::vector<Dims>& operand_strides) {
  for (const Dims& s : operand_strides) INGOT_CHECK(s.size() == dims.size(), "stride rank differs from walk rank");
  for (int64_t d : dims) empty_ = empty_ || d == 0;
  strides_.resize(operand_strides.size());
  // Drop size-1 axes, then merge axis i into the axis after it when every operand steps
  // through both as through one.
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;
    bool merge = !dims_.empty();
    for (size_t k = 0; merge && k < strides_.size(); ++k) {
      merge = strides_[k].back() == operand_strides[k][i] * dims[i];
    }
    if (merge) {
      dims_.back() *= dims[i];
      for (size_t k = 0; k < strides_.size(); ++k) strides_[k].back() = operand_strides[k][i];
      continue;
    }
    dims_.push_back(dims[i]);
    for (size_t k = 0; k < strides_.size(); ++k) strides_[k].push_back(operand_strides[k][i]);
  }
  if (dims_.empty()) {
    dims_.push_back(1);
    for (auto& s : strides_) s.push_back(0);
  }
}

StridedWalk broadcast_walk(const Dims& out_dims, const std::vector<Dims>& input_dims) {
  std::vector<Dims> strides;
  strides.reserve(input_dims.size());
  for (const Dims& in : input_dims) strides.push_back(broadcast_strides(in, out_dims));
  return StridedWalk(out_dims, strides);
}

}  // namespace ingot::kernels::cpu::detail
