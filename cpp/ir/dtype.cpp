#include "ir/dtype.h"

#include <array>

namespace ingot::ir {
namespace {

struct DTypeInfo {
  DType type;
  size_t size;
  std::string_view short_name;
  std::string_view torch_name;
};

constexpr std::array<DTypeInfo, kNumDTypes> kInfo = {{
    {DType::kFloat32, 4, "f32", "float32"},
    {DType::kFloat16, 2, "f16", "float16"},
    {DType::kBFloat16, 2, "bf16", "bfloat16"},
    {DType::kInt8, 1, "i8", "int8"},
    {DType::kUInt8, 1, "u8", "uint8"},
    {DType::kInt32, 4, "i32", "int32"},
    {DType::kInt64, 8, "i64", "int64"},
    {DType::kBool, 1, "bool", "bool"},
    {DType::kFloat64, 8, "f64", "float64"},
    {DType::kInt16, 2, "i16", "int16"},
    {DType::kOpaque, 0, "opaque", "opaque"},
}};

const DTypeInfo& info(DType t) { return kInfo[static_cast<size_t>(t)]; }

// Category rank for promotion: bool < integer < floating.
int category(DType t) {
  if (t == DType::kBool) return 0;
  if (is_floating(t)) return 2;
  return 1;
}

}  // namespace

size_t dtype_size(DType t) { return info(t).size; }
std::string_view dtype_name(DType t) { return info(t).short_name; }
std::string_view dtype_torch_name(DType t) { return info(t).torch_name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  if (name.substr(0, 6) == "torch.") name.remove_prefix(6);
  for (const auto& i : kInfo) {
    if (i.short_name == name || i.torch_name == name) return i.type;
  }
  if (name == "float" ) return DType::kFloat32;
  if (name == "half") return DType::kFloat16;
  if (name == "double") return DType::kFloat64;
  if (name == "long") return DType::kInt64;
  if (name == "int") return DType::kInt32;
  return std::nullopt;
}

bool is_floating(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 ||
         t == DType::kFloat64;
}

bool is_integral(DType t) {
  return t == DType::kInt8 || t == DType::kUInt8 || t == DType::kInt16 || t == DType::kInt32 ||
         t == DType::kInt64 || t == DType::kBool;
}

bool is_engine_dtype(DType t) { return static_cast<int>(t) < 8; }

bool is_buffer_dtype(DType t) { return is_engine_dtype(t) || t == DType::kFloat64; }

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::kOpaque || b == DType::kOpaque) return DType::kOpaque;
  int ca = category(a), cb = category(b);
  if (ca != cb) return ca > cb ? a : b;
  if (ca == 2) {
    if (a == DType::kFloat64 || b == DType::kFloat64) return DType::kFloat64;
    if (a == DType::kFloat32 || b == DType::kFloat32) return DType::kFloat32;
    return DType::kFloat32;  // f16 with bf16 promotes to f32, as in torch
  }
  // Integers: widest signed type; u8 with i8 gives i16.
  auto rank = [](DType t) {
    switch (t) {
      case DType::kInt8: return 1;
      case DType::kUInt8: return 1;
      case DType::kInt16: return 2;
      case DType::kInt32: return 3;
      default: return 4;
    }
  };
  if ((a == DType::kUInt8 && b == DType::kInt8) || (a == DType::kInt8 && b == DType::kUInt8)) {
    return DType::kInt16;
  }
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace ingot::ir
