#include "ir/symbolic.h"

#include <algorithm>
#include <cctype>

#include "support/check.h"

namespace ingot::ir {

// ---------------------------------------------------------------- ordering
namespace {

int compare_expr(const SymExpr& a, const SymExpr& b);

int compare_atom(const SymAtom& a, const SymAtom& b) {
  if (a.kind != b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.kind == SymAtomKind::kSymbol) return a.name.compare(b.name) < 0 ? -1 : (a.name == b.name ? 0 : 1);
  int c = compare_expr(a.lhs, b.lhs);
  if (c != 0) return c;
  return compare_expr(a.rhs, b.rhs);
}

int compare_monomial(const SymMonomial& a, const SymMonomial& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    int c = compare_atom(*a[i], *b[i]);
    if (c != 0) return c;
  }
  return 0;
}

int compare_poly(const SymPoly& a, const SymPoly& b) {
  size_t n = std::min(a.terms.size(), b.terms.size());
  for (size_t i = 0; i < n; ++i) {
    int c = compare_monomial(a.terms[i].first, b.terms[i].first);
    if (c != 0) return c;
    if (a.terms[i].second != b.terms[i].second) return a.terms[i].second < b.terms[i].second ? -1 : 1;
  }
  if (a.terms.size() != b.terms.size()) return a.terms.size() < b.terms.size() ? -1 : 1;
  return 0;
}

int compare_expr(const SymExpr& a, const SymExpr& b) {
  if (&a.poly() == &b.poly()) return 0;
  return compare_poly(a.poly(), b.poly());
}

int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  INGOT_CHECK(!__builtin_add_overflow(a, b, &r), "symbolic integer overflow in ", a, " + ", b);
  return r;
}
int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  INGOT_CHECK(!__builtin_mul_overflow(a, b, &r), "symbolic integer overflow in ", a, " * ", b);
  return r;
}

int64_t py_floordiv(int64_t a, int64_t b) {
  // INT64_MIN / -1 overflows (and traps); the true result does not fit, so saturate.
  if (b == -1) return a == INT64_MIN ? INT64_MAX : -a;
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t py_mod(int64_t a, int64_t b) {
  if (b == -1 || b == 1) return 0;
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

using Terms = std::vector<std::pair<SymMonomial, int64_t>>;

std::shared_ptr<const SymPoly> make_poly(Terms terms) {
  std::sort(terms.begin(), terms.end(), [](const auto& x, const auto& y) {
    return compare_monomial(x.first, y.first) < 0;
  });
  auto poly = std::make_shared<SymPoly>();
  for (auto& t : terms) {
    if (!poly->terms.empty() && compare_monomial(poly->terms.back().first, t.first) == 0) {
      poly->terms.back().second = checked_add(poly->terms.back().second, t.second);
    } else {
      poly->terms.push_back(std::move(t));
    }
  }
  std::erase_if(poly->terms, [](const auto& t) { return t.second == 0; });
  return poly;
}

SymMonomial mul_monomials(const SymMonomial& a, const SymMonomial& b) {
  SymMonomial out;
  out.reserve(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out),
             [](const auto& x, const auto& y) { return compare_atom(*x, *y) < 0; });
  return out;
}

// If `b` divides `a` as multisets of atoms, returns a / b.
std::optional<SymMonomial> div_monomial(const SymMonomial& a, const SymMonomial& b) {
  SymMonomial out;
  size_t j = 0;
  for (const auto& atom : a) {
    if (j < b.size() && compare_atom(*atom, *b[j]) == 0) {
      ++j;
    } else {
      out.push_back(atom);
    }
  }
  if (j != b.size()) return std::nullopt;
  return out;
}

}  // namespace

// ---------------------------------------------------------------- construction

struct SymOps {
  static SymExpr from_terms(Terms t) { return SymExpr(make_poly(std::move(t))); }
};

SymExpr::SymExpr() : poly_(std::make_shared<SymPoly>()) {}

SymExpr::SymExpr(int64_t value) {
  auto p = std::make_shared<SymPoly>();
  if (value != 0) p->terms.push_back({SymMonomial{}, value});
  poly_ = std::move(p);
}

