// Plan: what the builder produces and the runtime executes. In memory it is a validated
// net::Network (layers in execution order, constants holding the weights), the backend it was
// built for, and the memory plan. serialize() turns it into bytes; deserialize() verifies bytes
// completely before it returns a Plan, so that no truncated, corrupt, wrong-version or
// wrong-backend file can crash the process.
//
// Byte layout (all integers little-endian; i = signed, u = unsigned, f64 = IEEE-754 bits):
//   header, 64 bytes (not covered by the checksum; every field is checked on its own):
//     0  char[8]  magic "INGOTPLN"
//     8  u32      format version (kFormatVersion)
//     12 u32      backend (Backend)
//     16 u64      payload size in bytes (the file is exactly 64 + payload size bytes)
//     24 u64      payload checksum: hash64(payload)
//     32 u32      header size (64)
//     36 u32      flags (0)
//     40 char[24] zero
//   payload (offsets below are relative to its first byte):
//     u64 weights_offset   multiple of 64: the structured part rounded up to 64 bytes
//     u64 weights_size     weights_offset + weights_size == payload size
//     "META" backend: u32 (same as the header's), device: str, producer: str, name: str, allow_tf32: u8
//     "SYMB" u32 n, then n x { name: str, min: i64, max: i64 }   (max INT64_MAX: unbounded)
//            names are identifiers, in strictly increasing byte order
//     "TENS" u32 n, then n x { name: str, dtype: u8, kind: u8 (0 activation, 1 input,
//            2 constant), shape: u32 rank + rank x expr, constants only: weights offset: u64
//            (relative to the weights section), byte size: u64 }
//     "INPT" u32 n, then n x i32 tensor id                    (engine inputs, in order)
//     "OUTP" u32 n, then n x { tensor id: i32, name: str }     (engine outputs, in order)
//     "LAYR" u32 n, then n x { kind: u8 (LayerKind), name: str, u32 n_in + n_in x i32 tensor
//            id (-1: absent optional input), u32 n_out + n_out x i32 tensor id, params: u32 byte
//            size + the fields of the kind's parameter struct in fields() order, u32 n +
//            n x origin: str, tactic: str }
//     "MEMP" arena_bytes: u64, u32 n (== tensor count), then n x { offset: i64, size: u64 }
//     "ORIG" u32 n, then n x { node: str (non-empty, strictly increasing byte order), op: str,
//            module: str }   (for reports: the ATen op and nn.Module path of origin nodes)
//     "TIMD" u32 n (== layer count), then n x { u32 m, then m x { tactic: str, ms: f64 } }
//            (for reports: the tactics the builder timed per layer; 0 <= ms <= 1e12)
//     "PROF" u32 n (optimization profiles, 0 for none), then n x { u32 n_sym (== symbol count)
//            + n_sym x { min: i64, opt: i64, max: i64 } (in SYMB order), u32 n_layers (== layer
//            count) + n_layers x tactic: str }
//     zero bytes up to weights_offset
//     weights section: each constant's bytes, in tensor id order, the first at 0 and each
//     next one at the end of the previous one rounded up to 64; zero bytes in between.
//   Section tags are 4 ASCII bytes. str = u32 byte length + UTF-8 bytes. expr = str holding
//   SymExpr::str(), which must read back to the identical text. Parameter fields: int64 i64,
//   bool u8 (0 or 1), double f64, enum and DType u8 (range-checked), vector<int64_t> u32 n +
//   n x i64, SymExpr expr, Shape u32 n + n x expr.
//   The encoding is canonical: serialize(deserialize(bytes)) gives the same bytes.
//
// Limits of the format (so that reading a hostile file stays cheap): a shape has at most
// kMaxRank dims; an expression's text has at most kMaxExprTextBytes bytes and kMaxExprDepth
// nested parentheses or max/min calls, at most kMaxExprTerms terms, monomials of degree at most
// kMaxExprDegree, coefficients of magnitude at most kMaxExprCoefficient; the dims of one shape
// have at most kMaxShapeTermProduct as the product of their term counts. serialize() reports
// an error for a plan beyond them.
//
// Optimization profiles (checked by verify()): each gives every plan symbol a range
// min <= opt <= max inside the symbol's plan range, and one tactic per layer (what the backend
// chose timing at the opt values; "" for the default). The plan's symbol ranges cover the union
// of the profiles; the runtime runs a call with the first profile whose ranges contain every
// bound symbol and rejects values that no profile covers. Without profiles the plan's symbol
// ranges are the only constraint and the layers' own tactics apply.
//
// Memory plan rules (checked by verify()): an activation is a tensor that a layer produces and
// that is not an engine output. Each activation has offset >= 0, offset + size <= arena_bytes
// and size >= max_tensor_bytes(); every other tensor has offset -1 and size 0. arena_bytes is
// exactly the largest offset + size over the activations (0 without any). An activation is
// live from the layer that produces it through the last layer that reads it (both inclusive);
// activations live at the same time never share bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/network.h"
#include "support/status.h"

