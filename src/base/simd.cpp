#include "tokvec/simd.h"

#include <atomic>
#include <cstdlib>

#include "base/simd_dispatch.h"

#include "tokvec/status.h"

// ThreadSanitizer does not see inside vector loads and stores as it sees scalar ones, so a
// TSan build would hide the Hogwild races it must report (tools/tsan.sh confines them
// with tools/tsan.supp): there the automatic choice is the portable path.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TOKVEC_SIMD_TSAN 1
#endif
#endif

namespace tokvec::simd {

namespace {

constexpr Path kAll[] = {Path::avx512, Path::avx2, Path::neon, Path::scalar};  // fastest first

std::string list(bool (*keep)(Path)) {
  std::string out;
  for (Path p : kAll) {
    if (!keep(p)) continue;
    if (!out.empty()) out += ' ';
    out += name(p);
  }
  return out;
}

Path best_runnable() {
#if defined(TOKVEC_SIMD_TSAN)
  return Path::scalar;
#else
  for (Path p : kAll) {
    if (runnable(p)) return p;
  }
  return Path::scalar;
#endif
}

Path from_environment() {
  const char* value = std::getenv("TOKVEC_SIMD");
  return from_setting(value == nullptr ? std::string_view() : std::string_view(value));
}

/// A ScopedPath's choice, or -1 for TOKVEC_SIMD's.
std::atomic<int> g_forced{-1};

}  // namespace

const char* name(Path p) noexcept {
  switch (p) {
    case Path::scalar: return "scalar";
    case Path::avx2: return "avx2";
    case Path::avx512: return "avx512";
    case Path::neon: return "neon";
  }
  return "?";
}

bool compiled(Path p) noexcept {
  return p == Path::scalar || (HWY_TARGETS & hwy_target(p)) != 0;
}

bool runnable(Path p) noexcept {
  if (p == Path::scalar) return true;
  return compiled(p) && (hwy::SupportedTargets() & hwy_target(p)) != 0;
}

std::vector<Path> runnable_paths() {
  std::vector<Path> out;
  for (Path p : kAll) {
    if (runnable(p)) out.push_back(p);
  }
  return out;
}

Path from_setting(std::string_view value) {
  if (value.empty() || value == "auto") return best_runnable();
  for (Path p : kAll) {
    if (value != name(p)) continue;
    if (!compiled(p)) {
      throw usage_error("TOKVEC_SIMD=" + std::string(value) + ": this build has no " + name(p) +
                        " kernels (it has: " + list(compiled) + ")");
    }
    if (!runnable(p)) {
      throw usage_error("TOKVEC_SIMD=" + std::string(value) + ": this CPU cannot run " + name(p) +
                        " (it can run: " + list(runnable) + ")");
    }
    return p;
  }
  throw usage_error("TOKVEC_SIMD must be auto, avx512, avx2, neon or scalar, got '" + std::string(value) + "'");
}

Path active() {
  // Resolved once (a throwing initialiser is retried on the next call).
  static const Path chosen = from_environment();
  const int forced = g_forced.load(std::memory_order_relaxed);
  return forced >= 0 ? static_cast<Path>(forced) : chosen;
}

ScopedPath::ScopedPath(Path p) : previous_(g_forced.load(std::memory_order_relaxed)) {
  if (!runnable(p)) throw usage_error(std::string("this CPU cannot run the ") + name(p) + " kernels");
  g_forced.store(static_cast<int>(p), std::memory_order_relaxed);
}

ScopedPath::~ScopedPath() { g_forced.store(previous_, std::memory_order_relaxed); }

std::string describe() {
  return std::string("simd: ") + name(active()) + " (runnable: " + list(runnable) + "; compiled: " + list(compiled) + ")";
}

}  // namespace tokvec::simd
