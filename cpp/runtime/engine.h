// Engine and ExecutionContext: the runtime.
//
// An Engine is immutable and shareable: it holds the verified plan and its weights. Per-call
// state (shapes bound for this call, activation memory) lives in an ExecutionContext, so
// several threads can run one engine at once, each with its own context.
//
//   auto engine = Engine::deserialize(bytes);               // verifies every byte
//   auto ctx = (*engine)->create_context();
//   ctx->set_input_shapes({{2, 3, 224, 224}});              // checks ranks, dims, ranges
//   auto out_dims = ctx->output_dims(0);                    // allocate outputs
//   ctx->execute(inputs, outputs);                          // checks dtypes and shapes again
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/dtype.h"
#include "plan/plan.h"
#include "runtime/backend.h"
#include "runtime/profiler.h"
#include "support/status.h"

namespace ingot::runtime {

struct TensorArg {
  void* data = nullptr;
  ir::DType dtype = ir::DType::kFloat32;
  std::vector<int64_t> dims;
};

class ExecutionContext;

// A plan's I/O description as JSON: name, backend, and per input/output the name, dtype and
// symbolic shape (Engine::signature(); the torch op's shape function reads it). Needs no
// backend: the build describes an engine it has not loaded.
std::string plan_signature(const plan::Plan& plan);

class Engine : public std::enable_shared_from_this<Engine> {
 public:
  // Verifies and loads plan bytes; the engine keeps its own copy of the weights.
  static Expected<std::shared_ptr<const Engine>> deserialize(std::span<const uint8_t> bytes);
  // Wraps an in-memory plan (the build path, and constant folding).
  static Expected<std::shared_ptr<const Engine>> from_plan(plan::Plan plan);

  const plan::Plan& plan() const { return plan_; }
  const std::string& name() const { return plan_.name; }
  size_t num_inputs() const { return plan_.network.inputs().size(); }
  size_t num_outputs() const { return plan_.network.outputs().size(); }
  const std::string& input_name(size_t i) const;
  const ir::TensorType& input_type(size_t i) const;
  const std::string& output_name(size_t i) const;
  const ir::TensorType& output_type(size_t i) const;

  // plan_signature() of the engine's plan.
  std::string signature() const { return plan_signature(plan_); }

  std::unique_ptr<ExecutionContext> create_context() const;
  const BackendEngine& backend_engine() const { return *backend_engine_; }

 private:
  Engine(plan::Plan plan, std::unique_ptr<BackendEngine> be) : plan_(std::move(plan)), backend_engine_(std::move(be)) {}
  plan::Plan plan_;
  std::unique_ptr<BackendEngine> backend_engine_;
};

class ExecutionContext {
 public:
  explicit ExecutionContext(std::shared_ptr<const Engine> engine);

  // Binds the symbols from the input shapes, selects the optimization profile (the plan's first
  // whose ranges contain every bound symbol) and computes every tensor's shape. Errors name the
  // input, the dimension, the value and what was expected (a constant, a range, or the
  // profiles' ranges). `profile` >= 0 forces that profile (build-time tuning at its opt shapes).
  Status set_input_shapes(const std::vector<std::vector<int64_t>>& shapes, int profile = -1);
  // The profile selected by the last set_input_shapes(); -1 for a plan without profiles.
  int active_profile() const { return bound_.profile; }
  const std::vector<int64_t>& output_dims(size_t i) const;

  // Runs the engine. Inputs and outputs must match the shapes set last and the engine's dtypes,
  // and live where the engine computes (host memory for CPU engines, device memory for CUDA).
  // `stream` is the CUDA stream (cudaStream_t) for GPU engines, ignored by the CPU backend.
  Status execute(const std::vector<TensorArg>& inputs, const std::vector<TensorArg>& outputs, void* stream = nullptr);

  // The shapes bound by the last set_input_shapes(), and the backend's context (for tools
  // that drive a backend directly, like build-time tactic timing).
  const BoundShapes& bound_shapes() const { return bound_; }
  BackendContext& backend_context() { return *backend_; }

  // Attaches a profiler (null detaches): every later call records its engine and per-layer
  // times there (runtime/profiler.h). Several contexts of one engine may share one profiler.
  void set_profiler(std::shared_ptr<Profiler> profiler);
  const std::shared_ptr<Profiler>& profiler() const { return profiler_; }

  // Shape-and-run in one call (set_input_shapes from the inputs' dims).
  Status run(const std::vector<TensorArg>& inputs, const std::vector<TensorArg>& outputs, void* stream = nullptr);

 private:
  std::shared_ptr<const Engine> engine_;
  std::unique_ptr<BackendContext> backend_;
  std::shared_ptr<Profiler> profiler_;
  bool shapes_set_ = false;
  std::vector<std::vector<int64_t>> input_shapes_;
  int requested_profile_ = -1;
  BoundShapes bound_;
};

}  // namespace ingot::runtime
