#include "build/strided_view.h"

#include <deque>

namespace ingot::build {

namespace {

bool is_one(const ir::SymExpr& e) { return e.as_constant() == 1; }
bool is_zero(const ir::SymExpr& e) { return e.as_constant() == 0; }

}  // namespace

StridedView StridedView::packed(const ir::Shape& shape) {
  StridedView v;
  v.dims_.resize(shape.size());
  ir::SymExpr stride(1);
  for (size_t d = shape.size(); d-- > 0;) {
    v.dims_[d] = {{shape[d], stride}};
    stride = stride * shape[d];
  }
  return v;
}

ir::Shape StridedView::shape() const {
  ir::Shape s;
  for (const auto& dim : dims_) {
    ir::SymExpr n(1);
    for (const SubDim& sd : dim) n = n * sd.size;
    s.push_back(n);
  }
  return s;
}

std::vector<StridedView::SubDim> StridedView::merged(const std::vector<SubDim>& dim) {
  std::vector<SubDim> out;
  for (const SubDim& sd : dim) {
    if (!is_one(sd.size)) out.push_back(sd);
  }
  for (size_t i = out.size(); i-- > 1;) {
    SubDim &outer = out[i - 1], &inner = out[i];
    if (outer.stride == inner.size * inner.stride) {
      outer = {outer.size * inner.size, inner.stride};
      out.erase(out.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  return out;
}

bool StridedView::permute(const std::vector<int64_t>& perm) {
  if (perm.size() != dims_.size()) return false;
  std::vector<bool> seen(perm.size(), false);
  std::vector<std::vector<SubDim>> out;
  for (int64_t p : perm) {
    if (p < 0 || static_cast<size_t>(p) >= perm.size() || seen[static_cast<size_t>(p)]) return false;
    seen[static_cast<size_t>(p)] = true;
    out.push_back(dims_[static_cast<size_t>(p)]);
  }
  dims_ = std::move(out);
  return true;
}

bool StridedView::reshape(const ir::Shape& to) {
  std::deque<SubDim> flat;
  for (const auto& dim : dims_) {
    for (const SubDim& sd : dim) {
      if (is_zero(sd.size)) return false;  // empty tensors are not worth a view
      if (!is_one(sd.size)) flat.push_back(sd);
    }
  }
  std::vector<std::vector<SubDim>> out;
  for (const ir::SymExpr& target : to) {
    if (is_zero(target)) return false;
    std::vector<SubDim> dim;
    ir::SymExpr acc(1);
    while (acc != target) {
      if (flat.empty()) return false;
      SubDim sd = flat.front();
      auto t = target.as_constant(), a = acc.as_constant(), n = sd.size.as_constant();
      bool whole = acc * sd.size == target;
      if (!whole && t && a && n) {
        if (*t % *a != 0) return false;
        int64_t need = *t / *a;
        if (need % *n == 0) {
          whole = true;
        } else if (*n % need == 0) {  // split: the outer part completes this dim
          flat.front() = {ir::SymExpr(*n / need), sd.stride};
          dim.push_back({ir::SymExpr(need), sd.stride * ir::SymExpr(*n / need)});
          acc = target;
          continue;
        } else {
          return false;
        }
      } else if (!whole && a && !t) {
        whole = true;  // a symbolic target takes whole sub-dims; equality is checked as it grows
      } else if (!whole && !n) {
        whole = true;
      } else if (!whole) {
        return false;
      }
      dim.push_back(sd);
      acc = acc * sd.size;
      flat.pop_front();
    }
    out.push_back(std::move(dim));
  }
  if (!flat.empty()) return false;
  dims_ = std::move(out);
  return true;
}

bool StridedView::slice(int64_t axis, const ir::SymExpr& start, const ir::SymExpr& end) {
  if (axis < 0 || static_cast<size_t>(axis) >= dims_.size()) return false;
  std::vector<SubDim> m = merged(dims_[static_cast<size_t>(axis)]);
  if (m.empty()) return is_zero(start) && is_one(end);
  if (m.size() != 1) return false;
  offset_ = offset_ + start * m[0].stride;
  dims_[static_cast<size_t>(axis)] = {{end - start, m[0].stride}};
  return true;
}

bool StridedView::strides(ir::Shape* out) const {
  out->clear();
  for (const auto& dim : dims_) {
    std::vector<SubDim> m = merged(dim);
    if (m.size() > 1) return false;
    out->push_back(m.empty() ? ir::SymExpr(1) : m[0].stride);
  }
  return true;
}

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size(), 0);
  for (size_t i = 0; i < perm.size(); ++i) inv[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return inv;
}

}  // namespace ingot::build
