// launch() inside stream capture (the engine runs as a CUDA graph), and the host-side
// contract: supports() and the errors launch() returns before touching the device.
#include <cstring>
#include <vector>

#include <random>

#include "ir/symbolic.h"
#include "kernels/cuda/divisor.cuh"
#include "support/half.h"
#include "test_util.h"

namespace ingot::kernels::cuda::testing {

namespace {

using namespace net;  // NOLINT(google-build-using-namespace)

constexpr DType F16 = DType::kFloat16, F32 = DType::kFloat32, I64 = DType::kInt64;

struct Step {
  LayerParams params;
  std::vector<int> inputs;  // indices into the buffer table
  int output;
};

// A small BERT-like sequence over a table of device buffers.
class GraphTest : public ::testing::Test {
 protected:
  static constexpr int64_t kRows = 64, kHidden = 768;

  void SetUp() override {
    INGOT_SKIP_WITHOUT_GPU();
    // 0 x, 1 bias, 2 gelu, 3 add, 4 softmax, 5 mean, 6 copy of x, 7 layer norm, 8 weight, 9 iota
    add_buffer(F16, {kRows, kHidden});
    add_buffer(F16, {kHidden});
    add_buffer(F16, {kRows, kHidden});
    add_buffer(F16, {kRows, kHidden});
    add_buffer(F16, {kRows, kHidden});
    add_buffer(F16, {kRows});
    add_buffer(F16, {kRows, kHidden});
    add_buffer(F16, {kRows, kHidden});
    add_buffer(F32, {kHidden});
    add_buffer(I64, {kRows});
    steps_ = {
        {UnaryParams{.op = UnaryOp::kGeluErf}, {0}, 2},
        {ElementwiseParams{.op = BinaryOp::kAdd}, {2, 1}, 3},
        {SoftmaxParams{.axis = -1}, {3}, 4},
        {ReduceParams{.op = ReduceOp::kMean, .axes = {1}}, {4}, 5},
        {IdentityParams{}, {0}, 6},
        {NormalizationParams{.kind = NormKind::kLayer, .axis = 1}, {3, 8}, 7},
        {IotaParams{.size = ir::SymExpr(kRows), .start = 0, .step = 1, .dtype = I64}, {}, 9},
    };
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
    fill_input(0, 1);
    fill_input(1, 2);
    fill_input(8, 3);
  }

  void TearDown() override {
    if (stream_) cudaStreamDestroy(stream_);
  }

  void add_buffer(DType t, Dims dims) {
    HostTensor h(t, dims);
    buffers_.emplace_back(h.nbytes());
    tensors_.push_back(DeviceTensor{buffers_.back().get(), t, dims});
    hosts_.push_back(std::move(h));
  }

  void fill_input(int i, uint64_t seed) {
    fill_random(hosts_[static_cast<size_t>(i)], Dist{}, seed);
    upload(i);
  }

  void upload(int i) {
    // On stream_ (non-blocking): cudaMemcpy would run on the legacy stream, unordered with it.
    ASSERT_EQ(cudaMemcpyAsync(tensors_[static_cast<size_t>(i)].data, hosts_[static_cast<size_t>(i)].data(),
                              hosts_[static_cast<size_t>(i)].nbytes(), cudaMemcpyHostToDevice, stream_),
              cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  }

  void poison_outputs() {
    for (const Step& s : steps_) {
      const HostTensor& h = hosts_[static_cast<size_t>(s.output)];
      ASSERT_EQ(cudaMemsetAsync(tensors_[static_cast<size_t>(s.output)].data, 0xFF, h.nbytes(), stream_), cudaSuccess);
    }
  }

  // Enqueues every step on stream_.
  void enqueue() {
    for (const Step& s : steps_) {
      std::vector<DeviceTensor> in;
      for (int i : s.inputs) in.push_back(tensors_[static_cast<size_t>(i)]);
      Status st = launch(s.params, in, {tensors_[static_cast<size_t>(s.output)]}, stream_);
      ASSERT_TRUE(st.is_ok()) << st.message();
    }
  }

  std::vector<std::vector<unsigned char>> read_outputs() {
    std::vector<std::vector<unsigned char>> out;
    for (const Step& s : steps_) {
      const HostTensor& h = hosts_[static_cast<size_t>(s.output)];
      out.emplace_back(h.nbytes());
      EXPECT_EQ(cudaMemcpyAsync(out.back().data(), tensors_[static_cast<size_t>(s.output)].data, h.nbytes(),
                                cudaMemcpyDeviceToHost, stream_),
                cudaSuccess);
    }
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    return out;
  }

  void expect_same(const std::vector<std::vector<unsigned char>>& a, const std::vector<std::vector<unsigned char>>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_TRUE(a[k] == b[k]) << "step " << k << " (" << layer_kind_name(kind_of(steps_[k].params))
                                << "): the graph's output differs from the direct launch";
    }
  }

