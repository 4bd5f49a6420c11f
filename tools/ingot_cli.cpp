// The `ingot` command-line tool: inspect, verify and run engine files without Python.
//
//   ingot inspect model.ingot [--summary]
//   ingot verify model.ingot
//   ingot run model.ingot [--shape x=2x3x224x224] [--iters 10]
//   ingot profile model.ingot [--shape x=2x3x224x224] [--iters 10]
//   ingot tune model.ingot -o tuned.ingot [--level 3]   (times the tactics again on this GPU)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "ingot/ingot.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: ingot <command> FILE [options]\n"
               "  inspect FILE [--summary]  the engine inspector's JSON: layers, ATen origins, module paths,\n"
               "                           precision, layout, tactics, memory (--summary: a short text form)\n"
               "  verify FILE              check that FILE is a valid engine for this runtime (exit 0 if so)\n"
               "  run FILE [--shape NAME=D0xD1x...] [--iters N]\n"
               "                           run on random inputs; print output statistics and time per run\n"
               "  profile FILE [--shape NAME=D0xD1x...] [--iters N]\n"
               "                           run on random inputs with per-layer profiling; print the profile JSON\n"
               "  tune FILE -o OUT [--level N]\n"
               "                           time the tactics again on this GPU (optimization level N, 1-5,\n"
               "                           default 3) and write the retuned engine to OUT\n");
  return 2;
}

std::string dims_str(const std::vector<std::string>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + dims[i];
  return s + "]";
}

std::vector<int64_t> parse_dims(const std::string& text) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t x = text.find('x', pos);
    std::string part = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    char* end = nullptr;
    long long v = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end || v < 0) throw ingot::Error("bad shape '" + text + "': use e.g. 2x3x224x224");
    out.push_back(v);
    if (x == std::string::npos) break;
    pos = x + 1;
  }
  return out;
}

int inspect_summary(const ingot::Engine& e) {
  std::printf("engine '%s' (backend %s)\n", e.name().c_str(), e.backend().c_str());
  for (const auto& i : e.inputs()) std::printf("  input  %s : %s%s\n", i.name.c_str(), ingot::dtype_name(i.dtype), dims_str(i.dims).c_str());
  for (const auto& o : e.outputs()) std::printf("  output %s : %s%s\n", o.name.c_str(), ingot::dtype_name(o.dtype), dims_str(o.dims).c_str());
  for (const auto& s : e.symbols()) std::printf("  dynamic %s\n", s.c_str());
  std::printf("layers:\n%s", e.describe().c_str());
  return 0;
}

void fill_random(ingot::Tensor& t, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t d : t.dims) n *= d;
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  auto* bytes = static_cast<uint8_t*>(t.data);
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case ingot::DType::kFloat32: reinterpret_cast<float*>(bytes)[i] = uni(rng); break;
      case ingot::DType::kInt32: reinterpret_cast<int32_t*>(bytes)[i] = static_cast<int32_t>(rng() % 8); break;
      case ingot::DType::kInt64: reinterpret_cast<int64_t*>(bytes)[i] = static_cast<int64_t>(rng() % 8); break;
      case ingot::DType::kBool:
      case ingot::DType::kUInt8:
      case ingot::DType::kInt8: bytes[i] = static_cast<uint8_t>(rng() % 2); break;
      default: {  // f16 / bf16: random bytes in a safe range are awkward; use small integers' bits
        uint16_t one = t.dtype == ingot::DType::kFloat16 ? 0x3c00 : 0x3f80;
        reinterpret_cast<uint16_t*>(bytes)[i] = (rng() % 2) ? one : 0;
      }
    }
  }
}

