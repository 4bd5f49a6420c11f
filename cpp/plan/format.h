// Internals of the plan format shared by the writer, the reader and the tests. Not part of the
// public contract (plan.h is); the runtime and the builder use plan.h only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"

namespace ingot::plan::detail {

// Section tags, as stored (4 ASCII bytes read as a little-endian u32).
constexpr uint32_t tag(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
         uint32_t(uint8_t(s[3])) << 24;
}
inline constexpr uint32_t kTagMeta = tag("META");
inline constexpr uint32_t kTagSymbols = tag("SYMB");
inline constexpr uint32_t kTagTensors = tag("TENS");
inline constexpr uint32_t kTagInputs = tag("INPT");
inline constexpr uint32_t kTagOutputs = tag("OUTP");
inline constexpr uint32_t kTagLayers = tag("LAYR");
inline constexpr uint32_t kTagMemory = tag("MEMP");
inline constexpr uint32_t kTagOrigins = tag("ORIG");
inline constexpr uint32_t kTagTimings = tag("TIMD");
inline constexpr uint32_t kTagProfiles = tag("PROF");

enum class TensorKind : uint8_t { kActivation = 0, kInput = 1, kConstant = 2, kCount };

// The payload starts with u64 weights_offset and u64 weights_size.
inline constexpr size_t kPayloadPrologue = 16;

// One field as written: where it lies in the file and what primitive encoded it ("u8", "u32",
// "i32", "u64", "i64", "f64", "str", "bytes", "pad"). Paths look like "tensors[3].shape[1]",
// "layers[0].params.stride", "memory.offsets[5]", "weights.tensors[2]".
struct FieldSpan {
  std::string path;
  size_t offset = 0;
  size_t size = 0;
  const char* type = "";
};

// Writes the bytes of `plan` without verify(): ids, enum values and the memory plan are
// written as they are, so tests can build corrupt plans. Fails only for what the format cannot
// hold (strings that are not UTF-8 or too long, expressions beyond the limits, memory vectors
// of different lengths). When `layout` is given, every field written is recorded there.
Expected<std::vector<uint8_t>> encode(const Plan& plan, std::vector<FieldSpan>* layout = nullptr);

// Writes hash64(payload) into the header of `bytes` (tests use it after patching the payload).
void update_checksum(std::vector<uint8_t>& bytes);

// Reads an expression stored in a plan: parses `text` under the format's limits (depth,
// terms, degree, coefficients; no deep recursion, no runaway polynomial growth) and requires
// that it is canonical, i.e. that it prints back as `text`.
Expected<ir::SymExpr> read_expr(std::string_view text);

// The text to store for `e`: its str(), after checking that read_expr() gives `e` back.
Expected<std::string> expr_text(const ir::SymExpr& e);

// Checks the limits that apply to one shape as a whole (rank, product of term counts).
Status check_shape_limits(const ir::Shape& shape);

bool is_valid_utf8(std::string_view s);

// The "PROF" section (profiles.cpp). The writer fails when a profile's symbols are not the
// plan's; the reader checks counts against the symbol and layer counts it was given.
class ByteWriter;
class ByteReader;
void write_profiles(ByteWriter& w, const Plan& plan);
std::vector<Profile> read_profiles(ByteReader& r, const std::vector<std::string>& symbols, size_t layer_count);
// The profile rules of verify().
Status verify_profiles(const Plan& plan);

}  // namespace ingot::plan::detail
