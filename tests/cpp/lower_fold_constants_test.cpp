#include <cstring>

#include "lower_test_util.h"

namespace ingot::lower {
namespace {

using testing::expect_lowered;
using testing::expect_unchanged;
using testing::parse_ir;

ir::ConstantData f32_data(std::vector<int64_t> dims, const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return ir::ConstantData::owned(ir::DType::kFloat32, std::move(dims), std::move(bytes));
}

std::vector<float> f32_values(const ir::ConstantData& c) {
  return std::vector<float>(c.as<float>(), c.as<float>() + c.numel());
}

// A small evaluator for f32 tensors: add.Tensor of same-shape operands, 2-D permute [1, 0],
// full, and expand of a 1-D tensor. Everything else is "cannot evaluate". It counts its calls.
struct TestEvaluator {
  int calls = 0;

  Expected<std::vector<ir::ConstantData>> operator()(const ir::Node& n) {
    ++calls;
    auto static_shape = [&](size_t i) { return *ir::static_dims(n.output(i)->shape()); };
    if (n.op() == "aten::add.Tensor") {
      const ir::ConstantData& a = n.arg(0).tensor()->constant();
      const ir::ConstantData& b = n.arg(1).tensor()->constant();
      if (a.dims != b.dims) return unsupported("broadcast");
      std::vector<float> out = f32_values(a);
      double alpha = n.arg(2).to_double();
      for (size_t i = 0; i < out.size(); ++i) out[i] += static_cast<float>(alpha * b.as<float>()[i]);
      return std::vector<ir::ConstantData>{f32_data(a.dims, out)};
    }
    if (n.op() == "aten::permute") {
      const ir::ConstantData& a = n.arg(0).tensor()->constant();
      std::vector<float> out(a.numel());
      for (int64_t r = 0; r < a.dims[0]; ++r) {
        for (int64_t c = 0; c < a.dims[1]; ++c) out[c * a.dims[0] + r] = a.as<float>()[r * a.dims[1] + c];
      }
      return std::vector<ir::ConstantData>{f32_data({a.dims[1], a.dims[0]}, out)};
    }
    if (n.op() == "aten::full") {
      std::vector<int64_t> dims = static_shape(0);
      int64_t count = 1;
      for (int64_t d : dims) count *= d;
      return std::vector<ir::ConstantData>{
          f32_data(dims, std::vector<float>(count, static_cast<float>(n.arg(1).to_double())))};
    }
    if (n.op() == "aten::expand") {
      const ir::ConstantData& a = n.arg(0).tensor()->constant();
      std::vector<int64_t> dims = static_shape(0);
      std::vector<float> out;
      for (int64_t i = 0; i < dims[0]; ++i) out.insert(out.end(), a.as<float>(), a.as<float>() + a.numel());
      return std::vector<ir::ConstantData>{f32_data(dims, out)};
    }
    if (n.op() == "test::wrong_shape") return std::vector<ir::ConstantData>{f32_data({3}, {1, 2, 3})};
    if (n.op() == "aten::rand" || n.op() == "aten::randn_like") {
      return std::vector<ir::ConstantData>{ir::ConstantData::zeros(ir::DType::kFloat32, static_shape(0))};
    }
    return unsupported("the test evaluator cannot compute ", n.op());
  }
};

LowerOptions options_with(TestEvaluator& e) {
  LowerOptions o;
  o.evaluator = [&e](const ir::Node& n) { return e(n); };
  return o;
}

TEST(FoldConstants, FoldsChainsInOneSweep) {
  TestEvaluator e;
  expect_lowered(fold_constants, R"(graph {
  input %x : f32[3, 2]
  constant %w : f32[2, 3] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
  constant %d : f32[3, 2] = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
  %t : f32[3, 2] = aten::permute(%w, [1, 0])
  %s : f32[3, 2] = aten::add.Tensor(%t, %d, 2)
  %y : f32[3, 2] = aten::add.Tensor(%x, %s, 1)
  output %y
})",
                 R"(graph {
  input %x : f32[3, 2]
  constant %s : f32[3, 2] = [2.0, 5.0, 3.0, 6.0, 4.0, 7.0]
  %y : f32[3, 2] = aten::add.Tensor(%x, %s, 1)
  output %y
})",
                 2, options_with(e));
}

