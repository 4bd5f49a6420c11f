// The timing cache file: round trip, merging, a missing file, malformed files, and keys.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "runtime/timing_cache.h"

namespace ingot::runtime {
namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/ingot_" + name; }

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
}

TEST(TimingCache, SaveLoadRoundTrip) {
  TimingCache a;
  a.put("gpu;convolution(x);f16[1,3,8,8]", {"cudnn:eng=3;1=2,5=0", {{"cudnn:eng=3;1=2,5=0", 0.0125}, {"cudnn:eng=7;", 0.5}}});
  a.put("gpu;matmul(y);f16[4,4]", {"algo=2", {}});
  std::string path = temp_path("roundtrip.cache");
  ASSERT_TRUE(a.save(path).is_ok());
  TimingCache b;
  ASSERT_TRUE(b.load(path).is_ok());
  EXPECT_EQ(b.size(), 2u);
  auto hit = b.find("gpu;convolution(x);f16[1,3,8,8]");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->tactic, "cudnn:eng=3;1=2,5=0");
  ASSERT_EQ(hit->timed.size(), 2u);
  EXPECT_EQ(hit->timed[1].tactic, "cudnn:eng=7;");
  EXPECT_DOUBLE_EQ(hit->timed[0].ms, 0.0125);
  EXPECT_TRUE(b.find("gpu;matmul(y);f16[4,4]")->timed.empty());
  EXPECT_FALSE(b.find("other").has_value());
  std::remove(path.c_str());
}

TEST(TimingCache, LoadMergesAndMissingFileIsEmpty) {
  TimingCache c;
  c.put("k1", {"t1", {}});
  EXPECT_TRUE(c.load(temp_path("does_not_exist.cache")).is_ok());
  EXPECT_EQ(c.size(), 1u);
  std::string path = temp_path("merge.cache");
  write(path, "ingot-timing-cache 1\nk2\tt2\t\nk1\tnew\t\n");
  ASSERT_TRUE(c.load(path).is_ok());
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.find("k1")->tactic, "new");  // the file's entry wins
  std::remove(path.c_str());
}

TEST(TimingCache, MalformedFilesNameFileAndLine) {
  std::string path = temp_path("bad.cache");
  write(path, "something else\n");
  TimingCache c;
  Status s = c.load(path);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find(path), std::string::npos);
  EXPECT_NE(s.message().find("not an ingot timing cache"), std::string::npos);

  write(path, "ingot-timing-cache 1\nk\tt\t\nonly-two\tcolumns\n");
  s = c.load(path);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("line 3"), std::string::npos);

  write(path, "ingot-timing-cache 1\nk\tt\ta@1|b@x\n");
  s = c.load(path);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("bad timed entry 'b@x'"), std::string::npos);
  EXPECT_EQ(c.size(), 0u);  // nothing from a bad file is kept
  std::remove(path.c_str());
}

TEST(TimingCache, KeysSeparateWhatDecidesTheTactic) {
  net::ConvolutionParams p;
  p.stride = {1, 1}, p.padding = {0, 0}, p.dilation = {1, 1};
  TensorKey x{ir::DType::kFloat16, {1, 8, 8, 16}}, w{ir::DType::kFloat16, {16, 1, 1, 16}};
  std::string k = timing_key("H200", p, {x, w, std::nullopt}, {x}, true, 3);
  EXPECT_EQ(k, timing_key("H200", p, {x, w, std::nullopt}, {x}, true, 3));
  EXPECT_NE(k, timing_key("H100", p, {x, w, std::nullopt}, {x}, true, 3));
  EXPECT_NE(k, timing_key("H200", p, {x, w, std::nullopt}, {x}, true, 4));
  EXPECT_NE(k.find(std::string(";timed=") + kTimingMethod), std::string::npos);  // older entries do not match
  EXPECT_NE(k, timing_key("H200", p, {x, w, std::nullopt}, {x}, false, 3));
  EXPECT_NE(k, timing_key("H200", p, {x, w, x}, {x}, true, 3));
  TensorKey x2{ir::DType::kFloat16, {2, 8, 8, 16}};
  EXPECT_NE(k, timing_key("H200", p, {x2, w, std::nullopt}, {x2}, true, 3));
  net::ConvolutionParams q = p;
  q.activation = net::UnaryOp::kRelu;
  EXPECT_NE(k, timing_key("H200", q, {x, w, std::nullopt}, {x}, true, 3));
  // Keys never hold the file's separators.
  std::string odd = timing_key("a\tb|c@d\ne", p, {x}, {x}, true, 3);
  EXPECT_EQ(odd.find_first_of("\t|@\n"), std::string::npos);
}

}  // namespace
}  // namespace ingot::runtime
