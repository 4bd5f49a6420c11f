// fold_attention_layouts: attention reads q / k / v and writes its output through strides, so
// the copies that models put around it (head split and merge permutes, MultiheadAttention's
// packed-projection slices) do not run, and the q / k / v projections become one GEMM.
#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include "build/passes.h"
#include "build/rewriter.h"
#include "build/movement.h"
#include "build/strided_view.h"

namespace ingot::build {

namespace {

struct Readers {
  explicit Readers(const net::Network& net) : of(net.tensors().size()) {
    for (size_t l = 0; l < net.layers().size(); ++l) {
      for (int id : net.layers()[l].inputs) {
        if (id >= 0) of[static_cast<size_t>(id)].push_back(l);
      }
    }
    outputs.insert(net.outputs().begin(), net.outputs().end());
  }
  // The one layer reading `id`, unless it has several readers or is an engine output.
  std::optional<size_t> sole(int id) const {
    const auto& r = of[static_cast<size_t>(id)];
    if (r.size() != 1 || outputs.count(id)) return std::nullopt;
    return r[0];
  }
  std::vector<std::vector<size_t>> of;
  std::set<int> outputs;
};

// Applies the inverse of movement layer `l` (reshape or permute) to a view of its output.
bool apply_inverse(const net::Network& net, const net::Layer& l, StridedView* v) {
  if (l.kind() == net::LayerKind::kReshape) return v->reshape(net.tensor(l.inputs[0]).type.shape);
  if (const auto* p = std::get_if<net::PermuteParams>(&l.params)) return v->permute(inverse_permutation(p->perm));
  return false;
}

bool keeps_last_axis(const std::vector<int64_t>& perm) {
  return !perm.empty() && perm.back() == static_cast<int64_t>(perm.size()) - 1;
}

// y = act(a @ W + bias) with a 2-D weight and a bias along the last axis only, no residual: it
// treats every row of a alike, so it commutes with permutes of a's other axes.
bool row_wise(const net::Network& net, const net::Layer& l) {
  const auto* m = std::get_if<net::MatMulParams>(&l.params);
  if (!m || m->transpose_a || l.inputs.size() < 2) return false;
  if (l.inputs.size() > 3 && l.inputs[3] >= 0) return false;
  if (net.tensor(l.inputs[1]).type.rank() != 2 || net.tensor(l.inputs[0]).type.rank() < 2) return false;
  if (l.inputs.size() > 2 && l.inputs[2] >= 0) {
    const ir::Shape& b = net.tensor(l.inputs[2]).type.shape;
    for (size_t d = 0; d + 1 < b.size(); ++d) {
      if (b[d].as_constant() != 1) return false;
    }
  }
  return true;
}

// Where the attention output `id` can be written directly: the end of the chain of reshapes
// and permutes that alone read it (each intermediate read once and not an engine output), with
// the strides of the attention's dims in that tensor. `chain` gets the layers that then go.
std::optional<OperandView> output_view(const net::Network& net, const Readers& readers, int id,
                                       std::vector<size_t>* chain) {
  std::vector<size_t> layers;
  for (int t = id; layers.size() < kMaxChain;) {
    auto r = readers.sole(t);
    if (!r) break;
    const net::Layer& l = net.layers()[*r];
    if (!is_movement(l) || l.kind() == net::LayerKind::kSlice) break;
    layers.push_back(*r);
    t = l.outputs[0];
  }
  const ir::Shape& logical = net.tensor(id).type.shape;
  for (size_t n = layers.size(); n > 0; --n) {
    int target = net.layers()[layers[n - 1]].outputs[0];
    StridedView v = StridedView::packed(net.tensor(target).type.shape);
    bool ok = true;
    for (size_t i = n; ok && i-- > 0;) ok = apply_inverse(net, net.layers()[layers[i]], &v);
    ir::Shape strides;
    if (!ok || v.shape() != logical || !v.strides(&strides) || !last_stride_is_one(strides)) continue;
    chain->assign(layers.begin(), layers.begin() + static_cast<std::ptrdiff_t>(n));
    return OperandView{target, std::move(strides), v.offset()};
  }
  return std::nullopt;
}

// Does `id` reach an attention operand (q, k or v) through movement layers only?
bool reaches_attention(const net::Network& net, const Readers& readers, int id, const AttentionFilter& eligible,
                       int depth = 0) {
  if (depth > kMaxChain) return false;
  for (size_t r : readers.of[static_cast<size_t>(id)]) {
    const net::Layer& l = net.layers()[r];
    if (l.kind() == net::LayerKind::kAttention && eligible(l, net)) {
      for (size_t i = 0; i < 3 && i < l.inputs.size(); ++i) {
        if (l.inputs[i] == id) return true;
      }
    }
    if (is_movement(l) && reaches_attention(net, readers, l.outputs[0], eligible, depth + 1)) return true;
  }
  return false;
}

// Is `id` an attention output seen through reshapes and permutes?
bool comes_from_attention(const net::Network& net, int id, const AttentionFilter& eligible) {
  for (int depth = 0, t = id; depth < kMaxChain; ++depth) {
    const net::Layer* l = producer(net, t);
    if (!l) return false;
    if (l->kind() == net::LayerKind::kAttention) return eligible(*l, net);
    if (!is_movement(*l) || l->kind() == net::LayerKind::kSlice) return false;
    t = l->inputs[0];
  }
  return false;
}

// l's inputs mapped, with the first one replaced by `first` (already a new id).
std::vector<int> with_first_input(NetworkRewriter& rw, const net::Layer& l, int first) {
  std::vector<int> in{first};
  for (size_t i = 1; i < l.inputs.size(); ++i) in.push_back(rw.map(l.inputs[i]));
  return in;
}

// Moves permutes across row-wise matmuls towards attention layers: permute -> matmul -> (to
// attention) becomes matmul -> permute, and (from attention) -> matmul -> permute becomes
// permute -> matmul, so that the permute joins the attention's chain of movement layers.
Expected<net::Network> move_permutes(const net::Network& net, const AttentionFilter& eligible, int* moved) {
  Readers readers(net);
  const auto& layers = net.layers();
  std::vector<int> sink(layers.size(), -1), hoist(layers.size(), -1);  // matmul -> its permute
  std::vector<bool> skip(layers.size(), false);
  for (size_t l = 0; l < layers.size(); ++l) {
    const net::Layer& m = layers[l];
    if (!row_wise(net, m)) continue;
    const net::Layer* p = producer(net, m.inputs[0]);
    if (p && p->kind() == net::LayerKind::kPermute && keeps_last_axis(std::get<net::PermuteParams>(p->params).perm) &&
        readers.sole(m.inputs[0]) == l && reaches_attention(net, readers, m.outputs[0], eligible)) {
      size_t pi = static_cast<size_t>(net.tensor(m.inputs[0]).producer);
      if (skip[pi]) continue;
      sink[l] = static_cast<int>(pi), skip[pi] = true;
      continue;
    }
    auto r = readers.sole(m.outputs[0]);
    if (!r || skip[*r] || layers[*r].kind() != net::LayerKind::kPermute) continue;
    if (!keeps_last_axis(std::get<net::PermuteParams>(layers[*r].params).perm)) continue;
    if (readers.sole(m.inputs[0]) != l || !comes_from_attention(net, m.inputs[0], eligible)) continue;
    hoist[l] = static_cast<int>(*r), skip[*r] = true;
  }
  NetworkRewriter rw(net);
  int count = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const net::Layer& m = layers[l];
    if (skip[l]) continue;
    if (sink[l] >= 0) {
      const net::Layer& p = layers[static_cast<size_t>(sink[l])];
      INGOT_ASSIGN_OR_RETURN(auto y, rw.add(m.params, with_first_input(rw, m, rw.map(p.inputs[0])), m.name, m.origins, m.tactic));
      INGOT_ASSIGN_OR_RETURN(auto z, rw.add(p.params, {y[0]}, p.name, p.origins));
      rw.set(m.outputs[0], z[0]);
      ++count;
    } else if (hoist[l] >= 0) {
      const net::Layer& p = layers[static_cast<size_t>(hoist[l])];
      INGOT_ASSIGN_OR_RETURN(auto a, rw.add(p.params, {rw.map(m.inputs[0])}, p.name, p.origins));
      INGOT_ASSIGN_OR_RETURN(auto y, rw.add(m.params, with_first_input(rw, m, a[0]), m.name, m.origins, m.tactic));
      rw.set(p.outputs[0], y[0]);
      ++count;
    } else {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
    }
  }
  if (moved) *moved = count;
  return rw.finish();
}

// Gives eligible attention layers strided operands and outputs.
Expected<net::Network> fold_views(const net::Network& net, const AttentionFilter& eligible, int* operands,
                                  int* outputs) {
  Readers readers(net);
  const auto& layers = net.layers();
  std::vector<std::optional<net::AttentionParams>> folded(layers.size());
  std::vector<std::vector<int>> storage(layers.size());
  std::vector<int> writes_to(layers.size(), -1);
  std::vector<bool> skip(layers.size(), false);
  for (size_t l = 0; l < layers.size(); ++l) {
    const net::Layer& a = layers[l];
    if (a.kind() != net::LayerKind::kAttention || !eligible(a, net)) continue;
    net::AttentionParams p = std::get<net::AttentionParams>(a.params);
    if (p.strided_inputs() || p.strided_output()) continue;
    storage[l] = a.inputs;
    bool any = false;
    ir::Shape* shapes[] = {&p.q_shape, &p.k_shape, &p.v_shape};
    ir::Shape* strides[] = {&p.q_strides, &p.k_strides, &p.v_strides};
    ir::SymExpr* offsets[] = {&p.q_offset, &p.k_offset, &p.v_offset};
    // A storage tensor that an earlier attention's output fold removes cannot be read.
    auto gone = [&](int id) {
      int prod = net.tensor(id).producer;
      return prod >= 0 && (skip[static_cast<size_t>(prod)] || writes_to[static_cast<size_t>(prod)] >= 0);
    };
    for (size_t i = 0; i < 3; ++i) {
      auto v = input_view(net, a.inputs[i]);
      if (!v || gone(v->storage)) continue;
      *shapes[i] = net.tensor(a.inputs[i]).type.shape;
      *strides[i] = v->strides;
      *offsets[i] = v->offset;
      storage[l][i] = v->storage;
      any = true;
      if (operands) ++*operands;
    }
    std::vector<size_t> chain;
    if (auto v = output_view(net, readers, a.outputs[0], &chain); v && v->offset.as_constant() == 0) {
      p.out_shape = net.tensor(v->storage).type.shape;
      p.out_strides = v->strides;
      writes_to[l] = v->storage;
      for (size_t c : chain) skip[c] = true;
      any = true;
      if (outputs) ++*outputs;
    }
    if (any) folded[l] = p;
  }
  NetworkRewriter rw(net);
  for (size_t l = 0; l < layers.size(); ++l) {
    if (skip[l]) continue;
    if (!folded[l]) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const net::Layer& a = layers[l];
    std::vector<int> in;
    for (int id : storage[l]) in.push_back(rw.map(id));
    INGOT_ASSIGN_OR_RETURN(auto y, rw.add(*folded[l], in, a.name, a.origins, a.tactic));
    rw.set(writes_to[l] >= 0 ? writes_to[l] : a.outputs[0], y[0]);
  }
  return rw.finish();
}

// A view over one projection's output [rows..., n] moved into the merged output [rows..., total]
// at column `column`: strides that step whole rows scale by total / n, those inside a row stay,
// provided the columns a view reads stay inside its own n.
bool move_into_merged(const ir::Shape& shape, ir::Shape* strides, ir::SymExpr* offset, int64_t n, int64_t total,
                      int64_t column) {
  auto off = offset->as_constant();
  if (!off) return false;
  int64_t col_extent = *off % n;
  for (size_t d = 0; d < shape.size(); ++d) {
    ir::SymExpr& s = (*strides)[d];
    if (shape[d].as_constant() == 1) continue;
    ir::SymExpr rows = ir::SymExpr::floordiv(s, ir::SymExpr(n));
    if (rows * ir::SymExpr(n) == s) {
      s = rows * ir::SymExpr(total);
      continue;
    }
    auto sc = s.as_constant(), dc = shape[d].as_constant();
    if (!sc || !dc || *sc >= n) return false;
    col_extent += (*dc - 1) * *sc;
  }
  if (col_extent >= n) return false;
  *offset = ir::SymExpr(*off / n * total + *off % n + column);
  return true;
}

// Weight [n_i, K] (transpose_b) or [K, n_i] constants concatenated along n; biases [.., n_i]
// concatenated into one [sum n_i].
ir::ConstantData concat_columns(const std::vector<const ir::ConstantData*>& parts, bool rows_are_columns) {
  size_t elem = ir::dtype_size(parts[0]->dtype);
  std::vector<uint8_t> bytes;
  int64_t total = 0;
  for (const auto* p : parts) total += rows_are_columns ? p->dims[0] : p->dims.back();
  if (rows_are_columns || parts[0]->dims.size() == 1) {
    for (const auto* p : parts) {
      const auto* b = static_cast<const uint8_t*>(p->data);
      bytes.insert(bytes.end(), b, b + p->nbytes);
    }
    std::vector<int64_t> dims = parts[0]->dims;
    if (rows_are_columns) dims[0] = total;
    else dims = {total};
    return ir::ConstantData::owned(parts[0]->dtype, dims, std::move(bytes));
  }
  int64_t k = parts[0]->dims[0];  // [K, n_i]: interleave row by row
  for (int64_t r = 0; r < k; ++r) {
    for (const auto* p : parts) {
      size_t row = static_cast<size_t>(p->dims[1]) * elem;
      const auto* b = static_cast<const uint8_t*>(p->data) + static_cast<size_t>(r) * row;
      bytes.insert(bytes.end(), b, b + row);
    }
  }
  return ir::ConstantData::owned(parts[0]->dtype, {k, total}, std::move(bytes));
}

// Attention layers whose q, k and v are views of three projections of one tensor get one merged
// projection (weights concatenated) whose output holds all three.
Expected<net::Network> merge_projections(const net::Network& net, int* merged) {
  Readers readers(net);
  const auto& layers = net.layers();
  struct Merge {
    std::array<size_t, 3> proj;
    net::AttentionParams params;
  };
  std::vector<std::optional<Merge>> at_attention(layers.size());
  std::vector<int> emit_at(layers.size(), -1);  // projection layer -> attention whose merge it emits
  std::vector<bool> skip(layers.size(), false);
  for (size_t l = 0; l < layers.size(); ++l) {
    const net::Layer& a = layers[l];
    if (a.kind() != net::LayerKind::kAttention) continue;
    net::AttentionParams p = std::get<net::AttentionParams>(a.params);
    if (p.q_shape.empty() || p.k_shape.empty() || p.v_shape.empty()) continue;
    std::array<size_t, 3> proj{};
    bool ok = a.inputs[0] != a.inputs[1] && a.inputs[1] != a.inputs[2] && a.inputs[0] != a.inputs[2];
    for (size_t i = 0; ok && i < 3; ++i) {
      int t = a.inputs[i];
      const net::Layer* m = producer(net, t);
      ok = m && row_wise(net, *m) && readers.sole(t) == l && net.tensor(m->inputs[1]).constant &&
           (m->inputs.size() < 3 || m->inputs[2] < 0 || net.tensor(m->inputs[2]).constant);
      if (ok) proj[i] = static_cast<size_t>(net.tensor(t).producer);
    }
    if (!ok) continue;
    const net::Layer& q = layers[proj[0]];
    auto has_bias = [](const net::Layer& m) { return m.inputs.size() > 2 && m.inputs[2] >= 0; };
    for (size_t i = 1; ok && i < 3; ++i) {
      const net::Layer& m = layers[proj[i]];
      ok = m.inputs[0] == q.inputs[0] && params_equal(m.params, q.params) && has_bias(m) == has_bias(q) &&
           net.tensor(m.inputs[1]).type.dtype == net.tensor(q.inputs[1]).type.dtype &&
           (!has_bias(m) || net.tensor(m.inputs[2]).type.dtype == net.tensor(q.inputs[2]).type.dtype);
    }
    if (!ok || skip[proj[0]] || skip[proj[1]] || skip[proj[2]]) continue;
    std::array<int64_t, 3> n{};
    int64_t total = 0;
    for (size_t i = 0; ok && i < 3; ++i) {
      auto c = net.tensor(layers[proj[i]].outputs[0]).type.shape.back().as_constant();
      ok = c.has_value();
      if (ok) n[i] = *c, total += *c;
    }
    ir::Shape* shapes[] = {&p.q_shape, &p.k_shape, &p.v_shape};
    ir::Shape* strides[] = {&p.q_strides, &p.k_strides, &p.v_strides};
    ir::SymExpr* offsets[] = {&p.q_offset, &p.k_offset, &p.v_offset};
    for (size_t i = 0, column = 0; ok && i < 3; column += static_cast<size_t>(n[i]), ++i) {
      ok = move_into_merged(*shapes[i], strides[i], offsets[i], n[i], total, static_cast<int64_t>(column));
    }
    if (!ok) continue;
    size_t last = *std::max_element(proj.begin(), proj.end());
    for (size_t i : proj) skip[i] = true;
    emit_at[last] = static_cast<int>(l);
    at_attention[l] = Merge{proj, p};
  }
  NetworkRewriter rw(net);
  std::vector<int> merged_out(layers.size(), -1);  // attention -> merged projection output
  int count = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (emit_at[l] >= 0) {
      const Merge& mg = *at_attention[static_cast<size_t>(emit_at[l])];
      const net::Layer& q = layers[mg.proj[0]];
      bool transpose_b = std::get<net::MatMulParams>(q.params).transpose_b;
      std::vector<const ir::ConstantData*> w, b;
      std::vector<std::string> origins;
      for (size_t i : mg.proj) {
        const net::Layer& m = layers[i];
        w.push_back(&*net.tensor(m.inputs[1]).constant);
        if (m.inputs.size() > 2 && m.inputs[2] >= 0) b.push_back(&*net.tensor(m.inputs[2]).constant);
        origins.insert(origins.end(), m.origins.begin(), m.origins.end());
      }
      std::vector<int> in{rw.map(q.inputs[0]), rw.out().add_constant(net.tensor(q.inputs[1]).name + ".qkv",
                                                                      concat_columns(w, transpose_b))};
      if (!b.empty()) in.push_back(rw.out().add_constant(net.tensor(q.inputs[2]).name + ".qkv", concat_columns(b, false)));
      INGOT_ASSIGN_OR_RETURN(auto y, rw.add(q.params, in, q.name + ".qkv", origins, q.tactic));
      merged_out[static_cast<size_t>(emit_at[l])] = y[0];
      ++count;
      continue;
    }
    if (skip[l]) continue;
    if (!at_attention[l]) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const net::Layer& a = layers[l];
    int qkv = merged_out[l];
    std::vector<int> in{qkv, qkv, qkv};
    for (size_t i = 3; i < a.inputs.size(); ++i) in.push_back(rw.map(a.inputs[i]));
    INGOT_ASSIGN_OR_RETURN(auto y, rw.add(at_attention[l]->params, in, a.name, a.origins, a.tactic));
    rw.set(a.outputs[0], y[0]);
  }
  if (merged) *merged = count;
  return rw.finish();
}

}  // namespace

Expected<net::Network> fold_attention_layouts(const net::Network& net, const AttentionFilter& eligible,
                                              AttentionLayoutStats* stats) {
  AttentionLayoutStats s;
  INGOT_ASSIGN_OR_RETURN(net::Network moved, move_permutes(net, eligible, &s.permutes_moved));
  INGOT_ASSIGN_OR_RETURN(net::Network folded, fold_views(moved, eligible, &s.operands_folded, &s.outputs_folded));
  INGOT_ASSIGN_OR_RETURN(folded, drop_dead_layers(folded));
  INGOT_ASSIGN_OR_RETURN(net::Network merged, merge_projections(folded, &s.projections_merged));
  if (stats) *stats = s;
  return merged;
}

}  // namespace ingot::build
