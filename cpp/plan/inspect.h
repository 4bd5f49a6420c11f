// The engine inspector: what a plan became, as JSON. Shared by ingot.inspect() (Python) and
// `ingot inspect FILE` (CLI).
//
// Layout of the JSON (one object):
//   "name", "backend", "device", "producer", "format_version", "allow_tf32",
//   "inputs" / "outputs": [{"name", "dtype", "shape"}]   (symbolic dims as strings)
//   "symbols": [{"name", "min", "max"}]                   (max null when unbounded)
//   "memory": {"arena_bytes" (activations), "weights_bytes", "workspace_bytes" (0 on the CPU
//              backend; on CUDA null: chosen per shape at run time, at most
//              "workspace_limit_bytes" per layer)}
//   "layer_kinds": {"convolution": 3, ...}
//   "layers": [{"index", "name", "kind", "params": {field: value, ...},
//               "inputs" / "outputs": [{"name", "dtype", "shape", "role"}]  (role: "input",
//               "output", "constant", "activation"; absent optional inputs are skipped),
//               "precision" (dtype of the first output), "layout" ("channels_last" or
//               "row-major"), "origins": [{"node", "op", "module"}], "tactic", "timed":
//               [{"tactic", "ms"}], "weights_bytes"}]
#pragma once

#include <string>

#include "plan/plan.h"

namespace ingot::plan {

std::string inspect_json(const Plan& plan);

}  // namespace ingot::plan
