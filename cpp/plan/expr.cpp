// Reading symbolic expressions from plan files. ir::parse_sym_expr trusts its input to be
// reasonable; a hostile file could nest parentheses until the stack overflows, multiply sums
// until memory runs out, or build INT64_MIN and divide it by -1. This reader parses the same
// grammar but checks the format's limits before and after every operation.
#include <cctype>

#include "plan/format.h"
#include "support/check.h"

namespace ingot::plan::detail {

namespace {

using ir::SymExpr;

size_t degree(const SymExpr& e) {
  size_t d = 0;
  for (const auto& term : e.poly().terms) d = std::max(d, term.first.size());
  return d;
}

class LimitedParser {
 public:
  explicit LimitedParser(std::string_view s) : s_(s) {}

  Expected<SymExpr> parse_all() {
    INGOT_ASSIGN_OR_RETURN(SymExpr e, parse_expr());
    skip_ws();
    if (pos_ != s_.size()) return fail("unexpected '", s_.substr(pos_, 1), "'");
    return e;
  }

 private:
  template <typename... Args>
  Status fail(Args&&... args) {
    return error(ErrorCode::kCorruptPlan, "bad expression '", s_, "' at offset ", pos_, ": ",
                 std::forward<Args>(args)...);
  }

  // Every intermediate result stays within the limits, so that the next operation on it is
  // safe (no coefficient near INT64_MIN, bounded work).
  Expected<SymExpr> checked(SymExpr e) {
    const auto& terms = e.poly().terms;
    if (terms.size() > kMaxExprTerms) return fail("more than ", kMaxExprTerms, " terms");
    for (const auto& term : terms) {
      if (term.first.size() > kMaxExprDegree) return fail("a term of degree above ", kMaxExprDegree);
      if (term.second > kMaxExprCoefficient || term.second < -kMaxExprCoefficient) {
        return fail("coefficient ", term.second, " is larger than 2^62");
      }
    }
    return e;
  }

  Status enter() {
    if (++depth_ > kMaxExprDepth) return fail("nested deeper than ", kMaxExprDepth);
    return Status::ok();
  }

  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip_ws();
    if (s_.substr(pos_, tok.size()) != tok) return false;
    pos_ += tok.size();
    return true;
  }

  Expected<SymExpr> parse_expr() {
    INGOT_ASSIGN_OR_RETURN(SymExpr e, parse_term());
    while (true) {
      if (eat("+")) {
        INGOT_ASSIGN_OR_RETURN(SymExpr r, parse_term());
        INGOT_ASSIGN_OR_RETURN(e, checked(e + r));
      } else if (eat("-")) {
        INGOT_ASSIGN_OR_RETURN(SymExpr r, parse_term());
        INGOT_ASSIGN_OR_RETURN(e, checked(e - r));
      } else {
        return e;
      }
    }
  }

  Expected<SymExpr> parse_term() {
    INGOT_ASSIGN_OR_RETURN(SymExpr e, parse_unary());
    while (true) {
      if (eat("//")) {
        INGOT_ASSIGN_OR_RETURN(SymExpr r, parse_unary());
        INGOT_ASSIGN_OR_RETURN(e, checked(SymExpr::floordiv(e, r)));
      } else if (eat("*")) {
        INGOT_ASSIGN_OR_RETURN(SymExpr r, parse_unary());
        if (e.poly().terms.size() * r.poly().terms.size() > kMaxExprTerms ||
            degree(e) + degree(r) > kMaxExprDegree) {
          return fail("product too large");
        }
        INGOT_ASSIGN_OR_RETURN(e, checked(e * r));
      } else if (eat("%")) {
        INGOT_ASSIGN_OR_RETURN(SymExpr r, parse_unary());
        INGOT_ASSIGN_OR_RETURN(e, checked(SymExpr::mod(e, r)));
      } else {
        return e;
      }
    }
  }

  Expected<SymExpr> parse_unary() {
    if (!eat("-")) return parse_atom();
    INGOT_RETURN_IF_ERROR(enter());
    INGOT_ASSIGN_OR_RETURN(SymExpr e, parse_unary());
    --depth_;
    return checked(-e);
  }

  Expected<SymExpr> parse_atom() {
    skip_ws();
    if (pos_ >= s_.size()) return fail("unexpected end");
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      INGOT_RETURN_IF_ERROR(enter());
      INGOT_ASSIGN_OR_RETURN(SymExpr e, parse_expr());
      if (!eat(")")) return fail("expected ')'");
      --depth_;
      return e;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      int64_t v = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        int64_t digit = s_[pos_] - '0';
        if (v > (kMaxExprCoefficient - digit) / 10) return fail("integer larger than 2^62");
        v = v * 10 + digit;
        ++pos_;
      }
      return SymExpr(v);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
      std::string name(s_.substr(start, pos_ - start));
      if (name != "max" && name != "min") return SymExpr::symbol(std::move(name));
      if (!eat("(")) return fail("expected '(' after ", name);
      INGOT_RETURN_IF_ERROR(enter());
      INGOT_ASSIGN_OR_RETURN(SymExpr a, parse_expr());
      if (!eat(",")) return fail("expected ','");
      INGOT_ASSIGN_OR_RETURN(SymExpr b, parse_expr());
      if (!eat(")")) return fail("expected ')'");
      --depth_;
      return checked(name == "max" ? SymExpr::max(a, b) : SymExpr::min(a, b));
    }
    return fail("unexpected '", std::string(1, c), "'");
  }

  std::string_view s_;
  size_t pos_ = 0;
  size_t depth_ = 0;
};

}  // namespace

Expected<ir::SymExpr> read_expr(std::string_view text) {
  if (text.size() > kMaxExprTextBytes) {
    return error(ErrorCode::kCorruptPlan, "expression of ", text.size(), " bytes is longer than ",
                 kMaxExprTextBytes);
  }
  try {
    INGOT_ASSIGN_OR_RETURN(SymExpr e, LimitedParser(text).parse_all());
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