int run(const ingot::Engine& e, const std::map<std::string, std::vector<int64_t>>& shapes, int iters, bool profile) {
  std::mt19937 rng(0);
  auto inputs = e.inputs();
  std::vector<std::vector<int64_t>> dims;
  for (const auto& i : inputs) {
    auto it = shapes.find(i.name);
    if (it != shapes.end()) {
      dims.push_back(it->second);
      continue;
    }
    std::vector<int64_t> d;
    for (const auto& s : i.dims) {
      char* end = nullptr;
      long long v = std::strtoll(s.c_str(), &end, 10);
      if (*end) throw ingot::Error("input '" + i.name + "' has dynamic shape " + dims_str(i.dims) + "; give --shape " + i.name + "=...");
      d.push_back(v);
    }
    dims.push_back(d);
  }
  ingot::Context ctx = e.create_context();
  auto out_dims = ctx.set_input_shapes(dims);
  std::vector<std::vector<uint8_t>> storage;
  std::vector<ingot::Tensor> in, out;
  auto make = [&](ingot::DType dt, const std::vector<int64_t>& d) {
    int64_t n = 1;
    for (int64_t x : d) n *= x;
    storage.emplace_back(static_cast<size_t>(n) * ingot::dtype_size(dt));
    return ingot::Tensor{storage.back().data(), dt, d};
  };
  storage.reserve(inputs.size() + out_dims.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    in.push_back(make(inputs[i].dtype, dims[i]));
    fill_random(in.back(), rng);
  }
  auto outputs = e.outputs();
  for (size_t i = 0; i < outputs.size(); ++i) out.push_back(make(outputs[i].dtype, out_dims[i]));
  ctx.execute(in, out);  // warm-up
  if (profile) ctx.enable_profiling();
  std::vector<double> ms;
  for (int k = 0; k < iters; ++k) {
    auto t0 = std::chrono::steady_clock::now();
    ctx.execute(in, out);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  if (profile) {
    std::printf("%s\n", ctx.profile_json().c_str());
    return 0;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string d;
    for (int64_t x : out_dims[i]) d += (d.empty() ? "" : "x") + std::to_string(x);
    std::printf("output %s : %s[%s]", outputs[i].name.c_str(), ingot::dtype_name(outputs[i].dtype), d.c_str());
    if (outputs[i].dtype == ingot::DType::kFloat32) {
      const float* p = static_cast<const float*>(out[i].data);
      int64_t n = 1;
      for (int64_t x : out_dims[i]) n *= x;
      double sum = 0, lo = n ? p[0] : 0, hi = n ? p[0] : 0;
      for (int64_t j = 0; j < n; ++j) sum += p[j], lo = std::min<double>(lo, p[j]), hi = std::max<double>(hi, p[j]);
      std::printf("  mean %.6g min %.6g max %.6g", n ? sum / static_cast<double>(n) : 0.0, lo, hi);
    }
    std::printf("\n");
  }
  if (!ms.empty()) std::printf("time per run: median %.3f ms over %d runs\n", ms[ms.size() / 2], iters);
  return 0;
}

// Times the engine's tactics again and writes the result. On a terminal, one line on stderr
// follows the layers timed; elsewhere a single line reports the total.
int tune(const ingot::Engine& engine, const std::string& out, int level) {
  const bool tty = isatty(fileno(stderr)) != 0;
  auto start = std::chrono::steady_clock::now();
  size_t timed = 0;
  auto progress = [&](size_t done, size_t total) {
    timed = total;
    if (!tty) return;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "\rtiming tactics of '%s': layer %zu/%zu (%.1f s)", engine.name().c_str(), done, total, s);
    std::fflush(stderr);
  };
  ingot::Engine tuned = engine.retuned(level, progress);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "%stimed the tactics of %zu layer(s) of '%s' at level %d in %.1f s\n", tty ? "\r\033[K" : "",
               timed, engine.name().c_str(), level, s);
  tuned.save(out);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string cmd = argv[1], path = argv[2];
  try {
    if (cmd == "inspect") {
      if (argc > 4 || (argc == 4 && std::strcmp(argv[3], "--summary") != 0)) return usage();
      ingot::Engine e = ingot::Engine::load(path);
      if (argc == 4) return inspect_summary(e);
      std::printf("%s\n", e.inspect().c_str());
      return 0;
    }
    if (cmd == "verify") {
      ingot::Engine e = ingot::Engine::load(path);
      std::printf("%s: valid engine '%s' (backend %s)\n", path.c_str(), e.name().c_str(), e.backend().c_str());
      return 0;
    }
    if (cmd == "run" || cmd == "profile") {
      std::map<std::string, std::vector<int64_t>> shapes;
      int iters = 10;
      for (int i = 3; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--iters" && i + 1 < argc) {
          iters = std::max(0, std::atoi(argv[++i]));
        } else if (a == "--shape" && i + 1 < argc) {
          std::string s = argv[++i];
          size_t eq = s.find('=');
          if (eq == std::string::npos) throw ingot::Error("--shape takes NAME=D0xD1x..., got '" + s + "'");
          shapes[s.substr(0, eq)] = parse_dims(s.substr(eq + 1));
        } else {
          return usage();
        }
      }
      return run(ingot::Engine::load(path), shapes, iters, cmd == "profile");
    }
    if (cmd == "tune") {
      std::string out;
      int level = 3;
      for (int i = 3; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "-o" || a == "--output") && i + 1 < argc) {
          out = argv[++i];
        } else if (a == "--level" && i + 1 < argc) {
          level = std::atoi(argv[++i]);
        } else {
          return usage();
        }
      }
      if (out.empty()) return usage();
      return tune(ingot::Engine::load(path), out, level);
    }
    return usage();
  } catch (const ingot::Error& e) {
    std::fprintf(stderr, "ingot: %s\n", e.what());
    return 1;
  }
}