namespace ingot::plan {

inline constexpr char kMagic[8] = {'I', 'N', 'G', 'O', 'T', 'P', 'L', 'N'};
inline constexpr uint32_t kFormatVersion = 10;  // 2: fused epilogues, layer tactics; 3: ORIG, TIMD; 4: PROF;
                                               // 5: pooling channels_last; 6: strided attention operands;
                                               // 7: squeeze_excite layers; 8: their scale_input;
                                               // 9: pointwise layers; 10: convolution channel_sums
inline constexpr size_t kHeaderSize = 64;
inline constexpr size_t kWeightAlignment = 64;

inline constexpr size_t kMaxRank = 64;
inline constexpr size_t kMaxExprTextBytes = 8192;
inline constexpr size_t kMaxExprDepth = 128;
inline constexpr size_t kMaxExprTerms = 256;
inline constexpr size_t kMaxExprDegree = 64;
inline constexpr int64_t kMaxExprCoefficient = int64_t{1} << 62;
inline constexpr uint64_t kMaxShapeTermProduct = 4096;

enum class Backend : uint32_t { kCpu = 1, kCuda = 2 };
const char* backend_name(Backend b);  // "cpu", "cuda", or "unknown"

// Where each activation tensor lives inside one arena. Sizes are planned for the largest
// shapes the symbol ranges allow.
struct MemoryPlan {
  uint64_t arena_bytes = 0;
  // Per tensor id: byte offset in the arena, or -1 for tensors that are not activations
  // (engine inputs, outputs, constants).
  std::vector<int64_t> offsets;
  // Per tensor id: bytes reserved at that offset (0 for non-activations).
  std::vector<uint64_t> sizes;
};

// A reshape layer whose output the memory plan puts on its input's bytes (both activations,
// same offset and size) is a view: backends run nothing for it. The planner makes every
// reshape of an activation into one that is not an engine output.
bool is_view(const MemoryPlan& memory, const net::Layer& layer);

// One optimization profile (see "Optimization profiles" above).
struct ProfileRange {
  int64_t min = 0, opt = 0, max = 0;
  bool contains(int64_t v) const { return min <= v && v <= max; }
  bool operator==(const ProfileRange&) const = default;
};
struct Profile {
  std::map<std::string, ProfileRange> ranges;  // per plan symbol
  std::vector<std::string> tactics;            // per layer
  bool operator==(const Profile&) const = default;
};

struct Plan {
  Backend backend = Backend::kCpu;
  std::string device;    // "cpu", or the GPU name and architecture the plan was tuned for
  std::string producer;  // "ingot 0.1.0"
  std::string name;      // engine name, for messages
  bool allow_tf32 = true;  // float32 matrix products may use TF32 tensor cores
  net::Network network;
  MemoryPlan memory;
  std::vector<Profile> profiles;  // empty: one implicit profile, the symbol ranges
};

// Serializes a plan after verify(); constants are copied into the weights section. Errors
// (kInvalidArgument) name what cannot be stored.
Expected<std::vector<uint8_t>> serialize(const Plan& plan);

// Verifies and reads plan bytes. Constants in the result point into `bytes`, which `keepalive`
// must keep alive for as long as the Plan is used (pass nullptr to have them copied; a constant
// whose address is not aligned to its element size is copied too). Errors: kCorruptPlan
// (truncated, checksum, structure, types, memory plan), kVersionMismatch, kBackendMismatch
// (a backend value this build does not know).
Expected<Plan> deserialize(std::span<const uint8_t> bytes, std::shared_ptr<const void> keepalive);

// Reads only the header (magic, version, backend, sizes); cheap, for cache keys and messages.
// Fails on short input or a wrong magic; for the current version it also checks the header
// size, flags, reserved bytes and the backend value. For another version it returns what it
// read, so that a caller can name that version.
struct HeaderInfo {
  uint32_t version = 0;
  Backend backend = Backend::kCpu;
  uint64_t payload_size = 0;
  uint64_t checksum = 0;
};
Expected<HeaderInfo> read_header(std::span<const uint8_t> bytes);

// The checks deserialize() makes on the decoded plan, for plans built in memory too:
// Network::validate(), symbol ranges, tensor kinds and dtypes, engine outputs, the memory
// plan rules and the profile rules above. Errors are kCorruptPlan and name the tensor or layer.
Status verify(const Plan& plan);

// Bytes of tensor `id` at the largest shape its symbol ranges allow (per dim the upper bound
// of SymExpr::bounds, negative bounds counting as 0). Error if a dim has no upper bound or the
// size overflows. The memory planner sizes activations with this.
Expected<uint64_t> max_tensor_bytes(const net::Network& network, int id);

}  // namespace ingot::plan
