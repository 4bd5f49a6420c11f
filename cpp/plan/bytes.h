// Little-endian byte writer and bounds-checked byte reader for the plan format.
//
// Both keep the first error and ignore everything after it ("sticky" status), so that callers
// can write or read a group of fields and check once. The reader returns zeros after an error,
// which keeps every count at zero: nothing is allocated from a value that failed to read.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plan/format.h"
#include "support/status.h"

namespace ingot::plan::detail {

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<FieldSpan>* layout) : layout_(layout) {}

  std::vector<uint8_t>& bytes() { return buf_; }
  void reserve(size_t n) { buf_.reserve(n); }
  size_t size() const { return buf_.size(); }
  const Status& status() const { return status_; }
  bool ok() const { return status_.is_ok(); }
  void fail(Status s) {
    if (status_.is_ok()) status_ = std::move(s);
  }

  // Field paths are recorded only when a layout is requested; callers build prefixes only then.
  bool mapping() const { return layout_ != nullptr; }
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

  void u8(uint8_t v, const char* what) { put(v, 1, what, "u8"); }
  void u32(uint32_t v, const char* what) { put(v, 4, what, "u32"); }
  void i32(int32_t v, const char* what) { put(static_cast<uint32_t>(v), 4, what, "i32"); }
  void u64(uint64_t v, const char* what) { put(v, 8, what, "u64"); }
  void i64(int64_t v, const char* what) { put(static_cast<uint64_t>(v), 8, what, "i64"); }
  void f64(double v, const char* what) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    put(bits, 8, what, "f64");
  }
  // A count of list entries; fails if it does not fit u32.
  void count(size_t n, const char* what) {
    if (n > UINT32_MAX) fail(invalid_argument(prefix_, what, ": ", n, " entries do not fit the format"));
    put(n, 4, what, "u32");
  }
  void str(std::string_view s, const char* what) {
    if (s.size() > UINT32_MAX) fail(invalid_argument(prefix_, what, ": string of ", s.size(), " bytes is too long"));
    if (!is_valid_utf8(s)) fail(invalid_argument(prefix_, what, ": string '", s, "' is not valid UTF-8"));
    size_t at = buf_.size();
    put_le(s.size(), 4);
    buf_.insert(buf_.end(), s.begin(), s.end());
    record(what, at, "str");
  }
  void raw(const void* data, size_t n, const char* what) {
    size_t at = buf_.size();
    const auto* p = static_cast<const uint8_t*>(data);
    buf_.insert(buf_.end(), p, p + n);
    record(what, at, "bytes");
  }
  // Zero bytes up to a multiple of `alignment`, counted from `origin`.
  void pad_to(size_t alignment, size_t origin, const char* what) {
    size_t at = buf_.size();
    size_t rem = (buf_.size() - origin) % alignment;
    if (rem) buf_.resize(buf_.size() + alignment - rem, 0);
    if (buf_.size() > at) record(what, at, "pad");
  }
  void patch_u32(size_t at, uint32_t v) { store(at, v, 4); }
  void patch_u64(size_t at, uint64_t v) { store(at, v, 8); }

 private:
  void put_le(uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void put(uint64_t v, size_t n, const char* what, const char* type) {
    size_t at = buf_.size();
    put_le(v, n);
    record(what, at, type);
  }
  void store(size_t at, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) buf_[at + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  void record(const char* what, size_t at, const char* type) {
    if (layout_) layout_->push_back({prefix_ + what, at, buf_.size() - at, type});
  }

  std::vector<uint8_t> buf_;
  std::vector<FieldSpan>* layout_;
  std::string prefix_;
  Status status_;
};

class ByteReader {
 public:
  // `base` is the offset of data[0] in the payload, for messages.
  ByteReader(std::span<const uint8_t> data, size_t base) : data_(data), base_(base) {}

  const Status& status() const { return status_; }
  bool ok() const { return status_.is_ok(); }
  size_t remaining() const { return data_.size() - pos_; }
  size_t offset() const { return base_ + pos_; }  // payload offset of the next byte

  // What is being read, for messages ("tensor 3 ('conv1.weight')").
  void set_context(std::string context) { context_ = std::move(context); }
  const std::string& context() const { return context_; }

  template <typename... Args>
  void fail(Args&&... args) {
    if (!status_.is_ok()) return;
    status_ = error(ErrorCode::kCorruptPlan, context_, context_.empty() ? "" : ": ",
                    std::forward<Args>(args)...);
    pos_ = data_.size();  // later reads see no bytes and return zeros
  }

  // Takes over the first error of a nested reader.
  void adopt(const Status& s) {
    if (status_.is_ok() && !s.is_ok()) status_ = s;
    if (!s.is_ok()) pos_ = data_.size();
  }
  void skip(size_t n) {
    if (ok() && n <= remaining()) pos_ += n;
  }

  uint8_t u8(const char* what) { return static_cast<uint8_t>(get(1, what)); }
  uint32_t u32(const char* what) { return static_cast<uint32_t>(get(4, what)); }
  int32_t i32(const char* what) { return static_cast<int32_t>(static_cast<uint32_t>(get(4, what))); }
  uint64_t u64(const char* what) { return get(8, what); }
  int64_t i64(const char* what) { return static_cast<int64_t>(get(8, what)); }
  double f64(const char* what) {
    uint64_t bits = get(8, what);
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  bool boolean(const char* what) {
    uint8_t v = u8(what);
    if (v > 1) fail(what, ": bool value ", int(v), " is neither 0 nor 1");
    return v == 1;
  }

  // A list length, checked against what the remaining bytes could hold when each entry takes
  // at least `min_entry_bytes`; on failure it returns 0.
  uint32_t count(const char* what, size_t min_entry_bytes) {
    size_t at = offset();
    uint32_t n = u32(what);
    if (!ok()) return 0;
    if (min_entry_bytes && n > remaining() / min_entry_bytes) {
      fail(what, ": count ", n, " at payload offset ", at, " cannot fit in the ", remaining(),
           " bytes left (each entry takes at least ", min_entry_bytes, ")");
      return 0;
    }
    return n;
  }

  std::string str(const char* what) {
    size_t at = offset();
    uint32_t n = u32(what);
    if (!ok()) return {};
    if (n > remaining()) {
      fail(what, ": string of ", n, " bytes at payload offset ", at, " runs past the ",
           remaining(), " bytes left");
      return {};
    }
    std::string s(reinterpret_cast<const char*>(data_.data() + pos_), n);
    pos_ += n;
    if (!is_valid_utf8(s)) {
      fail(what, ": string at payload offset ", at, " is not valid UTF-8");
      return {};
    }
    return s;
  }

  void expect_tag(uint32_t tag, const char* section) {
    size_t at = offset();
    uint32_t got = u32(section);
    if (ok() && got != tag) fail("expected section '", section, "' at payload offset ", at);
  }

 private:
  uint64_t get(size_t n, const char* what) {
    if (!ok()) return 0;
    if (remaining() < n) {
      fail("plan data ends inside ", what, " at payload offset ", offset(), " (needs ", n,
           " bytes, ", remaining(), " left)");
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }

  std::span<const uint8_t> data_;
  size_t base_;
  size_t pos_ = 0;
  std::string context_;
  Status status_;
};

}  // namespace ingot::plan::detail