SymExpr SymExpr::from_atom(std::shared_ptr<const SymAtom> atom) {
  auto p = std::make_shared<SymPoly>();
  p->terms.push_back({SymMonomial{std::move(atom)}, 1});
  return SymExpr(std::move(p));
}

SymExpr SymExpr::symbol(std::string name) {
  auto atom = std::make_shared<SymAtom>();
  atom->kind = SymAtomKind::kSymbol;
  atom->name = std::move(name);
  return from_atom(std::move(atom));
}

SymExpr operator+(const SymExpr& a, const SymExpr& b) {
  if (a.poly().terms.empty()) return b;
  if (b.poly().terms.empty()) return a;
  Terms t = a.poly().terms;
  t.insert(t.end(), b.poly().terms.begin(), b.poly().terms.end());
  return SymOps::from_terms(std::move(t));
}

SymExpr SymExpr::operator-() const {
  Terms t = poly_->terms;
  for (auto& term : t) term.second = checked_mul(term.second, -1);
  return SymOps::from_terms(std::move(t));
}

SymExpr operator-(const SymExpr& a, const SymExpr& b) { return a + (-b); }

SymExpr operator*(const SymExpr& a, const SymExpr& b) {
  Terms t;
  for (const auto& x : a.poly().terms) {
    for (const auto& y : b.poly().terms) {
      t.push_back({mul_monomials(x.first, y.first), checked_mul(x.second, y.second)});
    }
  }
  return SymOps::from_terms(std::move(t));
}

namespace {

std::shared_ptr<const SymAtom> binary_atom(SymAtomKind kind, SymExpr lhs, SymExpr rhs) {
  auto atom = std::make_shared<SymAtom>();
  atom->kind = kind;
  if ((kind == SymAtomKind::kMax || kind == SymAtomKind::kMin) && rhs < lhs) std::swap(lhs, rhs);
  atom->lhs = std::move(lhs);
  atom->rhs = std::move(rhs);
  return atom;
}

// Exact quotient a / b when b divides every term of a (b a single term), or a is a
// constant multiple of b.
std::optional<SymExpr> exact_quotient(const SymExpr& a, const SymExpr& b) {
  const auto& bt = b.poly().terms;
  if (bt.empty()) return std::nullopt;
  if (a.poly().terms.empty()) return SymExpr(0);
  if (bt.size() == 1) {
    Terms q;
    for (const auto& term : a.poly().terms) {
      if (term.second % bt[0].second != 0) return std::nullopt;
      auto m = div_monomial(term.first, bt[0].first);
      if (!m) return std::nullopt;
      q.push_back({std::move(*m), term.second / bt[0].second});
    }
    return SymOps::from_terms(std::move(q));
  }
  // Multi-term divisor: try a == k * b for a constant k from the leading terms.
  const auto& at = a.poly().terms;
  if (at.size() != bt.size() || compare_monomial(at.back().first, bt.back().first) != 0) {
    return std::nullopt;
  }
  if (at.back().second % bt.back().second != 0) return std::nullopt;
  SymExpr k(at.back().second / bt.back().second);
  if (k * b == a) return k;
  return std::nullopt;
}

}  // namespace

SymExpr SymExpr::floordiv(const SymExpr& a, const SymExpr& b) {
  auto ca = a.as_constant(), cb = b.as_constant();
  if (cb && *cb == 0) return from_atom(binary_atom(SymAtomKind::kFloorDiv, a, b));
  if (ca && cb) return SymExpr(py_floordiv(*ca, *cb));
  if (cb && *cb == 1) return a;
  if (auto q = exact_quotient(a, b)) return *q;
  if (cb) {
    // floor((c*P + R) / c) == P + floor(R / c): pull out the terms that c divides.
    int64_t c = *cb;
    Terms whole, rest;
    for (const auto& term : a.poly().terms) {
      if (term.first.empty()) {
        int64_t q = py_floordiv(term.second, c);
        if (q != 0) whole.push_back({{}, q});
        int64_t r = py_mod(term.second, c);
        if (r != 0) rest.push_back({{}, r});
      } else if (term.second % c == 0) {
        whole.push_back({term.first, term.second / c});
      } else {
        rest.push_back(term);
      }
    }
    SymExpr w = SymOps::from_terms(std::move(whole));
    SymExpr r = SymOps::from_terms(std::move(rest));
    if (auto rc = r.as_constant()) return w + SymExpr(py_floordiv(*rc, c));
    if (!w.poly().terms.empty()) return w + floordiv(r, b);
    return from_atom(binary_atom(SymAtomKind::kFloorDiv, r, b));
  }
  return from_atom(binary_atom(SymAtomKind::kFloorDiv, a, b));
}

