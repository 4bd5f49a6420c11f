// Which library asks for each memset on the GPU (bench/NOTES.md note 53: the engines' traces
// show memsets that no ingot code issues). A CUPTI injection library: with
// CUDA_INJECTION64_PATH pointing at it, the CUDA driver calls InitializeInjection() when the
// process starts using CUDA; from then on every driver or runtime API call whose name starts
// with cuMemset / cudaMemset is written, on entry, with the shared objects on its call stack
// (innermost first, each with the nearest exported symbol), one line a call, to
// $INGOT_MEMSET_ORIGIN_OUT.<pid> (stderr when unset). During a CUDA graph capture that is the
// call that puts the memset node into the graph. scripts/device_memset_origin.sh builds and runs
// it. A diagnostic: it slows every API call down and is never part of a build.
#include <cupti.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace {

std::mutex g_lock;
FILE* g_out = nullptr;

// "lib.so:symbol < lib.so:symbol < ...", one entry per run of frames in one shared object.
std::string callers() {
  void* frames[96];
  const int n = backtrace(frames, 96);
  std::string out, last;
  for (int i = 1; i < n; ++i) {  // frame 0 is this function
    Dl_info info{};
    if (!dladdr(frames[i], &info) || !info.dli_fname) continue;
    const char* slash = std::strrchr(info.dli_fname, '/');
    const std::string name = slash ? slash + 1 : info.dli_fname;
    if (name == last || name.find("memset_origin") != std::string::npos || name.find("libcupti") != std::string::npos) {
      continue;
    }
    last = name;
    if (!out.empty()) out += " < ";
    out += name;
    if (info.dli_sname) out += std::string(":") + info.dli_sname;
  }
  return out;
}

void CUPTIAPI on_call(void*, CUpti_CallbackDomain domain, CUpti_CallbackId, const void* data) {
  const auto* cb = static_cast<const CUpti_CallbackData*>(data);
  if (cb->callbackSite != CUPTI_API_ENTER || !cb->functionName) return;
  const char* prefix = domain == CUPTI_CB_DOMAIN_DRIVER_API ? "cuMemset" : "cudaMemset";
  if (std::strncmp(cb->functionName, prefix, std::strlen(prefix)) != 0) return;
  const std::string stack = callers();
  std::lock_guard<std::mutex> hold(g_lock);
  std::fprintf(g_out, "%s | %s\n", cb->functionName, stack.c_str());
  std::fflush(g_out);
}

}  // namespace

extern "C" int InitializeInjection() {
  const char* path = std::getenv("INGOT_MEMSET_ORIGIN_OUT");
  if (path) {
    const std::string file = std::string(path) + "." + std::to_string(getpid());
    g_out = std::fopen(file.c_str(), "w");
  }
  if (!g_out) g_out = stderr;
  CUpti_SubscriberHandle subscriber;
  if (cuptiSubscribe(&subscriber, on_call, nullptr) != CUPTI_SUCCESS) {
    std::fprintf(stderr, "memset_origin: cuptiSubscribe failed (another CUPTI client, e.g. a profiler?)\n");
    return 0;
  }
  if (cuptiEnableDomain(1, subscriber, CUPTI_CB_DOMAIN_DRIVER_API) != CUPTI_SUCCESS ||
      cuptiEnableDomain(1, subscriber, CUPTI_CB_DOMAIN_RUNTIME_API) != CUPTI_SUCCESS) {
    std::fprintf(stderr, "memset_origin: cuptiEnableDomain failed\n");
    return 0;
  }
  return 1;
}
