// IR text: Graph::str() prints it, parse_graph() reads it back.
//
//   graph {
//     symbol s0 : [1, 64]
//     input %x : f32[s0, 3, 224, 224]
//     constant %w : f32[2, 2] = [0.5, 1.0, -2.0, 3.0]
//     constant %big : f32[1000, 512] = external
//     %y : f32[s0, 64, 112, 112] = aten::convolution(%x, %w, None, [2, 2], [3, 3], [1, 1], False, [0, 0], 1)
//     output %y
//   }
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ir/graph.h"
#include "support/check.h"
#include "support/half.h"

namespace ingot::ir {

namespace {

std::string constant_text(const ConstantData& c) {
  std::string s = "[";
  int64_t n = c.numel();
  for (int64_t i = 0; i < n; ++i) {
    if (i) s += ", ";
    if (is_floating(c.dtype)) {
      s += format_double(c.get_double(i));
    } else {
      s += std::to_string(c.get_int(i));
    }
  }
  return s + "]";
}

}  // namespace

std::string Graph::str(bool inline_constants, size_t max_inline) const {
  std::string s = "graph {\n";
  for (const auto& [name, r] : symbols_) {
    s += "  symbol " + name + " : [" + std::to_string(r.min) + ", " +
         (r.max == SymRange::kInf ? std::string("inf") : std::to_string(r.max)) + "]\n";
  }
  for (const Value* v : inputs_) s += "  input %" + v->name() + " : " + v->type().str() + "\n";
  for (const Value* v : constants_) {
    const ConstantData& c = v->constant();
    bool inline_it = inline_constants && static_cast<size_t>(c.numel()) <= max_inline && c.dtype != DType::kOpaque;
    s += "  constant %" + v->name() + " : " + v->type().str() + " = " +
         (inline_it ? constant_text(c) : std::string("external")) + "\n";
  }
  for (const Node* n : order_) s += "  " + n->str() + "\n";
  if (!outputs_.empty()) {
    s += "  output " + join(outputs_, ", ", [](const Value* v) { return "%" + v->name(); }) + "\n";
  }
  return s + "}\n";
}

namespace {

class GraphParser {
 public:
  GraphParser(std::string_view text, const ParseOptions& options) : s_(text), options_(options) {}

  Expected<std::unique_ptr<Graph>> parse() {
    graph_ = std::make_unique<Graph>();
    if (!eat_word("graph")) return fail("expected 'graph'");
    if (!eat("{")) return fail("expected '{'");
    while (true) {
      skip_ws();
      if (eat("}")) break;
      if (at_end()) return fail("unexpected end of text; missing '}'");
      INGOT_RETURN_IF_ERROR(parse_statement());
    }
    skip_ws();
    if (!at_end()) return fail("text after the closing '}'");
    INGOT_RETURN_IF_ERROR(graph_->verify());
    return std::move(graph_);
  }

