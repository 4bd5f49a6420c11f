// ingot_cuda_kernel_bench: times a few hot kernels on BERT / ViT / ResNet / EfficientNet shapes in
// fp16 with CUDA events around a CUDA graph of the launches (as an engine runs them: no host
// launch cost in the time) and prints the achieved bandwidth (bytes read + written once /
// time). Not a test.
//
//   ingot_cuda_kernel_bench [iterations] [name filter]
// With a filter, only the benches whose name and input dims ("name [dims] x [dims]") contain it
// run (e.g. "pointwise" or "direct4 [32,14,14,672]" under ncu).
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/kernels.h"
#ifdef INGOT_BENCH_POINTWISE  // built with the CUDA backend
#include "net/pointwise.h"
#include "runtime/cuda/pointwise_kernel.h"
#endif

namespace {

using ingot::ir::DType;
using ingot::kernels::cuda::DeviceTensor;
namespace net = ingot::net;

#define BENCH_CHECK(call)                                                                 \
  do {                                                                                    \
    cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) {                                                              \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(e_));              \
      std::exit(1);                                                                       \
    }                                                                                     \
  } while (0)

struct Buffer {
  void* ptr = nullptr;
  explicit Buffer(size_t bytes) {
    BENCH_CHECK(cudaMalloc(&ptr, bytes));
    BENCH_CHECK(cudaMemset(ptr, 0, bytes));  // zeros are valid inputs for every kernel here
  }
  ~Buffer() { cudaFree(ptr); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

int64_t numel(const std::vector<int64_t>& d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  return n;
}

const char* g_filter = nullptr;  // argv[2]

using Launcher = std::function<ingot::Status(const std::vector<DeviceTensor>&, const std::vector<DeviceTensor>&,
                                             cudaStream_t, void*)>;

// Times `params` on f16 inputs of the given shapes (launched by `launcher` where given, else by
// launch()); the output is shaped `out_dims`, or like the first input when that is empty.
void bench(const char* name, const net::LayerParams& params, const std::vector<std::vector<int64_t>>& in_dims,
           const std::vector<DType>& in_types, int iters, cudaStream_t stream, std::vector<int64_t> out_dims = {},
           const Launcher& launcher = {}) {
  std::string shape;  // the inputs' dims, printed after the name; the filter sees both
  for (size_t i = 0; i < in_dims.size(); ++i) {
    shape += i ? " x [" : "[";
    for (size_t k = 0; k < in_dims[i].size(); ++k) {
      if (k) shape += ",";
      shape += std::to_string(in_dims[i][k]);
    }
    shape += "]";
  }
  if (g_filter && (std::string(name) + " " + shape).find(g_filter) == std::string::npos) return;
  std::vector<Buffer*> owned;
  std::vector<DeviceTensor> in;
  double bytes = 0;
  for (size_t i = 0; i < in_dims.size(); ++i) {
    size_t b = static_cast<size_t>(numel(in_dims[i])) * ingot::ir::dtype_size(in_types[i]);
    owned.push_back(new Buffer(b));
    in.push_back(DeviceTensor{owned.back()->ptr, in_types[i], in_dims[i]});
    bytes += static_cast<double>(b);
  }
  if (out_dims.empty()) out_dims = in_dims[0];
  size_t out_bytes = static_cast<size_t>(numel(out_dims)) * 2;
  owned.push_back(new Buffer(out_bytes));
  std::vector<DeviceTensor> out{DeviceTensor{owned.back()->ptr, DType::kFloat16, out_dims}};
  bytes += static_cast<double>(out_bytes);
  size_t ws_bytes = ingot::kernels::cuda::workspace_size(params, in, out);
  void* ws = nullptr;
  if (ws_bytes) {
    owned.push_back(new Buffer(ws_bytes));
    ws = owned.back()->ptr;
  }

  auto run = [&] {
    ingot::Status s = launcher ? launcher(in, out, stream, ws) : ingot::kernels::cuda::launch(params, in, out, stream, ws);
    if (!s.is_ok()) {
      std::fprintf(stderr, "%s: %s\n", name, s.message().c_str());
      std::exit(1);
    }
  };
  if (launcher) {  // a mode that does not apply to these shapes says so (kUnsupported): skipped
    ingot::Status s = launcher(in, out, stream, ws);
    if (s.code() == ingot::ErrorCode::kUnsupported) {
      std::printf("%-28s skipped: %s\n", name, s.message().c_str());
      for (Buffer* b : owned) delete b;
      return;
    }
  }
  for (int i = 0; i < 3; ++i) run();
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  BENCH_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < iters; ++i) run();
  BENCH_CHECK(cudaStreamEndCapture(stream, &graph));
  BENCH_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  BENCH_CHECK(cudaGraphLaunch(exec, stream));  // warm-up
  cudaEvent_t start, stop;
  BENCH_CHECK(cudaEventCreate(&start));
  BENCH_CHECK(cudaEventCreate(&stop));
  BENCH_CHECK(cudaEventRecord(start, stream));
  BENCH_CHECK(cudaGraphLaunch(exec, stream));
  BENCH_CHECK(cudaEventRecord(stop, stream));
  BENCH_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  BENCH_CHECK(cudaEventElapsedTime(&ms, start, stop));
  double us = 1000.0 * ms / iters;
  std::printf("%-28s %-34s %9.2f us %9.1f GB/s\n", name, shape.c_str(), us, bytes / (us * 1e3));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  for (Buffer* b : owned) delete b;
}

#ifdef INGOT_BENCH_POINTWISE
// GPT-2's gelu_new, 0.5 x (1 + tanh(0.7978845608 (x + 0.044715 x^3))), as one pointwise program
// (the kernel pointwise fusion generates) over `shape`.
net::PointwiseParams gelu_new_program(std::vector<int64_t> shape) {
  net::PointwiseParams p;
  p.shape = ingot::ir::shape_of(shape);
  auto step = [&](net::PointwiseStep kind, int64_t op, int x = -1, int y = -1, double alpha = 0.0) {
    net::PointwiseOp s;
    s.kind = kind, s.op = op, s.dtype = DType::kFloat16, s.x = x, s.y = y, s.alpha = alpha;
    return net::append_pointwise_step(p, s);
  };
  auto c = [&](double v) { return step(net::PointwiseStep::kConstant, 0, -1, -1, v); };
  auto bin = [&](net::BinaryOp op, int a, int b) { return step(net::PointwiseStep::kBinary, static_cast<int64_t>(op), a, b); };
  const int x = step(net::PointwiseStep::kInput, 0);
  const int cube = bin(net::BinaryOp::kMul, bin(net::BinaryOp::kMul, x, x), x);
  const int inner = bin(net::BinaryOp::kAdd, x, bin(net::BinaryOp::kMul, cube, c(0.044715)));
  const int t = step(net::PointwiseStep::kUnary, static_cast<int64_t>(net::UnaryOp::kTanh),
                     bin(net::BinaryOp::kMul, inner, c(0.7978845608)));
  bin(net::BinaryOp::kMul, bin(net::BinaryOp::kMul, x, c(0.5)), bin(net::BinaryOp::kAdd, t, c(1.0)));
  return p;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  int iters = argc > 1 ? std::atoi(argv[1]) : 200;
  g_filter = argc > 2 ? argv[2] : nullptr;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device\n");
    return 0;
  }
  cudaDeviceProp prop{};
  BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("%s, %d SMs; fp16; a CUDA graph of %d launches per shape\n", prop.name,
              prop.multiProcessorCount, iters);
  cudaStream_t stream;
  BENCH_CHECK(cudaStreamCreate(&stream));
  const DType H = DType::kFloat16;
  struct Shape {
    const char* tag;
    int64_t rows, hidden, heads, seq;
  };
  const Shape shapes[] = {{"bert bs1", 128, 768, 12, 128}, {"bert bs32", 32 * 128, 768, 12, 128},
                          {"vit bs1", 197, 768, 12, 197}, {"vit bs32", 32 * 197, 768, 12, 197}};
  for (const Shape& s : shapes) {
    std::printf("-- %s\n", s.tag);
    int64_t batch = s.rows / s.seq;
    bench("softmax", net::SoftmaxParams{.axis = -1}, {{batch * s.heads * s.seq, s.seq}}, {H}, iters, stream);
    bench("layer_norm", net::NormalizationParams{.kind = net::NormKind::kLayer, .axis = 1},
          {{s.rows, s.hidden}, {s.hidden}, {s.hidden}}, {H, H, H}, iters, stream);
    bench("add", net::ElementwiseParams{.op = net::BinaryOp::kAdd}, {{s.rows, s.hidden}, {s.rows, s.hidden}}, {H, H}, iters,
          stream);
    bench("add_bias", net::ElementwiseParams{.op = net::BinaryOp::kAdd}, {{s.rows, 4 * s.hidden}, {4 * s.hidden}}, {H, H},
          iters, stream);
    bench("gelu", net::UnaryParams{.op = net::UnaryOp::kGeluErf}, {{s.rows, 4 * s.hidden}}, {H}, iters, stream);
    // Our attention kernels (cuDNN's SDPA is the runner's other candidate; the engine trace
    // times it): q, k, v [batch, heads, seq, 64] and a [batch, 1, 1, seq] float mask.
    const std::vector<int64_t> qkv{batch, s.heads, s.seq, 64};
    const net::AttentionParams attn{.scale = 0.125};
    using ingot::kernels::cuda::AttentionKernel;
    const std::pair<const char*, AttentionKernel> kernels[] = {
        {"attention cuda-cores", {}},
        {"attention mma w1", {.tensor_cores = true, .warps = 1}},
        {"attention mma w2", {.tensor_cores = true, .warps = 2}},
        {"attention mma w4", {.tensor_cores = true, .warps = 4}}};
    for (const auto& [name, kernel] : kernels) {
      bench(name, attn, {qkv, qkv, qkv, {batch, 1, 1, s.seq}}, {H, H, H, H}, iters, stream, qkv,
            [&attn, kernel](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t st,
                            void*) { return ingot::kernels::cuda::launch_attention(attn, in, out, st, kernel); });
    }
    // Our GEMM for few rows on the encoder's four products (weights [N, K], bias, GELU after
    // FC1, the residual after the attention output and FC2), in every tile and split; the
    // engine trace (kernel_trace.py --timed matmul) times cuBLASLt's against them.
    if (s.rows <= 1024) {
      struct Product {
        const char* tag;
        int64_t n, k;
        bool residual;
        net::UnaryOp act;
      };
      const Product products[] = {{"qkv", 3 * s.hidden, s.hidden, false, net::UnaryOp::kIdentity},
                                  {"attn-out", s.hidden, s.hidden, true, net::UnaryOp::kIdentity},
                                  {"fc1", 4 * s.hidden, s.hidden, false, net::UnaryOp::kGeluErf},
                                  {"fc2", s.hidden, 4 * s.hidden, true, net::UnaryOp::kIdentity}};
      using ingot::kernels::cuda::LinearKernel;
      for (const Product& pr : products) {
        net::MatMulParams mm{.transpose_b = true, .activation = pr.act};
        std::vector<std::vector<int64_t>> dims{{s.rows, pr.k}, {pr.n, pr.k}, {pr.n}};
        if (pr.residual) dims.push_back({s.rows, pr.n});
        for (auto [r, c] : {std::pair{128, 64}, std::pair{64, 128}, std::pair{64, 64}}) {
          for (int split : {1, 2, 4, 8}) {
            const LinearKernel k{.block_rows = r, .block_cols = c, .split = split};
            const std::string name = std::string("linear ") + pr.tag + " " + std::to_string(r) + "x" + std::to_string(c) +
                                     " s" + std::to_string(split);
            bench(name.c_str(), mm, dims, std::vector<DType>(dims.size(), H), iters, stream, {s.rows, pr.n},
                  [mm, k](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t st,
                          void*) { return ingot::kernels::cuda::launch_linear(mm, in, out, st, k); });
          }
        }
      }
    }
    // Without the mask: what the mask costs each kernel.
    for (const auto& [name, kernel] : {kernels[0], kernels[3]}) {
      bench((std::string(name) + " no mask").c_str(), attn, {qkv, qkv, qkv}, {H, H, H}, iters, stream, qkv,
            [&attn, kernel](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t st,
                            void*) { return ingot::kernels::cuda::launch_attention(attn, in, out, st, kernel); });
    }
  }
#ifdef INGOT_BENCH_POINTWISE
  // Pointwise fusion (INGOT_POINTWISE_FUSION=1): GPT-2's gelu_new on an FC1 output as the kernel
  // generated for it (NVRTC, compiled once before the timing) and as the eight layers it
  // replaces (pow as x * x * x: mul, mul, mul by 0.044715, add, mul by 0.797, tanh, add 1, mul
  // by 0.5 x), each a launch of our elementwise kernels on scratch buffers.
  for (int64_t rows : {int64_t{128}, int64_t{197}, int64_t{32 * 128}}) {
    std::printf("-- gelu_new [%lld, 3072]\n", static_cast<long long>(rows));
    const std::vector<int64_t> shape{rows, 3072};
    const net::PointwiseParams program = gelu_new_program(shape);
    auto kernel = ingot::runtime::cuda::PointwiseKernel::build(program, {H}, H);
    if (!kernel.has_value()) {
      std::printf("gelu_new generated: %s\n", kernel.status().message().c_str());
    } else {
      auto k = std::make_shared<ingot::runtime::cuda::PointwiseKernel>(*kernel);
      std::vector<DeviceTensor> probe{DeviceTensor{nullptr, H, shape}};
      if (ingot::Status s = k->bind(probe, probe[0]); !s.is_ok()) std::printf("gelu_new bind: %s\n", s.message().c_str());
      bench("gelu_new generated", program, {shape}, {H}, iters, stream, shape,
            [k](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t st, void*) {
              return k->launch(in, out[0], st);
            });
    }
    auto scratch = std::make_shared<std::vector<std::unique_ptr<Buffer>>>();
    for (int i = 0; i < 3; ++i) scratch->push_back(std::make_unique<Buffer>(static_cast<size_t>(rows) * 3072 * 2));
    auto scalars = std::make_shared<Buffer>(16);
    const uint16_t halves[4] = {0x29BA /* 0.044715 */, 0x3A62 /* 0.7979 */, 0x3C00 /* 1 */, 0x3800 /* 0.5 */};
    BENCH_CHECK(cudaMemcpy(scalars->ptr, halves, sizeof halves, cudaMemcpyHostToDevice));
    bench("gelu_new unfused (8 launches)", net::UnaryParams{.op = net::UnaryOp::kTanh}, {shape}, {H}, iters, stream, shape,
          [scratch, scalars](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t st,
                             void*) -> ingot::Status {
            auto t = [&](int i) { return DeviceTensor{(*scratch)[static_cast<size_t>(i)]->ptr, DType::kFloat16, in[0].dims}; };
            auto c = [&](int i) { return DeviceTensor{static_cast<char*>(scalars->ptr) + 2 * i, DType::kFloat16, {1}}; };
            auto op = [&](net::BinaryOp o, const DeviceTensor& a, const DeviceTensor& b, const DeviceTensor& y) {
              return ingot::kernels::cuda::launch(net::ElementwiseParams{.op = o}, {a, b}, {y}, st);
            };
            const DeviceTensor &x = in[0], &y = out[0];
            INGOT_RETURN_IF_ERROR(op(net::BinaryOp::kMul, x, x, t(0)));
            INGOT_RETURN_IF_ERROR(op(net::BinaryOp::kMul, t(0), x, t(0)));
            INGOT_RETURN_IF_ERROR(op(net::BinaryOp::kMul, t(0), c(0), t(0)));
            INGOT_RETURN_IF_ERROR(op(net::BinaryOp::kAdd, x, t(0), t(0)));
            INGOT_RETURN_IF_ERROR(op(net::BinaryOp::kMul, t(0), c(1), t(0)));
            INGOT_RETURN_IF_ERROR(ingot::kernels::cuda::launch(net::UnaryParams{.op = net::UnaryOp::kTanh}, {t(0)}, {t(1)}, st));
            INGOT_RETURN_IF_ERROR(op(net::BinaryOp::kAdd, t(1), c(2), t(1)));
            INGOT_RETURN_IF_ERROR(op(net::BinaryOp::kMul, x, c(3), t(2)));
            return op(net::BinaryOp::kMul, t(2), t(1), y);
          });
  }
#endif
  // ResNet's stem max-pool: NCHW, NHWC, and the two permutes that NCHW pooling costs an NHWC
  // network.
  for (int64_t n : {1, 32}) {
    std::printf("-- resnet-50 stem pooling bs%lld\n", static_cast<long long>(n));
    net::PoolingParams pool{.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .dilation = {1, 1}};
    bench("max_pool nchw", pool, {{n, 64, 112, 112}}, {H}, iters, stream, {n, 64, 56, 56});
    bench("permute nhwc->nchw", net::PermuteParams{.perm = {0, 3, 1, 2}}, {{n, 112, 112, 64}}, {H}, iters, stream,
          {n, 64, 112, 112});
    bench("permute nchw->nhwc", net::PermuteParams{.perm = {0, 2, 3, 1}}, {{n, 64, 56, 56}}, {H}, iters, stream,
          {n, 56, 56, 64});
    bench("permute rgb nchw->nhwc", net::PermuteParams{.perm = {0, 2, 3, 1}}, {{n, 3, 224, 224}}, {H}, iters, stream,
          {n, 224, 224, 3});
    pool.channels_last = true;
    bench("max_pool nhwc", pool, {{n, 112, 112, 64}}, {H}, iters, stream, {n, 56, 56, 64});
    pool.kind = net::PoolKind::kAvg;
    bench("avg_pool nhwc", pool, {{n, 112, 112, 64}}, {H}, iters, stream, {n, 56, 56, 64});
    bench("max_pool nhwc c=66", net::PoolingParams{.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1},
                                                   .dilation = {1, 1}, .channels_last = true},
          {{n, 112, 112, 66}}, {H}, iters, stream, {n, 56, 56, 66});
  }
  // EfficientNet-B0's depthwise convolutions (NHWC, bias and SiLU fused), each once: input
  // size, channels, kernel, stride.
  struct Depthwise {
    int64_t hw, c, k, s;
  };
  const Depthwise depthwise[] = {{112, 32, 3, 1}, {112, 96, 3, 2}, {56, 144, 3, 1},  {56, 144, 5, 2},
                                 {28, 240, 5, 1}, {28, 240, 3, 2}, {14, 480, 3, 1},  {14, 480, 5, 1},
                                 {14, 672, 5, 1}, {14, 672, 5, 2}, {7, 1152, 5, 1},  {7, 1152, 3, 1}};
  for (int64_t n : {1, 32}) {
    std::printf("-- efficientnet-b0 depthwise convolutions bs%lld\n", static_cast<long long>(n));
    for (const Depthwise& d : depthwise) {
      net::ConvolutionParams p{.stride = {d.s, d.s}, .padding = {d.k / 2, d.k / 2}, .dilation = {1, 1},
                               .output_padding = {0, 0}, .groups = d.c, .activation = net::UnaryOp::kSilu,
                               .channels_last = true};
      const int64_t out = (d.hw - 1) / d.s + 1;
      std::string name = "depthwise k" + std::to_string(d.k) + " s" + std::to_string(d.s);
      bench(name.c_str(), p, {{n, d.hw, d.hw, d.c}, {d.c, d.k, d.k, 1}, {d.c}}, {H, H, H}, iters, stream,
            {n, out, out, d.c});
      // The direct kernel (depthwise_direct.cuh) as its tactics run it, then its dense variants
      // (registers capped for more blocks an SM).
      for (int variant : {1, 2, 4, -2, -4}) {
        const int pixels = variant < 0 ? -variant : variant;
        const bool dense = variant < 0;
        std::string direct = name + " direct" + std::to_string(pixels) + (dense ? "d" : "");
        bench(direct.c_str(), p, {{n, d.hw, d.hw, d.c}, {d.c, d.k, d.k, 1}, {d.c}}, {H, H, H}, iters, stream,
              {n, out, out, d.c}, [p, pixels, dense](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& o,
                                                      cudaStream_t s, void*) {
                return ingot::kernels::cuda::launch_depthwise_direct_conv(p, in, o, pixels, true, s, dense);
              });
      }
      // With the channel sums the squeeze-excite gate after it pools (bench/NOTES.md note 62):
      // zeroed, then added by the direct kernel (P = 2, 4), or by the column-sum launch after
      // the convolution ("column sums" alone: what the other tactics pay on top).
      static Buffer* sums = new Buffer(size_t{32} * 1152 * sizeof(double));  // the largest N x C above
      auto with_sums = [n, c = d.c](const std::vector<DeviceTensor>& o, cudaStream_t s) {
        std::vector<DeviceTensor> out{o[0], DeviceTensor{sums->ptr, DType::kFloat64, {n, c}}};
        (void)cudaMemsetAsync(sums->ptr, 0, static_cast<size_t>(n * c) * sizeof(double), s);
        return out;
      };
      net::ConvolutionParams ps = p;
      ps.channel_sums = true;
      for (int pixels : {2, 4}) {
        std::string direct = name + " direct" + std::to_string(pixels) + " sums";
        bench(direct.c_str(), p, {{n, d.hw, d.hw, d.c}, {d.c, d.k, d.k, 1}, {d.c}}, {H, H, H}, iters, stream,
              {n, out, out, d.c}, [ps, pixels, with_sums](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& o,
                                                          cudaStream_t s, void*) {
                return ingot::kernels::cuda::launch_depthwise_direct_conv(ps, in, with_sums(o, s), pixels, true, s);
              });
      }
      std::string column = name + " column sums";
      bench(column.c_str(), p, {{n, out, out, d.c}}, {H}, iters, stream, {n, out, out, d.c},
            [with_sums](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& o, cudaStream_t s, void*) {
              const std::vector<DeviceTensor> out = with_sums(o, s);
              return ingot::kernels::cuda::launch_channel_sums(in[0], out[1], s);
            });
    }
  }
  // EfficientNet-B0's expand convolutions with few inputs (1x1, bias and SiLU fused): input
  // size, input and output channels.
  struct Expand {
    int64_t hw, k, m;
  };
  const Expand expand[] = {{112, 16, 96}, {56, 24, 144}, {28, 40, 240}};
  for (int64_t n : {1, 32}) {
    std::printf("-- efficientnet-b0 pointwise (expand) convolutions bs%lld\n", static_cast<long long>(n));
    for (const Expand& e : expand) {
      net::ConvolutionParams p{.stride = {1, 1}, .padding = {0, 0}, .dilation = {1, 1}, .output_padding = {0, 0},
                               .groups = 1, .activation = net::UnaryOp::kSilu, .channels_last = true};
      std::string name = "pointwise k" + std::to_string(e.k) + " m" + std::to_string(e.m);
      bench(name.c_str(), p, {{n, e.hw, e.hw, e.k}, {e.m, 1, 1, e.k}, {e.m}}, {H, H, H}, iters, stream, {n, e.hw, e.hw, e.m});
    }
  }
  // EfficientNet-B0's stem (3 -> 32 channels, 3x3 / 2, bias and SiLU fused) on our small-input
  // kernel; cuDNN's generic kernel took 46 us at bs32 on an H100 (bench/NOTES.md note 58).
  for (int64_t n : {1, 32}) {
    std::printf("-- efficientnet-b0 stem bs%lld\n", static_cast<long long>(n));
    net::ConvolutionParams p{.stride = {2, 2}, .padding = {1, 1}, .dilation = {1, 1}, .output_padding = {0, 0},
                             .groups = 1, .activation = net::UnaryOp::kSilu, .channels_last = true};
    bench("small-input stem 3x3 s2 c3 m32", p, {{n, 224, 224, 3}, {32, 3, 3, 3}, {32}}, {H, H, H}, iters, stream,
          {n, 112, 112, 32});
  }
  // EfficientNet-B0's squeeze-excite gates with the multiply (column sums + gate kernel; the
  // bytes are x read twice and the output written): input size, channels, hidden units.
  struct SqueezeExcite {
    int64_t hw, c, r;
  };
  const SqueezeExcite se[] = {{112, 32, 8}, {56, 96, 4}, {56, 144, 6}, {28, 144, 6},  {28, 240, 10},
                              {14, 240, 10}, {14, 480, 20}, {14, 672, 28}, {7, 672, 28}, {7, 1152, 48}};
  for (int64_t n : {1, 32}) {
    std::printf("-- efficientnet-b0 squeeze-excite bs%lld\n", static_cast<long long>(n));
    for (const SqueezeExcite& g : se) {
      net::SqueezeExciteParams p{.act1 = net::UnaryOp::kSilu, .act2 = net::UnaryOp::kSigmoid, .scale_input = true};
      std::string name = "squeeze_excite c" + std::to_string(g.c) + " r" + std::to_string(g.r);
      const std::vector<std::vector<int64_t>> dims{{n, g.hw, g.hw, g.c}, {g.r, g.c}, {g.r}, {g.c, g.r}, {g.c}};
      bench(name.c_str(), p, dims, {H, H, H, H, H}, iters, stream);
      bench((name + " separate").c_str(), p, dims, {H, H, H, H, H}, iters, stream, {},
            [&](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t s, void* ws) {
              return ingot::kernels::cuda::launch_squeeze_excite(p, in, out, s, ws,
                                                                 ingot::kernels::cuda::SqueezeExciteMultiply::kSeparate);
            });
      bench((name + " fused").c_str(), p, dims, {H, H, H, H, H}, iters, stream, {},
            [&](const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, cudaStream_t s, void* ws) {
              if (!ingot::kernels::cuda::squeeze_excite_fuses(p, in, out)) {
                return ingot::error(ingot::ErrorCode::kUnsupported, "does not fuse");
              }
              return ingot::kernels::cuda::launch_squeeze_excite(p, in, out, s, ws,
                                                                 ingot::kernels::cuda::SqueezeExciteMultiply::kFused);
            });
    }
  }
  std::printf("-- large (bandwidth)\n");
  bench("add", net::ElementwiseParams{.op = net::BinaryOp::kAdd}, {{64 << 20}, {64 << 20}}, {H, H}, 20, stream);
  bench("gelu", net::UnaryParams{.op = net::UnaryOp::kGeluErf}, {{64 << 20}}, {H}, 20, stream);
  bench("layer_norm", net::NormalizationParams{.kind = net::NormKind::kLayer, .axis = 1}, {{65536, 1024}, {1024}, {1024}},
        {H, H, H}, 20, stream);
  bench("softmax", net::SoftmaxParams{.axis = -1}, {{262144, 256}}, {H}, 20, stream);
  cudaStreamDestroy(stream);
  return 0;
}
