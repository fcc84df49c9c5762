// TOKVEC_SIMD and `tokvec --version`: the SIMD path is chosen once, before any work, and a
// value this binary or CPU cannot run is refused with exit 2 and one error line.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"
#include "tokvec/simd.h"

namespace tokvec {
namespace {

/// `TOKVEC_SIMD=value tokvec args` (value unset when empty).
test::CliResult run_with(const std::string& value, const std::string& args) {
  const std::string env = value.empty() ? "env -u TOKVEC_SIMD " : "TOKVEC_SIMD='" + value + "' ";
  return test::run_command(env + TOKVEC_CLI_PATH + " " + args);
}

TEST(SimdCli, VersionNamesThePathInUse) {
  const std::string best = simd::name(simd::runnable_paths().front());
  for (const std::string value : {"", "auto"}) {
    test::CliResult r = run_with(value, "--version");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.rfind("tokvec 0.1.0\nsimd: " + best + " (runnable: ", 0), 0u) << r.output;
  }
  for (simd::Path p : simd::runnable_paths()) {
    test::CliResult r = run_with(simd::name(p), "--version");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(std::string("simd: ") + simd::name(p) + " (runnable: "), std::string::npos) << r.output;
  }
}

TEST(SimdCli, UnknownOrUnrunnablePathIsRefused) {
  for (const char* bad : {"sse2", "AVX2", "avx2 "}) {
    test::CliResult r = run_with(bad, "--version");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(r.output, std::string("tokvec --version: error: TOKVEC_SIMD must be auto, avx512, avx2, neon or scalar, got '") +
                            bad + "'\n");
  }
  // A command refuses it before doing anything (no run folder appears).
  test::TempDir dir;
  test::CliResult r = run_with("sse2", "train --words --input " TOKVEC_CORPORA_DIR "/gutenberg-3m.txt --output " +
                                           dir.file("run"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(r.output.rfind("tokvec train: error: TOKVEC_SIMD must be auto", 0), 0u) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
  // Every path this machine cannot run: not compiled into an x86 or Arm build, or missing
  // from this CPU (AVX-512 on most x86 machines).
  int refused = 0;
  for (simd::Path p : {simd::Path::avx512, simd::Path::avx2, simd::Path::neon}) {
    if (simd::runnable(p)) continue;
    ++refused;
    r = run_with(simd::name(p), "--version");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    const std::string why = simd::compiled(p) ? ": this CPU cannot run " : ": this build has no ";
    EXPECT_EQ(r.output.rfind(std::string("tokvec --version: error: TOKVEC_SIMD=") + simd::name(p) + why + simd::name(p), 0), 0u)
        << r.output;
  }
  EXPECT_GE(refused, 1);  // no CPU has both NEON and AVX2
}

}  // namespace
}  // namespace tokvec
