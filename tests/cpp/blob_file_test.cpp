// The blob file (the cuDNN plans kept beside a timing cache): round trip, a missing file, and
// every kind of damage is an error naming the file, never a partial read.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "runtime/blob_file.h"
#include "support/hash.h"

namespace ingot::runtime {
namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/ingot_" + name; }

Blob blob(std::vector<uint8_t> bytes) { return std::make_shared<const std::vector<uint8_t>>(std::move(bytes)); }

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::map<std::string, Blob> sample() {
  std::vector<uint8_t> big(100000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7 + 3);
  return {{"H200 (sm_90) cudnn 91900;conv;cudnn:eng=3", blob({1, 2, 3, 0, 255})},
          {"key with\ttab and \xff byte", blob({})},
          {"big", blob(big)}};
}

TEST(BlobFile, RoundTrip) {
  std::string path = temp_path("blobs_roundtrip.plans");
  auto entries = sample();
  ASSERT_TRUE(write_blob_file(path, entries).is_ok());
  auto back = read_blob_file(path);
  ASSERT_TRUE(back.has_value()) << back.status().message();
  ASSERT_EQ(back->size(), entries.size());
  for (const auto& [key, b] : entries) {
    ASSERT_TRUE(back->count(key)) << key;
    EXPECT_EQ(*back->at(key), *b) << key;
  }
  std::remove(path.c_str());
}

TEST(BlobFile, MissingFileIsEmpty) {
  auto back = read_blob_file(temp_path("blobs_never_written.plans"));
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->empty());
}

TEST(BlobFile, EmptyMapRoundTrips) {
  std::string path = temp_path("blobs_empty.plans");
  ASSERT_TRUE(write_blob_file(path, {}).is_ok());
  auto back = read_blob_file(path);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->empty());
  std::remove(path.c_str());
}

TEST(BlobFile, DamagedFilesAreErrorsNamingTheFile) {
  std::string path = temp_path("blobs_damaged.plans");
  ASSERT_TRUE(write_blob_file(path, sample()).is_ok());
  const std::vector<uint8_t> good = file_bytes(path);
  auto expect_error = [&](const std::vector<uint8_t>& bytes, const std::string& what) {
    write_bytes(path, bytes);
    auto back = read_blob_file(path);
    ASSERT_FALSE(back.has_value()) << what;
    EXPECT_NE(back.status().message().find(path), std::string::npos) << back.status().message();
    EXPECT_NE(back.status().message().find(what), std::string::npos) << back.status().message();
  };
  // Every truncation, including to nothing and to the header alone.
  for (size_t cut : {size_t(0), size_t(10), size_t(16), size_t(30), good.size() / 2, good.size() - 1}) {
    std::vector<uint8_t> b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    expect_error(b, cut < 40 ? "plan file" : "checksum mismatch");
  }
  // A flipped byte anywhere in the body, and in the checksum itself.
  for (size_t at : {size_t(20), size_t(40), good.size() / 2, good.size() - 3}) {
    std::vector<uint8_t> b = good;
    b[at] ^= 0x40;
    expect_error(b, "checksum mismatch");
  }
  // Not a blob file at all: a timing cache.
  std::string text = "ingot-timing-cache 1\nkey\ttactic\t\n";
  expect_error(std::vector<uint8_t>(text.begin(), text.end()), "not an ingot plan file");
  std::remove(path.c_str());
}

// A file whose checksum holds but whose entries do not add up (written by something else).
TEST(BlobFile, InconsistentEntriesAreErrors) {
  std::string path = temp_path("blobs_inconsistent.plans");
  ASSERT_TRUE(write_blob_file(path, {{"k", blob({9, 9})}}).is_ok());
  std::vector<uint8_t> good = file_bytes(path);
  auto reseal = [](std::vector<uint8_t> b) {
    b.resize(b.size() - 8);
    uint64_t h = hash64(b.data(), b.size());
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(h >> (8 * i)));
    return b;
  };
  std::vector<uint8_t> more = good;
  more[16] = 2;  // two entries announced, one present
  write_bytes(path, reseal(more));
  auto back = read_blob_file(path);
  ASSERT_FALSE(back.has_value());
  EXPECT_NE(back.status().message().find("entry 1 of 2 runs past the end"), std::string::npos) << back.status().message();
  std::vector<uint8_t> extra = good;
  extra.insert(extra.end() - 8, {1, 2, 3});
  write_bytes(path, reseal(extra));
  back = read_blob_file(path);
  ASSERT_FALSE(back.has_value());
  EXPECT_NE(back.status().message().find("bytes after the last entry"), std::string::npos) << back.status().message();
  std::remove(path.c_str());
}

TEST(BlobFile, UnwritablePathIsAnError) {
  Status s = write_blob_file("/nonexistent-dir/ingot.plans", sample());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("/nonexistent-dir/ingot.plans"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace ingot::runtime
