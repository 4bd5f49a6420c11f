// Helpers for the lowering pass tests: parse IR text, run a pass, compare with the IR expected.
//
// Graphs are compared by their printed text after renaming: constants become %c0, %c1, ... and
// node outputs %v0, %v1, ... in order of definition (graph inputs keep their names), so an
// expected graph may use readable names while the pass names new values as it likes. The order
// of nodes and constants, every argument and type, and inline constant data must match.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <memory>
#include <string>

#include "ir/graph.h"
#include "lower/passes.h"

namespace ingot::lower::testing {

using PassFn = Expected<int> (*)(ir::Graph&, const LowerOptions&);

// Parses IR text; `external` constants without data are zero-filled.
inline std::unique_ptr<ir::Graph> parse_ir(const std::string& text,
                                           const ir::ParseOptions& options = {.external = {}, .zero_fill_missing = true}) {
  auto g = ir::parse_graph(text, options);
  if (!g) {
    ADD_FAILURE() << "cannot parse IR: " << g.status().message() << "\n" << text;
    return std::make_unique<ir::Graph>();
  }
  return std::move(*g);
}

inline std::string canonical_text(const ir::Graph& g) {
  std::map<std::string, std::string> rename;
  int constants = 0, values = 0;
  for (const ir::Value* c : g.constants()) rename[c->name()] = "c" + std::to_string(constants++);
  for (const ir::Node* n : g.nodes()) {
    for (const ir::Value* v : n->outputs()) rename[v->name()] = "v" + std::to_string(values++);
  }
  std::string text = g.str();
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '%') {
      out += text[i++];
      continue;
    }
    size_t j = i + 1;
    while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_' || text[j] == '.')) ++j;
    std::string name = text.substr(i + 1, j - i - 1);
    auto it = rename.find(name);
    out += "%" + (it == rename.end() ? name : it->second);
    i = j;
  }
  return out;
}

// Runs `pass` on `before`, then eliminate_dead_code (which sweeps what the pass left unused),
// and compares with `expected`. `rewrites` is what the pass must report.
inline void expect_lowered(PassFn pass, const std::string& before, const std::string& expected, int rewrites,
                           const LowerOptions& options = {}) {
  auto g = parse_ir(before);
  auto want = parse_ir(expected);
  Expected<int> n = pass(*g, options);
  ASSERT_TRUE(n.has_value()) << n.status().message();
  EXPECT_EQ(*n, rewrites) << "after the pass:\n" << g->str();
  ASSERT_TRUE(g->verify().is_ok()) << g->verify().message() << "\n" << g->str();
  ASSERT_TRUE(eliminate_dead_code(*g, options).has_value());
  EXPECT_EQ(canonical_text(*g), canonical_text(*want)) << "got:\n" << g->str();
}

// The pass must leave `before` as it is.
inline void expect_unchanged(PassFn pass, const std::string& before, const LowerOptions& options = {}) {
  auto g = parse_ir(before);
  std::string text = g->str();
  Expected<int> n = pass(*g, options);
  ASSERT_TRUE(n.has_value()) << n.status().message();
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(g->str(), text);
}

inline int count_ops(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const ir::Node* node : g.nodes()) n += node->op() == op;
  return n;
}

}  // namespace ingot::lower::testing
