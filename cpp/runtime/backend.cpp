#include "runtime/backend.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace ingot::runtime {

namespace {

std::mutex g_mutex;
std::map<plan::Backend, const Backend*>& registry() {
  static auto* r = new std::map<plan::Backend, const Backend*>();
  return *r;
}

// The directory libingot.so was loaded from: backend libraries sit next to it.
std::string own_directory() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&register_backend), &info) == 0 || !info.dli_fname) return ".";
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

void register_backend(const Backend* backend) {
  std::lock_guard<std::mutex> lock(g_mutex);
  registry()[backend->kind()] = backend;
}

Expected<const Backend*> get_backend(plan::Backend kind) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = registry().find(kind);
    if (it != registry().end()) return it->second;
  }
  if (kind != plan::Backend::kCuda) {
    return error(ErrorCode::kBackendMismatch, "no ", plan::backend_name(kind), " backend in this build of ingot");
  }
  std::string path = own_directory() + "/libingot_cuda.so";
  // Loading runs the library's static initializers, which call register_backend().
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    const char* why = dlerror();
    return error(ErrorCode::kBackendMismatch, "the CUDA backend is not available: cannot load ", path, " (",
                 why ? why : "unknown error", ")");
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = registry().find(kind);
  if (it == registry().end()) {
    return error(ErrorCode::kBackendMismatch, "the CUDA backend is not available: ", path, " did not register it");
  }
  return it->second;
}

Status Backend::retune(plan::Plan&, int, const TuneProgress&) const {
  return unsupported("engines of the ", plan::backend_name(kind()), " backend have no tactics to time");
}

}  // namespace ingot::runtime
