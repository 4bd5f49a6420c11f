// Corrupt, truncated, hostile and mismatched plan bytes: each is rejected with an error that
// names the problem, never a crash. Most cases recompute the checksum after patching so that
// the structural verifier itself is exercised.
#include <algorithm>
#include <iostream>
#include <map>
#include <random>

#include "plan_test_util.h"

namespace plan_test {
namespace {

using plan::detail::FieldSpan;

std::vector<uint8_t> bytes_of(const Plan& p, std::vector<FieldSpan>* layout = nullptr) {
  auto bytes = plan::detail::encode(p, layout);
  EXPECT_TRUE(bytes.has_value()) << bytes.status().message();
  return bytes.has_value() ? *bytes : std::vector<uint8_t>{};
}

// Patches `size` bytes at the field, then fixes the checksum.
std::vector<uint8_t> patched(std::vector<uint8_t> bytes, const FieldSpan& f, uint64_t v, size_t size = 0) {
  store_le(bytes, f.offset, v, size ? size : f.size);
  plan::detail::update_checksum(bytes);
  return bytes;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

TEST(PlanCorrupt, EveryTruncationIsRejected) {
  for (const Plan& p : {small_plan(), all_kinds_plan()}) {
    auto bytes = bytes_of(p);
    for (size_t len = 0; len < bytes.size(); ++len) {
      auto r = plan::deserialize(std::span<const uint8_t>(bytes.data(), len), nullptr);
      ASSERT_FALSE(r.has_value()) << "length " << len;
      ASSERT_EQ(r.status().code(), ErrorCode::kCorruptPlan) << r.status().message();
      ASSERT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
    }
  }
  auto bytes = bytes_of(small_plan());
  bytes.resize(1000);
  expect_error(bytes, ErrorCode::kCorruptPlan,
               str_cat("plan is truncated: header says ", bytes_of(small_plan()).size() - 64,
                       " payload bytes, file has 936"));
}

TEST(PlanCorrupt, EveryHeaderByteChangeIsRejected) {
  const auto bytes = bytes_of(small_plan());
  for (size_t i = 0; i < plan::kHeaderSize; ++i) {
    for (int x = 1; x < 256; ++x) {
      auto copy = bytes;
      copy[i] ^= static_cast<uint8_t>(x);
      auto r = plan::deserialize(copy, nullptr);
      ASSERT_FALSE(r.has_value()) << "header byte " << i << " xor " << x;
      ErrorCode want = (i >= 8 && i < 12) ? ErrorCode::kVersionMismatch
                       : (i >= 12 && i < 16) ? ErrorCode::kBackendMismatch
                                             : ErrorCode::kCorruptPlan;
      // A backend byte can turn cpu into cuda: then header and payload disagree (corrupt).
      if (i == 12 && (bytes[i] ^ x) == 2) want = ErrorCode::kCorruptPlan;
      ASSERT_EQ(r.status().code(), want) << "header byte " << i << " xor " << x << ": " << r.status().message();
    }
  }
}

TEST(PlanCorrupt, PayloadFlipsFailTheChecksum) {
  const auto bytes = bytes_of(all_kinds_plan());
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pos(plan::kHeaderSize, bytes.size() - 1);
  std::uniform_int_distribution<int> val(1, 255);
  for (int trial = 0; trial < 3000; ++trial) {
    auto copy = bytes;
    copy[pos(rng)] ^= static_cast<uint8_t>(val(rng));
    expect_error(copy, ErrorCode::kCorruptPlan, "checksum mismatch");
  }
}

// Complements each payload byte in turn, with the checksum fixed up: the structural verifier
// must reject the change unless it lands where any value is valid (weights, double params) or
// where the memory plan may legitimately differ (and still verifies).
TEST(PlanCorrupt, StructuralFlipsAtEveryOffset) {
  Plan p = small_plan();
  std::vector<FieldSpan> layout;
  const auto bytes = bytes_of(p, &layout);
  std::vector<const FieldSpan*> owner(bytes.size(), nullptr);
  for (const auto& f : layout) {
    for (size_t i = f.offset; i < f.offset + f.size; ++i) owner[i] = &f;
  }
  size_t accepted = 0;
  std::map<std::string, size_t> accepted_in;  // field path -> accepted flips, for the log
  for (size_t i = plan::kHeaderSize; i < bytes.size(); ++i) {
    auto copy = bytes;
    copy[i] ^= 0xFF;
    plan::detail::update_checksum(copy);
    auto r = plan::deserialize(copy, nullptr);
    ASSERT_NE(owner[i], nullptr) << "byte " << i << " belongs to no field";
    const FieldSpan& f = *owner[i];
    if (!r.has_value()) {
      ASSERT_EQ(r.status().code(), ErrorCode::kCorruptPlan) << f.path << ": " << r.status().message();
      ASSERT_FALSE(r.status().message().empty());
      continue;
    }
    ++accepted;
    ++accepted_in[f.path];
    bool free_value = starts_with(f.path, "weights.tensors[") || std::string(f.type) == "f64";
    bool memory = starts_with(f.path, "memory.");
    ASSERT_TRUE(free_value || memory) << "flip of byte " << i << " in " << f.path << " (" << f.type
                                      << ") was accepted";
    // An accepted plan is canonical: it serializes back to the same bytes.
    auto again = plan::serialize(*r);
    ASSERT_TRUE(again.has_value()) << again.status().message();
    ASSERT_EQ(*again, copy) << f.path;
    // Everything but the changed value is as before.
    const Network& n = r->network;
    ASSERT_EQ(n.tensors().size(), p.network.tensors().size());
    for (size_t t = 0; t < n.tensors().size(); ++t) {
      ASSERT_EQ(n.tensors()[t].name, p.network.tensors()[t].name);
      ASSERT_EQ(n.tensors()[t].type, p.network.tensors()[t].type);
    }
    ASSERT_EQ(n.layers().size(), p.network.layers().size());
    for (size_t l = 0; l < n.layers().size(); ++l) {
      ASSERT_EQ(n.layers()[l].kind(), p.network.layers()[l].kind());
      ASSERT_EQ(n.layers()[l].inputs, p.network.layers()[l].inputs);
      ASSERT_EQ(n.layers()[l].outputs, p.network.layers()[l].outputs);
    }
    if (free_value) ASSERT_EQ(r->memory.offsets, p.memory.offsets);
  }
  EXPECT_GT(accepted, 0u);  // the weights at least
  std::string summary;
  for (const auto& [path, n] : accepted_in) summary += str_cat(" ", path, ":", n);
  std::cout << "[ info     ] " << bytes.size() - plan::kHeaderSize << " payload bytes, " << accepted
            << " flips accepted:" << summary << "\n";
}

// The same with other bit patterns and the larger plan: anything accepted must be canonical.
TEST(PlanCorrupt, StructuralFlipsNeverCrash) {
  for (const Plan& p : {small_plan(), all_kinds_plan()}) {
    const auto bytes = bytes_of(p);
    for (uint8_t x : {0x01, 0x80, 0xFF}) {
      for (size_t i = plan::kHeaderSize; i < bytes.size(); ++i) {
        auto copy = bytes;
        copy[i] ^= x;
        plan::detail::update_checksum(copy);
        auto r = plan::deserialize(copy, nullptr);
        if (!r.has_value()) {
          ASSERT_EQ(r.status().code(), ErrorCode::kCorruptPlan) << r.status().message();
          continue;
        }
        auto again = plan::serialize(*r);
        ASSERT_TRUE(again.has_value()) << again.status().message();
        ASSERT_EQ(*again, copy) << "byte " << i << " xor " << int(x);
      }
    }
  }
}

TEST(PlanCorrupt, HugeCountsAndLengths) {
  for (const Plan& p : {small_plan(), all_kinds_plan()}) {
    std::vector<FieldSpan> layout;
    const auto bytes = bytes_of(p, &layout);
    size_t counts = 0, strings = 0;
    for (const auto& f : layout) {
      if (f.offset < plan::kHeaderSize) continue;
      bool is_count = std::string(f.type) == "u32" && f.path.find("tag") == std::string::npos &&
                      f.path.find("backend") == std::string::npos && f.path.find("params.size") == std::string::npos;
      bool is_string = std::string(f.type) == "str";
      if (!is_count && !is_string) continue;
      for (uint64_t v : {uint64_t{0xFFFFFFFF}, uint64_t{0x7FFFFFFF}, uint64_t{1} << 24}) {
        auto r = plan::deserialize(patched(bytes, f, v, 4), nullptr);
        ASSERT_FALSE(r.has_value()) << f.path << " = " << v;
        EXPECT_EQ(r.status().code(), ErrorCode::kCorruptPlan);
        if (is_count && v == 0xFFFFFFFF) {
          EXPECT_NE(r.status().message().find("cannot fit"), std::string::npos) << f.path << ": " << r.status().message();
        }
        if (is_string && v == 0xFFFFFFFF) {
          EXPECT_NE(r.status().message().find("runs past"), std::string::npos) << f.path << ": " << r.status().message();
        }
      }
      (is_count ? counts : strings) += 1;
    }
    EXPECT_GT(counts, 10u);
    EXPECT_GT(strings, 10u);
  }
  std::vector<FieldSpan> layout;
  const auto bytes = bytes_of(small_plan(), &layout);
  expect_error(patched(bytes, field(layout, "tensors.count"), 0xFFFFFFFF), ErrorCode::kCorruptPlan,
               "tensors: tensor count: count 4294967295 at payload offset");
  expect_error(patched(bytes, field(layout, "layers[1].params.size"), 0xFFFFFF), ErrorCode::kCorruptPlan,
               "layer 1 ('relu1'): parameters of 16777215 bytes");
}

TEST(PlanCorrupt, IdsOutOfRange) {
  {
    Plan p = small_plan();
    p.network.mutable_layers()[0].inputs[0] = 99;
    expect_error(bytes_of(p), ErrorCode::kCorruptPlan,
                 "layer 0 ('conv1'): reads tensor id 99, but the plan has 11 tensors");
  }
  {
    Plan p = small_plan();
    p.network.mutable_layers()[1].inputs[0] = -2;
    expect_error(bytes_of(p), ErrorCode::kCorruptPlan, "reads tensor id -2");
  }
  std::vector<FieldSpan> layout;
  const auto bytes = bytes_of(small_plan(), &layout);
  expect_error(patched(bytes, field(layout, "layers[2].outputs"), 11), ErrorCode::kCorruptPlan,
               "layer 2 ('flatten'): writes tensor id 11, but the plan has 11 tensors");
  expect_error(patched(bytes, field(layout, "layers[2].outputs"), 3), ErrorCode::kCorruptPlan,
               "writes tensor 'fc.weight', which is a constant");
  expect_error(patched(bytes, field(layout, "inputs.id"), 40), ErrorCode::kCorruptPlan,
               "engine inputs: lists input tensor id 40");
  expect_error(patched(bytes, field(layout, "inputs.id"), 1), ErrorCode::kCorruptPlan,
               "input #0 is tensor 'conv.weight', which is a constant");
  expect_error(patched(bytes, field(layout, "outputs.id"), 0xFFFFFFFF), ErrorCode::kCorruptPlan,
               "lists output tensor id -1");
  expect_error(patched(bytes, field(layout, "outputs.id"), 0), ErrorCode::kCorruptPlan,
               "which no layer produces");
  expect_error(patched(bytes, field(layout, "tensors[5].kind"), 0x1), ErrorCode::kCorruptPlan,
               "tensor 'conv1' is marked as an input but not listed");
}

TEST(PlanCorrupt, BadEnumsDtypesAndBools) {
  std::vector<FieldSpan> layout;
  const auto bytes = bytes_of(all_kinds_plan(), &layout);
  expect_error(patched(bytes, field(layout, "tensors[0].dtype"), 99), ErrorCode::kCorruptPlan,
               "tensor 0 ('x'): dtype value 99 is out of range");
  expect_error(patched(bytes, field(layout, "tensors[0].dtype"), 10), ErrorCode::kCorruptPlan,
               "tensor 'x' has dtype opaque, which engines do not support");
  expect_error(patched(bytes, field(layout, "tensors[3].kind"), 3), ErrorCode::kCorruptPlan, "kind value 3");
  expect_error(patched(bytes, field(layout, "layers[0].kind"), 200), ErrorCode::kCorruptPlan,
               "layer 0 ('conv'): kind value 200 is out of range");
  // Kind 1 (matmul) reading convolution parameter bytes: the field walk no longer fits.
  expect_error(patched(bytes, field(layout, "layers[0].kind"), 1), ErrorCode::kCorruptPlan, "matmul parameter");

  auto layer_index = [&](const char* name) {
    const Plan p = all_kinds_plan();
    for (size_t i = 0; i < p.network.layers().size(); ++i) {
      if (p.network.layers()[i].name == name) return i;
    }
    return size_t(0);
  };
  auto param = [&](const char* layer, const char* f) {
    return field(layout, str_cat("layers[", layer_index(layer), "].params.", f));
  };
  expect_error(patched(bytes, param("sub", "op"), 23), ErrorCode::kCorruptPlan,
               "elementwise parameter: op: value 23 is out of range (23 values)");
  expect_error(patched(bytes, param("leaky", "op"), 0xFF), ErrorCode::kCorruptPlan, "unary parameter: op: value 255");
  expect_error(patched(bytes, param("var", "op"), 8), ErrorCode::kCorruptPlan, "reduce parameter: op: value 8");
  expect_error(patched(bytes, param("bn", "kind"), 4), ErrorCode::kCorruptPlan, "normalization parameter: kind: value 4");
  expect_error(patched(bytes, param("pool", "kind"), 2), ErrorCode::kCorruptPlan, "pooling parameter: kind: value 2");
  expect_error(patched(bytes, param("half", "to"), 11), ErrorCode::kCorruptPlan, "cast parameter: to: dtype value 11");
  expect_error(patched(bytes, param("half", "to"), 8), ErrorCode::kCorruptPlan, "cannot cast to f64");
  expect_error(patched(bytes, param("fc", "transpose_a"), 2), ErrorCode::kCorruptPlan,
               "transpose_a: bool value 2 is neither 0 nor 1");
  expect_error(patched(bytes, param("fc", "transpose_b"), 0), ErrorCode::kCorruptPlan, "layer 'fc' is invalid");
}

TEST(PlanCorrupt, ConstantRangesAndWeights) {
  std::vector<FieldSpan> layout;
  const auto bytes = bytes_of(small_plan(), &layout);
  expect_error(patched(bytes, field(layout, "tensors[3].weights_offset"), uint64_t{1} << 40), ErrorCode::kCorruptPlan,
               "constant 'fc.weight' bytes [1099511627776, 1099511627776 + 1280) lie outside the weights section");
  expect_error(patched(bytes, field(layout, "tensors[3].weights_size"), UINT64_MAX), ErrorCode::kCorruptPlan,
               "lie outside the weights section");
  expect_error(patched(bytes, field(layout, "tensors[3].weights_size"), 1276), ErrorCode::kCorruptPlan,
               "constant 'fc.weight' has 1276 bytes, but f32[64, 5] needs 1280");
  expect_error(patched(bytes, field(layout, "tensors[3].weights_offset"), 0), ErrorCode::kCorruptPlan,
               "constant 'fc.weight' is at weights offset 0; the layout puts it at 512");
  expect_error(patched(bytes, field(layout, "tensors[1].weights_offset"), 64), ErrorCode::kCorruptPlan,
               "is at weights offset 64");
  // Nonzero padding between constants and before the weights section.
  const FieldSpan* pad = nullptr;
  for (const auto& f : layout) {
    if (f.path == "weights.padding") pad = &f;
  }
  ASSERT_NE(pad, nullptr);
  expect_error(patched(bytes, *pad, 1, 1), ErrorCode::kCorruptPlan, "padding byte at weights offset");
  expect_error(patched(bytes, field(layout, "weights_offset"), 0), ErrorCode::kCorruptPlan, "weights section offset 0");
  const FieldSpan& wo = field(layout, "weights_offset");
  uint64_t offset = 0;
  for (int i = 0; i < 8; ++i) offset |= uint64_t(bytes[wo.offset + i]) << (8 * i);
  expect_error(patched(bytes, field(layout, "weights_offset"), offset + 64), ErrorCode::kCorruptPlan,
               "weights section size");
  expect_error(patched(bytes, field(layout, "weights_size"), 0), ErrorCode::kCorruptPlan, "weights section size 0");
}

TEST(PlanCorrupt, MemoryPlanOutsideTheArena) {
  {
    Plan p = small_plan();
    p.memory.offsets[6] = static_cast<int64_t>(p.memory.arena_bytes);
    expect_error(bytes_of(p), ErrorCode::kCorruptPlan,
                 str_cat("activation 'relu1' at arena offset ", p.memory.arena_bytes));
  }
  {
    Plan p = small_plan();
    p.memory.offsets[6] = INT64_MAX;
    expect_error(bytes_of(p), ErrorCode::kCorruptPlan, "ends past the arena");
  }
  {
    Plan p = small_plan();
    p.memory.sizes[6] = UINT64_MAX;
    expect_error(bytes_of(p), ErrorCode::kCorruptPlan, "ends past the arena");
  }
  {
    Plan p = small_plan();
    p.memory.sizes[6] = 64 * 64 * 4 - 1;  // f32[s0, 4, 4, 4] with s0 <= 64
    expect_error(bytes_of(p), ErrorCode::kCorruptPlan,
                 "activation 'relu1' f32[s0, 4, 4, 4] gets 16383 bytes in the memory plan but needs 16384");
  }
  {
    // 'flatten' (a reshape of 'relu1') on relu1's bytes is a view: valid; 'fc', written while
    // the view is read, may not use them too
    Plan p = small_plan();
    p.memory.offsets[7] = p.memory.offsets[6];
    ASSERT_TRUE(plan::is_view(p.memory, p.network.layers()[2]));
    EXPECT_TRUE(plan::deserialize(bytes_of(p), nullptr).has_value());
    p.memory.offsets[8] = p.memory.offsets[6];
    expect_error(bytes_of(p), ErrorCode::kCorruptPlan, "activations 'fc'");
  }
  {
    // a reshape on its input's offset with another size is no view: the two clash
    Plan p = small_plan();
    p.memory.offsets[7] = p.memory.offsets[6];
    p.memory.sizes[7] = p.memory.sizes[6] + 256;
    expect_error(bytes_of(p), ErrorCode::kCorruptPlan, "activations 'flatten'");
  }
  {
    Plan p = small_plan();
    p.memory.sizes[10] = 4;  // the engine output
    expect_error(bytes_of(p), ErrorCode::kCorruptPlan, "tensor 'probs' is not an activation");
  }
  std::vector<FieldSpan> layout;
  const auto bytes = bytes_of(small_plan(), &layout);
  expect_error(patched(bytes, field(layout, "memory.count"), 10), ErrorCode::kCorruptPlan,
               "memory plan: has 10 entries but the plan has 11 tensors");
}

TEST(PlanCorrupt, SymbolsAndExpressions) {
  std::vector<FieldSpan> layout;
  const auto bytes = bytes_of(small_plan(), &layout);
  const FieldSpan& name = field(layout, "symbols[0].name");  // "s0"
  auto copy = bytes;
  copy[name.offset + 4] = '0';
  copy[name.offset + 5] = 's';
  plan::detail::update_checksum(copy);
  expect_error(copy, ErrorCode::kCorruptPlan, "symbol 0: name '0s' is not an identifier");
  copy[name.offset + 4] = 's';
  copy[name.offset + 5] = ' ';
  plan::detail::update_checksum(copy);
  expect_error(copy, ErrorCode::kCorruptPlan, "name 's ' is not an identifier");
  expect_error(patched(bytes, field(layout, "symbols[0].min"), UINT64_MAX), ErrorCode::kCorruptPlan,
               "'s0' has range [-1, 64]");

  // Dim texts of tensor 0 (x: [s0, 3, 4, 4]).
  std::vector<const FieldSpan*> dims;
  for (const auto& f : layout) {
    if (f.path == "tensors[0].shape" && std::string(f.type) == "str") dims.push_back(&f);
  }
  ASSERT_EQ(dims.size(), 4u);
  auto with_text = [&](const FieldSpan& f, const std::string& text) {
    auto c = bytes;
    EXPECT_EQ(text.size() + 4, f.size);
    std::memcpy(c.data() + f.offset + 4, text.data(), text.size());
    plan::detail::update_checksum(c);
    return c;
  };
  expect_error(with_text(*dims[0], "s9"), ErrorCode::kCorruptPlan, "tensor 'x' uses unknown symbol s9");
  expect_error(with_text(*dims[0], "s("), ErrorCode::kCorruptPlan, "tensor 0 ('x'): shape: bad expression: cannot parse symbolic expression 's('");
  expect_error(with_text(*dims[1], "-"), ErrorCode::kCorruptPlan, "unexpected end");
  expect_error(with_text(*dims[0], "+0"), ErrorCode::kCorruptPlan, "bad expression");
  expect_error(with_text(*dims[1], "9"), ErrorCode::kCorruptPlan, "layer 'conv1' is invalid");
  expect_error(with_text(*dims[0], "00"), ErrorCode::kCorruptPlan, "is not in canonical form (0)");
}

// Parameter values a hostile file could choose: shape functions must report them, not overflow.
TEST(PlanCorrupt, HostileParameterValues) {
  constexpr int64_t kHuge = int64_t{1} << 62;
  auto conv_with = [](void (*edit)(net::ConvolutionParams&)) {
    Plan p = small_plan();
    edit(std::get<net::ConvolutionParams>(p.network.mutable_layers()[0].params));
    return bytes_of(p);
  };
  expect_error(conv_with([](net::ConvolutionParams& c) { c.padding = {kHuge, 1}; }), ErrorCode::kCorruptPlan,
               "layer 'conv1' is invalid: convolution: padding, dilation and kernel size overflow");
  expect_error(conv_with([](net::ConvolutionParams& c) { c.dilation = {1, kHuge}; }), ErrorCode::kCorruptPlan,
               "overflow");
  expect_error(conv_with([](net::ConvolutionParams& c) { c.groups = kHuge; }), ErrorCode::kCorruptPlan,
               "is too large for weight");
  expect_error(conv_with([](net::ConvolutionParams& c) { c.stride = {INT64_MAX, 1}; }), ErrorCode::kCorruptPlan,
               "is recorded as");
  expect_error(conv_with([](net::ConvolutionParams& c) { c.stride = {INT64_MIN, 1}; }), ErrorCode::kCorruptPlan,
               "stride and dilation must be >= 1");
  expect_error(conv_with([](net::ConvolutionParams& c) {
                 c.transposed = true;
                 c.output_padding = {INT64_MAX, 0};
               }),
               ErrorCode::kCorruptPlan, "layer 'conv1' is invalid");

  Plan p = all_kinds_plan();
  for (auto& layer : p.network.mutable_layers()) {
    if (auto* pool = std::get_if<net::PoolingParams>(&layer.params)) {
      pool->kernel = {int64_t{1} << 32, 3};
      pool->dilation = {int64_t{1} << 32, 1};
    }
  }
  expect_error(bytes_of(p), ErrorCode::kCorruptPlan, "layer 'pool' is invalid: pooling: invalid kernel");

  // Expressions at the coefficient limit: arithmetic in the shape functions overflows and is
  // reported.
  Network net;
  net.add_symbol("s0", {1, 4});
  int x = net.add_input("x", TensorType{DType::kFloat32, {S("2*s0"), 8}});
  int y = add(net, net::ReshapeParams{{S("2*s0"), 8}}, {x}, "y");
  net.mark_output(y, "y");
  Plan big = finish(std::move(net), "big");
  const Shape huge{S("4611686018427387904*s0"), 8};
  big.network.mutable_tensor(x).type.shape = huge;
  big.network.mutable_tensor(y).type.shape = huge;
  std::get<net::ReshapeParams>(big.network.mutable_layers()[0].params).shape = huge;
  auto bytes = plan::detail::encode(big);
  ASSERT_TRUE(bytes.has_value()) << bytes.status().message();
  expect_error(*bytes, ErrorCode::kCorruptPlan, "symbolic integer overflow");
}

TEST(PlanCorrupt, VersionBackendAndTrailingBytes) {
  const auto bytes = bytes_of(small_plan());
  auto copy = bytes;
  store_le(copy, 8, plan::kFormatVersion + 1, 4);
  expect_error(copy, ErrorCode::kVersionMismatch,
               str_cat("plan has format version ", plan::kFormatVersion + 1, ", but this build of ingot reads version ",
                       plan::kFormatVersion));
  store_le(copy, 8, 0, 4);
  expect_error(copy, ErrorCode::kVersionMismatch, "format version 0");

  copy = bytes;
  store_le(copy, 12, 7, 4);
  expect_error(copy, ErrorCode::kBackendMismatch, "unknown backend value 7");
  store_le(copy, 12, 2, 4);
  expect_error(copy, ErrorCode::kCorruptPlan, "the header says backend cuda (2), the payload says 1");

  copy = bytes;
  copy.insert(copy.end(), 5, 0);
  expect_error(copy, ErrorCode::kCorruptPlan,
               str_cat("plan has 5 extra bytes: header says ", bytes.size() - 64, " payload bytes, file has ",
                       bytes.size() - 59));
  // Extra bytes that the header accounts for: the weights section no longer ends where the
  // constants do.
  store_le(copy, 16, copy.size() - 64, 8);
  plan::detail::update_checksum(copy);
  expect_error(copy, ErrorCode::kCorruptPlan, "weights section size");

  copy = bytes;
  store_le(copy, 36, 1, 4);
  expect_error(copy, ErrorCode::kCorruptPlan, "unknown flags");
  copy = bytes;
  copy[63] = 1;
  expect_error(copy, ErrorCode::kCorruptPlan, "reserved");
  copy = bytes;
  copy[0] = 'X';
  expect_error(copy, ErrorCode::kCorruptPlan, "not an ingot plan");
  expect_error({}, ErrorCode::kCorruptPlan, "plan is truncated: 0 bytes");
}

TEST(PlanExpr, ReaderEnforcesLimits) {
  using plan::detail::read_expr;
  EXPECT_TRUE(read_expr("(s0 + 1) // 2 - 1").has_value());
  EXPECT_TRUE(read_expr("max(4, s0)").has_value());
  EXPECT_FALSE(read_expr("max(s0, 4)").has_value());  // not canonical
  struct Case {
    std::string text;
    const char* expect;
  };
  std::string deep = std::string(200, '(') + "s0" + std::string(200, ')');
  std::string minus = std::string(300, '-') + "s0";
  std::string product;
  for (int i = 0; i < 12; ++i) product += std::string(i ? "*" : "") + "(a + b + c + d)";
  std::string degree;
  for (int i = 0; i < 70; ++i) degree += std::string(i ? "*" : "") + "s0";
  const Case cases[] = {
      {deep, "nested deeper than 128"},
      {minus, "nested deeper than 128"},
      {product, "product too large"},
      {degree, "product too large"},
      {"9223372036854775807", "integer larger than 2^62"},
      {"4611686018427387904*4", "symbolic integer overflow"},
      {"-4611686018427387904 - 4611686018427387904", "larger than 2^62"},
      {"(-4611686018427387904 - 4611686018427387904) // -1", "larger than 2^62"},
      {"s0 +", "unexpected end"},
      {"s0 ) ", "unexpected ')'"},
      {"s0+1", "not in canonical form (s0 + 1)"},
      {std::string(9000, '1'), "longer than 8192"},
  };
  for (const auto& c : cases) {
    auto e = read_expr(c.text);
    ASSERT_FALSE(e.has_value()) << c.text.substr(0, 60);
    EXPECT_EQ(e.status().code(), ErrorCode::kCorruptPlan);
    EXPECT_NE(e.status().message().find(c.expect), std::string::npos) << e.status().message().substr(0, 300);
  }
}

TEST(PlanExpr, StorableExpressionsReadBack) {
  for (const char* text : {"s0", "3*s0 + 1", "(s0 + 1) // 2 - 1", "max(s0, 4)", "s0*s1 % 8", "-s0 + 7",
                           "min(s0 // 3, s1) + 2*max(0, s1 - 5)"}) {
    SymExpr e = S(text);
    auto stored = plan::detail::expr_text(e);
    ASSERT_TRUE(stored.has_value()) << text << ": " << stored.status().message();
    auto back = plan::detail::read_expr(*stored);
    ASSERT_TRUE(back.has_value()) << *stored;
    EXPECT_EQ(*back, e) << text;
  }
}

TEST(PlanExpr, Utf8Validation) {
  using plan::detail::is_valid_utf8;
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x80\x94\xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("a\x80"));
}

}  // namespace
}  // namespace plan_test
