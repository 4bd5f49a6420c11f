// Index arithmetic for the CPU kernels (internal): row-major strides, numpy broadcasting, and
// StridedWalk, which visits a row-major index space together with operands addressed by
// arbitrary element strides (broadcast, permuted, sliced).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ingot::kernels::cpu::detail {

using Dims = std::vector<int64_t>;

int64_t product(const Dims& dims, size_t begin, size_t end);
inline int64_t product(const Dims& dims) { return product(dims, 0, dims.size()); }

// Row-major strides (in elements) of a dense tensor.
Dims row_major_strides(const Dims& dims);

// Strides that read `in` (right-aligned, numpy rules) at each index of `out`: 0 along axes
// where `in` has size 1 or is missing. `in` must broadcast to `out`.
Dims broadcast_strides(const Dims& in, const Dims& out);

// Numpy broadcast of two shapes; false if they do not broadcast.
bool broadcast_dims(const Dims& a, const Dims& b, Dims* out);

// Walks the index space `dims` in row-major order. Each operand k is addressed by its own
// strides (same rank as dims). Adjacent axes that are contiguous for every operand are merged,
// so that the innermost run is as long as possible.
class StridedWalk {
 public:
  StridedWalk(const Dims& dims, const std::vector<Dims>& operand_strides);

  // Calls fn(index, offsets, len) for each run of `len` consecutive indices along the innermost
  // axis: `index` is the row-major linear index of the run's first element and offsets[k] the
  // element offset of operand k there. Within a run operand k advances by inner_stride(k).
  template <typename Fn>
  void for_each_run(Fn&& fn) const {
    if (empty_) return;
    size_t outer = dims_.size() - 1;
    int64_t inner = dims_.back();
    std::vector<int64_t> idx(outer, 0), offs(strides_.size(), 0);
    for (int64_t index = 0;; index += inner) {
      fn(index, static_cast<const int64_t*>(offs.data()), inner);
      size_t d = outer;
      while (d > 0) {
        --d;
        ++idx[d];
        for (size_t k = 0; k < offs.size(); ++k) offs[k] += strides_[k][d];
        if (idx[d] < dims_[d]) break;
        for (size_t k = 0; k < offs.size(); ++k) offs[k] -= strides_[k][d] * dims_[d];
        idx[d] = 0;
        if (d == 0) return;
      }
      if (outer == 0) return;
    }
  }

  int64_t inner_stride(size_t k) const { return strides_[k].back(); }

 private:
  Dims dims_;                  // merged, at least one axis
  std::vector<Dims> strides_;  // per operand, merged
  bool empty_ = false;
};

// Visits `out_dims` with each input broadcast to it (inputs' dims given right-aligned).
StridedWalk broadcast_walk(const Dims& out_dims, const std::vector<Dims>& input_dims);

}  // namespace ingot::kernels::cpu::detail
