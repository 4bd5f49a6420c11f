// Normalization: layer norm, RMS norm, group norm and batch norm (inference).
//
// - layer / RMS norm (rows of the trailing dims): rows up to 1024 elements live in registers,
//   a warp per row (16-byte accesses when aligned); longer rows take a block, cached in shared
//   memory when they fit. Statistics in float, two-pass (mean, then the deviations from it,
//   whose sum also corrects the mean: rows far from zero stay accurate), with warp-shuffle
//   reductions.
// - group norm: a block per (sample, group), whose elements are one contiguous span; the same
//   block kernel as long layer-norm rows, with per-channel weight and bias.
// - batch norm: an elementwise kernel over [N*C planes, spatial] with per-channel statistics.
// Output = (x - mean) * rstd * weight + bias, in float, rounded once. Weight, bias and the
// statistics may have any floating dtype (independently of x); absent weight / bias mean 1 / 0.
#pragma once

#include "kernels/cuda/cuda_common.cuh"

namespace ingot::kernels::cuda::detail {

Status launch_normalization(const net::NormalizationParams& p, const Tensors& in, const Tensors& out, cudaStream_t stream);

}  // namespace ingot::kernels::cuda::detail
