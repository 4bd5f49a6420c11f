// Data movement: reshape, permute, expand, concat, slice, gather, identity, and the two
// generators fill and iota. Movement copies bytes, so it works for every dtype unchanged.
#include <cstring>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

template <typename U>
void gather_walk(const StridedWalk& w, const U* src, U* dst) {
  int64_t s = w.inner_stride(0);
  w.for_each_run([&](int64_t o, const int64_t* offs, int64_t n) {
    const U* p = src + offs[0];
    U* q = dst + o;
    if (s == 1) {
      std::memcpy(q, p, static_cast<size_t>(n) * sizeof(U));
      return;
    }
    for (int64_t i = 0; i < n; ++i) q[i] = p[i * s];
  });
}

// dst (dense, row-major over `out_dims`) [i] = src[base + sum(index_d * src_strides_d)].
void strided_copy(const Dims& out_dims, const Dims& src_strides, int64_t base, const TensorView& src, const TensorView& dst) {
  StridedWalk w(out_dims, {src_strides});
  size_t es = ir::dtype_size(src.dtype);
  const char* s = static_cast<const char*>(src.data) + base * static_cast<int64_t>(es);
  switch (es) {
    case 1: gather_walk(w, reinterpret_cast<const uint8_t*>(s), static_cast<uint8_t*>(dst.data)); break;
    case 2: gather_walk(w, reinterpret_cast<const uint16_t*>(s), static_cast<uint16_t*>(dst.data)); break;
    case 4: gather_walk(w, reinterpret_cast<const uint32_t*>(s), static_cast<uint32_t*>(dst.data)); break;
    default: gather_walk(w, reinterpret_cast<const uint64_t*>(s), static_cast<uint64_t*>(dst.data)); break;
  }
}

void copy_all(const TensorView& src, const TensorView& dst) {
  size_t bytes = static_cast<size_t>(dst.numel()) * ir::dtype_size(dst.dtype);
  if (bytes > 0 && src.data != dst.data) std::memmove(dst.data, src.data, bytes);
}

}  // namespace

Status run(const net::ReshapeParams&, const Tensors& in, const Tensors& out) {
  if (in[0].numel() != out[0].numel()) {
    return invalid_argument("reshape: input has ", in[0].numel(), " elements, output ", out[0].numel());
  }
  copy_all(in[0], out[0]);
  return Status::ok();
}

Status run(const net::IdentityParams&, const Tensors& in, const Tensors& out) {
  copy_all(in[0], out[0]);
  return Status::ok();
}

Status run(const net::PermuteParams& p, const Tensors& in, const Tensors& out) {
  Dims in_strides = row_major_strides(in[0].dims), strides;
  for (int64_t a : p.perm) strides.push_back(in_strides[static_cast<size_t>(a)]);
  strided_copy(out[0].dims, strides, 0, in[0], out[0]);
  return Status::ok();
}

Status run(const net::ExpandParams&, const Tensors& in, const Tensors& out) {
  strided_copy(out[0].dims, broadcast_strides(in[0].dims, out[0].dims), 0, in[0], out[0]);
  return Status::ok();
}

Status run(const net::SliceParams& p, const Tensors& in, const Tensors& out) {
  const TensorView& x = in[0];
  Dims strides = row_major_strides(x.dims);
  int64_t base = 0;
  for (size_t i = 0; i < p.axes.size(); ++i) {
    size_t a = static_cast<size_t>(p.axes[i]);
    int64_t start = p.starts[i].constant_value();
    base += start * strides[a];
    strides[a] *= p.steps[i];
  }
  if (out[0].numel() == 0) return Status::ok();
  strided_copy(out[0].dims, strides, base, x, out[0]);
  return Status::ok();
}

Status run(const net::ConcatParams& p, const Tensors& in, const Tensors& out) {
  size_t axis = static_cast<size_t>(p.axis);
  const Dims& od = out[0].dims;
  size_t es = ir::dtype_size(out[0].dtype);
  int64_t outer = product(od, 0, axis);
  int64_t out_row = product(od, axis, od.size()) * static_cast<int64_t>(es);  // bytes per outer index
  auto* dst = static_cast<char*>(out[0].data);
  int64_t offset = 0;  // bytes into an output row
  for (const TensorView& t : in) {
    int64_t row = product(t.dims, axis, t.dims.size()) * static_cast<int64_t>(es);
    const auto* src = static_cast<const char*>(t.data);
    for (int64_t o = 0; o < outer && row > 0; ++o) {
      std::memcpy(dst + o * out_row + offset, src + o * row, static_cast<size_t>(row));
    }
    offset += row;
  }
  return Status::ok();
}

Status run(const net::GatherParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &data = in[0], &indices = in[1];
  size_t axis = static_cast<size_t>(p.axis);
  int64_t outer = product(data.dims, 0, axis), size = data.dims[axis];
  int64_t inner = product(data.dims, axis + 1, data.dims.size());
  std::vector<int64_t> idx = load_ints(indices);
  for (size_t j = 0; j < idx.size(); ++j) {
    int64_t v = idx[j];
    if (v < -size || v >= size) {
      return invalid_argument("gather: index ", v, " (at position ", j, " of the indices) is out of range for axis ",
                              p.axis, " of size ", size, " in ", ir::dtype_name(data.dtype), ingot::shape_str(data.dims));
    }
    if (v < 0) idx[j] = v + size;
  }
  size_t es = ir::dtype_size(data.dtype);
  size_t chunk = static_cast<size_t>(inner) * es;
  const auto* src = static_cast<const char*>(data.data);
  auto* dst = static_cast<char*>(out[0].data);
  if (chunk == 0) return Status::ok();
  int64_t n = static_cast<int64_t>(idx.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      std::memcpy(dst + static_cast<size_t>(o * n + j) * chunk, src + static_cast<size_t>(o * size + idx[static_cast<size_t>(j)]) * chunk, chunk);
    }
  }
  return Status::ok();
}

Status run(const net::FillParams& p, const Tensors&, const Tensors& out) {
  const TensorView& y = out[0];
  size_t es = ir::dtype_size(y.dtype);
  unsigned char one[8] = {};
  store_double_at(one, y.dtype, 0, p.value);
  auto* dst = static_cast<unsigned char*>(y.data);
  for (int64_t i = 0, n = y.numel(); i < n; ++i) std::memcpy(dst + static_cast<size_t>(i) * es, one, es);
  return Status::ok();
}

Status run(const net::IotaParams& p, const Tensors&, const Tensors& out) {
  const TensorView& y = out[0];
  int64_t n = y.numel();
  if (is_float_dtype(y.dtype)) {
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = p.start + static_cast<double>(i) * p.step;
    store_doubles(v.data(), y);
    return Status::ok();
  }
  // As torch.arange with an integer dtype: start and step are converted to integers first.
  int64_t start = float_to_int(p.start, DType::kInt64), step = float_to_int(p.step, DType::kInt64);
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    v[static_cast<size_t>(i)] = static_cast<int64_t>(static_cast<uint64_t>(start) + static_cast<uint64_t>(i) * static_cast<uint64_t>(step));
  }
  store_ints(v.data(), y);
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
