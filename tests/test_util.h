// Helpers shared by the tests: temporary folders, running the CLI, writing files.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "base/io.h"

namespace tokvec::test {

/// A fresh folder under the system temp folder, removed (with its contents) at the end.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "tokvec-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Rewrites a file in place (same inode) with `bytes` when a reader has taken its size
/// (io.h's after_size_taken_for_test), at the `at_call`-th time only: the reader then meets
/// a file that changed under it, deterministically.
struct ChangeAfterSizeTaken {
  static inline std::string new_bytes;
  static inline int calls = 0;
  static inline int change_at = 1;
  explicit ChangeAfterSizeTaken(std::string bytes, int at_call = 1) {
    new_bytes = std::move(bytes);
    calls = 0;
    change_at = at_call;
    after_size_taken_for_test = [](const std::string& path) {
      if (++calls == change_at) write_text(path, new_bytes);
    };
  }
  ~ChangeAfterSizeTaken() { after_size_taken_for_test = nullptr; }
  ChangeAfterSizeTaken(const ChangeAfterSizeTaken&) = delete;
  ChangeAfterSizeTaken& operator=(const ChangeAfterSizeTaken&) = delete;
};

/// Result of running the tokvec binary.
struct CliResult {
  int exit_code;
  std::string output;  ///< stdout and stderr together
};

/// Runs a command line through /bin/sh, stdout and stderr together.
inline CliResult run_command(const std::string& command) {
  CliResult result{-1, {}};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // Under the sanitizer builds (tools/test.sh) a report from the CLI must fail the test even
  // when the test expected the command to fail: GCC's UBSan writes to stderr whatever
  // ASAN_OPTIONS' log_path says, so its reports are caught here.
  for (const char* marker : {": runtime error: ", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer"}) {
    if (result.output.find(marker) != std::string::npos) ADD_FAILURE() << "sanitizer report from: " << command << "\n" << result.output;
  }
  return result;
}

/// `s` quoted for /bin/sh (single quotes; a quote inside becomes '\'').
inline std::string q(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

/// `lines` lines of 12 words w0..w{distinct-1} in a fixed cycle (word k of line i is
/// w((7i + 5k + (drift ? i/3 : 0)) mod distinct)): every word frequent, every run the same.
inline std::string cycled_words_text(int lines, int distinct = 12, bool drift = false) {
  std::string t;
  for (int i = 0; i < lines; ++i) {
    for (int k = 0; k < 12; ++k) {
      t += "w" + std::to_string((i * 7 + k * 5 + (drift ? i / 3 : 0)) % distinct) + (k < 11 ? " " : "\n");
    }
  }
  return t;
}

/// Runs `tokvec <args>` through the shell (args are shell-quoted by the caller).
inline CliResult run_cli(const std::string& args) { return run_command(std::string(TOKVEC_CLI_PATH) + " " + args); }

}  // namespace tokvec::test
