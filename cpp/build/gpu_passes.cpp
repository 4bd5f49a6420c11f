#include "build/gpu_passes.h"

#include <cstdlib>
#include <cstring>

#include "build/rewriter.h"

namespace ingot::build {

namespace {

// True if `batch` (right-aligned against `out`) equals it or is all ones.
bool batch_ok(const ir::Shape& batch, const ir::Shape& out) {
  if (batch.size() > out.size()) return false;
  bool ones = true, equal = true;
  size_t off = out.size() - batch.size();
  for (size_t i = 0; i < out.size(); ++i) {
    ir::SymExpr d = i < off ? ir::SymExpr(1) : batch[i - off];
    ones &= d.as_constant() == 1;
    equal &= d == out[i];
  }
  return ones || equal;
}

// cuBLASLt batches share one stride per operand: an operand whose batch dims broadcast in a
// mixed way (some dims 1, others not) is expanded first.
}  // namespace

Expected<net::Network> materialize_broadcasts(const net::Network& net) {
  NetworkRewriter rw(net);
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    size_t operands = layer.kind() == net::LayerKind::kMatMul ? 2 : layer.kind() == net::LayerKind::kAttention ? 3 : 0;
    const auto* att = std::get_if<net::AttentionParams>(&layer.params);
    if (operands == 0 || (att && (att->strided_inputs() || att->strided_output()))) {  // views: no broadcasts
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const ir::Shape& out = net.tensor(layer.outputs[0]).type.shape;
    ir::Shape out_batch(out.begin(), out.end() - 2);
    std::vector<int> inputs;
    for (size_t i = 0; i < layer.inputs.size(); ++i) {
      int id = rw.map(layer.inputs[i]);
      if (i < operands && id >= 0) {
        const ir::Shape& s = rw.out().tensor(id).type.shape;
        ir::Shape batch(s.begin(), s.end() - 2);
        bool ok = batch_ok(batch, out_batch);
        if (layer.kind() == net::LayerKind::kAttention) ok = batch == out_batch;  // the runner needs them equal
        if (!ok) {
          net::ExpandParams e;
          e.shape = out_batch;
          e.shape.push_back(s[s.size() - 2]);
          e.shape.push_back(s[s.size() - 1]);
          INGOT_ASSIGN_OR_RETURN(std::vector<int> x, rw.add(e, {id}, layer.name + ".expand" + std::to_string(i), layer.origins));
          id = x[0];
        }
      }
      inputs.push_back(id);
    }
    INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, rw.add(layer.params, inputs, layer.name, layer.origins, layer.tactic));
    for (size_t i = 0; i < outs.size(); ++i) rw.set(layer.outputs[i], outs[i]);
  }
  return rw.finish();
}

// In fp16/bf16 matmuls, GELU takes its tanh form, which cuBLASLt applies in the GEMM's
// epilogue (no extra kernel). The two forms differ by at most about 5e-4 absolute, inside the
// error half precision already has; float32 engines keep the exact (erf) form.
Expected<net::Network> tanh_gelu_in_half_precision(net::Network net) {
  for (net::Layer& layer : net.mutable_layers()) {
    auto* m = std::get_if<net::MatMulParams>(&layer.params);
    if (!m || m->activation != net::UnaryOp::kGeluErf) continue;
    ir::DType dt = net.tensor(layer.outputs[0]).type.dtype;
    if (dt == ir::DType::kFloat16 || dt == ir::DType::kBFloat16) m->activation = net::UnaryOp::kGeluTanh;
  }
  return net;
}

// Attention layers that cuDNN's fused SDPA runs (half precision, head dims multiples of 8 up
// to 256, q / k / v of rank 3 or 4 with equal batch dims) read their operands through strides,
// so the head split / merge copies around them go (build::fold_attention_layouts).
bool sdpa_reads_strided(const net::Layer& layer, const net::Network& net) {
  if (layer.inputs.size() < 3) return false;
  const ir::TensorType &q = net.tensor(layer.inputs[0]).type, &k = net.tensor(layer.inputs[1]).type,
                       &v = net.tensor(layer.inputs[2]).type;
  if (q.dtype != ir::DType::kFloat16 && q.dtype != ir::DType::kBFloat16) return false;
  if (q.rank() < 3 || q.rank() > 4 || k.rank() != q.rank() || v.rank() != q.rank()) return false;
  for (const ir::TensorType* t : {&q, &v}) {
    auto e = t->shape.back().as_constant();
    if (!e || *e % 8 != 0 || *e > 256) return false;
  }
  for (size_t d = 0; d + 2 < q.rank(); ++d) {
    if (q.shape[d] != k.shape[d] || q.shape[d] != v.shape[d]) return false;
  }
  return true;
}

