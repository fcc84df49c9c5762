// Hand-built training states and vector sets for the export and eval tests.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "tokvec/export.h"

namespace tokvec::test {

/// A finished state with the given tokens, frequencies and input rows (output rows are the
/// input rows negated, so the two matrices can be told apart).
inline TrainingState make_state(const std::vector<std::string>& vocab, const std::vector<uint64_t>& freq,
                                const std::vector<std::vector<float>>& rows, TokenizerKind kind = TokenizerKind::words,
                                const std::string& config_json = R"({"min_count": 1})") {
  TrainingState s;
  s.config_json = config_json;
  s.tokenizer_kind = kind;
  s.vocab = vocab;
  s.frequencies = freq;
  size_t dim = rows.empty() ? 1 : rows[0].size();
  s.input = Matrix(vocab.size(), dim);
  s.output = Matrix(vocab.size(), dim);
  for (size_t i = 0; i < vocab.size(); ++i) {
    for (size_t d = 0; d < dim; ++d) {
      s.input.row(i)[d] = rows[i][d];
      s.output.row(i)[d] = -rows[i][d];
    }
  }
  s.input_updates.assign(vocab.size(), 0);
  s.output_positive_updates.assign(vocab.size(), 0);
  s.output_negative_updates.assign(vocab.size(), 0);
  s.tokens_total = s.tokens_done = 100;
  s.epochs_done = 1;
  return s;
}

inline Embeddings make_embeddings(const std::vector<std::string>& words, const std::vector<std::vector<float>>& rows) {
  Embeddings e;
  e.words = words;
  e.dim = static_cast<uint32_t>(rows.at(0).size());
  for (const auto& r : rows) e.data.insert(e.data.end(), r.begin(), r.end());
  return e;
}

/// A Python 3 with gensim (Debian's python3-gensim lives in /usr/bin/python3, which may not
/// be the first python3 on PATH), or "" when there is none.
inline std::string python_with_gensim() {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    // find_spec looks for the package without importing it (an import takes seconds).
    std::string cmd = std::string(py) +
                      " -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec(\"gensim\") is None)' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

/// Runs a shell command and returns its stdout (exit status in *status).
inline std::string shell_output(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int st = ::pclose(pipe);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

}  // namespace tokvec::test
