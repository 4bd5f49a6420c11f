// Helpers for tests that run engines on the CPU reference.
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "build/builder.h"
#include "net/network.h"
#include "runtime/engine.h"

namespace engine_test {

// Runs `ctx` (input shapes already set) on `inputs` into float32 outputs, one vector per engine
// output; a failed run is a test failure.
inline std::vector<std::vector<float>> execute_f32(const ingot::runtime::Engine& engine, ingot::runtime::ExecutionContext& ctx,
                                                   const std::vector<ingot::runtime::TensorArg>& inputs) {
  std::vector<std::vector<float>> outs;
  std::vector<ingot::runtime::TensorArg> out_args;
  for (size_t i = 0; i < engine.num_outputs(); ++i) {
    int64_t count = 1;
    for (int64_t d : ctx.output_dims(i)) count *= d;
    outs.emplace_back(static_cast<size_t>(count));
  }
  for (size_t i = 0; i < outs.size(); ++i) out_args.push_back({outs[i].data(), ingot::ir::DType::kFloat32, ctx.output_dims(i)});
  ingot::Status s = ctx.execute(inputs, out_args);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return outs;
}

// Builds `net` for the CPU reference and runs it on float32 inputs of `shapes`, filled in order
// from one generator seeded with `seed`, uniform in [-2, 2): one float32 vector per output. A
// failed build or run is a test failure (and an empty result).
inline std::vector<std::vector<float>> run_random_f32(ingot::net::Network net, const std::vector<std::vector<int64_t>>& shapes,
                                                      uint32_t seed) {
  auto plan = ingot::build::build_plan(std::move(net), {});
  EXPECT_TRUE(plan.has_value()) << plan.status().message();
  if (!plan) return {};
  auto engine = ingot::runtime::Engine::from_plan(std::move(*plan));
  EXPECT_TRUE(engine.has_value()) << engine.status().message();
  if (!engine) return {};
  auto ctx = (*engine)->create_context();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<std::vector<float>> data;
  std::vector<ingot::runtime::TensorArg> args;
  for (const auto& shape : shapes) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    data.emplace_back(static_cast<size_t>(count));
    for (auto& v : data.back()) v = u(rng);
  }
  for (size_t i = 0; i < shapes.size(); ++i) args.push_back({data[i].data(), ingot::ir::DType::kFloat32, shapes[i]});
  EXPECT_TRUE(ctx->set_input_shapes(shapes).is_ok());
  return execute_f32(**engine, *ctx, args);
}

}  // namespace engine_test
