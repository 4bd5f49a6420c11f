// Helpers for tests that run engines on the CPU reference.
#pragma once

#include <gtest/gtest.h>

#include <vector>

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

}  // namespace engine_test
