// patch_convolutions_as_matmuls: a convolution whose kernel tiles its input without overlap,
// padding or dilation (kernel == stride: the patch embedding of ViT, the stems of Swin and
// ConvNeXt) on few input channels becomes one permute and one GEMM:
//   x [N, C, H, W] -> [N, C, H/kh, kh, W/kw, kw] -> permute -> [N, H/kh, W/kw, C, kh, kw]
//   -> [N * H/kh * W/kw, C * kh * kw] . w [O, C * kh * kw]^T (+ bias, activation)
//   -> [N, H/kh, W/kw, O] -> permute -> [N, O, H/kh, W/kw]
// cuDNN runs these convolutions with slow kernels (ViT-B/16's 16x16 / 16 on 3 channels: 55 us
// at batch 1 and 280 us at batch 32 on an H100, bench/NOTES.md note 53), while the GEMM is one
// of cuBLASLt's best shapes (K = 768 for ViT). The output permute usually folds away: ViT then
// flattens and transposes the NCHW result into tokens, which are the GEMM's output itself
// (fold_permute_chains).
#include <optional>

#include "build/passes.h"
#include "build/rewriter.h"

namespace ingot::build {

namespace {

constexpr int64_t kMaxPatchChannels = 8;  // image stems: 1 to 4 channels in practice

struct Patch {
  int64_t c = 0, h = 0, w = 0, kh = 0, kw = 0, o = 0;
};

// The layer's dims when it is a patch convolution that the rewrite takes.
std::optional<Patch> patch_of(const net::Network& net, const net::Layer& layer) {
  const auto* p = std::get_if<net::ConvolutionParams>(&layer.params);
  if (!p || p->transposed || p->groups != 1 || p->channels_last || p->stride.size() != 2 || p->padding.size() != 2) {
    return std::nullopt;
  }
  if (layer.inputs.size() > 3 && layer.inputs[3] >= 0) return std::nullopt;  // a fused residual: NCHW-shaped
  const ir::TensorType& x = net.tensor(layer.inputs[0]).type;
  const net::Tensor& wt = net.tensor(layer.inputs[1]);
  if (x.rank() != 4 || !ir::is_floating(x.dtype) || !wt.constant || wt.type.rank() != 4) return std::nullopt;
  auto dims = ir::static_dims(wt.type.shape);
  auto c = x.shape[1].as_constant(), h = x.shape[2].as_constant(), w = x.shape[3].as_constant();
  if (!dims || !c || !h || !w) return std::nullopt;
  Patch q{*c, *h, *w, (*dims)[2], (*dims)[3], (*dims)[0]};
  for (size_t d = 0; d < 2; ++d) {
    const int64_t k = d == 0 ? q.kh : q.kw;
    if (p->stride[d] != k || p->padding[d] != 0 || (!p->dilation.empty() && p->dilation[d] != 1)) return std::nullopt;
  }
  if (q.c > kMaxPatchChannels || (*dims)[1] != q.c || q.kh * q.kw < 2 || q.h % q.kh || q.w % q.kw) return std::nullopt;
  return q;
}

}  // namespace

Expected<net::Network> patch_convolutions_as_matmuls(const net::Network& net, int* rewritten) {
  NetworkRewriter rw(net);
  int count = 0;
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    const std::optional<Patch> q = patch_of(net, layer);
    if (!q) {
      INGOT_RETURN_IF_ERROR(rw.copy(l));
      continue;
    }
    const auto& conv = std::get<net::ConvolutionParams>(layer.params);
    const ir::SymExpr n = net.tensor(layer.inputs[0]).type.shape[0];
    const int64_t ho = q->h / q->kh, wo = q->w / q->kw, k = q->c * q->kh * q->kw;
    using ir::SymExpr;
    auto add = [&](net::LayerParams p, std::vector<int> in, const std::string& suffix) -> Expected<int> {
      INGOT_ASSIGN_OR_RETURN(std::vector<int> y, rw.add(std::move(p), std::move(in), layer.name + suffix, layer.origins));
      return y[0];
    };
    INGOT_ASSIGN_OR_RETURN(int t, add(net::ReshapeParams{{n, SymExpr(q->c), SymExpr(ho), SymExpr(q->kh), SymExpr(wo), SymExpr(q->kw)}},
                                      {rw.map(layer.inputs[0])}, ".tiles"));
    INGOT_ASSIGN_OR_RETURN(t, add(net::PermuteParams{{0, 2, 4, 1, 3, 5}}, {t}, ".patches"));
    INGOT_ASSIGN_OR_RETURN(t, add(net::ReshapeParams{{n * SymExpr(ho * wo), SymExpr(k)}}, {t}, ".rows"));
    const net::Tensor& wt = net.tensor(layer.inputs[1]);
    const ir::ConstantData& wc = *wt.constant;  // [O, C, kh, kw] row-major is [O, C * kh * kw]
    std::vector<int> mm_in{t, rw.out().add_constant(wt.name + ".patches",
                                                    ir::ConstantData::borrowed(wc.dtype, {q->o, k}, wc.data, wc.storage))};
    if (layer.inputs.size() > 2 && layer.inputs[2] >= 0) mm_in.push_back(rw.map(layer.inputs[2]));
    net::MatMulParams mm;
    mm.transpose_b = true;
    mm.activation = conv.activation, mm.act_alpha = conv.act_alpha, mm.act_beta = conv.act_beta;
    INGOT_ASSIGN_OR_RETURN(t, add(mm, mm_in, ".matmul"));
    INGOT_ASSIGN_OR_RETURN(t, add(net::ReshapeParams{{n, SymExpr(ho), SymExpr(wo), SymExpr(q->o)}}, {t}, ".nhwc"));
    INGOT_ASSIGN_OR_RETURN(t, add(net::PermuteParams{{0, 3, 1, 2}}, {t}, ""));
    rw.set(layer.outputs[0], t);
    ++count;
  }
  if (rewritten) *rewritten = count;
  return rw.finish();
}

}  // namespace ingot::build
