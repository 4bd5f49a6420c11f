// Optimization profile selection, shared by every backend: the ExecutionContext binds the
// symbols from the input shapes, then picks the plan's first profile whose ranges contain
// every bound symbol. The backend then runs with that profile's tactics.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "plan/plan.h"
#include "support/status.h"

namespace ingot::runtime {

// Says where a symbol was bound, for messages: "input 'x' dim 0".
using SymbolSource = std::function<std::string(const std::string& symbol)>;

// The index of the first profile of `plan` that contains every symbol in `values`, or -1 for
// a plan without profiles. `want` >= 0 asks for that profile (build-time tuning): an error if
// it does not contain the values. When no profile fits, the kShapeMismatch error names the
// input, the dim, the value and every profile's range for it.
Expected<int> select_profile(const plan::Plan& plan, const std::map<std::string, int64_t>& values,
                             const SymbolSource& source, int want = -1);

// "[1, 3] (profile 0), [5, 64] (profile 1)": the profiles' ranges of one symbol.
std::string profile_ranges_str(const plan::Plan& plan, const std::string& symbol);

}  // namespace ingot::runtime
