// StridedView: a tensor seen through reshapes, permutes and slices of another tensor's storage,
// as (size, stride) pairs over symbolic dims. Builder passes use it to replace chains of
// data-movement layers by strided reads or writes in the layer at the chain's end
// (attention_layout.cpp).
//
// Each logical dim is a product of sub-dims (outermost first), so that a reshape that splits a
// dim and one that merges the pieces again in another order (torch's MultiheadAttention does
// that) can be followed even when an intermediate shape is not itself a plain strided view.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/symbolic.h"

namespace ingot::build {

class StridedView {
 public:
  struct SubDim {
    ir::SymExpr size, stride;
  };

  // The dense row-major view of a tensor of this shape.
  static StridedView packed(const ir::Shape& shape);

  ir::Shape shape() const;
  const ir::SymExpr& offset() const { return offset_; }

  // out.dim[i] = dim[perm[i]]; false if perm is not a permutation of this rank.
  bool permute(const std::vector<int64_t>& perm);
  // Row-major reshape to `to`; false where a dim would have to be split in a way that the
  // sizes (symbolic ones only whole) do not allow.
  bool reshape(const ir::Shape& to);
  // Elements [start, end) of `axis` (step 1); false if that dim is made of several sub-dims
  // that do not merge into one.
  bool slice(int64_t axis, const ir::SymExpr& start, const ir::SymExpr& end);

  // The strides of a plain strided view (one stride per logical dim), or false where a dim's
  // sub-dims do not merge. A dim of size 1 gets stride 1 (any stride reads the same element).
  bool strides(ir::Shape* out) const;

 private:
  // Merges adjacent sub-dims of one dim that are contiguous with each other.
  static std::vector<SubDim> merged(const std::vector<SubDim>& dim);

  std::vector<std::vector<SubDim>> dims_;
  ir::SymExpr offset_;
};

// Every permutation is valid and the result p satisfies p[perm[i]] = i.
std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& perm);

}  // namespace ingot::build
