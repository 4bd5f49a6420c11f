// One entry point per layer kind (internal). run_layer() (dispatch.cpp) has already checked
// the input and output counts, dtypes and dims against the layer's shape function, so each
// kernel may rely on them; it still returns an error for data it cannot handle.
#pragma once

#include <vector>

#include "kernels/cpu/kernels.h"

namespace ingot::kernels::cpu::detail {

using Tensors = std::vector<TensorView>;

Status run(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out);   // conv.cpp
Status run(const net::PoolingParams& p, const Tensors& in, const Tensors& out);       // pooling.cpp
Status run(const net::MatMulParams& p, const Tensors& in, const Tensors& out);        // matmul.cpp
Status run(const net::ElementwiseParams& p, const Tensors& in, const Tensors& out);   // elementwise.cpp
Status run(const net::SelectParams& p, const Tensors& in, const Tensors& out);        // elementwise.cpp
Status run(const net::UnaryParams& p, const Tensors& in, const Tensors& out);         // unary.cpp
Status run(const net::CastParams& p, const Tensors& in, const Tensors& out);          // unary.cpp
Status run(const net::ReduceParams& p, const Tensors& in, const Tensors& out);        // reduce.cpp
Status run(const net::SoftmaxParams& p, const Tensors& in, const Tensors& out);       // reduce.cpp
Status run(const net::NormalizationParams& p, const Tensors& in, const Tensors& out); // norm.cpp
Status run(const net::ReshapeParams& p, const Tensors& in, const Tensors& out);       // shuffle.cpp
Status run(const net::PermuteParams& p, const Tensors& in, const Tensors& out);       // shuffle.cpp
Status run(const net::ExpandParams& p, const Tensors& in, const Tensors& out);        // shuffle.cpp
Status run(const net::ConcatParams& p, const Tensors& in, const Tensors& out);        // shuffle.cpp
Status run(const net::SliceParams& p, const Tensors& in, const Tensors& out);         // shuffle.cpp
Status run(const net::GatherParams& p, const Tensors& in, const Tensors& out);        // shuffle.cpp
Status run(const net::IdentityParams& p, const Tensors& in, const Tensors& out);      // shuffle.cpp
Status run(const net::FillParams& p, const Tensors& in, const Tensors& out);          // shuffle.cpp
Status run(const net::IotaParams& p, const Tensors& in, const Tensors& out);          // shuffle.cpp
Status run(const net::AttentionParams& p, const Tensors& in, const Tensors& out);     // attention.cpp
Status run(const net::SqueezeExciteParams& p, const Tensors& in, const Tensors& out); // squeeze_excite.cpp
Status run(const net::PointwiseParams& p, const Tensors& in, const Tensors& out);     // pointwise.cpp
Status run(const net::FeedForwardParams& p, const Tensors& in, const Tensors& out);   // feed_forward.cpp

// An input that may be absent (index past the end, or no data).
inline bool has_input(const Tensors& in, size_t i) { return i < in.size() && in[i].present(); }

}  // namespace ingot::kernels::cpu::detail
