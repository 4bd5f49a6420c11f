// Pointwise programs (net::PointwiseParams): their steps decoded and encoded, the check that a
// program is well formed against its inputs, and which ops a program may hold. The fusion pass
// (build/fuse_pointwise.cpp), the CPU reference kernel and the CUDA code generator share these,
// so that a step means the same thing wherever it runs.
#pragma once

#include <vector>

#include "net/network.h"

namespace ingot::net {

// One step of a program (layers.h, PointwiseParams, says what each kind computes).
struct PointwiseOp {
  PointwiseStep kind = PointwiseStep::kInput;
  int64_t op = 0;  // input index, UnaryOp, BinaryOp or target DType, by kind
  int x = -1, y = -1, z = -1;
  DType dtype = DType::kFloat32;
  double alpha = 0.0, beta = 0.0;  // kConstant: alpha is the value
};

// Step `i` of `p` (i < p.steps(); the program is assumed well formed: check_pointwise).
PointwiseOp pointwise_step(const PointwiseParams& p, size_t i);
// Appends `s` to `p`'s program; returns its index.
int append_pointwise_step(PointwiseParams& p, const PointwiseOp& s);

// The value types a program computes with: f32, f16, bf16 and bool.
bool pointwise_dtype(DType t);
// Whether a program computes binary `op` / unary `op` on operands of dtype `t` as the
// elementwise / unary layer does. Floating operands take every op of the CPU reference's
// float path (no bitwise ops); bool operands take comparisons and logical ops (a fusion pass
// turns bitwise and / or / xor / not of bools into the logical ones first).
bool pointwise_binary_ok(BinaryOp op, DType t);
bool pointwise_unary_ok(UnaryOp op, DType t);

// The program is well formed for these input types: sizes, step kinds and ops in range, each
// operand an earlier step of the dtype its op takes, input indices in range and of program
// dtypes, every input broadcasting to `shape`. Errors name the step.
Status check_pointwise(const PointwiseParams& p, const std::vector<const ir::TensorType*>& inputs);

}  // namespace ingot::net
