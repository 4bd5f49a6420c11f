#include "runtime/profiler.h"

#include <chrono>

#include "support/check.h"
#include "support/json.h"

namespace ingot::runtime {

Profiler::Profiler(size_t max_call_records) : max_records_(max_call_records) {}

double Profiler::now_us() {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Profiler::record(const char* clock, double start_us, double engine_ms, std::vector<double> layer_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (data_.calls == 0) {
    data_.layer_total_ms.assign(layer_ms.size(), 0.0);
    data_.clock = clock;
  }
  INGOT_CHECK(layer_ms.size() == data_.layer_total_ms.size(), "profiler: a call with ", layer_ms.size(),
              " layer times after calls with ", data_.layer_total_ms.size());
  ++data_.calls;
  data_.engine_total_ms += engine_ms;
  for (size_t l = 0; l < layer_ms.size(); ++l) data_.layer_total_ms[l] += layer_ms[l];
  if (data_.records.size() < max_records_) {
    data_.records.push_back(CallRecord{start_us, engine_ms, std::move(layer_ms)});
  } else {
    ++data_.dropped_records;
  }
}

void Profiler::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  data_ = Snapshot{};
}

Profiler::Snapshot Profiler::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return data_;
}

std::string Profiler::json(const plan::Plan& plan) const {
  Snapshot s = snapshot();
  const net::Network& net = plan.network;
  double layer_total = 0;
  for (double ms : s.layer_total_ms) layer_total += ms;
  auto mean = [&](double total) { return s.calls ? total / static_cast<double>(s.calls) : 0.0; };

  JsonWriter w;
  w.begin_object();
  w.key("engine").value(plan.name);
  w.key("backend").value(plan::backend_name(plan.backend));
  w.key("clock").value(s.clock);
  w.key("calls").value(s.calls);
  w.key("engine_total_ms").value(s.engine_total_ms);
  w.key("engine_mean_ms").value(mean(s.engine_total_ms));
  w.key("layer_total_ms").value(layer_total);
  w.key("layer_sum_ratio").value(s.engine_total_ms > 0 ? layer_total / s.engine_total_ms : 0.0);
  w.key("layers").begin_array();
  for (size_t l = 0; l < net.layers().size(); ++l) {
    const net::Layer& layer = net.layers()[l];
    double total = l < s.layer_total_ms.size() ? s.layer_total_ms[l] : 0.0;
    w.begin_object();
    w.key("index").value(static_cast<int64_t>(l));
    w.key("name").value(layer.name);
    w.key("kind").value(net::layer_kind_name(layer.kind()));
    w.key("origins").begin_array();
    for (const auto& o : layer.origins) w.value(o);
    w.end_array();
    w.key("ops").begin_array();
    for (const auto& o : layer.origins) {
      const net::OriginInfo* info = net.find_origin(o);
      w.value(info ? info->op : std::string());
    }
    w.end_array();
    w.key("modules").begin_array();
    std::vector<std::string> seen;
    for (const auto& o : layer.origins) {
      const net::OriginInfo* info = net.find_origin(o);
      if (!info || info->module.empty()) continue;
      bool dup = false;
      for (const auto& m : seen) dup |= m == info->module;
      if (dup) continue;
      seen.push_back(info->module);
      w.value(info->module);
    }
    w.end_array();
    w.key("calls").value(s.calls);
    w.key("total_ms").value(total);
    w.key("mean_ms").value(mean(total));
    w.key("share").value(s.engine_total_ms > 0 ? total / s.engine_total_ms : 0.0);
    w.key("view").value(plan::is_view(plan.memory, layer));  // a reshape on its input's bytes: 0 ms
    w.end_object();
  }
  w.end_array();
  w.key("call_records").begin_array();
  for (const CallRecord& r : s.records) {
    w.begin_object().key("start_us").value(r.start_us).key("engine_ms").value(r.engine_ms).key("layer_ms").begin_array();
    for (double ms : r.layer_ms) w.value(ms);
    w.end_array().end_object();
  }
  w.end_array();
  w.key("dropped_call_records").value(s.dropped_records);
  w.end_object();
  return w.str();
}

}  // namespace ingot::runtime
