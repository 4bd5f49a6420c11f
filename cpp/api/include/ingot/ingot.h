// ingot's public C++ API for running engines without Python.
//
//   ingot::Engine engine = ingot::Engine::load("model.ingot");   // verifies every byte
//   ingot::Context ctx = engine.create_context();
//   std::vector<int64_t> out_dims = ctx.set_input_shapes({{2, 3, 224, 224}}).at(0);
//   ctx.execute({{input_ptr, ingot::DType::kFloat32, {2, 3, 224, 224}}},
//               {{output_ptr, ingot::DType::kFloat32, out_dims}});
//
// Engines are immutable and may be shared across threads; each thread uses its own Context.
// Every failure throws ingot::Error with a message naming the file, input, dimension or layer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ingot {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Same values as ingot's internal element types.
enum class DType : uint8_t { kFloat32 = 0, kFloat16, kBFloat16, kInt8, kUInt8, kInt32, kInt64, kBool };
const char* dtype_name(DType t);
size_t dtype_size(DType t);

struct Tensor {
  void* data = nullptr;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> dims;
};

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<std::string> dims;  // each a number or a symbolic expression ("s0", "2*s0")
};

class Context;

class Engine {
 public:
  static Engine load(const std::string& path);
  static Engine from_bytes(const void* data, size_t size);

  const std::string& name() const;
  std::string backend() const;  // "cpu" or "cuda"
  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  // Symbol ranges as "s0 in [1, 64]" lines, one per dynamic dimension.
  std::vector<std::string> symbols() const;
  // One line per layer: outputs = kind(inputs) params.
  std::string describe() const;
  // The engine inspector's JSON: layers, their ATen origins and module paths, precision,
  // layout, tactic and timed alternatives, memory (layout documented in plan/inspect.h).
  std::string inspect() const;
  Context create_context() const;

  // The engine with its tactics timed again on this machine (optimization_level 1-5, as in
  // compile): for an engine file built elsewhere, or to time more candidates. progress(done,
  // total) follows the layers timed; may be empty. Throws for backends without tactics (cpu).
  Engine retuned(int optimization_level, const std::function<void(size_t, size_t)>& progress = {}) const;
  // The serialized engine: the bytes of an .ingot file.
  std::vector<uint8_t> serialize() const;
  void save(const std::string& path) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  friend class Context;
};

class Context {
 public:
  // Returns the output dims for these input dims; throws if they do not fit the engine.
  std::vector<std::vector<int64_t>> set_input_shapes(const std::vector<std::vector<int64_t>>& dims);
  // The optimization profile the last set_input_shapes() selected (-1: the engine has none).
  int active_profile() const;
  void execute(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs);
  // Per-layer profiling: while on, every execute() records the engine's and each layer's time
  // (turning it on again starts a fresh profile). profile_json() returns what was recorded
  // (layout documented in runtime/profiler.h); it throws if profiling was never turned on.
  void enable_profiling(bool on = true);
  std::string profile_json() const;
  ~Context();
  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;

 private:
  struct Impl;
  explicit Context(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class Engine;
};

}  // namespace ingot
