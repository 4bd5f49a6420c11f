// A file of named binary blobs: the CUDA backend keeps the cuDNN plans its builds used beside
// the timing cache in one (`<timing cache>.plans`), so that a build in a new process loads them
// instead of building them again (runtime-fusion plans are compiled with NVRTC, 0.1-2 s each).
//
// Format (little-endian): the 16-byte magic "ingot-blobs v1\n\0", the entry count (u64), then per
// entry the key's length (u32), the key, the blob's length (u64) and the blob; last, hash64 of
// everything before it (u64). A file that does not follow it, in any byte, is an error that names
// the file and what is wrong; it is never half read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/status.h"

namespace ingot::runtime {

using Blob = std::shared_ptr<const std::vector<uint8_t>>;

// The entries of `path`; a missing file has none.
Expected<std::map<std::string, Blob>> read_blob_file(const std::string& path);
// Writes `entries` to `path` through a temporary file renamed into place.
Status write_blob_file(const std::string& path, const std::map<std::string, Blob>& entries);

}  // namespace ingot::runtime
