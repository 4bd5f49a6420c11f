// CPU reference kernels: one plain C++ implementation per layer kind, written for clarity, not
// speed. They define what each layer computes; the CUDA kernels are tested against them.
//
// Contract: tensors are dense, contiguous and row-major; `inputs` follow the order documented
// for the layer's parameter struct in net/layers.h (data == nullptr for an absent optional
// input); `outputs` are allocated by the caller with the shapes the layer's shape function
// gives. Floating-point math is done in float (double for accumulations where it is cheap);
// f16/bf16 are storage formats. A kernel returns an error for data it cannot handle (an index
// out of range), never crashes.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/dtype.h"
#include "net/layers.h"
#include "support/status.h"

namespace ingot::kernels::cpu {

struct TensorView {
  void* data = nullptr;
  ir::DType dtype = ir::DType::kFloat32;
  std::vector<int64_t> dims;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
  size_t rank() const { return dims.size(); }
  bool present() const { return data != nullptr || numel() == 0; }
};

// Runs one layer.
Status run_layer(const net::LayerParams& params, const std::vector<TensorView>& inputs,
                 const std::vector<TensorView>& outputs);

}  // namespace ingot::kernels::cpu