  std::vector<DeviceBuffer> buffers_;
  std::vector<DeviceTensor> tensors_;
  std::vector<HostTensor> hosts_;
  std::vector<Step> steps_;
  cudaStream_t stream_ = nullptr;
};

TEST_F(GraphTest, CapturedSequenceMatchesDirectLaunches) {
  INGOT_SKIP_WITHOUT_GPU();
  poison_outputs();
  enqueue();
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  auto direct = read_outputs();

  poison_outputs();
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  enqueue();
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
  ASSERT_NE(graph, nullptr);
  size_t nodes = 0;
  ASSERT_EQ(cudaGraphGetNodes(graph, nullptr, &nodes), cudaSuccess);
  EXPECT_GE(nodes, steps_.size());
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  expect_same(direct, read_outputs());

  // Replays read the buffers anew: new inputs, same results as direct launches on them.
  fill_input(0, 11);
  fill_input(1, 12);
  poison_outputs();
  ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  auto replayed = read_outputs();
  poison_outputs();
  enqueue();
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  expect_same(read_outputs(), replayed);

  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

// The fused squeeze-excite launch is a cooperative kernel (a grid barrier): stream capture must
// record it as a cooperative node, and replays on new inputs must match direct launches.
TEST(CooperativeCapture, FusedSqueezeExciteReplaysLikeDirectLaunches) {
  INGOT_SKIP_WITHOUT_GPU();
  // EfficientNet-B0's 28x28x144 block (3 chunks of channels), hidden 6.
  const SqueezeExciteParams p{.act1 = UnaryOp::kSilu, .act2 = UnaryOp::kSigmoid, .scale_input = true};
  std::vector<HostTensor> hosts;
  hosts.emplace_back(F16, Dims{1, 28, 28, 144});
  hosts.emplace_back(F16, Dims{6, 144});
  hosts.emplace_back(F16, Dims{6});
  hosts.emplace_back(F16, Dims{144, 6});
  hosts.emplace_back(F16, Dims{144});
  std::vector<DeviceBuffer> buffers;
  std::vector<DeviceTensor> in;
  for (size_t i = 0; i < hosts.size(); ++i) {
    fill_random(hosts[i], Dist{}, 21 + i);
    buffers.emplace_back(hosts[i].nbytes());
    in.push_back(DeviceTensor{buffers.back().get(), F16, hosts[i].dims});
  }
  const size_t bytes = hosts[0].nbytes();
  DeviceBuffer y_buffer(bytes);
  const std::vector<DeviceTensor> out{DeviceTensor{y_buffer.get(), F16, hosts[0].dims}};
  ASSERT_TRUE(squeeze_excite_fuses(p, in, out));
  DeviceBuffer workspace(workspace_size(p, in, out));
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  auto upload = [&] {
    for (size_t i = 0; i < hosts.size(); ++i) {
      ASSERT_EQ(cudaMemcpyAsync(in[i].data, hosts[i].data(), hosts[i].nbytes(), cudaMemcpyHostToDevice, stream), cudaSuccess);
    }
    ASSERT_EQ(cudaMemsetAsync(y_buffer.get(), 0xFF, bytes, stream), cudaSuccess);  // poisoned output
  };
  auto direct = [&] {
    Status st = launch_squeeze_excite(p, in, out, stream, workspace.get(), SqueezeExciteMultiply::kFused);
    ASSERT_TRUE(st.is_ok()) << st.message();
  };
  auto result = [&] {
    std::vector<unsigned char> y(bytes);
    EXPECT_EQ(cudaMemcpyAsync(y.data(), y_buffer.get(), bytes, cudaMemcpyDeviceToHost, stream), cudaSuccess);
    EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    return y;
  };
  upload();
  direct();
  const std::vector<unsigned char> first = result();

  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  direct();
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  upload();
  ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  EXPECT_TRUE(result() == first) << "the replayed graph's output differs from the direct launch";

  fill_random(hosts[0], Dist{}, 99);  // new x: the replay must read it anew
  upload();
  ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  const std::vector<unsigned char> replayed = result();
  EXPECT_FALSE(replayed == first);
  upload();
  direct();
  EXPECT_TRUE(result() == replayed) << "the replay on new inputs differs from a direct launch on them";
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

// ---------------------------------------------------------------- host-side contract

TEST(CudaKernelsContract, SupportsOwnKindsOnly) {
  EXPECT_FALSE(supports(ConvolutionParams{}, {F16, F16}));
  EXPECT_FALSE(supports(MatMulParams{}, {F16, F16}));
  EXPECT_FALSE(supports(AttentionParams{}, {F16, F16, F16}));
  EXPECT_TRUE(supports(ElementwiseParams{.op = BinaryOp::kAdd}, {F16, F16}));
  EXPECT_FALSE(supports(ElementwiseParams{.op = BinaryOp::kAdd}, {F16, F32}));
  EXPECT_FALSE(supports(ElementwiseParams{.op = BinaryOp::kBitwiseAnd}, {F32, F32}));
  EXPECT_FALSE(supports(ElementwiseParams{.op = BinaryOp::kDiv}, {I64, I64}));
  EXPECT_TRUE(supports(ElementwiseParams{.op = BinaryOp::kFloorDiv}, {I64, I64}));
  EXPECT_FALSE(supports(UnaryParams{.op = UnaryOp::kExp}, {I64}));
  EXPECT_TRUE(supports(UnaryParams{.op = UnaryOp::kIsNan}, {I64}));
  EXPECT_FALSE(supports(ReduceParams{.op = ReduceOp::kMean, .axes = {0}}, {I64}));
  EXPECT_TRUE(supports(ReduceParams{.op = ReduceOp::kSum, .axes = {0}}, {DType::kInt8}));
  EXPECT_FALSE(supports(SoftmaxParams{}, {I64}));
  EXPECT_TRUE(supports(CastParams{.to = DType::kBool}, {DType::kBFloat16}));
  EXPECT_FALSE(supports(CastParams{.to = DType::kFloat64}, {F32}));
  EXPECT_FALSE(supports(GatherParams{}, {F16, F32}));
  EXPECT_FALSE(supports(PoolingParams{.kind = PoolKind::kAvg, .kernel = {2}, .stride = {1}, .padding = {0}, .dilation = {2}}, {F32}));
  EXPECT_TRUE(supports(PoolingParams{.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .dilation = {1, 1}, .channels_last = true}, {F16}));
  EXPECT_FALSE(supports(PoolingParams{.kernel = {3}, .stride = {2}, .padding = {1}, .dilation = {1}, .channels_last = true}, {F16}));
  EXPECT_FALSE(supports(UnaryParams{.op = UnaryOp::kRelu}, {DType::kFloat64}));
  // squeeze_excite takes f64 channel sums as its sixth input, and f64 nowhere else.
  const SqueezeExciteParams se{.act1 = UnaryOp::kSilu, .act2 = UnaryOp::kSigmoid};
  EXPECT_TRUE(supports(se, {F16, F16, F16, F16, F16}));
  EXPECT_TRUE(supports(se, {F16, F16, F16, F16, F16, DType::kFloat64}));
  EXPECT_FALSE(supports(se, {F16, F16, F16, F16, F16, F32}));
  EXPECT_FALSE(supports(se, {DType::kFloat64, F16, F16, F16, F16, DType::kFloat64}));
  EXPECT_FALSE(supports(se, {F16, F16, F16, F16, DType::kFloat64}));
}

TEST(CudaKernelsContract, ErrorsBeforeTouchingTheDevice) {
  // Pointers are never dereferenced on these paths.
  void* fake = reinterpret_cast<void*>(uintptr_t{256});
  auto t = [&](DType d, Dims dims) { return DeviceTensor{fake, d, std::move(dims)}; };
  Status s = launch(ConvolutionParams{}, {t(F16, {1, 1, 3, 3}), t(F16, {1, 1, 1, 1})}, {t(F16, {1, 1, 3, 3})}, nullptr);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("convolution"), std::string::npos) << s.message();

  // Nine dims that do not merge.
  Dims a{2, 1, 2, 1, 2, 1, 2, 1, 2}, b{1, 2, 1, 2, 1, 2, 1, 2, 1}, y(9, 2);
  s = launch(ElementwiseParams{.op = BinaryOp::kAdd}, {t(F32, a), t(F32, b)}, {t(F32, y)}, nullptr);
  EXPECT_EQ(s.code(), ErrorCode::kUnsupported) << s.message();

  s = launch(ElementwiseParams{.op = BinaryOp::kAdd}, {t(F32, {3}), t(F32, {4})}, {t(F32, {4})}, nullptr);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.message();

  s = launch(ElementwiseParams{.op = BinaryOp::kAdd}, {DeviceTensor{nullptr, F32, {4}}, t(F32, {4})}, {t(F32, {4})}, nullptr);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.message();

  s = launch(ReduceParams{.op = ReduceOp::kMax, .axes = {0}}, {t(F32, {0, 3})}, {t(F32, {3})}, nullptr);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.message();

  s = launch(SliceParams{.axes = {0}, .starts = {ir::SymExpr::symbol("s0")}, .ends = {ir::SymExpr(4)}, .steps = {1}},
             {t(F32, {4})}, {t(F32, {4})}, nullptr);
  EXPECT_EQ(s.code(), ErrorCode::kUnsupported) << s.message();

  s = launch(PermuteParams{.perm = {0, 0}}, {t(F32, {2, 2})}, {t(F32, {2, 2})}, nullptr);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.message();

  // Channels-last pooling: the channels are the last dim of input and output.
  PoolingParams nhwc{.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .dilation = {1, 1}, .channels_last = true};
  s = launch(nhwc, {t(F16, {1, 8, 8, 16})}, {t(F16, {1, 16, 4, 4})}, nullptr);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.message();
  s = launch(nhwc, {t(F16, {1, 16, 8, 8, 2})}, {t(F16, {1, 16, 4, 4, 2})}, nullptr);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.message();
}

// The kernels' fast division (host and device share the arithmetic).
TEST(CudaKernelsContract, DivisorMatchesIntegerDivision) {
  using detail::Divisor;
  std::mt19937_64 rng(7);
  std::vector<int64_t> divisors;
  for (int64_t d = 1; d <= 2000; ++d) divisors.push_back(d);
  for (int k = 1; k < 63; ++k) {
    int64_t p = int64_t{1} << k;
    divisors.insert(divisors.end(), {p - 1, p, p + 1});
  }
  for (int i = 0; i < 2000; ++i) divisors.push_back(1 + static_cast<int64_t>(rng() >> (1 + rng() % 62)));
  int failures = 0;
  for (int64_t d : divisors) {
    Divisor v = Divisor::make(d);
    bool narrow_d = d < (int64_t{1} << 31);
    std::vector<int64_t> ns{0, 1, d - 1, d, d + 1, 2 * d - 1, 2 * d, (int64_t{1} << 31) - 1, INT64_MAX};
    for (int i = 0; i < 64; ++i) ns.push_back(static_cast<int64_t>(rng() >> 1));
    for (int i = 0; i < 64; ++i) ns.push_back(static_cast<int64_t>(rng() >> 33));
    for (int64_t n : ns) {
      if (n < 0) continue;
      if (v.div(n, false) != n / d && failures++ < 10) ADD_FAILURE() << n << " / " << d << " (64-bit) gave " << v.div(n, false);
      if (narrow_d && n < (int64_t{1} << 31) && v.div(n, true) != n / d && failures++ < 10) {
        ADD_FAILURE() << n << " / " << d << " (32-bit) gave " << v.div(n, true);
      }
    }
  }
  for (int64_t d = 1; d < 200; ++d) {
    Divisor v = Divisor::make(d);
    for (int64_t n = 0; n < 20000; ++n) {
      if (v.div(n, true) != n / d && failures++ < 10) ADD_FAILURE() << n << " / " << d << " (32-bit) gave " << v.div(n, true);
    }
  }
}

}  // namespace

}  // namespace ingot::kernels::cuda::testing
