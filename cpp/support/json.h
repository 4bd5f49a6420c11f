// JsonWriter: builds JSON text for reports (engine signature, inspector, profiler). The caller
// nests begin/end calls correctly; the writer places commas and colons and escapes strings.
//
//   JsonWriter w;
//   w.begin_object().key("name").value("conv1").key("ms").value(0.25).end_object();
//   w.str();  // {"name":"conv1","ms":0.25}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ingot {

// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(double v);  // non-finite numbers are written as null
  JsonWriter& value(bool v);
  JsonWriter& null();
  // Inserts already-formed JSON text as one value.
  JsonWriter& raw(std::string_view json);

  const std::string& str() const { return out_; }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace ingot
