// Chains of data-movement layers (reshapes, permutes, unit-step slices) in a net::Network, seen
// as strided views of the tensor they start from. Builder passes use them to replace such
// chains by strided reads (attention_layout.cpp) or by a plain reshape where the chain moves
// nothing (permute_chains.cpp).
#pragma once

#include <optional>

#include "net/network.h"
#include "support/status.h"

namespace ingot::build {

inline constexpr int kMaxChain = 32;  // data-movement layers followed from one tensor

// The layer producing `id`, or null for inputs and constants.
const net::Layer* producer(const net::Network& net, int id);

// A reshape, permute or unit-step slice of one axis: layers a strided view can follow.
bool is_movement(const net::Layer& l);

// A tensor as a strided view of another tensor's storage.
struct OperandView {
  int storage = -1;
  ir::Shape strides;
  ir::SymExpr offset;
};

bool last_stride_is_one(const ir::Shape& strides);

// The deepest tensor that `id` is a plain strided view of through movement layers (with the
// innermost stride 1), or nothing when `id` is not produced by one.
std::optional<OperandView> input_view(const net::Network& net, int id);

// Drops layers none of whose outputs is read or an engine output.
Expected<net::Network> drop_dead_layers(const net::Network& net);

}  // namespace ingot::build
