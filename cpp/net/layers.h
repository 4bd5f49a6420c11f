// Engine-level layers: the vocabulary the builder optimizes and the kernels implement.
//
// Each layer kind has one parameter struct. `fields(v)` lists its fields once; the plan
// serializer, the plan reader, the inspector and equality all walk that list, so adding a field
// is one line here. The LayerParams variant's order defines LayerKind's values (the plan
// format stores them): append, never reorder.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "ir/dtype.h"
#include "ir/symbolic.h"

namespace ingot::net {

using ir::DType;
using ir::Shape;
using ir::SymExpr;

// ---- enumerations used by parameters (serialized as integers; kCount bounds them)

enum class BinaryOp : uint8_t {
  kAdd, kSub, kMul, kDiv, kFloorDiv, kRemainder, kPow, kMax, kMin,
  kEq, kNe, kLt, kLe, kGt, kGe, kLogicalAnd, kLogicalOr, kLogicalXor,
  kBitwiseAnd, kBitwiseOr, kBitwiseXor, kTruncDiv, kAtan2,
  kCount
};
bool is_comparison(BinaryOp op);  // result is bool

enum class UnaryOp : uint8_t {
  kIdentity, kRelu, kSigmoid, kTanh, kGeluErf, kGeluTanh, kSilu, kExp, kLog, kSqrt, kRsqrt,
  kNeg, kAbs, kErf, kSin, kCos, kReciprocal, kFloor, kCeil, kRound, kSign, kLogicalNot,
  kLeakyRelu,   // alpha = negative slope
  kElu,         // alpha, beta = scale (selu uses both)
  kClamp,       // alpha = min, beta = max (±inf for no bound)
  kHardSigmoid, kHardSwish, kSoftplus /* alpha = beta, beta = threshold */, kMish, kLog1p, kExpm1,
  kTan, kAsin, kAcos, kAtan, kSinh, kCosh, kAsinh, kAcosh, kAtanh, kLog2, kLog10, kExp2,
  kTrunc, kIsNan, kIsInf, kBitwiseNot, kFrac, kSquare,
  kCount
};
bool unary_result_is_bool(UnaryOp op);

enum class ReduceOp : uint8_t { kSum, kMean, kMax, kMin, kProd, kAny, kAll, kVar, kCount };
enum class NormKind : uint8_t { kLayer, kGroup, kBatch, kRms, kCount };
enum class PoolKind : uint8_t { kMax, kAvg, kCount };
// The kinds of step of a pointwise program (PointwiseParams).
enum class PointwiseStep : uint8_t { kInput, kConstant, kUnary, kBinary, kSelect, kCast, kCount };

const char* enum_name(BinaryOp op);
const char* enum_name(UnaryOp op);
const char* enum_name(ReduceOp op);
const char* enum_name(NormKind k);
const char* enum_name(PoolKind k);
const char* enum_name(PointwiseStep k);

// ---- parameter structs. Inputs of each kind are listed in its comment; -1 marks an absent
// optional input.

// in: x [N, C, *spatial], w [O, C/groups, *k] (transposed: [C, O/groups, *k]), bias? [O],
// residual? (the output's type). y = activation(conv(x, w) + bias + residual): the builder
// fuses a following bias / residual add / activation into the layer.
// channels_last (2-D, not transposed): x [N, H, W, C], w [O, kH, kW, C/groups], y [N, H', W', O]
// (the builder's layout pass stores activations around convolutions that way for the GPU).
// channel_sums (channels_last only): a second output, f64 [N, O], the sums over H' x W' of y as
// stored (after the activation, rounded to y's dtype). build::squeeze_excite_sums sets it where
// a squeeze_excite layer pools y, so that the convolution's kernel adds them as it writes y
// instead of a launch that reads y again.
struct ConvolutionParams {
  static constexpr const char* kName = "convolution";
  std::vector<int64_t> stride, padding, dilation, output_padding;
  int64_t groups = 1;
  bool transposed = false;
  UnaryOp activation = UnaryOp::kIdentity;
  double act_alpha = 0.0, act_beta = 0.0;  // parameters of the activation (UnaryParams alpha/beta)
  bool channels_last = false;
  bool channel_sums = false;
  template <typename V> void fields(V& v) {
    v("stride", stride); v("padding", padding); v("dilation", dilation);
    v("output_padding", output_padding); v("groups", groups); v("transposed", transposed);
    v("activation", activation); v("act_alpha", act_alpha); v("act_beta", act_beta);
    v("channels_last", channels_last); v("channel_sums", channel_sums);
  }
};

// in: a [*, M, K], b [*, K, N] (or transposed), bias? broadcast to the result, residual? (the
// output's type). y = activation(a @ b + bias + residual). Batch dims broadcast as in
// torch.matmul. Both operands have rank >= 2.
struct MatMulParams {
  static constexpr const char* kName = "matmul";
  bool transpose_a = false;
  bool transpose_b = false;
  UnaryOp activation = UnaryOp::kIdentity;
  double act_alpha = 0.0, act_beta = 0.0;
  template <typename V> void fields(V& v) {
    v("transpose_a", transpose_a); v("transpose_b", transpose_b);
    v("activation", activation); v("act_alpha", act_alpha); v("act_beta", act_beta);
  }
};

// in: a, b (same dtype, broadcast). out dtype: bool for comparisons/logical, else the input's.
struct ElementwiseParams {
  static constexpr const char* kName = "elementwise";
  BinaryOp op = BinaryOp::kAdd;
  template <typename V> void fields(V& v) { v("op", op); }
};

// in: x. out dtype: bool for logical_not / isnan / isinf, else the input's.
struct UnaryParams {
  static constexpr const char* kName = "unary";
  UnaryOp op = UnaryOp::kIdentity;
  double alpha = 0.0, beta = 0.0;
  template <typename V> void fields(V& v) { v("op", op); v("alpha", alpha); v("beta", beta); }
};

// in: condition (bool), a, b (same dtype); all broadcast.
struct SelectParams {
  static constexpr const char* kName = "select";
  template <typename V> void fields(V&) {}
};

// in: x. axes sorted, non-negative. kVar uses `correction` (Bessel: 1).
// out dtype: bool for any/all, else the input's.
struct ReduceParams {
  static constexpr const char* kName = "reduce";
  ReduceOp op = ReduceOp::kSum;
  std::vector<int64_t> axes;
  bool keepdim = false;
  double correction = 0.0;
  template <typename V> void fields(V& v) { v("op", op); v("axes", axes); v("keepdim", keepdim); v("correction", correction); }
};

// in: x.
struct SoftmaxParams {
  static constexpr const char* kName = "softmax";
  int64_t axis = -1;
  bool log = false;
  template <typename V> void fields(V& v) { v("axis", axis); v("log", log); }
};

// kLayer/kRms: normalize over dims [axis, rank); in: x, weight?, bias? (shape x.shape[axis:]).
// kGroup: x [N, C, *], num_groups; in: x, weight? [C], bias? [C].
// kBatch (inference): x [N, C, *]; in: x, weight?, bias?, running_mean [C], running_var [C].
struct NormalizationParams {
  static constexpr const char* kName = "normalization";
  NormKind kind = NormKind::kLayer;
  int64_t axis = -1;
  int64_t num_groups = 1;
  double eps = 1e-5;
  template <typename V> void fields(V& v) { v("kind", kind); v("axis", axis); v("num_groups", num_groups); v("eps", eps); }
};

// in: x. Same number of elements, row-major order kept.
struct ReshapeParams {
  static constexpr const char* kName = "reshape";
  Shape shape;
  template <typename V> void fields(V& v) { v("shape", shape); }
};

// in: x. out.shape[i] = x.shape[perm[i]].
struct PermuteParams {
  static constexpr const char* kName = "permute";
  std::vector<int64_t> perm;
  template <typename V> void fields(V& v) { v("perm", perm); }
};

// in: x; broadcast to `shape` (numpy rules; x may have lower rank).
struct ExpandParams {
  static constexpr const char* kName = "expand";
  Shape shape;
  template <typename V> void fields(V& v) { v("shape", shape); }
};

// in: x0, x1, ... (same dtype, same shape except `axis`).
struct ConcatParams {
  static constexpr const char* kName = "concat";
  int64_t axis = 0;
  template <typename V> void fields(V& v) { v("axis", axis); }
};

// in: x. For each listed axis: elements start, start+step, ... < end. start/end already
// clamped to [0, dim]; step > 0.
struct SliceParams {
  static constexpr const char* kName = "slice";
  std::vector<int64_t> axes;
  Shape starts, ends;
  std::vector<int64_t> steps;
  template <typename V> void fields(V& v) { v("axes", axes); v("starts", starts); v("ends", ends); v("steps", steps); }
};

// in: data, indices (i32/i64). out = data[..., indices, ...] along axis, i.e. shape
// data[:axis] + indices.shape + data[axis+1:]. Negative indices count from the end.
struct GatherParams {
  static constexpr const char* kName = "gather";
  int64_t axis = 0;
  template <typename V> void fields(V& v) { v("axis", axis); }
};

// in: x [N, C, *spatial]. divisor_override 0 means none.
// channels_last (2-D): x [N, H, W, C], y [N, H', W', C] (the layout pass's NHWC activations).
struct PoolingParams {
  static constexpr const char* kName = "pooling";
  PoolKind kind = PoolKind::kMax;
  std::vector<int64_t> kernel, stride, padding, dilation;
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t divisor_override = 0;
  bool channels_last = false;
  template <typename V> void fields(V& v) {
    v("kind", kind); v("kernel", kernel); v("stride", stride); v("padding", padding);
    v("dilation", dilation); v("ceil_mode", ceil_mode); v("count_include_pad", count_include_pad);
    v("divisor_override", divisor_override); v("channels_last", channels_last);
  }
};

// in: x.
struct CastParams {
  static constexpr const char* kName = "cast";
  DType to = DType::kFloat32;
  template <typename V> void fields(V& v) { v("to", to); }
};

// in: q [*, L, E], k [*, S, E], v [*, S, Ev], mask? broadcast to [*, L, S] (bool: true keeps;
// float: added to the scores). out [*, L, Ev].
//
// Strided operands (the builder folds the permutes, slices and reshapes around an attention
// into them, build/attention_layout.cpp, so that no copy runs): when `q_shape` is set, the
// operand q has that shape and its element (i0, i1, ...) is element q_offset + sum(i_d *
// q_strides[d]) of in[0]'s storage, which may be any tensor that holds it (a fused QKV
// projection's output, say); likewise k and v. When `out_strides` is set, the output tensor
// has shape `out_shape` and the logical output [*, L, Ev] is written into it at those strides
// (which must cover it exactly once). Empty: the tensors are the operands, packed.
struct AttentionParams {
  static constexpr const char* kName = "attention";
  double scale = 1.0;
  bool causal = false;
  Shape q_shape, q_strides, k_shape, k_strides, v_shape, v_strides;
  SymExpr q_offset, k_offset, v_offset;
  Shape out_shape, out_strides;
  bool strided_inputs() const { return !q_shape.empty() || !k_shape.empty() || !v_shape.empty(); }
  bool strided_output() const { return !out_strides.empty(); }
  template <typename V> void fields(V& v) {
    v("scale", scale); v("causal", causal);
    v("q_shape", q_shape); v("q_strides", q_strides); v("q_offset", q_offset);
    v("k_shape", k_shape); v("k_strides", k_strides); v("k_offset", k_offset);
    v("v_shape", v_shape); v("v_strides", v_strides); v("v_offset", v_offset);
    v("out_shape", out_shape); v("out_strides", out_strides);
  }
};

// in: none. A tensor of `shape` filled with `value`.
struct FillParams {
  static constexpr const char* kName = "fill";
  Shape shape;
  DType dtype = DType::kFloat32;
  double value = 0.0;
  template <typename V> void fields(V& v) { v("shape", shape); v("dtype", dtype); v("value", value); }
};

// in: x. A copy (engine outputs that alias inputs or constants).
struct IdentityParams {
  static constexpr const char* kName = "identity";
  template <typename V> void fields(V&) {}
};

// in: none. out[i] = start + i * step for i in [0, size).
struct IotaParams {
  static constexpr const char* kName = "iota";
  SymExpr size;
  double start = 0.0, step = 1.0;
  DType dtype = DType::kInt64;
  template <typename V> void fields(V& v) { v("size", size); v("start", start); v("step", step); v("dtype", dtype); }
};

// in: x [N, H, W, C] (channels-last), w1 [R, C], b1? [R], w2 [C, R], b2? [C], sums? f64 [N, C]
// (x's sums over H and W, from the convolution that wrote x: ConvolutionParams::channel_sums;
// present, the layer pools them instead of x).
// out [N, 1, 1, C]: the squeeze-and-excitation gate of MobileNetV3 / EfficientNet blocks,
//   gate = act2(w2 . act1(w1 . mean_{H,W}(x) + b1) + b2)
// with the pooled and hidden values kept in float32. With scale_input the output is instead
// x * gate, [N, H, W, C] (the gate rounded to x's dtype first, as a separate multiply would).
// build::fuse_squeeze_excite makes it from a mean and two 1x1 convolutions (and the multiply);
// converters do not emit it.
struct SqueezeExciteParams {
  static constexpr const char* kName = "squeeze_excite";
  UnaryOp act1 = UnaryOp::kIdentity;
  double act1_alpha = 0.0, act1_beta = 0.0;
  UnaryOp act2 = UnaryOp::kIdentity;
  double act2_alpha = 0.0, act2_beta = 0.0;
  bool scale_input = false;
  template <typename V> void fields(V& v) {
    v("act1", act1); v("act1_alpha", act1_alpha); v("act1_beta", act1_beta);
    v("act2", act2); v("act2_alpha", act2_alpha); v("act2_beta", act2_beta);
    v("scale_input", scale_input);
  }
};

// in: x [..., K], w1? [F, K], b1? [F], w2 [D, F], b2? [D], gamma [D], beta [D], residual?
// [..., D], all of one floating dtype. out: [..., D], the feed-forward half of a transformer
// encoder block:
//   h = act(x . w1^T + b1)            (rounded to the dtype, as a layer boundary would)
//   y = LayerNorm(r + h . w2^T + b2) * gamma + beta   over the last dim, with eps
// where r is the residual (absent: x, and D = K) and the sum before the LayerNorm is not
// rounded. Without w1 (then no b1 and no activation), h is x: a linear layer with its residual
// and the LayerNorm after it (w2 [D, K]). build::fuse_feed_forward makes it from matmuls and a
// layer normalization; converters do not emit it.
struct FeedForwardParams {
  static constexpr const char* kName = "feed_forward";
  UnaryOp act = UnaryOp::kIdentity;
  double act_alpha = 0.0, act_beta = 0.0;
  double eps = 1e-5;
  template <typename V> void fields(V& v) { v("act", act); v("act_alpha", act_alpha); v("act_beta", act_beta); v("eps", eps); }
};

// in: the chain's inputs, f32 / f16 / bf16 / bool, each broadcast to `shape`. out: `shape`, of
// the last step's dtype.
// A chain of elementwise, unary, select and cast layers as one layer (build::fuse_pointwise
// makes it; converters do not emit it): a program whose steps each compute one value per output
// element, in float (bool values as 0 / 1), with no rounding between steps except at a cast.
// Step i is code[6i .. 6i + 5] = {kind, op, x, y, z, dtype} with scalars[2i], scalars[2i + 1]:
//   kInput     the element of input `op` (converted to float)
//   kConstant  scalars[2i]
//   kUnary     UnaryOp `op` of step x, with alpha, beta = the two scalars (UnaryParams')
//   kBinary    BinaryOp `op` of steps x and y (comparisons and logical ops give 0 / 1)
//   kSelect    step x != 0 ? step y : step z
//   kCast      step x converted to `dtype` (f16 / bf16: rounded to nearest even; bool: != 0)
// x, y, z name earlier steps (-1: unused); dtype is the step's value type in the network the
// chain came from (f32 / f16 / bf16 / bool). The output is the last step, stored in its dtype.
struct PointwiseParams {
  static constexpr const char* kName = "pointwise";
  static constexpr size_t kCodeWords = 6, kScalarWords = 2;  // per step
  std::vector<int64_t> code;
  std::vector<double> scalars;
  Shape shape;
  size_t steps() const { return code.size() / kCodeWords; }
  template <typename V> void fields(V& v) { v("code", code); v("scalars", scalars); v("shape", shape); }
};

using LayerParams =
    std::variant<ConvolutionParams, MatMulParams, ElementwiseParams, UnaryParams, SelectParams,
                 ReduceParams, SoftmaxParams, NormalizationParams, ReshapeParams, PermuteParams,
                 ExpandParams, ConcatParams, SliceParams, GatherParams, PoolingParams, CastParams,
                 AttentionParams, FillParams, IdentityParams, IotaParams, SqueezeExciteParams,
                 PointwiseParams, FeedForwardParams>;

enum class LayerKind : uint8_t {
  kConvolution, kMatMul, kElementwise, kUnary, kSelect, kReduce, kSoftmax, kNormalization,
  kReshape, kPermute, kExpand, kConcat, kSlice, kGather, kPooling, kCast, kAttention, kFill,
  kIdentity, kIota, kSqueezeExcite, kPointwise, kFeedForward,
  kCount
};
static_assert(static_cast<size_t>(LayerKind::kCount) == std::variant_size_v<LayerParams>);

inline LayerKind kind_of(const LayerParams& p) { return static_cast<LayerKind>(p.index()); }
const char* layer_kind_name(LayerKind k);

// Parameters equal field by field.
bool params_equal(const LayerParams& a, const LayerParams& b);

}  // namespace ingot::net
