// Element types. The first eight are what engines compute with; the rest can appear in a
// graph (and run in PyTorch blocks) but no converter accepts them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ingot::ir {

enum class DType : uint8_t {
  kFloat32 = 0,
  kFloat16 = 1,
  kBFloat16 = 2,
  kInt8 = 3,
  kUInt8 = 4,
  kInt32 = 5,
  kInt64 = 6,
  kBool = 7,
  kFloat64 = 8,
  kInt16 = 9,
  kOpaque = 10,  // any other torch dtype (complex, float8, ...): carried through, never computed
};
constexpr int kNumDTypes = 11;

size_t dtype_size(DType t);                    // bytes per element; 0 for kOpaque
std::string_view dtype_name(DType t);          // short name used in IR text: "f32", "i64", ...
std::optional<DType> dtype_from_name(std::string_view name);  // accepts short and torch names
std::string_view dtype_torch_name(DType t);    // "float32", "int64", ...
bool is_floating(DType t);
bool is_integral(DType t);  // includes bool
bool is_engine_dtype(DType t);  // one of the first eight
// What an engine's tensors may hold: the engine dtypes, and f64 for tensors the builder adds
// between layers (a convolution's channel sums, net::ConvolutionParams); converters still take
// only engine dtypes, so no graph brings f64 in.
bool is_buffer_dtype(DType t);

// Type promotion as torch.result_type does for two tensors of the same category order.
DType promote_types(DType a, DType b);

}  // namespace ingot::ir
