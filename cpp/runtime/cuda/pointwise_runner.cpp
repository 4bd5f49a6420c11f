// The runner of pointwise layers (build::fuse_pointwise): prepare() generates, compiles (NVRTC)
// and loads the program's kernel for the current device (pointwise_kernel.h); enqueue()
// launches it.
#include <optional>

#include "runtime/cuda/pointwise_kernel.h"
#include "runtime/cuda/runner.h"

namespace ingot::runtime::cuda {
namespace {

class PointwiseRunner : public LayerRunner {
 public:
  Status prepare(const RunnerEnv&, const net::LayerParams& params, const Tensors& in, const Tensors& out,
                 size_t* workspace) override {
    *workspace = 0;
    if (out.size() != 1) return invalid_argument("pointwise: one output, got ", out.size());
    std::vector<ir::DType> dtypes;
    for (const DeviceTensor& t : in) dtypes.push_back(t.dtype);
    INGOT_ASSIGN_OR_RETURN(kernel_, PointwiseKernel::build(std::get<net::PointwiseParams>(params), dtypes, out[0].dtype));
    return kernel_->bind(in, out[0]);
  }

  Status enqueue(const RunnerEnv&, const net::LayerParams&, const Tensors& in, const Tensors& out, void*,
                 cudaStream_t stream) override {
    if (!kernel_) return error(ErrorCode::kInternal, "pointwise: enqueue before prepare");
    return kernel_->launch(in, out[0], stream);
  }

 private:
  std::optional<PointwiseKernel> kernel_;
};

}  // namespace

std::unique_ptr<LayerRunner> make_pointwise_runner() { return std::make_unique<PointwiseRunner>(); }

}  // namespace ingot::runtime::cuda
