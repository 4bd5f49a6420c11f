// Reading symbolic expressions from plan files. A hostile file could nest parentheses until
// the stack overflows, multiply sums until memory runs out, or build INT64_MIN and divide it by
// -1, so ir::parse_sym_expr runs with the format's limits, checked before and after every
// operation.
#include <cctype>

#include "plan/format.h"
#include "support/check.h"

namespace ingot::plan::detail {

Expected<ir::SymExpr> read_expr(std::string_view text) {
  if (text.size() > kMaxExprTextBytes) {
    return error(ErrorCode::kCorruptPlan, "expression of ", text.size(), " bytes is longer than ",
                 kMaxExprTextBytes);
  }
  static constexpr ir::SymExprLimits kLimits{kMaxExprDepth, kMaxExprTerms, kMaxExprDegree, kMaxExprCoefficient};
  try {
    auto parsed = ir::parse_sym_expr(text, &kLimits);
    if (!parsed) return error(ErrorCode::kCorruptPlan, "bad expression: ", parsed.status().message());
    ir::SymExpr e = std::move(*parsed);
    std::string canonical = e.str();
    if (canonical != text) {
      return error(ErrorCode::kCorruptPlan, "expression '", text, "' is not in canonical form (",
                   canonical, ")");
    }
    return e;
  } catch (const InternalError& e) {
    // Checked arithmetic inside SymExpr (an overflowing sum or product).
    return error(ErrorCode::kCorruptPlan, "bad expression '", text, "': ", e.what());
  }
}

Expected<std::string> expr_text(const ir::SymExpr& e) {
  std::string text = e.str();
  auto back = read_expr(text);
  if (!back) return invalid_argument("expression ", text, " cannot be stored: ", back.status().message());
  if (*back != e) return invalid_argument("expression ", text, " does not read back as itself");
  return text;
}

Status check_shape_limits(const ir::Shape& shape) {
  if (shape.size() > kMaxRank) {
    return error(ErrorCode::kCorruptPlan, "rank ", shape.size(), " is above the limit of ", kMaxRank);
  }
  uint64_t product = 1;
  for (const auto& d : shape) {
    product *= std::max<uint64_t>(1, d.poly().terms.size());
    if (product > kMaxShapeTermProduct) {
      return error(ErrorCode::kCorruptPlan, "shape ", ir::shape_str(shape),
                   " is too complex: the product of its dims' term counts exceeds ", kMaxShapeTermProduct);
    }
  }
  return Status::ok();
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((b & 0xE0) == 0xC0) {
      n = 1, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3, cp = b & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = cp << 6 | (c & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace ingot::plan::detail
