// Exporting trained vectors and reading vector files back.
//
// Embeddings is the common currency of export, neighbors and eval: labelled rows in a
// dense row-major float matrix. For neighbors and eval they are in frequency order (most
// frequent first), the order word2vec, fastText and gensim write and what "restrict to the
// N most frequent" relies on; token exports of BPE runs default to id order (TokenOrder).
//
// File formats written (all atomically, through AtomicFileWriter):
//   word2vec text    "N D\n", then N lines "token v1 ... vD\n". Values are the shortest
//                    decimal strings that read back to the identical float32
//                    (std::to_chars), so a text round trip is exact.
//   word2vec binary  "N D\n", then N records "token " + D little-endian float32 + "\n"
//                    (word2vec.c's -binary 1 layout, read by gensim's binary=True).
//   npy              NumPy format 1.0, dtype '<f4', shape (N, D), C order; beside it a
//                    vocabulary file (npy_vocab_path) with one token per line, row order,
//                    where '\\' is written "\\\\", a newline "\\n" and a carriage return
//                    "\\r" (nothing else is escaped; see escape_vocab_token).
// In the word2vec formats a token is ended by a space, so a token that is empty or holds
// ASCII whitespace or a control byte (< 0x20 or 0x7F) cannot be stored: export refuses
// such a vocabulary with an input error naming the row, and suggests --format npy. BPE
// display pieces never hold one (the word-start marker is shown as U+2581, raw bytes as
// "<0xAB>"), nor do words of a --words run.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/vocab.h"  // WordCount
#include "tokvec/run.h"

namespace tokvec {

/// Labelled vectors: row i is words[i], its dim floats at data[i * dim].
struct Embeddings {
  std::vector<std::string> words;
  uint32_t dim = 0;
  std::vector<float> data;

  size_t size() const noexcept { return words.size(); }
  const float* row(size_t i) const noexcept { return data.data() + i * dim; }
  float* row(size_t i) noexcept { return data.data() + i * dim; }
};

enum class VectorFormat { word2vec_text, word2vec_binary, npy };

/// "word2vec-text", "word2vec-binary" or "npy"; anything else is a usage error.
VectorFormat parse_vector_format(std::string_view name);

/// The name parse_vector_format accepts.
std::string_view vector_format_name(VectorFormat format);

/// Which matrix of the state to export.
enum class MatrixChoice { input, output };

/// Options of `tokvec export`, with their defaults (the CLI reads them).
struct ExportConfig {
  VectorFormat format = VectorFormat::word2vec_text;
  MatrixChoice matrix = MatrixChoice::input;
  std::string words_file;     ///< --words FILE ("" = none)
  bool corpus_words = false;  ///< --corpus-words
  /// Usage errors: --words with --corpus-words; word vectors from the output matrix.
  void validate() const;
};

/// The order of exported token rows. `id`: row i is token i (the ids `encode` prints, what
/// an embedding layer indexes). `frequency`: most frequent first, ties by id (what word2vec,
/// fastText and gensim write and "the N most frequent" restrictions rely on). A --words
/// run's ids are already in frequency order, so the two are the same there; a BPE run's
/// ids are merge order.
enum class TokenOrder { id, frequency };

/// "id" or "frequency"; anything else is a usage error naming --order.
TokenOrder parse_token_order(std::string_view name);

/// The rows of one matrix of `state` with their tokens, in the order asked for (frequency:
/// frequency descending, ties by id ascending, so the order is deterministic).
Embeddings token_embeddings(const TrainingState& state, MatrixChoice matrix = MatrixChoice::input,
                            TokenOrder order = TokenOrder::frequency);

/// The ids of a word's pieces (BpeModel::encode_word, or a stand-in in tests).
using PieceEncoder = std::function<std::vector<uint32_t>(std::string_view word)>;

/// A vector for each word: the mean of the input-matrix rows of its pieces.
///
/// Why the mean and not the sum: the mean keeps the scale of a single piece whatever the
/// word's length (a 5-piece word's sum would be ~sqrt(5) to 5 times longer), it is what
/// fastText does with a word's subword vectors, and cosine-based tools (neighbours,
/// analogies, similarity) only see the direction, which sum and mean share.
/// Throws an input error for a word that encodes to no piece, an internal error for a
/// piece id outside the state's vocabulary.
Embeddings compose_word_vectors(const TrainingState& state, const std::vector<std::string>& words,
                                const PieceEncoder& encode);

/// Every distinct word of the text file seen at least `min_count` times, by count
/// descending, ties by bytes ascending, counted by the word counter's pre-token rule
/// (src/text/words.h): a word is a pre-token of the BPE tokenizer that is a run of letters
/// or of digits, so punctuation is split off as the tokenizer splits it ("sea." counts as
/// "sea"), and runs of punctuation or symbols are not words.
std::vector<WordCount> count_text_words(const std::string& path, uint64_t min_count);
/// The same for a text in memory.
std::vector<WordCount> count_words_in_text(std::string_view text, uint64_t min_count);

/// Reads a word list: one word per line; '\r' before a newline and surrounding spaces and
/// tabs are dropped, empty lines skipped; a line with inner whitespace is an input error
/// naming the line. Duplicates are kept once (first position).
std::vector<std::string> read_word_list(const std::string& path);

/// Checks that every token can be written in a word2vec format (see the header comment);
/// throws an input error naming `what`, the row and the token otherwise.
void check_word2vec_tokens(const Embeddings& e, std::string_view what);

/// Writers. `fail_after_bytes` injects a write failure for tests. Each validates first
/// (sizes, tokens), so a refused export leaves no file.
void write_word2vec_text(const std::string& path, const Embeddings& e, uint64_t fail_after_bytes = UINT64_MAX);
void write_word2vec_binary(const std::string& path, const Embeddings& e, uint64_t fail_after_bytes = UINT64_MAX);
/// Writes the .npy and its vocabulary file (npy_vocab_path(path)).
void write_npy(const std::string& path, const Embeddings& e, uint64_t fail_after_bytes = UINT64_MAX);
void write_vectors(const std::string& path, VectorFormat format, const Embeddings& e);
/// Writes word2vec text or binary to an open stream (stdout, `name` in messages); npy, which
/// needs a second file for its vocabulary, is a usage error.
void write_vectors_to_stream(std::FILE* stream, const std::string& name, VectorFormat format, const Embeddings& e);
/// One word2vec text record, "word v1 ... vD\n", values as write_word2vec_text writes them.
std::string word2vec_text_record(std::string_view word, const float* values, uint32_t dim);
/// The format a file name implies: .npy, .bin (word2vec binary), .vec or .txt (word2vec
/// text), any case; nullopt for other names.
std::optional<VectorFormat> vector_format_of_name(std::string_view path);

/// The vocabulary file beside an .npy: "x.npy" -> "x.vocab.txt", other names + ".vocab.txt".
std::string npy_vocab_path(const std::string& npy_path);
/// Vocabulary-file escaping: '\\' -> "\\\\", '\n' -> "\\n", '\r' -> "\\r".
std::string escape_vocab_token(std::string_view token);
/// The inverse; `where` names the place for the error of a bad escape.
std::string unescape_vocab_token(std::string_view text, const std::string& path, size_t line);

/// Readers. Errors are input errors naming the file and the line (text) or byte offset
/// (binary, npy): truncated files, a bad header, a non-numeric value, a wrong number of
/// values or of rows.
Embeddings read_word2vec_text(const std::string& path);
Embeddings read_word2vec_binary(const std::string& path);
/// Reads an .npy written by tokvec ('<f4', 2-D, C order) and its vocabulary file.
Embeddings read_npy(const std::string& path, const std::string& vocab_path);
Embeddings read_npy(const std::string& path);
/// A vectors file of any of the three formats: ".npy" by name; text or binary by content
/// (the first record after the header parses as text or it is binary).
Embeddings read_vectors(const std::string& path);

/// What a RUN_DIR (or a state file, with tokenizer.bpe looked for beside it) holds for
/// export and eval.
struct Run {
  std::string state_path;
  TrainingState state;
  TokenizerKind tokenizer_kind = TokenizerKind::bpe;  ///< subwords: a train --subwords run
  /// Encodes a word into piece ids (BPE runs, from tokenizer.bpe), or, in a subword run,
  /// into its input rows R(w) (src/sgns/subword.h); empty for words runs.
  PieceEncoder encode;
  /// Subword runs: the composition, and the corpus words (the state's first rows).
  SubwordConfig subwords;
  uint32_t subword_words = 0;
  uint64_t min_count = 5;   ///< from the run's config
  std::string input_path;   ///< the training text ("" when trained from an encoded corpus)
  bool lowercase = false;   ///< a --words --lowercase run: queries are lowercased to match
  std::string corpus_path;  ///< corpus.tkc beside the state (the text trained on, encoded)
  std::shared_ptr<const BpeModel> model;  ///< BPE runs: the tokenizer
  std::string note;         ///< for the user: an unfinished run read from its newest checkpoint

