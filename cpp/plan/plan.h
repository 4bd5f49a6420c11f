// Plan: what the builder produces and the runtime executes. In memory it is a validated
// net::Network (layers in execution order, constants holding the weights), the backend it was
// built for, and the memory plan. serialize() turns it into bytes; deserialize() verifies bytes
// completely before it returns a Plan, so that no truncated, corrupt, wrong-version or
// wrong-backend file can crash the process.
//
// Byte layout (all integers little-endian):
//   header, 64 bytes:
//     0  char[8]  magic "INGOTPLN"
//     8  u32      format version (kFormatVersion)
//     12 u32      backend (Backend)
//     16 u64      payload size in bytes
//     24 u64      payload checksum: hash64(payload)
//     32 u32      header size (64)
//     36 u32      flags (0)
//     40 char[24] zero
//   payload: metadata, symbols, tensors, inputs, outputs, layers, memory plan, then the
//   weights section (64-byte aligned relative to the payload start).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "net/network.h"
#include "support/status.h"

namespace ingot::plan {

inline constexpr char kMagic[8] = {'I', 'N', 'G', 'O', 'T', 'P', 'L', 'N'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 64;
inline constexpr size_t kWeightAlignment = 64;

enum class Backend : uint32_t { kCpu = 1, kCuda = 2 };
const char* backend_name(Backend b);

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

struct Plan {
  Backend backend = Backend::kCpu;
  std::string device;    // "cpu", or the GPU name and architecture the plan was tuned for
  std::string producer;  // "ingot 0.1.0"
  std::string name;      // engine name, for messages
  net::Network network;
  MemoryPlan memory;
};

// Serializes a plan; constants are copied into the weights section.
Expected<std::vector<uint8_t>> serialize(const Plan& plan);

// Verifies and reads plan bytes. Constants in the result point into `bytes`, which `keepalive`
// must keep alive for as long as the Plan is used (pass nullptr to have them copied).
Expected<Plan> deserialize(std::span<const uint8_t> bytes, std::shared_ptr<const void> keepalive);

// Reads only the header (magic, version, backend, sizes); cheap, for cache keys and messages.
struct HeaderInfo {
  uint32_t version = 0;
  Backend backend = Backend::kCpu;
  uint64_t payload_size = 0;
  uint64_t checksum = 0;
};
Expected<HeaderInfo> read_header(std::span<const uint8_t> bytes);

}  // namespace ingot::plan
