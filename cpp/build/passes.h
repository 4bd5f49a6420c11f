// Builder passes over net::Network (backend-independent; backends pick which to run).
#pragma once

#include <functional>
#include <set>

#include "ir/dtype.h"
#include "net/network.h"
#include "support/status.h"

namespace ingot::build {

// Rewrites x * sigmoid(x) (elementwise mul, either operand order, floating types, no
// broadcast) as one unary silu(x) when the sigmoid's output has no other reader. torch.export
// decomposes SiLU that way; as one unary layer it reaches fuse_epilogues (run this first), and
// x then has the convolution's epilogue as its only reader. Returns how many it rewrote.
Expected<net::Network> recognize_silu(const net::Network& net, int* recognized = nullptr);

// Folds what follows a convolution or matmul into its epilogue, when the intermediate has no
// other reader: an add of a per-channel (conv) / per-column (matmul) constant becomes the bias,
// an add of a tensor of the output's type becomes the residual, and a unary activation the
// activation. y = act(op(x) + bias + residual). Returns how many layers were absorbed.
Expected<net::Network> fuse_epilogues(const net::Network& net, int* absorbed = nullptr);

// Computes floating-point activations in `dtype` (f16 or bf16): float32 weights are
// converted, casts keep the engine's float32 inputs and outputs float32, and layers that
// produced float32 produce `dtype`. Statistics inside normalization and softmax kernels are
// accumulated in float32 whatever the storage type.
Expected<net::Network> lower_precision(const net::Network& net, ir::DType dtype);

// Stores the activations around 2-D convolutions of `dtypes` channels-last (NHWC), which is
// what GPU tensor-core convolutions want: such convolutions switch to channels_last (weights
// permuted to [O, kH, kW, C/g]), layout-agnostic layers (unary, cast, elementwise, select,
// reductions, softmax, concat) follow their inputs' layout with their axes remapped, 2-D
// max / average pooling of an NHWC input switches to channels_last, and a permute is inserted
// only where a layer or an engine output needs the plain layout.
// Returns how many permutes it inserted.
Expected<net::Network> channels_last(const net::Network& net, const std::set<ir::DType>& dtypes,
                                     int* permutes = nullptr);

// A permute whose chain of reshapes and permutes (back to the first tensor that is not their
// output) moves no element becomes a reshape of that first tensor (a view in the memory plan);
// layers left without readers are dropped. Returns how many permutes it folded.
//   before: %a = permute(%x_nhwc, [0, 3, 1, 2]); %b = reshape(%a, [N, C, HW]); %t = permute(%b, [0, 2, 1])
//   after:  %t = reshape(%x_nhwc, [N, HW, C])
Expected<net::Network> fold_permute_chains(const net::Network& net, int* folded = nullptr);

// A convolution whose kernel tiles its input without overlap, padding or dilation (kernel ==
// stride, 2-D, groups 1, at most 8 static input channels, H and W multiples of the kernel, no
// fused residual) becomes reshape -> permute -> reshape -> matmul (its bias and activation
// kept) -> reshape -> permute back to NCHW. Returns how many it rewrote.
//   before: %y = convolution(%x [N, 3, 224, 224], %w [768, 3, 16, 16], %b) stride [16, 16]
//   after:  %p = permute(reshape(%x, [N, 3, 14, 16, 14, 16]), [0, 2, 4, 1, 3, 5])
//           %m = matmul(reshape(%p, [N * 196, 768]), %w' [768, 768], %b) transpose_b
//           %y = permute(reshape(%m, [N, 14, 14, 768]), [0, 3, 1, 2])
Expected<net::Network> patch_convolutions_as_matmuls(const net::Network& net, int* rewritten = nullptr);

// Chains of elementwise, unary, select and cast layers on f32 / f16 / bf16 / bool values
// become one pointwise layer (net::PointwiseParams, computed in float without rounding between
// the steps) where each value but the chain's last is read only inside the chain; one-element
// constants become constant steps. Returns how many pointwise layers it made.
//   before: %a = mul(%x, 0.5); %b = tanh(%a); %c = add(%b, 1.0); %y = mul(%x, %c)
//   after:  %y = pointwise(%x) [input 0, const 0.5, mul, tanh, const 1.0, add, mul]
Expected<net::Network> fuse_pointwise(const net::Network& net, int* fused = nullptr);

// Whether a backend runs a squeeze_excite layer of `channels` and `hidden` units.
using SqueezeExciteFits = std::function<bool(int64_t channels, int64_t hidden)>;

// Fuses the squeeze-and-excitation gate of MobileNetV3 / EfficientNet blocks into one
// squeeze_excite layer (net::SqueezeExciteParams): a mean over axes 1 and 2 of a rank-4 tensor
// (channels-last activations), read only by a 1x1 channels-last convolution with constant
// weights, read only by another such convolution (biases and fused activations kept, no
// residuals). A multiply of x by the gate that is the gate's only reader goes into the layer
// too (scale_input). Run it after channels_last and fuse_epilogues. Returns how many it fused.
//   before: %p = reduce.mean(%x, axes=[1, 2]); %h = conv(%p, %w1, %b1, act1); %g = conv(%h, %w2, %b2, act2)
//           %y = mul(%x, %g)
//   after:  %y = squeeze_excite(%x, %w1', %b1, %w2', %b2, scale_input)  (w' = the weights as [O, K])
Expected<net::Network> fuse_squeeze_excite(const net::Network& net, const SqueezeExciteFits& fits,
                                           int* fused = nullptr);

// A scaled squeeze_excite layer whose output only a 1x1 channels-last projection reads (groups
// 1, stride 1, no padding, constant weights, static dims) hands its gates to the projection's
// weights instead of multiplying x: the projection becomes a batched GEMM with per-sample
// weights W * g[n]. Taken only where that saves at least 8 MiB of traffic (x's read and write
// against the weights'), i.e. large batches and pixel counts above the output channels. Run it
// after fuse_squeeze_excite. Returns how many it rewrote.
//   before: %xs = squeeze_excite(%x, ..., scale_input); %y = conv(%xs, %w [O, 1, 1, C], %b, %res)
//   after:  %g = squeeze_excite(%x, ...); %wn = mul(%w' [O, C], reshape(%g, [N, 1, C]))
//           %m = matmul(reshape(%x, [N, HW, C]), %wn, %b, reshape(%res, [N, HW, O])) transpose_b
//           %y = reshape(%m, [N, H, W, O])
Expected<net::Network> squeeze_excite_into_projections(const net::Network& net, int* rewritten = nullptr);

// A squeeze_excite layer whose x a channels-last depthwise convolution writes (one filter a
// channel, x its only output) takes x's sums over H and W from that convolution instead of
// pooling x: the convolution gets channel_sums (a second output, f64 [N, C]) and the layer a
// sixth input. `scaled` false leaves the layers that multiply x by the gate (scale_input) as
// they are. Run it after fuse_squeeze_excite (and squeeze_excite_into_projections). Returns how
// many layers it rewrote.
//   before: %x = conv(%a, %w, %b) [depthwise, channels_last]; %g = squeeze_excite(%x, %w1, %b1, %w2, %b2)
//   after:  %x, %s = conv(%a, %w, %b) [channel_sums]; %g = squeeze_excite(%x, %w1, %b1, %w2, %b2, %s)
Expected<net::Network> squeeze_excite_sums(const net::Network& net, bool scaled = true, int* rewritten = nullptr);

// Whether a backend runs a feed_forward layer of `rows` rows, D and F in `dtype`.
using FeedForwardFits = std::function<bool(int64_t rows, int64_t d, int64_t f, ir::DType dtype)>;

// The feed-forward half of a transformer encoder block becomes one feed_forward layer
// (net::FeedForwardParams): a matmul x . w1^T (+ b1, activation, no residual) read only by a
// matmul h . w2^T (+ b2, no activation) whose residual is x, read only by a layer
// normalization over the last dim with weight and bias. Then, of what is left, a matmul with a
// residual and no activation read only by such a normalization becomes a feed_forward layer
// without w1 (BERT's attention output and its LayerNorm). Weights constant, shapes static,
// every tensor of one floating dtype, and `fits` true (for rows, the output's width and the
// second product's K). Run it after fuse_epilogues (which gives the matmuls their bias,
// activation and residual). Returns how many layers it made.
//   before: %h = matmul(%x, %w1, %b1) transpose_b, act; %z = matmul(%h, %w2, %b2, %x) transpose_b
//           %y = normalization(%z, %gamma, %beta) layer, axis = last
//   after:  %y = feed_forward(%x, %w1, %b1, %w2, %b2, %gamma, %beta) act, eps
//   before: %z = matmul(%a, %w, %b, %r) transpose_b; %y = normalization(%z, %gamma, %beta) layer, last
//   after:  %y = feed_forward(%a, -, -, %w, %b, %gamma, %beta, %r) eps
Expected<net::Network> fuse_feed_forward(const net::Network& net, const FeedForwardFits& fits, int* fused = nullptr);

// Which attention layers a backend reads through strides (fold_attention_layouts).
using AttentionFilter = std::function<bool(const net::Layer& attention, const net::Network& net)>;

struct AttentionLayoutStats {
  int permutes_moved = 0;      // permutes moved across a row-wise matmul
  int operands_folded = 0;     // q / k / v operands read through strides
  int outputs_folded = 0;      // attention outputs written through strides
  int projections_merged = 0;  // q / k / v projections merged into one matmul
};

// Removes the data movement around the attention layers `eligible` accepts:
// - a permute that keeps the last axis moves across a row-wise matmul (2-D weight, bias along
//   the last axis, no residual) towards the attention: permute -> matmul -> ... -> attention
//   becomes matmul -> permute -> ..., and attention -> ... -> matmul -> permute becomes
//   attention -> ... -> permute -> matmul;
// - q, k and v produced by chains of reshapes, permutes and unit-step slices are read through
//   strides from the chain's first tensor (AttentionParams' views), and an output read only by a
//   chain of reshapes and permutes is written through strides into the chain's last tensor;
//   only views whose innermost stride is 1;
// - when q, k and v are views of three matmuls of one tensor with constant weights and equal
//   parameters, the three become one matmul with the weights concatenated, and the views move
//   into its output.
// Layers left without readers are dropped.
//   before: %q = permute(reshape(matmul(%x, %wq, %bq))) ... %o = attention(%q, %k, %v)
//           %y = reshape(permute(%o))
//   after:  %qkv = matmul(%x, concat(%wq, %wk, %wv), concat(%bq, %bk, %bv))
//           %y = attention(%qkv, %qkv, %qkv) with q/k/v views at column offsets 0, E, 2E
Expected<net::Network> fold_attention_layouts(const net::Network& net, const AttentionFilter& eligible,
                                              AttentionLayoutStats* stats = nullptr);

// Turns the bool masks of the attention layers `eligible` accepts into additive biases of the
// layer's dtype (true: 0, false: -inf), one select per mask tensor however many layers read
// it. A fused attention kernel takes a float bias; converting the mask inside every layer
// repeats the work per layer (a BERT's 12 layers share one mask). Returns how many masks it
// converted.
//   before: %a = attention(%q, %k, %v, %mask)          %mask: bool
//   after:  %bias = select(%mask, 0, -inf)
//           %a = attention(%q, %k, %v, %bias)
Expected<net::Network> bool_masks_as_bias(const net::Network& net, const AttentionFilter& eligible,
                                          int* converted = nullptr);

}  // namespace ingot::build