 private:
  template <typename... Args>
  Status fail(Args&&... args) {
    size_t line = 1 + static_cast<size_t>(std::count(s_.begin(), s_.begin() + static_cast<long>(pos_), '\n'));
    return invalid_argument("IR text line ", line, ": ", std::forward<Args>(args)...);
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void skip_ws() {
    while (!at_end()) {
      if (std::isspace(static_cast<unsigned char>(s_[pos_]))) {
        ++pos_;
      } else if (s_[pos_] == '#') {
        while (!at_end() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  bool eat(std::string_view tok) {
    skip_ws();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }

  static bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  bool eat_word(std::string_view word) {
    skip_ws();
    if (s_.substr(pos_, word.size()) == word && !ident_char(pos_ + word.size() < s_.size() ? s_[pos_ + word.size()] : ' ')) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  std::string read_while(bool (*pred)(char)) {
    skip_ws();
    size_t start = pos_;
    while (!at_end() && pred(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  static bool name_char(char c) { return ident_char(c) || c == '.'; }
  static bool op_char(char c) { return ident_char(c) || c == '.' || c == ':'; }

  Expected<std::string> read_value_name() {
    if (!eat("%")) return fail("expected a value name starting with '%'");
    std::string name;
    while (!at_end() && name_char(s_[pos_])) name += s_[pos_++];
    if (name.empty()) return fail("empty value name");
    return name;
  }

  // Raw text up to the next ',' ']' or ')' outside parentheses.
  std::string read_raw_item() {
    skip_ws();
    size_t start = pos_;
    int depth = 0;
    while (!at_end()) {
      char c = s_[pos_];
      if (c == '(') ++depth;
      if (c == ')' || c == ']' || c == ',') {
        if (depth == 0) break;
        if (c == ')') --depth;
      }
      if (c == '\n') break;
      ++pos_;
    }
    std::string raw(s_.substr(start, pos_ - start));
    while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.back()))) raw.pop_back();
    return raw;
  }

  Expected<TensorType> parse_type() {
    std::string dt = read_while(ident_char);
    auto dtype = dtype_from_name(dt);
    if (!dtype) return fail("unknown dtype '", dt, "'");
    if (!eat("[")) return fail("expected '[' after dtype");
    TensorType t{*dtype, {}};
    if (eat("]")) return t;
    while (true) {
      std::string raw = read_raw_item();
      auto e = parse_sym_expr(raw);
      if (!e) return fail(e.status().message());
      t.shape.push_back(*e);
      if (eat("]")) return t;
      if (!eat(",")) return fail("expected ',' or ']' in shape");
    }
  }

  Status parse_statement() {
    if (eat_word("symbol")) return parse_symbol();
    if (eat_word("input")) return parse_input();
    if (eat_word("constant")) return parse_constant();
    if (eat_word("output")) return parse_output();
    return parse_node();
  }

  Status parse_symbol() {
    std::string name = read_while(ident_char);
    if (name.empty()) return fail("expected a symbol name");
    if (!eat(":") || !eat("[")) return fail("expected ': [min, max]' after symbol ", name);
    std::string lo = read_raw_item();
    if (!eat(",")) return fail("expected ','");
    std::string hi = read_raw_item();
    if (!eat("]")) return fail("expected ']'");
    SymRange r;
    char* end = nullptr;
    r.min = std::strtoll(lo.c_str(), &end, 10);
    if (lo.empty() || *end) return fail("bad symbol minimum '", lo, "'");
    if (hi == "inf") {
      r.max = SymRange::kInf;
    } else {
      r.max = std::strtoll(hi.c_str(), &end, 10);
      if (hi.empty() || *end) return fail("bad symbol maximum '", hi, "'");
    }
    if (r.min > r.max) return fail("symbol ", name, " has min > max");
    graph_->add_symbol(name, r);
    return Status::ok();
  }

  Status define_check(const std::string& name) {
    if (graph_->find_value(name)) return fail("value %", name, " is defined twice");
    return Status::ok();
  }

  Status parse_input() {
    INGOT_ASSIGN_OR_RETURN(std::string name, read_value_name());
    INGOT_RETURN_IF_ERROR(define_check(name));
    if (!eat(":")) return fail("expected ':' after %", name);
    INGOT_ASSIGN_OR_RETURN(TensorType t, parse_type());
    graph_->add_input(name, t);
    return Status::ok();
  }

  Status parse_constant() {
    INGOT_ASSIGN_OR_RETURN(std::string name, read_value_name());
    INGOT_RETURN_IF_ERROR(define_check(name));
    if (!eat(":")) return fail("expected ':' after %", name);
    INGOT_ASSIGN_OR_RETURN(TensorType t, parse_type());
    auto dims = static_dims(t.shape);
    if (!dims) return fail("constant %", name, " must have a static shape");
    if (!eat("=")) return fail("expected '=' after constant type");
    if (eat_word("external")) {
      auto it = options_.external.find(name);
      if (it != options_.external.end()) {
        if (it->second.dtype != t.dtype || it->second.dims != *dims) {
          return fail("external data for %", name, " does not match its type ", t.str());
        }
        graph_->add_constant(name, it->second);
        return Status::ok();
      }
      if (!options_.zero_fill_missing) return fail("no data given for external constant %", name);
      graph_->add_constant(name, ConstantData::zeros(t.dtype, *dims));
      return Status::ok();
    }
    if (!eat("[")) return fail("expected '[' or 'external' for constant %", name);
    std::vector<std::string> items;
    if (!eat("]")) {
      while (true) {
        items.push_back(read_raw_item());
        if (eat("]")) break;
        if (!eat(",")) return fail("expected ',' or ']' in constant data");
      }
    }
    ConstantData c = ConstantData::zeros(t.dtype, *dims);
    if (static_cast<int64_t>(items.size()) != c.numel()) {
      return fail("constant %", name, " has ", items.size(), " values; its shape needs ", c.numel());
    }
    auto* bytes = static_cast<uint8_t*>(const_cast<void*>(c.data));
    for (size_t i = 0; i < items.size(); ++i) {
      char* end = nullptr;
      double v = std::strtod(items[i].c_str(), &end);
      if (items[i].empty() || *end) return fail("bad number '", items[i], "' in constant %", name);
      write_element(bytes, t.dtype, i, v, items[i]);
    }
    graph_->add_constant(name, c);
    return Status::ok();
  }

  static void write_element(uint8_t* base, DType t, size_t i, double v, const std::string& text) {
    switch (t) {
      case DType::kFloat32: reinterpret_cast<float*>(base)[i] = static_cast<float>(v); break;
      case DType::kFloat16: reinterpret_cast<Half*>(base)[i] = Half(static_cast<float>(v)); break;
      case DType::kBFloat16: reinterpret_cast<BFloat16*>(base)[i] = BFloat16(static_cast<float>(v)); break;
      case DType::kFloat64: reinterpret_cast<double*>(base)[i] = v; break;
      case DType::kInt8: reinterpret_cast<int8_t*>(base)[i] = static_cast<int8_t>(v); break;
      case DType::kUInt8: reinterpret_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(v); break;
      case DType::kInt16: reinterpret_cast<int16_t*>(base)[i] = static_cast<int16_t>(v); break;
      case DType::kInt32: reinterpret_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
      case DType::kInt64: reinterpret_cast<int64_t*>(base)[i] = std::strtoll(text.c_str(), nullptr, 10); break;
      case DType::kBool: base[i] = v != 0; break;
      case DType::kOpaque: break;
    }
  }

  Status parse_output() {
    while (true) {
      INGOT_ASSIGN_OR_RETURN(std::string name, read_value_name());
      Value* v = graph_->find_value(name);
      if (!v) return fail("output %", name, " is not defined");
      graph_->add_output(v);
      if (!eat(",")) return Status::ok();
    }
  }

  Status parse_node() {
    std::vector<std::pair<std::string, TensorType>> outs;
    skip_ws();
    if (peek() == '%') {
      while (true) {
        INGOT_ASSIGN_OR_RETURN(std::string name, read_value_name());
        INGOT_RETURN_IF_ERROR(define_check(name));
        if (!eat(":")) return fail("expected ':' after %", name);
        INGOT_ASSIGN_OR_RETURN(TensorType t, parse_type());
        outs.push_back({name, t});
        if (eat("=")) break;
        if (!eat(",")) return fail("expected ',' or '=' after node outputs");
      }
    }
    std::string op = read_while(op_char);
    if (op.empty()) return fail("expected an operator name");
    if (!eat("(")) return fail("expected '(' after ", op);
    std::vector<Arg> args;
    if (!eat(")")) {
      while (true) {
        INGOT_ASSIGN_OR_RETURN(Arg a, parse_arg());
        args.push_back(std::move(a));
        if (eat(")")) break;
        if (!eat(",")) return fail("expected ',' or ')' in arguments of ", op);
      }
    }
    std::vector<TensorType> types;
    std::vector<std::string> names;
    for (auto& o : outs) {
      types.push_back(o.second);
      names.push_back(o.first);
    }
    Node* n = graph_->add_node(op, std::move(args), types, "", "", names);
    for (size_t i = 0; i < outs.size(); ++i) {
      if (n->output(i)->name() != outs[i].first) {
        return fail("output name %", outs[i].first, " clashes with an existing value");
      }
    }
    return Status::ok();
  }

  Expected<Arg> parse_arg() {
    skip_ws();
    char c = peek();
    if (c == '%') {
      INGOT_ASSIGN_OR_RETURN(std::string name, read_value_name());
      Value* v = graph_->find_value(name);
      if (!v) return fail("value %", name, " is used before it is defined");
      return Arg::tensor(v);
    }
    if (c == '[') return parse_list();
    if (c == '"') return parse_string_arg();
    if (eat_word("None")) return Arg::none();
    if (eat_word("True")) return Arg::boolean(true);
    if (eat_word("False")) return Arg::boolean(false);
    if (eat("device(")) {
      INGOT_ASSIGN_OR_RETURN(Arg s, parse_string_arg());
      if (!eat(")")) return fail("expected ')' after device");
      return Arg::device(s.str_value());
    }
    if (s_.substr(pos_, 6) == "torch.") {
      std::string word = read_while(name_char);
      if (auto dt = dtype_from_name(word)) return Arg::dtype(*dt);
      return Arg::enumeration(word);
    }
    std::string raw = read_raw_item();
    if (raw.empty()) return fail("expected an argument");
    return number_or_expr(raw);
  }

  Expected<Arg> number_or_expr(const std::string& raw) {
    bool floaty = raw.find_first_of(".eE") != std::string::npos || raw == "inf" || raw == "-inf" ||
                  raw == "nan";
    if (floaty) {
      char* end = nullptr;
      double v = std::strtod(raw.c_str(), &end);
      if (*end == '\0') return Arg::floating(v);
    }
    auto e = parse_sym_expr(raw);
    if (!e) return fail(e.status().message());
    return Arg::integer(*e);
  }

  Expected<Arg> parse_string_arg() {
    if (!eat("\"")) return fail("expected a string");
    std::string out;
    while (!at_end() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out += s_[pos_++];
    }
    if (!eat("\"")) return fail("unterminated string");
    return Arg::string(out);
  }

  Expected<Arg> parse_list() {
    eat("[");
    std::vector<Arg> items;
    if (!eat("]")) {
      while (true) {
        INGOT_ASSIGN_OR_RETURN(Arg a, parse_arg());
        items.push_back(std::move(a));
        if (eat("]")) break;
        if (!eat(",")) return fail("expected ',' or ']' in list");
      }
    }
    bool any_tensor = false, all_tensor_or_none = true, all_int = true, all_num = true, all_bool = true;
    for (const Arg& a : items) {
      any_tensor |= a.kind() == Arg::Kind::kTensor;
      all_tensor_or_none &= a.kind() == Arg::Kind::kTensor || a.is_none();
      all_int &= a.kind() == Arg::Kind::kInt;
      all_num &= a.kind() == Arg::Kind::kInt || a.kind() == Arg::Kind::kFloat;
      all_bool &= a.kind() == Arg::Kind::kBool;
    }
    if (items.empty() || all_int) {
      std::vector<SymExpr> v;
      for (const Arg& a : items) v.push_back(a.int_expr());
      return Arg::int_list(std::move(v));
    }
    if (any_tensor && all_tensor_or_none) {
      std::vector<Value*> v;
      for (const Arg& a : items) v.push_back(a.is_none() ? nullptr : a.tensor());
      return Arg::tensor_list(std::move(v));
    }
    if (all_num) {
      std::vector<double> v;
      for (const Arg& a : items) v.push_back(a.to_double());
      return Arg::float_list(std::move(v));
    }
    if (all_bool) {
      std::vector<bool> v;
      for (const Arg& a : items) v.push_back(a.boolean());
      return Arg::bool_list(std::move(v));
    }
    return fail("list mixes argument kinds");
  }

  std::string_view s_;
  size_t pos_ = 0;
  const ParseOptions& options_;
  std::unique_ptr<Graph> graph_;
};

}  // namespace

Expected<std::unique_ptr<Graph>> parse_graph(std::string_view text, const ParseOptions& options) {
  return GraphParser(text, options).parse();
}

}  // namespace ingot::ir
