// Which SIMD instruction set the hot kernels use: one choice for the whole process, made
// once at start-up from the CPU's features, or forced with TOKVEC_SIMD.
//
// The kernels (src/*_simd.cpp) are written once with Highway's portable vector types and
// compiled for every path below (hwy/foreach_target.h); this file is the one place that
// decides which of those compiled versions runs. Paths:
//   avx512  x86-64 with AVX-512 F/VL/DQ/BW (Highway's AVX3 target)
//   avx2    x86-64 with AVX2 and FMA (Highway's AVX2 target)
//   neon    AArch64 Advanced SIMD (Highway's NEON target)
//   scalar  the portable C++ loops, compiled for the build's baseline: the reference the
//           SIMD paths are tested against, and what runs on any other CPU
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokvec::simd {

enum class Path : uint8_t { scalar = 0, avx2 = 1, avx512 = 2, neon = 3 };
inline constexpr int kPathCount = 4;

/// "scalar", "avx2", "avx512", "neon".
const char* name(Path p) noexcept;

/// Whether this binary holds kernels for `p` (an x86 build has no NEON kernels).
bool compiled(Path p) noexcept;
/// Whether `p` is compiled and this CPU (and OS) can run it. scalar always can.
bool runnable(Path p) noexcept;
/// The runnable paths, fastest first (scalar last).
std::vector<Path> runnable_paths();

/// The path TOKVEC_SIMD asks for: unset, empty or "auto" picks the fastest runnable one.
/// Throws usage_error for an unknown name or a path this binary or CPU cannot run.
Path from_setting(std::string_view value);

/// The path in use. The first call reads TOKVEC_SIMD (from_setting; its error is thrown
/// again on every call until the value is fixed), so main() calls it before any work.
Path active();

/// Runs the kernels on `p` until destroyed (tests and benchmarks compare the paths in one
/// process). Throws usage_error when `p` is not runnable. Not for use while kernels run
/// on other threads.
class ScopedPath {
 public:
  explicit ScopedPath(Path p);
  ~ScopedPath();
  ScopedPath(const ScopedPath&) = delete;
  ScopedPath& operator=(const ScopedPath&) = delete;

 private:
  int previous_;
};

/// One line for `tokvec --version`: the path in use and those this CPU could run,
/// e.g. "simd: avx2 (runnable: avx2 scalar; compiled: avx512 avx2 scalar)".
std::string describe();

}  // namespace tokvec::simd
