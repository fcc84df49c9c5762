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
#include "tokvec/checkpoint.h"

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

/// A two-token words state ("x", "y"; dim 3) with `tokens_done` of 100 tokens trained: a
/// checkpoint (cursor set) below 100, a finished state at 100.
inline TrainingState tiny_state(uint64_t tokens_done) {
  TrainingState s;
  s.tokenizer_kind = tokvec::TokenizerKind::words;
  s.vocab = {"x", "y"};
  s.frequencies = {3, 1};
  s.input = Matrix(2, 3);
  s.output = Matrix(2, 3);
  s.input_updates = s.output_positive_updates = s.output_negative_updates = {0, 0};
  s.tokens_total = 100;
  s.tokens_done = tokens_done;
  s.cursor = tokens_done < 100 ? "cursor" : "";
  return s;
}

/// A copy of run folder `run` as it stood when `checkpoint` was its newest: config, corpus and
/// that checkpoint (what a run killed just after writing it leaves behind).
inline void copy_stopped_at(const std::string& run, const std::string& checkpoint, const std::string& copy) {
  namespace fs = std::filesystem;
  fs::create_directory(copy);
  for (const char* name : {"config.json", "corpus.tkc"}) fs::copy_file(fs::path(run) / name, fs::path(copy) / name);
  fs::copy_file(checkpoint, fs::path(copy) / fs::path(checkpoint).filename());
}

/// Runs `tokvec <args>` through the shell (args are shell-quoted by the caller).
inline CliResult run_cli(const std::string& args) { return run_command(std::string(TOKVEC_CLI_PATH) + " " + args); }

}  // namespace tokvec::test