SymExpr SymExpr::ceildiv(const SymExpr& a, const SymExpr& b) { return -floordiv(-a, b); }

SymExpr SymExpr::mod(const SymExpr& a, const SymExpr& b) {
  auto ca = a.as_constant(), cb = b.as_constant();
  if (cb && *cb == 0) return from_atom(binary_atom(SymAtomKind::kMod, a, b));
  if (ca && cb) return SymExpr(py_mod(*ca, *cb));
  if (exact_quotient(a, b)) return SymExpr(0);
  if (cb) {
    int64_t c = *cb;
    Terms rest;
    for (const auto& term : a.poly().terms) {
      if (term.first.empty()) {
        int64_t r = py_mod(term.second, c);
        if (r != 0) rest.push_back({{}, r});
      } else if (term.second % c != 0) {
        rest.push_back(term);
      }
    }
    SymExpr r = SymOps::from_terms(std::move(rest));
    if (auto rc = r.as_constant()) return SymExpr(py_mod(*rc, c));
    return from_atom(binary_atom(SymAtomKind::kMod, r, b));
  }
  return from_atom(binary_atom(SymAtomKind::kMod, a, b));
}

SymExpr SymExpr::max(const SymExpr& a, const SymExpr& b) {
  auto ca = a.as_constant(), cb = b.as_constant();
  if (ca && cb) return SymExpr(std::max(*ca, *cb));
  if (a == b) return a;
  return from_atom(binary_atom(SymAtomKind::kMax, a, b));
}

SymExpr SymExpr::min(const SymExpr& a, const SymExpr& b) {
  auto ca = a.as_constant(), cb = b.as_constant();
  if (ca && cb) return SymExpr(std::min(*ca, *cb));
  if (a == b) return a;
  return from_atom(binary_atom(SymAtomKind::kMin, a, b));
}

// ---------------------------------------------------------------- queries

bool SymExpr::is_constant() const {
  return poly_->terms.empty() || (poly_->terms.size() == 1 && poly_->terms[0].first.empty());
}

std::optional<int64_t> SymExpr::as_constant() const {
  if (poly_->terms.empty()) return 0;
  if (poly_->terms.size() == 1 && poly_->terms[0].first.empty()) return poly_->terms[0].second;
  return std::nullopt;
}

int64_t SymExpr::constant_value() const {
  auto c = as_constant();
  INGOT_CHECK(c.has_value(), "expression ", str(), " is not a constant");
  return *c;
}

bool SymExpr::is_symbol() const {
  return poly_->terms.size() == 1 && poly_->terms[0].second == 1 &&
         poly_->terms[0].first.size() == 1 &&
         poly_->terms[0].first[0]->kind == SymAtomKind::kSymbol;
}

const std::string& SymExpr::symbol_name() const {
  INGOT_CHECK(is_symbol(), "expression ", str(), " is not a symbol");
  return poly_->terms[0].first[0]->name;
}

namespace {
void collect_symbols(const SymExpr& e, std::vector<std::string>& out) {
  for (const auto& term : e.poly().terms) {
    for (const auto& atom : term.first) {
      if (atom->kind == SymAtomKind::kSymbol) {
        out.push_back(atom->name);
      } else {
        collect_symbols(atom->lhs, out);
        collect_symbols(atom->rhs, out);
      }
    }
  }
}
}  // namespace

