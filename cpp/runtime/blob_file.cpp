#include "runtime/blob_file.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>

#include "plan/bytes.h"
#include "support/hash.h"

namespace ingot::runtime {

namespace {

constexpr char kMagic[16] = "ingot-blobs v1\n";

using plan::detail::ByteReader;
using plan::detail::ByteWriter;

// `n` bytes at the reader's position, skipped over; null when fewer remain.
const uint8_t* take(ByteReader& r, std::span<const uint8_t> data, uint64_t n) {
  if (!r.ok() || n > r.remaining()) return nullptr;
  const uint8_t* p = data.data() + r.offset();
  r.skip(static_cast<size_t>(n));
  return p;
}

}  // namespace

Expected<std::map<std::string, Blob>> read_blob_file(const std::string& path) {
  std::map<std::string, Blob> entries;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return entries;
  std::ifstream f(path, std::ios::binary);
  if (!f) return invalid_argument("plan file '", path, "': cannot open it");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return invalid_argument("plan file '", path, "': cannot read it");
  auto bad = [&](const std::string& what) { return invalid_argument("plan file '", path, "': ", what); };
  if (bytes.size() < sizeof(kMagic) + 16 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return bad("not an ingot plan file (no 'ingot-blobs v1' header)");
  }
  const size_t body = bytes.size() - 8;
  ByteReader sum_reader(std::span<const uint8_t>(bytes).subspan(body), 0);
  if (hash64(bytes.data(), body) != sum_reader.u64("checksum")) return bad("checksum mismatch (truncated or corrupt)");
  const std::span<const uint8_t> data = std::span<const uint8_t>(bytes).first(body);
  ByteReader r(data, 0);
  r.skip(sizeof(kMagic));
  const uint64_t count = r.u64("entry count");
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t* key = take(r, data, r.u32("key length"));
    const size_t key_len = key ? static_cast<size_t>(data.data() + r.offset() - key) : 0;
    const uint8_t* blob = key ? take(r, data, r.u64("blob length")) : nullptr;
    if (!blob) return bad("entry " + std::to_string(i) + " of " + std::to_string(count) + " runs past the end");
    entries[std::string(reinterpret_cast<const char*>(key), key_len)] =
        std::make_shared<const std::vector<uint8_t>>(blob, data.data() + r.offset());
  }
  if (r.remaining() != 0) return bad("bytes after the last entry");
  return entries;
}

Status write_blob_file(const std::string& path, const std::map<std::string, Blob>& entries) {
  size_t size = sizeof(kMagic) + 16;
  for (const auto& [key, blob] : entries) size += 12 + key.size() + (blob ? blob->size() : 0);
  ByteWriter w(nullptr);
  w.reserve(size);
  // Byte by byte: raw() into the still empty buffer trips GCC 12's -Wstringop-overflow.
  for (char c : kMagic) w.u8(static_cast<uint8_t>(c), "magic");
  w.u64(entries.size(), "entry count");
  for (const auto& [key, blob] : entries) {
    w.count(key.size(), "key length");
    w.raw(key.data(), key.size(), "key");
    w.u64(blob ? blob->size() : 0, "blob length");
    if (blob) w.raw(blob->data(), blob->size(), "blob");
  }
  if (!w.ok()) return w.status().with_context("plan file '" + path + "': ");
  std::vector<uint8_t>& out = w.bytes();
  w.u64(hash64(out.data(), out.size()), "checksum");
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
    if (!f.flush()) {
      std::remove(tmp.c_str());
      return invalid_argument("plan file '", path, "': cannot write '", tmp, "'");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return invalid_argument("plan file '", path, "': cannot replace it");
  }
  return Status::ok();
}

}  // namespace ingot::runtime
