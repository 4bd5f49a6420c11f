// Helpers for the squeeze-excite tests (the layer and its passes): channels-last convolutions,
// the gate's pieces as a converter emits them, and the comparison of two engines' outputs.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "net/layers.h"
#include "net/network.h"

#include "plan_test_util.h"

namespace se_test {

using namespace ingot;

// A k x k channels-last convolution, stride 1, padding k / 2.
inline net::ConvolutionParams channels_last_conv(int64_t k, int64_t groups = 1, net::UnaryOp act = net::UnaryOp::kIdentity) {
  net::ConvolutionParams c;
  c.stride = c.dilation = {1, 1};
  c.padding = {k / 2, k / 2};
  c.output_padding = {0, 0};
  c.groups = groups;
  c.channels_last = true;
  c.activation = act;
  return c;
}

// One of the gate's fully connected layers: a 1x1 convolution [out, 1, 1, in] with a bias and
// `act`, random weights from `seed`.
inline int fc(net::Network& n, int x, int64_t out, int64_t in, net::UnaryOp act, uint32_t seed, const std::string& name) {
  int w = n.add_constant(name + ".w", plan_test::random_f32({out, 1, 1, in}, seed));
  int b = n.add_constant(name + ".b", plan_test::random_f32({out}, seed + 1));
  auto y = n.add(channels_last_conv(1, 1, act), {x, w, b}, name);
  EXPECT_TRUE(y.has_value()) << y.status().message();
  return *y;
}

// The gate's pooling: the mean of [N, H, W, C] over H and W, kept as [N, 1, 1, C].
inline int mean_hw(net::Network& n, int x, const std::string& name) {
  net::ReduceParams mean;
  mean.op = net::ReduceOp::kMean;
  mean.axes = {1, 2};
  mean.keepdim = true;
  auto y = n.add(mean, {x}, name);
  EXPECT_TRUE(y.has_value()) << y.status().message();
  return *y;
}

// Every output of `a` within `rel_l2` of `b`'s (relative L2 error, output by output).
inline void expect_close(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b, double rel_l2) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t o = 0; o < a.size(); ++o) {
    ASSERT_EQ(a[o].size(), b[o].size());
    double err = 0, ref = 0;
    for (size_t i = 0; i < a[o].size(); ++i) {
      err += (a[o][i] - b[o][i]) * double(a[o][i] - b[o][i]);
      ref += a[o][i] * double(a[o][i]);
    }
    EXPECT_LT(std::sqrt(err / ref), rel_l2) << "output " << o;
  }
}

}  // namespace se_test