std::vector<std::string> SymExpr::symbols() const {
  std::vector<std::string> out;
  collect_symbols(*this, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Expected<int64_t> SymExpr::evaluate(const Lookup& lookup) const {
  int64_t total = 0;
  for (const auto& term : poly_->terms) {
    int64_t v = term.second;
    for (const auto& atom : term.first) {
      int64_t x = 0;
      if (atom->kind == SymAtomKind::kSymbol) {
        auto found = lookup(atom->name);
        if (!found) return invalid_argument("symbol '", atom->name, "' has no value in ", str());
        x = *found;
      } else {
        INGOT_ASSIGN_OR_RETURN(int64_t l, atom->lhs.evaluate(lookup));
        INGOT_ASSIGN_OR_RETURN(int64_t r, atom->rhs.evaluate(lookup));
        switch (atom->kind) {
          case SymAtomKind::kFloorDiv:
          case SymAtomKind::kMod:
            if (r == 0) return invalid_argument("division by zero evaluating ", str());
            x = atom->kind == SymAtomKind::kFloorDiv ? py_floordiv(l, r) : py_mod(l, r);
            break;
          case SymAtomKind::kMax: x = std::max(l, r); break;
          case SymAtomKind::kMin: x = std::min(l, r); break;
          case SymAtomKind::kSymbol: break;
        }
      }
      if (__builtin_mul_overflow(v, x, &v)) return invalid_argument("integer overflow evaluating ", str());
    }
    if (__builtin_add_overflow(total, v, &total)) return invalid_argument("integer overflow evaluating ", str());
  }
  return total;
}

Expected<int64_t> SymExpr::evaluate(const std::map<std::string, int64_t>& values) const {
  return evaluate([&](const std::string& name) -> std::optional<int64_t> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  });
}

namespace {

constexpr int64_t kPosInf = INT64_MAX;
constexpr int64_t kNegInf = INT64_MIN;

int64_t sat_add(int64_t a, int64_t b) {
  if (a == kPosInf || b == kPosInf) return kPosInf;
  if (a == kNegInf || b == kNegInf) return kNegInf;
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return a > 0 ? kPosInf : kNegInf;
  return r;
}
int64_t sat_mul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  bool neg = (a < 0) != (b < 0);
  if (a == kPosInf || a == kNegInf || b == kPosInf || b == kNegInf) return neg ? kNegInf : kPosInf;
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return neg ? kNegInf : kPosInf;
  return r;
}
struct Interval {
  int64_t lo, hi;
};
Interval mul_iv(Interval a, Interval b) {
  int64_t c[4] = {sat_mul(a.lo, b.lo), sat_mul(a.lo, b.hi), sat_mul(a.hi, b.lo), sat_mul(a.hi, b.hi)};
  return {*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
}
int64_t sat_floordiv(int64_t a, int64_t c) {  // c > 0
  if (a == kPosInf || a == kNegInf) return a;
  return py_floordiv(a, c);
}

Interval bounds_of(const SymExpr& e, const SymExpr::RangeLookup& ranges);

Interval atom_bounds(const SymAtom& atom, const SymExpr::RangeLookup& ranges) {
  if (atom.kind == SymAtomKind::kSymbol) {
    SymRange r = ranges(atom.name);
    return {r.min, r.max == SymRange::kInf ? kPosInf : r.max};
  }
  Interval l = bounds_of(atom.lhs, ranges), r = bounds_of(atom.rhs, ranges);
  switch (atom.kind) {
    case SymAtomKind::kFloorDiv:
      if (r.lo > 0 && r.hi != kPosInf && l.lo >= 0) return {sat_floordiv(l.lo, r.hi), sat_floordiv(l.hi, r.lo)};
      if (r.lo == r.hi && r.lo > 0) return {sat_floordiv(l.lo, r.lo), sat_floordiv(l.hi, r.lo)};
      return {kNegInf, kPosInf};
    case SymAtomKind::kMod:
      if (r.lo > 0 && r.hi != kPosInf) {
        if (l.lo >= 0 && l.hi < r.lo) return l;
        return {0, r.hi - 1};
      }
      return {kNegInf, kPosInf};
    case SymAtomKind::kMax: return {std::max(l.lo, r.lo), std::max(l.hi, r.hi)};
    case SymAtomKind::kMin: return {std::min(l.lo, r.lo), std::min(l.hi, r.hi)};
    case SymAtomKind::kSymbol: break;
  }
  return {kNegInf, kPosInf};
}

Interval bounds_of(const SymExpr& e, const SymExpr::RangeLookup& ranges) {
  Interval total{0, 0};
  for (const auto& term : e.poly().terms) {
    Interval t{term.second, term.second};
    for (const auto& atom : term.first) t = mul_iv(t, atom_bounds(*atom, ranges));
    total = {sat_add(total.lo, t.lo), sat_add(total.hi, t.hi)};
  }
  return total;
}

}  // namespace

SymRange SymExpr::bounds(const RangeLookup& ranges) const {
  Interval iv = bounds_of(*this, ranges);
  return {iv.lo == kNegInf ? INT64_MIN : iv.lo, iv.hi == kPosInf ? SymRange::kInf : iv.hi};
}

SymExpr SymExpr::substitute(const std::map<std::string, SymExpr>& values) const {
  SymExpr total(0);
  for (const auto& term : poly_->terms) {
    SymExpr t(term.second);
    for (const auto& atom : term.first) {
      switch (atom->kind) {
        case SymAtomKind::kSymbol: {
          auto it = values.find(atom->name);
          t = t * (it == values.end() ? symbol(atom->name) : it->second);
          break;
        }
        case SymAtomKind::kFloorDiv: t = t * floordiv(atom->lhs.substitute(values), atom->rhs.substitute(values)); break;
        case SymAtomKind::kMod: t = t * mod(atom->lhs.substitute(values), atom->rhs.substitute(values)); break;
        case SymAtomKind::kMax: t = t * max(atom->lhs.substitute(values), atom->rhs.substitute(values)); break;
        case SymAtomKind::kMin: t = t * min(atom->lhs.substitute(values), atom->rhs.substitute(values)); break;
      }
    }
    total = total + t;
  }
  return total;
}

// ---------------------------------------------------------------- printing

namespace {

bool is_single_factor(const SymExpr& e) {
  const auto& t = e.poly().terms;
  if (t.empty()) return true;
  if (t.size() != 1) return false;
  if (t[0].first.empty()) return t[0].second >= 0;
  return t[0].second == 1 && t[0].first.size() == 1;
}

std::string atom_str(const SymAtom& atom, bool in_product) {
  auto operand = [](const SymExpr& e) {
    return is_single_factor(e) ? e.str() : "(" + e.str() + ")";
  };
  switch (atom.kind) {
    case SymAtomKind::kSymbol: return atom.name;
    case SymAtomKind::kFloorDiv:
    case SymAtomKind::kMod: {
      std::string s = operand(atom.lhs) + (atom.kind == SymAtomKind::kFloorDiv ? " // " : " % ") +
                      operand(atom.rhs);
      return in_product ? "(" + s + ")" : s;
    }
    case SymAtomKind::kMax: return "max(" + atom.lhs.str() + ", " + atom.rhs.str() + ")";
    case SymAtomKind::kMin: return "min(" + atom.lhs.str() + ", " + atom.rhs.str() + ")";
  }
  return "?";
}

std::string term_str(const SymMonomial& m, int64_t abs_coef) {
  if (m.empty()) return std::to_string(abs_coef);
  bool product = abs_coef != 1 || m.size() > 1;
  std::string s = abs_coef != 1 ? std::to_string(abs_coef) + "*" : "";
  for (size_t i = 0; i < m.size(); ++i) {
    if (i) s += "*";
    s += atom_str(*m[i], product);
  }
  return s;
}

}  // namespace

std::string SymExpr::str() const {
  const auto& terms = poly_->terms;
  if (terms.empty()) return "0";
  // Non-constant terms in canonical order, the constant last.
  std::vector<const std::pair<SymMonomial, int64_t>*> order;
  for (const auto& t : terms) if (!t.first.empty()) order.push_back(&t);
  for (const auto& t : terms) if (t.first.empty()) order.push_back(&t);
  std::string s;
  for (size_t i = 0; i < order.size(); ++i) {
    int64_t c = order[i]->second;
    // A negated term whose printing starts a product needs care: -(a // b) must keep parens.
    bool needs_paren_neg = c == -1 && order[i]->first.size() == 1 &&
                           (order[i]->first[0]->kind == SymAtomKind::kFloorDiv ||
                            order[i]->first[0]->kind == SymAtomKind::kMod);
    uint64_t mag = c < 0 ? (c == INT64_MIN ? uint64_t(INT64_MAX) + 1 : uint64_t(-c)) : uint64_t(c);
    std::string body = term_str(order[i]->first, static_cast<int64_t>(mag));
    if (needs_paren_neg) body = "(" + body + ")";
    if (i == 0) {
      s += c < 0 ? "-" + body : body;
    } else {
      s += c < 0 ? " - " + body : " + " + body;
    }
  }
  return s;
}

size_t SymExpr::hash() const { return std::hash<std::string>()(str()); }

bool operator==(const SymExpr& a, const SymExpr& b) { return compare_expr(a, b) == 0; }
bool operator<(const SymExpr& a, const SymExpr& b) { return compare_expr(a, b) < 0; }

// ---------------------------------------------------------------- parsing

namespace {

size_t degree(const SymExpr& e) {
  size_t d = 0;
  for (const auto& term : e.poly().terms) d = std::max(d, term.first.size());
  return d;
}

class ExprParser {
 public:
  ExprParser(std::string_view s, const SymExprLimits* limits) : s_(s), limits_(limits) {}

  Expected<SymExpr> parse_all() {
    INGOT_ASSIGN_OR_RETURN(SymExpr e, parse_expr());
    skip_ws();
    if (pos_ != s_.size()) return fail("unexpected '", s_.substr(pos_, 1), "'");
    return e;
  }

 private:
  template <typename... Args>
  Status fail(Args&&... args) {
    return invalid_argument("cannot parse symbolic expression '", s_, "' at offset ", pos_, ": ",
                            std::forward<Args>(args)...);
  }

  // With limits, every intermediate result stays within them, so that the next operation on
  // it is safe (no coefficient near INT64_MIN, bounded work).
  Expected<SymExpr> checked(SymExpr e) {
    if (!limits_) return e;
    const auto& terms = e.poly().terms;
    if (terms.size() > limits_->max_terms) return fail("more than ", limits_->max_terms, " terms");
    for (const auto& term : terms) {
      if (term.first.size() > limits_->max_degree) return fail("a term of degree above ", limits_->max_degree);
      if (term.second > limits_->max_coefficient || term.second < -limits_->max_coefficient) {
        return fail("coefficient ", term.second, " is larger than 2^", 63 - __builtin_clzll(limits_->max_coefficient));
      }
    }
    return e;
  }
  Status enter() {
    if (limits_ && ++depth_ > limits_->max_depth) return fail("nested deeper than ", limits_->max_depth);
    return Status::ok();
  }
  void leave() {
    if (limits_) --depth_;
  }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip_ws();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
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
        if (limits_ && (e.poly().terms.size() * r.poly().terms.size() > limits_->max_terms ||
                        degree(e) + degree(r) > limits_->max_degree)) {
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
    leave();
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
      leave();
      return e;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      const int64_t max = limits_ ? limits_->max_coefficient : INT64_MAX;
      int64_t v = 0;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        int64_t digit = s_[pos_] - '0';
        if (v > (max - digit) / 10) {
          return limits_ ? fail("integer larger than 2^", 63 - __builtin_clzll(max)) : fail("integer too large");
        }
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
      leave();
      return checked(name == "max" ? SymExpr::max(a, b) : SymExpr::min(a, b));
    }
    return fail("unexpected '", std::string(1, c), "'");
  }

  std::string_view s_;
  const SymExprLimits* limits_;
  size_t pos_ = 0;
  size_t depth_ = 0;
};

}  // namespace

Expected<SymExpr> parse_sym_expr(std::string_view text, const SymExprLimits* limits) {
  return ExprParser(text, limits).parse_all();
}

// ---------------------------------------------------------------- shapes

std::string shape_str(const Shape& shape) {
  return "[" + join(shape, ", ", [](const SymExpr& e) { return e.str(); }) + "]";
}

bool is_static(const Shape& shape) {
  return std::all_of(shape.begin(), shape.end(), [](const SymExpr& e) { return e.is_constant(); });
}

std::optional<std::vector<int64_t>> static_dims(const Shape& shape) {
  std::vector<int64_t> dims;
  for (const auto& e : shape) {
    auto c = e.as_constant();
    if (!c) return std::nullopt;
    dims.push_back(*c);
  }
  return dims;
}

Shape shape_of(const std::vector<int64_t>& dims) { return Shape(dims.begin(), dims.end()); }

SymExpr numel(const Shape& shape) {
  SymExpr n(1);
  for (const auto& d : shape) n = n * d;
  return n;
}

}  // namespace ingot::ir
