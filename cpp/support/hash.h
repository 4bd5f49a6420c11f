// 64-bit content hash (xxHash XXH3-64, from the system's libxxhash headers). Used for plan
// checksums and for cache keys; not a cryptographic hash.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ingot {

uint64_t hash64(const void* data, size_t size, uint64_t seed = 0);

}  // namespace ingot
