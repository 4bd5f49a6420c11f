// The runner factory, the runners for our own kernels and for views, and what the CUDA backend can run.
#include "runtime/cuda/runner.h"

#include "runtime/cuda/pointwise_kernel.h"

namespace ingot::runtime::cuda {
namespace {

class KernelRunner : public LayerRunner {
 public:
  Status prepare(const RunnerEnv&, const net::LayerParams& p, const Tensors& in, const Tensors& out, size_t* ws) override {
    std::vector<ir::DType> dtypes;
    for (const auto& t : in) dtypes.push_back(t.dtype);
    if (!kernels::cuda::supports(p, dtypes)) {
      return unsupported(net::layer_kind_name(net::kind_of(p)), " with these dtypes has no CUDA kernel");
    }
    *ws = kernels::cuda::workspace_size(p, in, out);
    return Status::ok();
  }
  Status enqueue(const RunnerEnv&, const net::LayerParams& p, const Tensors& in, const Tensors& out, void* workspace,
                 cudaStream_t stream) override {
    return kernels::cuda::launch(p, in, out, stream, workspace);
  }
};

// A reshape view (plan::is_view): its output already is its input's bytes.
class ViewRunner : public LayerRunner {
 public:
  Status prepare(const RunnerEnv&, const net::LayerParams&, const Tensors&, const Tensors&, size_t* workspace) override {
    *workspace = 0;
    return Status::ok();
  }
  Status enqueue(const RunnerEnv&, const net::LayerParams&, const Tensors&, const Tensors&, void*, cudaStream_t) override {
    return Status::ok();
  }
};

}  // namespace

std::unique_ptr<LayerRunner> make_kernel_runner() { return std::make_unique<KernelRunner>(); }
std::unique_ptr<LayerRunner> make_view_runner() { return std::make_unique<ViewRunner>(); }


std::unique_ptr<LayerRunner> make_runner(const net::Layer& layer) { return make_runner(layer, layer.tactic); }

std::unique_ptr<LayerRunner> make_runner(const net::Layer& layer, const std::string& tactic) {
  switch (layer.kind()) {
    case net::LayerKind::kConvolution: return make_conv_runner(tactic);
    case net::LayerKind::kMatMul: return make_matmul_runner(tactic);
    case net::LayerKind::kAttention: return make_attention_runner(tactic);
    case net::LayerKind::kSqueezeExcite: return make_squeeze_excite_runner(tactic);
    case net::LayerKind::kPointwise: return make_pointwise_runner();
    default: return make_kernel_runner();
  }
}

Status cuda_supports(const net::Layer& layer, const net::Network& net) {
  std::vector<ir::DType> dtypes;
  for (int id : layer.inputs) dtypes.push_back(id < 0 ? ir::DType::kFloat32 : net.tensor(id).type.dtype);
  auto floating = [](ir::DType t) {
    return t == ir::DType::kFloat32 || t == ir::DType::kFloat16 || t == ir::DType::kBFloat16;
  };
  switch (layer.kind()) {
    case net::LayerKind::kConvolution: {
      const auto& p = std::get<net::ConvolutionParams>(layer.params);
      if (!floating(dtypes[0])) return unsupported("convolution on ", ir::dtype_name(dtypes[0]));
      if (p.activation != net::UnaryOp::kIdentity && p.activation != net::UnaryOp::kRelu &&
          !epilogue_supports(p.activation)) {
        return unsupported("convolution with a fused ", net::enum_name(p.activation));
      }
      return Status::ok();
    }
    case net::LayerKind::kMatMul: {
      const auto& p = std::get<net::MatMulParams>(layer.params);
      if (!floating(dtypes[0])) return unsupported("matmul on ", ir::dtype_name(dtypes[0]));
      if (p.activation != net::UnaryOp::kIdentity && p.activation != net::UnaryOp::kRelu &&
          p.activation != net::UnaryOp::kGeluTanh && !epilogue_supports(p.activation)) {
        return unsupported("matmul with a fused ", net::enum_name(p.activation));
      }
      return Status::ok();
    }
    case net::LayerKind::kAttention:
      if (!floating(dtypes[0])) return unsupported("attention on ", ir::dtype_name(dtypes[0]));
      return Status::ok();
    case net::LayerKind::kPointwise:  // its shape function checked the program and its inputs
      if (layer.inputs.size() > static_cast<size_t>(kPointwiseMaxInputs)) {
        return unsupported("pointwise with ", layer.inputs.size(), " inputs (at most ", kPointwiseMaxInputs, ")");
      }
      return Status::ok();
    default:
      if (!kernels::cuda::supports(layer.params, dtypes)) {
        return unsupported(net::layer_kind_name(layer.kind()), " with these input dtypes has no CUDA kernel");
      }
      return Status::ok();
  }
}

}  // namespace ingot::runtime::cuda
