// Indexing converters built from existing layers: the flat index into the source is computed
// with integer arithmetic (iota, multiply, add, remainder), then one gather reads the values.
//   gather(self, dim, index)        torch.gather: out[..i..] = self[.. index[..i..] ..]
//   index.Tensor(self, indices)     advanced indexing with integer index tensors
#include <algorithm>
#include <cstring>
#include <optional>

#include "convert/registry.h"

namespace ingot::convert {
namespace {

using net::BinaryOp;

// Row-major strides of a static shape.
std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

// Negative indices count from the end of a dim of `size` (Python-style remainder).
Expected<int> wrap(Context& ctx, const ir::Node& n, int idx, int64_t size, const std::string& suffix) {
  INGOT_ASSIGN_OR_RETURN(idx, ctx.cast(n, idx, DType::kInt64));
  return ctx.binary(n, BinaryOp::kRemainder, idx, ctx.scalar(DType::kInt64, static_cast<double>(size)), suffix);
}

// The flat index of index.Tensor's leading-run case computed now, when every index tensor is a
// constant (BERT's mask indexing): sum_i wrap(index_i) * stride_i, broadcast together. Saves the
// engine the remainder / multiply / add layers (one kernel launch each) that would compute it
// from constants at every call. nullopt: some index is not a constant, or an index is out of
// range (left to the layers, which wrap it the same way).
std::optional<ir::ConstantData> constant_flat_index(const std::vector<const ir::Value*>& indices,
                                                    const std::vector<int64_t>& lead) {
  std::vector<std::vector<int64_t>> shapes;
  size_t rank = 0;
  for (const ir::Value* v : indices) {
    if (!v->is_constant()) return std::nullopt;
    shapes.push_back(v->constant().dims);
    rank = std::max(rank, v->constant().dims.size());
  }
  std::vector<int64_t> out(rank, 1);  // the broadcast shape, aligned at the right
  for (const auto& d : shapes) {
    for (size_t j = 0; j < d.size(); ++j) {
      int64_t& o = out[rank - d.size() + j];
      if (d[j] != 1 && o != 1 && d[j] != o) return std::nullopt;
      if (d[j] != 1) o = d[j];
    }
  }
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  std::vector<int64_t> stride = strides_of(lead);
  std::vector<int64_t> flat(static_cast<size_t>(total), 0);
  std::vector<int64_t> coord(rank, 0);
  for (int64_t e = 0; e < total; ++e) {
    for (size_t i = 0; i < indices.size(); ++i) {
      const auto& d = shapes[i];
      int64_t off = 0;  // element of index i that broadcasts to coord
      for (size_t j = 0; j < d.size(); ++j) off = off * d[j] + (d[j] == 1 ? 0 : coord[rank - d.size() + j]);
      int64_t v = indices[i]->constant().get_int(off);
      if (v < -lead[i] || v >= lead[i]) return std::nullopt;
      flat[static_cast<size_t>(e)] += ((v % lead[i] + lead[i]) % lead[i]) * stride[i];
    }
    for (size_t j = rank; j-- > 0;) {  // next coordinate, row-major
      if (++coord[j] < out[j]) break;
      coord[j] = 0;
    }
  }
  std::vector<uint8_t> bytes(flat.size() * sizeof(int64_t));
  std::memcpy(bytes.data(), flat.data(), bytes.size());
  return ir::ConstantData::owned(DType::kInt64, out, std::move(bytes));
}

// gather(self, dim, index, *, sparse_grad=False)
Status convert_gather(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int self, ctx.arg_tensor(n, 0));
  INGOT_ASSIGN_OR_RETURN(int64_t dim, ctx.int_arg(n, 1));
  INGOT_ASSIGN_OR_RETURN(int index, ctx.arg_tensor(n, 2));
  auto dims = ir::static_dims(ctx.type(self).shape);
  auto idims = ir::static_dims(ctx.type(index).shape);
  if (!dims || !idims) return ctx.fail(n, "needs static shapes");
  if (dims->size() != idims->size() || dims->empty()) return ctx.fail(n, "index and self must have the same rank");
  auto axis = net::normalize_axis(dim, static_cast<int64_t>(dims->size()));
  if (!axis) return ctx.fail(n, axis.status().message());
  std::vector<int64_t> strides = strides_of(*dims);
  INGOT_ASSIGN_OR_RETURN(int flat, ctx.cast(n, index, DType::kInt64));
  INGOT_ASSIGN_OR_RETURN(flat, ctx.binary(n, BinaryOp::kMul, flat,
                                      ctx.scalar(DType::kInt64, static_cast<double>(strides[static_cast<size_t>(*axis)])), "scale"));
  for (size_t k = 0; k < dims->size(); ++k) {
    if (static_cast<int64_t>(k) == *axis) continue;
    net::IotaParams iota;
    iota.size = SymExpr((*idims)[k]);
    iota.dtype = DType::kInt64;
    iota.step = static_cast<double>(strides[k]);
    INGOT_ASSIGN_OR_RETURN(int coord, ctx.add(n, iota, {}, "coord" + std::to_string(k)));
    Shape shape(dims->size(), SymExpr(1));
    shape[k] = SymExpr((*idims)[k]);
    INGOT_ASSIGN_OR_RETURN(coord, ctx.reshape(n, coord, shape, "coord" + std::to_string(k) + "_shape"));
    INGOT_ASSIGN_OR_RETURN(flat, ctx.binary(n, BinaryOp::kAdd, flat, coord, "offset" + std::to_string(k)));
  }
  int64_t total = 1;
  for (int64_t d : *dims) total *= d;
  INGOT_ASSIGN_OR_RETURN(int source, ctx.reshape(n, self, {SymExpr(total)}, "flat"));
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, net::GatherParams{0}, {source, flat}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

// index.Tensor(self, indices): one index tensor at any position (Nones elsewhere), or index
// tensors for a leading run of dims, broadcast together.
Status convert_index(Context& ctx, const ir::Node& n) {
  INGOT_ASSIGN_OR_RETURN(int self, ctx.arg_tensor(n, 0));
  const ir::Arg& list = n.arg(1);
  if (list.kind() != ir::Arg::Kind::kTensorList) return ctx.fail(n, "indices must be a tensor list");
  const auto& indices = list.tensors();
  const Shape shape = ctx.type(self).shape;  // a copy: adding layers may move the network's tensors
  std::vector<size_t> present;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (!indices[i]) continue;
    if (indices[i]->dtype() != DType::kInt64 && indices[i]->dtype() != DType::kInt32) {
      return ctx.fail(n, "index %", indices[i]->name(), " is ", ir::dtype_name(indices[i]->dtype()),
                      "; boolean masks (data-dependent shapes) run in PyTorch");
    }
    present.push_back(i);
  }
  if (present.empty() || indices.size() > shape.size()) return ctx.fail(n, "unsupported index pattern");
  if (present.size() == 1) {
    size_t d = present[0];
    auto size = shape[d].as_constant();
    if (!size) return ctx.fail(n, "the indexed dim must be static");
    int idx = -1;
    if (auto c = constant_flat_index({indices[d]}, {*size})) {
      idx = ctx.constant(n.output()->name() + ".index", std::move(*c));
    } else {
      INGOT_ASSIGN_OR_RETURN(idx, ctx.tensor(indices[d]));
      INGOT_ASSIGN_OR_RETURN(idx, wrap(ctx, n, idx, *size, "wrap"));
    }
    INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, net::GatherParams{static_cast<int64_t>(d)}, {self, idx}));
    ctx.bind(n.output(), y);
    return Status::ok();
  }
  for (size_t i = 0; i < present.size(); ++i) {
    if (present[i] != i) return ctx.fail(n, "index tensors separated by None run in PyTorch");
  }
  size_t k = present.size();
  std::vector<int64_t> lead;
  for (size_t i = 0; i < k; ++i) {
    auto size = shape[i].as_constant();
    if (!size) return ctx.fail(n, "indexed dims must be static");
    lead.push_back(*size);
  }
  std::vector<int64_t> strides = strides_of(lead);
  int flat = -1;
  std::vector<const ir::Value*> given(indices.begin(), indices.begin() + static_cast<long>(k));
  int64_t rows = 1;
  for (int64_t d : lead) rows *= d;
  Shape source_shape{SymExpr(rows)};
  source_shape.insert(source_shape.end(), shape.begin() + static_cast<long>(k), shape.end());
  if (auto c = constant_flat_index(given, lead)) {
    // Every row once, in order (BERT's mask[:, None, None, :] through index): a reshape.
    bool identity = c->numel() == rows;
    for (int64_t e = 0; identity && e < rows; ++e) identity = c->as<int64_t>()[e] == e;
    if (identity) {
      INGOT_ASSIGN_OR_RETURN(int y, ctx.reshape(n, self, n.output()->shape(), "rows"));
      ctx.bind(n.output(), y);
      return Status::ok();
    }
    flat = ctx.constant(n.output()->name() + ".flat_index", std::move(*c));
  } else {
    for (size_t i = 0; i < k; ++i) {
      INGOT_ASSIGN_OR_RETURN(int idx, ctx.tensor(indices[i]));
      INGOT_ASSIGN_OR_RETURN(idx, wrap(ctx, n, idx, lead[i], "wrap" + std::to_string(i)));
      if (strides[i] != 1) {
        INGOT_ASSIGN_OR_RETURN(idx, ctx.binary(n, BinaryOp::kMul, idx, ctx.scalar(DType::kInt64, static_cast<double>(strides[i])),
                                           "scale" + std::to_string(i)));
      }
      if (i == 0) {
        flat = idx;
      } else {
        INGOT_ASSIGN_OR_RETURN(flat, ctx.binary(n, BinaryOp::kAdd, flat, idx, "sum" + std::to_string(i)));
      }
    }
  }
  INGOT_ASSIGN_OR_RETURN(int source, ctx.reshape(n, self, source_shape, "rows"));
  INGOT_ASSIGN_OR_RETURN(int y, ctx.add(n, net::GatherParams{0}, {source, flat}));
  ctx.bind(n.output(), y);
  return Status::ok();
}

}  // namespace

INGOT_CONVERTER("aten::gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor", convert_gather);
INGOT_CONVERTER("aten::index.Tensor(Tensor self, Tensor?[] indices) -> Tensor", convert_index);

}  // namespace ingot::convert