TEST(FoldConstants, NodesWithoutTensorInputsNeedStaticShapes) {
  TestEvaluator e;
  expect_lowered(fold_constants, R"(graph {
  input %x : f32[2, 2]
  %f : f32[2, 2] = aten::full([2, 2], 0.5, None, None, None, None)
  %y : f32[2, 2] = aten::add.Tensor(%x, %f, 1)
  output %y
})",
                 R"(graph {
  input %x : f32[2, 2]
  constant %f : f32[2, 2] = [0.5, 0.5, 0.5, 0.5]
  %y : f32[2, 2] = aten::add.Tensor(%x, %f, 1)
  output %y
})",
                 1, options_with(e));
  expect_unchanged(fold_constants, R"(graph {
  symbol s0 : [1, 8]
  input %x : f32[s0, 2]
  %f : f32[s0, 2] = aten::full([s0, 2], 0.5, None, None, None, None)
  %y : f32[s0, 2] = aten::add.Tensor(%x, %f, 1)
  output %y
})",
                   options_with(e));
  EXPECT_EQ(e.calls, 1);
}

TEST(FoldConstants, NeverFoldsRandomOrNonConstantNodes) {
  TestEvaluator e;
  expect_unchanged(fold_constants, R"(graph {
  input %x : f32[2, 2]
  constant %c : f32[2, 2] = [1.0, 2.0, 3.0, 4.0]
  %r : f32[2, 2] = aten::rand([2, 2], None, None, None, None)
  %n : f32[2, 2] = aten::randn_like(%c, None, None, None, None, None)
  %d : f32[2, 2] = aten::dropout(%c, 0.5, True)
  %y : f32[2, 2] = aten::add.Tensor(%x, %c, 1)
  output %r, %n, %d, %y
})",
                   options_with(e));
  EXPECT_EQ(e.calls, 0);  // not even asked
}

TEST(FoldConstants, EvaluatorErrorLeavesTheNode) {
  TestEvaluator e;
  expect_unchanged(fold_constants, R"(graph {
  constant %a : f32[2] = [1.0, 2.0]
  constant %b : f32[1] = [3.0]
  %y : f32[2] = aten::add.Tensor(%a, %b, 1)
  %z : f32[2] = aten::neg(%a)
  output %y, %z
})",
                   options_with(e));
  EXPECT_EQ(e.calls, 2);
}

TEST(FoldConstants, RespectsTheSizeLimit) {
  TestEvaluator e;
  const char* text = R"(graph {
  constant %a : f32[2, 2] = [1.0, 2.0, 3.0, 4.0]
  %y : f32[2, 2] = aten::add.Tensor(%a, %a, 1)
  output %y
})";
  LowerOptions small = options_with(e);
  small.fold_limit_bytes = 15;  // the result has 16 bytes
  expect_unchanged(fold_constants, text, small);
  small.fold_limit_bytes = 16;
  expect_lowered(fold_constants, text, R"(graph {
  constant %y : f32[2, 2] = [2.0, 4.0, 6.0, 8.0]
  output %y
})",
                 1, small);
}

TEST(FoldConstants, DoesNotGrowTheModel) {
  // Expanding a 16-byte bias to 2^18 rows (4 MiB) exceeds 2 x 16 bytes + 1 MiB; to 8 rows it
  // is small enough.
  TestEvaluator e;
  expect_unchanged(fold_constants, R"(graph {
  constant %b : f32[4] = [1.0, 2.0, 3.0, 4.0]
  %y : f32[262144, 4] = aten::expand(%b, [262144, 4], False)
  output %y
})",
                   options_with(e));
  EXPECT_EQ(e.calls, 0);
  expect_lowered(fold_constants, R"(graph {
  constant %b : f32[2] = [1.0, 2.0]
  %y : f32[3, 2] = aten::expand(%b, [3, 2], False)
  output %y
})",
                 R"(graph {
  constant %y : f32[3, 2] = [1.0, 2.0, 1.0, 2.0, 1.0, 2.0]
  output %y
})",
                 1, options_with(e));
}

TEST(FoldConstants, LeavesDeadNodesToDeadCodeElimination) {
  TestEvaluator e;
  expect_unchanged(fold_constants, R"(graph {
  input %x : f32[2]
  constant %a : f32[2] = [1.0, 2.0]
  %unused : f32[2] = aten::add.Tensor(%a, %a, 1)
  output %x
})",
                   options_with(e));
  EXPECT_EQ(e.calls, 0);
}

TEST(FoldConstants, MismatchedResultIsAnError) {
  TestEvaluator e;
  auto g = parse_ir(R"(graph {
  constant %a : f32[2] = [1.0, 2.0]
  %y : f32[2] = test::wrong_shape(%a)
  output %y
})");
  Expected<int> n = fold_constants(*g, options_with(e));
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.status().code(), ErrorCode::kInternal);
  EXPECT_NE(n.status().message().find("test::wrong_shape"), std::string::npos) << n.status().message();
}

TEST(FoldConstants, RequiresAnEvaluator) {
  auto g = parse_ir("graph {\n  input %x : f32[2]\n  output %x\n}\n");
  Expected<int> n = fold_constants(*g, {});
  ASSERT_FALSE(n.has_value());
  EXPECT_NE(n.status().message().find("evaluator"), std::string::npos);
}

}  // namespace
}  // namespace ingot::lower
