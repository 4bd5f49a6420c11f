// The squeeze_excite runner: our kernels (kernels/cuda/squeeze_excite.cuh), with the multiply of
// x by the gates in the gate blocks, in a separate streaming kernel, or in one cooperative
// launch that also sums x (where squeeze_excite_fuses()). Which is faster depends on the size of
// x (batch 1: the launches saved; batch 32: the bandwidth), so the build times them and records
// "ingot:se-separate" or "ingot:se-fused" when one of those wins.
#include "runtime/cuda/cuda_util.h"
#include "runtime/cuda/runner.h"

namespace ingot::runtime::cuda {
namespace {

constexpr const char* kSeparateTactic = "ingot:se-separate";
constexpr const char* kInGateTactic = "ingot:se-in-gate";
constexpr const char* kFusedTactic = "ingot:se-fused";

using kernels::cuda::SqueezeExciteMultiply;

SqueezeExciteMultiply mode_of(const std::string& tactic) {
  if (tactic == kSeparateTactic) return SqueezeExciteMultiply::kSeparate;
  if (tactic == kFusedTactic) return SqueezeExciteMultiply::kFused;  // kInGate where it does not apply
  return SqueezeExciteMultiply::kInGate;
}

class SqueezeExciteRunner : public LayerRunner {
 public:
  explicit SqueezeExciteRunner(const std::string& tactic)
      : multiply_(mode_of(tactic)) {}

  Status prepare(const RunnerEnv&, const net::LayerParams& p, const Tensors& in, const Tensors& out, size_t* ws) override {
    *ws = kernels::cuda::workspace_size(p, in, out);  // both modes fit in it
    return Status::ok();
  }

  Status enqueue(const RunnerEnv&, const net::LayerParams& p, const Tensors& in, const Tensors& out, void* workspace,
                 cudaStream_t stream) override {
    return kernels::cuda::launch_squeeze_excite(std::get<net::SqueezeExciteParams>(p), in, out, stream, workspace,
                                                multiply_);
  }

  // Times the ways of multiplying (layers that scale x; the others have one way), keeps the
  // fastest.
  Expected<std::string> tune(const RunnerEnv&, const net::LayerParams& p, const Tensors& in, const Tensors& out,
                             void* workspace, size_t workspace_size, cudaStream_t stream,
                             std::vector<net::TimedTactic>* timed) override {
    const auto& se = std::get<net::SqueezeExciteParams>(p);
    multiply_ = SqueezeExciteMultiply::kInGate;
    if (!se.scale_input) return std::string();
    if (workspace_size < kernels::cuda::workspace_size(p, in, out)) {
      return invalid_argument("squeeze_excite: tuning needs ", kernels::cuda::workspace_size(p, in, out),
                              " bytes of workspace, has ", workspace_size);
    }
    float best_ms = 0;
    std::string best;
    std::vector<std::pair<SqueezeExciteMultiply, const char*>> modes{{SqueezeExciteMultiply::kInGate, kInGateTactic},
                                                                     {SqueezeExciteMultiply::kSeparate, kSeparateTactic}};
    if (kernels::cuda::squeeze_excite_fuses(se, in, out)) modes.emplace_back(SqueezeExciteMultiply::kFused, kFusedTactic);
    for (auto [mode, tactic] : modes) {
      INGOT_ASSIGN_OR_RETURN(float ms, time_on_stream(stream, [&] {
                               return kernels::cuda::launch_squeeze_excite(se, in, out, stream, workspace, mode);
                             }));
      if (timed) timed->push_back({tactic, static_cast<double>(ms)});
      if (best.empty() || ms < best_ms) best = tactic, best_ms = ms, multiply_ = mode;
    }
    return best;
  }

 private:
  SqueezeExciteMultiply multiply_;
};

}  // namespace

std::unique_ptr<LayerRunner> make_squeeze_excite_runner(const std::string& tactic) {
  return std::make_unique<SqueezeExciteRunner>(tactic);
}

}  // namespace ingot::runtime::cuda
