// Symbolic integer expressions for tensor dimensions.
//
// A SymExpr is an integer polynomial over atoms; an atom is a named symbol ("s0") or an
// operation that does not distribute (a // b, a % b, max, min). Expressions are kept in a
// canonical form, so two expressions that are equal as polynomials compare equal, and a
// constant is the simple case (`SymExpr(224)`). Division and modulo follow Python (floor).
//
// Text form (what str() prints and parse_sym_expr() reads):
//   3*s0 + 1      (s0 - 1) // 2 + 1      max(s0, 4)      s0*s1 % 8
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/status.h"

namespace ingot::ir {

struct SymAtom;
struct SymPoly;

// Inclusive integer range; kInf marks "no upper bound".
struct SymRange {
  static constexpr int64_t kInf = INT64_MAX;
  int64_t min = 0;
  int64_t max = kInf;
  bool operator==(const SymRange&) const = default;
};

class SymExpr {
 public:
  SymExpr();                         // 0
  SymExpr(int64_t value);            // NOLINT(google-explicit-constructor): constants convert
  SymExpr(int value) : SymExpr(static_cast<int64_t>(value)) {}  // NOLINT
  static SymExpr symbol(std::string name);

  static SymExpr floordiv(const SymExpr& a, const SymExpr& b);
  static SymExpr ceildiv(const SymExpr& a, const SymExpr& b);
  static SymExpr mod(const SymExpr& a, const SymExpr& b);
  static SymExpr max(const SymExpr& a, const SymExpr& b);
  static SymExpr min(const SymExpr& a, const SymExpr& b);

  friend SymExpr operator+(const SymExpr& a, const SymExpr& b);
  friend SymExpr operator-(const SymExpr& a, const SymExpr& b);
  friend SymExpr operator*(const SymExpr& a, const SymExpr& b);
  SymExpr operator-() const;
  SymExpr& operator+=(const SymExpr& o) { return *this = *this + o; }
  SymExpr& operator*=(const SymExpr& o) { return *this = *this * o; }

  bool is_constant() const;
  std::optional<int64_t> as_constant() const;
  int64_t constant_value() const;  // checks is_constant()
  bool is_symbol() const;          // exactly one symbol with coefficient 1
  const std::string& symbol_name() const;  // checks is_symbol()

  // Names of all symbols, sorted, without repeats.
  std::vector<std::string> symbols() const;

  // Value for concrete symbol values; an error names a missing symbol or a division by zero.
  using Lookup = std::function<std::optional<int64_t>(const std::string&)>;
  Expected<int64_t> evaluate(const Lookup& lookup) const;
  Expected<int64_t> evaluate(const std::map<std::string, int64_t>& values) const;

  // Conservative range of the expression when each symbol lies in its range.
  using RangeLookup = std::function<SymRange(const std::string&)>;
  SymRange bounds(const RangeLookup& ranges) const;

  // Replaces symbols by expressions (symbols not in the map stay).
  SymExpr substitute(const std::map<std::string, SymExpr>& values) const;

  std::string str() const;
  size_t hash() const;

  friend bool operator==(const SymExpr& a, const SymExpr& b);
  friend bool operator!=(const SymExpr& a, const SymExpr& b) { return !(a == b); }
  friend bool operator<(const SymExpr& a, const SymExpr& b);  // canonical total order

  const SymPoly& poly() const { return *poly_; }

 private:
  explicit SymExpr(std::shared_ptr<const SymPoly> p) : poly_(std::move(p)) {}
  static SymExpr from_atom(std::shared_ptr<const SymAtom> atom);
  std::shared_ptr<const SymPoly> poly_;

  friend struct SymOps;
};

// Bounds for parsing untrusted text (plan files): nesting depth, and the terms, degree and
// coefficients of every intermediate result, so that a hostile expression cannot exhaust the
// stack or memory or overflow. Exceeding one is a parse error.
struct SymExprLimits {
  size_t max_depth = 0;
  size_t max_terms = 0;
  size_t max_degree = 0;
  int64_t max_coefficient = 0;
};

// Parses the text form. Errors name the position. With `limits`, every step is checked
// against them.
Expected<SymExpr> parse_sym_expr(std::string_view text, const SymExprLimits* limits = nullptr);

using Shape = std::vector<SymExpr>;

std::string shape_str(const Shape& shape);  // "[2, s0, 224]"
bool is_static(const Shape& shape);
std::optional<std::vector<int64_t>> static_dims(const Shape& shape);
Shape shape_of(const std::vector<int64_t>& dims);
SymExpr numel(const Shape& shape);

// ---- representation (public so that the printer and serializer can walk it) ----

enum class SymAtomKind : uint8_t { kSymbol = 0, kFloorDiv = 1, kMod = 2, kMax = 3, kMin = 4 };

struct SymAtom {
  SymAtomKind kind;
  std::string name;  // kSymbol
  SymExpr lhs, rhs;  // binary atoms
};

// A monomial is a sorted list of atoms (repeated for powers).
using SymMonomial = std::vector<std::shared_ptr<const SymAtom>>;

struct SymPoly {
  // Sorted by monomial; the constant term, if nonzero, has an empty monomial and comes first.
  std::vector<std::pair<SymMonomial, int64_t>> terms;
};

}  // namespace ingot::ir