Expected<net::Network> gpu_graph_passes(net::Network network, const GpuPassOptions& options) {
  INGOT_ASSIGN_OR_RETURN(network, recognize_silu(network));  // x * sigmoid(x): a fusable silu
  INGOT_ASSIGN_OR_RETURN(net::Network net, fuse_epilogues(network));
  // Patch-embedding convolutions as a permute and a GEMM (with the bias and activation just fused).
  INGOT_ASSIGN_OR_RETURN(net, patch_convolutions_as_matmuls(net));
  const auto& prec = options.enabled_precisions;
  if (prec.count(ir::DType::kFloat16)) {
    INGOT_ASSIGN_OR_RETURN(net, lower_precision(net, ir::DType::kFloat16));
  } else if (prec.count(ir::DType::kBFloat16)) {
    INGOT_ASSIGN_OR_RETURN(net, lower_precision(net, ir::DType::kBFloat16));
  }
  INGOT_ASSIGN_OR_RETURN(net, tanh_gelu_in_half_precision(net));
  // After precision (the filter looks at dtypes); the residual adds it exposes fuse next.
  // The layers cuDNN's SDPA takes read bool masks as one shared bias instead of converting them
  // each (before the layouts fold: the filter looks at q / k / v as [..., L, head dim]).
  INGOT_ASSIGN_OR_RETURN(net, bool_masks_as_bias(net, sdpa_reads_strided));
  INGOT_ASSIGN_OR_RETURN(net, fold_attention_layouts(net, sdpa_reads_strided));
  INGOT_ASSIGN_OR_RETURN(net, fuse_epilogues(net));
  // FC1, FC2 and the LayerNorm of a transformer block as one layer, once the matmuls carry
  // their bias, activation and residual.
  if (options.feed_forward) {
    INGOT_ASSIGN_OR_RETURN(net, fuse_feed_forward(net, options.feed_forward));
  }
  // Half-precision 2-D convolutions run NHWC (tensor-core kernels want channels-last).
  if (options.channels_last) {
    INGOT_ASSIGN_OR_RETURN(net, channels_last(net, {ir::DType::kFloat16, ir::DType::kBFloat16}, nullptr));
    // Squeeze-and-excitation gates as one layer instead of a mean and two convolutions on 1x1
    // pixels, which cuDNN runs slowly and builds slowly (bench/NOTES.md, note 14).
    if (options.squeeze_excite) {
      INGOT_ASSIGN_OR_RETURN(net, fuse_squeeze_excite(net, options.squeeze_excite));
      // Large gated activations: the gates scale the projection's weights instead.
      if (options.squeeze_excite_weights) {
        INGOT_ASSIGN_OR_RETURN(net, squeeze_excite_into_projections(net));
      }
      // The depthwise convolutions before the gates add x's sums as they write x.
      if (options.squeeze_excite_sums != SumsFor::kNone) {
        INGOT_ASSIGN_OR_RETURN(net, squeeze_excite_sums(net, options.squeeze_excite_sums == SumsFor::kAll));
      }
    }
    // Back to NCHW and then flattened into tokens (ViT's patch embedding): no copy at all.
    INGOT_ASSIGN_OR_RETURN(net, fold_permute_chains(net));
  }
  // Last, so that every epilogue, mask and layout pass has taken what it fuses first.
  if (options.pointwise) {
    INGOT_ASSIGN_OR_RETURN(net, fuse_pointwise(net));
  }
  return materialize_broadcasts(net);
}

bool cpu_runs_gpu_passes() {
  const char* env = std::getenv("INGOT_CPU_GPU_PASSES");
  return env && std::strcmp(env, "1") == 0;
}

bool pointwise_fusion_enabled() {
  const char* env = std::getenv("INGOT_POINTWISE_FUSION");
  return !env || std::strcmp(env, "0") != 0;
}

bool feed_forward_fusion_enabled() {
  const char* env = std::getenv("INGOT_FFN_FUSION");
  return env && std::strcmp(env, "1") == 0;
}

bool squeeze_excite_weights_enabled() {
  const char* env = std::getenv("INGOT_SE_WEIGHTS");
  return !env || std::strcmp(env, "0") != 0;
}

SumsFor squeeze_excite_sums_for() {
  const char* env = std::getenv("INGOT_SE_SUMS");
  if (env && std::strcmp(env, "0") == 0) return SumsFor::kNone;
  if (env && std::strcmp(env, "1") == 0) return SumsFor::kAll;
  return SumsFor::kGates;
}

}  // namespace ingot::build