  bool is_bpe() const noexcept { return tokenizer_kind == TokenizerKind::bpe; }
  bool is_subwords() const noexcept { return tokenizer_kind == TokenizerKind::subwords; }
  /// A vector for any word, composed of rows: BPE and subword runs.
  bool composes() const noexcept { return is_bpe() || is_subwords(); }
};

// RunState and load_run_state (the state a run folder's results are read from): run.h.

/// Loads RUN_DIR/state.tkv (or the state file given) and, for a BPE run, tokenizer.bpe.
/// Errors name the path: a missing folder or state, a corrupt state, a BPE run without
/// its tokenizer.
Run load_run(const std::string& path);

/// True when `path` looks like a run (a folder, or a tokvec state file by its magic),
/// false for anything else (taken to be a vectors file): find_run_target.
bool is_run_path(const std::string& path);

/// The words of the run's training text, as --corpus-words lists them: in a words run its
/// vocabulary (already every word with count >= min_count); in a BPE run every distinct
/// word of the text with count >= the run's min_count, as the tokenizer splits the text
/// (count_words_in_text: no punctuation attached). A BPE run's text is its own corpus.tkc
/// decoded (exactly what it trained on, wherever the input file went), or else the
/// recorded input file; with neither, an io error names both. `source`, when given,
/// receives where the words came from.
std::vector<std::string> run_corpus_words(const Run& run, std::string* source = nullptr);

/// The composed vector of each word of a BPE run (the mean of its pieces:
/// compose_word_vectors) or of a subword run (its trained composition of R(w), seen or
/// not); an internal error for a words run.
Embeddings run_compose(const Run& run, const std::vector<std::string>& words);

/// Vectors for `words` in a run: a BPE or subword run composes each word (every word
/// gets one); a words run looks each word up (lowercased first in a --lowercase run, each
/// vocabulary word given once) and skips missing ones, counted in *missing.
Embeddings run_word_vectors(const Run& run, const std::vector<std::string>& words, size_t* missing = nullptr);

/// Leaves out the entries whose vector rests on a flagged row (an input row that received
/// fewer than `min_updates` updates, as `tokvec audit` flags it): a token vector, a word of
/// a words run, or a word composed from BPE pieces when any of its pieces is flagged
/// (`composed`). Returns how many entries were dropped.
size_t drop_flagged(const Run& run, Embeddings& vectors, uint64_t min_updates, bool composed);

}  // namespace tokvec
