// Profiler: where an engine's time goes, layer by layer.
//
// An ExecutionContext with a profiler attached (set_profiler) records every call: the engine's
// time and each layer's time, measured with one clock so that the layer times can be checked
// against the engine time (the "sum rule"). The CPU backend times with std::chrono::steady_clock
// around each layer and around the whole run; the CUDA backend records CUDA events between
// layers and around the whole call (input copy, layers, output copy), runs layer by layer instead
// of replaying a CUDA graph, and waits for the events at the end of each call.
//
// One profiler may serve several contexts of one engine (the torch op's context pool): record()
// is thread-safe. Totals cover every call; the per-call records (for timelines) keep the first
// `max_call_records` calls.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace ingot::runtime {

class Profiler {
 public:
  explicit Profiler(size_t max_call_records = 1000);

  struct CallRecord {
    double start_us = 0;   // host time the call began: microseconds on the host's steady clock
    double engine_ms = 0;  // the whole call
    std::vector<double> layer_ms;
  };
  struct Snapshot {
    std::string clock;  // what measured the times
    int64_t calls = 0;
    double engine_total_ms = 0;
    std::vector<double> layer_total_ms;  // per layer, over all calls
    std::vector<CallRecord> records;
    int64_t dropped_records = 0;
  };

  // Microseconds on the host's steady clock (one clock for every profiler in the process, so
  // that calls of several engines line up on one timeline); backends stamp calls with it.
  static double now_us();
  // Adds one call. `layer_ms` has one entry per layer of the engine; every call of one profiler
  // must have the same layer count (checked, INGOT_CHECK).
  void record(const char* clock, double start_us, double engine_ms, std::vector<double> layer_ms);
  void reset();
  Snapshot snapshot() const;

  // The profile as JSON, with layer names, kinds, ATen origins and module paths from `plan`:
  //   {"engine", "backend", "clock", "calls", "engine_total_ms", "engine_mean_ms",
  //    "layer_total_ms", "layer_sum_ratio" (layer total / engine total),
  //    "layers": [{"index", "name", "kind", "origins", "ops", "modules", "calls", "total_ms",
  //                "mean_ms", "share"}],
  //    "call_records": [{"start_us", "engine_ms", "layer_ms": [...]}], "dropped_call_records"}
  std::string json(const plan::Plan& plan) const;

 private:
  const size_t max_records_;
  mutable std::mutex mutex_;
  Snapshot data_;
};

}  // namespace ingot::runtime
