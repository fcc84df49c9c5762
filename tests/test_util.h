// Helpers shared by the tests: temporary folders, running the CLI, writing files.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

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

/// Runs `tokvec <args>` through the shell (args are shell-quoted by the caller).
inline CliResult run_cli(const std::string& args) { return run_command(std::string(TOKVEC_CLI_PATH) + " " + args); }

}  // namespace tokvec::test
