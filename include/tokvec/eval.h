// Intrinsic evaluation of vectors: word analogies (3CosAdd) and word-pair similarity
// (Spearman), and nearest neighbours by cosine.
//
// The rules follow gensim 4.2's KeyedVectors.evaluate_word_analogies and
// evaluate_word_pairs with case_insensitive=True (what the gensim-based evaluator
// eval_vectors.py runs; tests/eval_test.cpp compares the two), so the two agree:
//   - Lookup is case-insensitive: each of the first `restrict` rows is keyed by its upper-
//     case form (utf8proc's simple per-code-point mapping; Python's str.upper also expands
//     e.g. "ß" to "SS", which no English evaluation word needs), and the first (most
//     frequent) row wins among case variants.
//   - Analogies: ": name" lines open a section (a question before any section is an input
//     error); a line that does not split into exactly 4 words is skipped and not counted; a
//     question with a word outside the first `restrict` rows is counted as OOV and skipped.
//     The prediction is the row among the first `restrict` maximising
//     cos(x, b̂ + ĉ - â), skipping the rows of a, b and c and any row whose upper-case form
//     is one of them (gensim looks at its 5 best after the three rows; so does this).
//     Sections whose names start with "gram" are syntactic, the others semantic.
//   - Pairs: tab-separated "w1<TAB>w2<TAB>score"; lines starting with '#' and lines that do
//     not split into three fields with a numeric third are skipped; words are matched
//     case-insensitively over all rows; Spearman's rho uses average ranks for ties.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/export.h"

namespace tokvec {

/// Options of `tokvec eval` and `tokvec neighbors`, with their defaults (the CLI reads them).
struct EvalConfig {
  /// Analogy answers are searched among this many most frequent rows (word2vec's
  /// compute-accuracy and eval_vectors.py use 30,000), [1, 2^31].
  size_t restrict = 30000;
  int threads = 0;        ///< analogy search threads, 0 = all cores, [0, kMaxThreads]
  size_t neighbors = 10;  ///< neighbours per word, [1, 100000]
  /// Usage errors naming the option.
  void validate() const;
};

struct AnalogySection {
  std::string name;
  uint64_t correct = 0;
  uint64_t incorrect = 0;  ///< answered wrongly (OOV questions are in neither)
  uint64_t oov = 0;
  bool syntactic() const noexcept { return name.rfind("gram", 0) == 0; }
};

struct AnalogyResult {
  std::string path;
  uint64_t restrict_rows = 0;  ///< rows searched (min(restrict, rows))
  std::vector<AnalogySection> sections;
  uint64_t questions = 0;  ///< well-formed questions in the file
  uint64_t answered = 0;   ///< questions with all four words in the searched rows
  uint64_t correct = 0;
  uint64_t semantic_answered = 0, semantic_correct = 0;
  uint64_t syntactic_answered = 0, syntactic_correct = 0;
  double seconds = 0;
  /// Percentages (0 when nothing was answered).
  double accuracy() const noexcept { return answered ? 100.0 * static_cast<double>(correct) / static_cast<double>(answered) : 0.0; }
  double coverage() const noexcept { return questions ? 100.0 * static_cast<double>(answered) / static_cast<double>(questions) : 0.0; }
};

struct PairsResult {
  std::string path;
  uint64_t pairs = 0;   ///< well-formed pairs in the file
  uint64_t used = 0;    ///< pairs with both words known
  double spearman = 0;  ///< NaN when fewer than 2 pairs were used or a side is constant
  double oov_pct() const noexcept { return pairs ? 100.0 * static_cast<double>(pairs - used) / static_cast<double>(pairs) : 0.0; }
};

/// Case-insensitive lookup over the first `limit` rows (first occurrence wins).
class WordIndex {
 public:
  WordIndex(const Embeddings& e, size_t limit);
  /// The row of `word` (any case), or -1.
  int64_t find(std::string_view word) const;
  /// The upper-case form used as the key.
  static std::string upper(std::string_view word);

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

/// Rows scaled to unit length (zero rows stay zero), in a dense matrix like `e`'s.
std::vector<float> unit_rows(const Embeddings& e);

/// An evaluation file read into memory once: a regular file, or "-" (standard input), a
/// pipe or a FIFO, which can be read only once. `name` is how messages name it.
struct EvalFile {
  std::string name;
  std::string text;
  static EvalFile read(const std::string& path);
};

/// Scores an analogy file. `threads` 0 = all cores (OpenMP). The questions are scored as a
/// blocked matrix product of the normalised queries with the normalised first `restrict`
/// rows, followed by a top-8 selection per question.
AnalogyResult evaluate_analogies(const Embeddings& e, const std::string& path, size_t restrict, int threads = 0);
AnalogyResult evaluate_analogies(const Embeddings& e, const EvalFile& file, size_t restrict, int threads = 0);

/// Scores a word-pairs file.
PairsResult evaluate_pairs(const Embeddings& e, const std::string& path);
PairsResult evaluate_pairs(const Embeddings& e, const EvalFile& file);

/// Spearman's rank correlation with average ranks for ties (NaN if undefined).
double spearman(const std::vector<double>& x, const std::vector<double>& y);

/// Words (the whitespace-separated fields) of an analogy file's questions and of pairs
/// files' first two columns, each once, in file order: what a BPE run composes for eval.
std::vector<std::string> evaluation_words(const std::string& analogies_path, const std::vector<std::string>& pairs_paths);
/// The same for files already read (`analogies` may be null).
std::vector<std::string> evaluation_words(const EvalFile* analogies, const std::vector<EvalFile>& pairs);

struct Neighbor {
  std::string word;
  float cosine = 0;
};

/// The k rows most similar by cosine to `query` (dim floats), skipping row `exclude_row`
/// (-1 for none) and rows equal to `exclude_word`.
std::vector<Neighbor> nearest(const Embeddings& e, const std::vector<float>& unit, const float* query, size_t k,
                              int64_t exclude_row, std::string_view exclude_word = {});

}  // namespace tokvec
