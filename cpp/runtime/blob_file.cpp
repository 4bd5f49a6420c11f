#include "runtime/blob_file.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/hash.h"

namespace ingot::runtime {

namespace {

constexpr char kMagic[16] = "ingot-blobs v1\n";

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// Reads fields off a byte range, failing (not reading past the end) on a short file.
class Cursor {
 public:
  Cursor(const std::vector<uint8_t>& bytes, size_t end) : bytes_(bytes), end_(end) {}
  bool le(int width, uint64_t* v) {
    if (end_ - pos_ < static_cast<size_t>(width)) return false;
    *v = 0;
    for (int i = 0; i < width; ++i) *v |= uint64_t(bytes_[pos_ + i]) << (8 * i);
    pos_ += width;
    return true;
  }
  bool take(uint64_t n, const uint8_t** p) {
    if (end_ - pos_ < n) return false;
    *p = bytes_.data() + pos_;
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  const std::vector<uint8_t>& bytes_;
  size_t end_;
  size_t pos_ = sizeof(kMagic);
};

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
  uint64_t sum = 0;
  for (int i = 0; i < 8; ++i) sum |= uint64_t(bytes[body + i]) << (8 * i);
  if (hash64(bytes.data(), body) != sum) return bad("checksum mismatch (truncated or corrupt)");
  Cursor c(bytes, body);
  uint64_t count = 0;
  if (!c.le(8, &count)) return bad("no entry count");
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t key_len = 0, blob_len = 0;
    const uint8_t* key = nullptr;
    const uint8_t* blob = nullptr;
    if (!c.le(4, &key_len) || !c.take(key_len, &key) || !c.le(8, &blob_len) || !c.take(blob_len, &blob)) {
      return bad("entry " + std::to_string(i) + " of " + std::to_string(count) + " runs past the end");
    }
    entries[std::string(reinterpret_cast<const char*>(key), key_len)] =
        std::make_shared<const std::vector<uint8_t>>(blob, blob + blob_len);
  }
  if (c.pos() != body) return bad("bytes after the last entry");
  return entries;
}

Status write_blob_file(const std::string& path, const std::map<std::string, Blob>& entries) {
  size_t size = sizeof(kMagic) + 16;
  for (const auto& [key, blob] : entries) size += 12 + key.size() + (blob ? blob->size() : 0);
  std::vector<uint8_t> out;
  out.reserve(size);
  out.insert(out.end(), kMagic, kMagic + sizeof(kMagic));
  put_le(out, entries.size(), 8);
  for (const auto& [key, blob] : entries) {
    if (key.size() > UINT32_MAX) return invalid_argument("plan file '", path, "': a key of ", key.size(), " bytes");
    put_le(out, key.size(), 4);
    out.insert(out.end(), key.begin(), key.end());
    put_le(out, blob ? blob->size() : 0, 8);
    if (blob) out.insert(out.end(), blob->begin(), blob->end());
  }
  put_le(out, hash64(out.data(), out.size()), 8);
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
