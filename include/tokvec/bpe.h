// Byte-pair-encoding tokenizer: training, the model file, encoding and decoding.
//
// CONTRACT (used by train, export and eval; the BPE owner may extend it, not break it):
//   - BpeModel is immutable after construction; encode_line/encode_word/decode are
//     thread-safe (any scratch state is per call).
//   - ids are dense in [0, vocab_size()); piece(id) is a printable display form
//     (word-start marker shown as U+2581 "▁", raw bytes as "<0xAB>").
//   - checksum() identifies the model; corpora store it.
//
// Vocabulary. Ids 0..255 are the 256 bytes (byte fallback: any input, invalid UTF-8
// included, encodes without an unknown token); id 256 is the word-start marker, a symbol
// of its own (not the bytes of U+2581, so a literal "▁" in the text round-trips); then the
// multi-byte characters frequent enough in the training text, one symbol each (code-point
// order); then one id per merge, in merge order. A token is (marker?, bytes): the marker
// can only lead a token, since it only ever leads a pre-token (see src/text/text.h).
//
// Model file (text, UTF-8, one record a line):
//     tokvec-bpe 1                          magic and format version
//     vocab 32000 chars 183 merges 31560    vocab == 257 + chars + merges
//     char 257 U+00E9 é                     id, code point, display form
//     merge 256 116 -> 440 ▁ t ▁t           left id, right id, new id, the three pieces
//     checksum 0123456789abcdef             XXH3-64 of every byte before this line
// Pieces are display forms (see piece()); the ids are what the loader uses, the pieces are
// there for people and are checked too. checksum() is that XXH3 value.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/corpus.h"
#include "tokvec/status.h"

namespace tokvec {

inline constexpr uint32_t kBpeByteSymbols = 256;
inline constexpr uint32_t kBpeMarkerId = 256;       ///< the word-start marker "▁"
inline constexpr uint32_t kBpeFixedAlphabet = 257;  ///< bytes + marker: the smallest vocabulary
inline constexpr uint32_t kBpeMaxVocab = 1000000;   ///< hard cap on --vocab-size
inline constexpr char kBpeMagic[] = "tokvec-bpe";
inline constexpr uint32_t kBpeVersion = 1;

struct BpeTrainConfig {
  std::vector<std::string> inputs;
  uint32_t vocab_size = 32000;
  uint64_t min_frequency = 2;  ///< a pair seen fewer times is never merged; also the least
                               ///< count for a multi-byte character to become a symbol
  int threads = 0;             ///< 0 = all cores
  bool quiet = false;
  size_t block_bytes = size_t{4} << 20;  ///< read size (a knob for tests; >= 4096)
  /// The UTF-8 check of each input (text_check.h): refuse text that is not UTF-8, unless
  /// allow_binary; check_text false skips it (a caller that checked the text already).
  bool check_text = true;
  bool allow_binary = false;
  /// Receives the check's warnings ("PATH: ..."), e.g. a few bytes that are not UTF-8.
  std::function<void(const std::string&)> on_warning;
  /// Throws a usage error for a value out of range (vocab in [257, 1,000,000],
  /// min_frequency in [1, 2^40], threads in [0, 1024], at least one input).
  void validate() const;
};

/// One merge: the tokens `left` and `right`, adjacent in a pre-token, become one new token
/// whose id is 257 + chars + the merge's index.
struct BpeMerge {
  uint32_t left;
  uint32_t right;
  bool operator==(const BpeMerge&) const = default;
};

class BpeModel {
 public:
  BpeModel() = default;
  static BpeModel load(const std::string& path);
  /// Builds a model from its alphabet (multi-byte code points, ids 257...) and merges,
  /// validating them (internal error if inconsistent). Used by the trainer and tests.
  static BpeModel from_parts(std::vector<uint32_t> chars, std::vector<BpeMerge> merges);
  /// Writes the model atomically.
  void save(const std::string& path) const;
  /// The file content save() writes.
  std::string serialize() const;

  uint32_t vocab_size() const noexcept;
  uint64_t checksum() const noexcept;
  std::string_view piece(uint32_t id) const;
  /// The raw bytes of a token (without the marker) and whether it starts with the marker.
  std::string_view token_bytes(uint32_t id) const;
  bool starts_word(uint32_t id) const;
  std::span<const uint32_t> chars() const noexcept;
  std::span<const BpeMerge> merges() const noexcept;

  /// Appends the ids of one line (the text holds no '\n') to `out`.
  void encode_line(std::string_view line, std::vector<uint32_t>& out) const;
  /// The ids of one word as it appears after a space (word-start marker included).
  std::vector<uint32_t> encode_word(std::string_view word) const;
  /// The text of a sequence of ids from one line (no newline added): each marker becomes a
  /// space except at the start. Throws an input error for an id >= vocab_size().
  std::string decode(std::span<const uint32_t> ids) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
  friend class BpeEncoder;
};

/// A per-thread encoding session: the model plus a cache of pre-token -> ids (text repeats
/// its words, so most pre-tokens are looked up, not merged). Not thread-safe; make one per
/// thread. The model must outlive it.
class BpeEncoder {
 public:
  explicit BpeEncoder(const BpeModel& model);
  ~BpeEncoder();
  BpeEncoder(BpeEncoder&&) noexcept;
  BpeEncoder& operator=(BpeEncoder&&) noexcept;
  /// Same result as BpeModel::encode_line.
  void encode_line(std::string_view line, std::vector<uint32_t>& out, bool at_word_start = true);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// train_bpe on text too small for the vocabulary asked for (an input error). what() names
/// the settings by their fields ("... with min_frequency 2 (asked for 900000): lower
/// vocab_size or min_frequency"); a front end that spells them otherwise, or that does not
/// offer min_frequency, words the same facts with message().
class VocabularyTooLarge : public Error {
 public:
  VocabularyTooLarge(std::string inputs, uint32_t supported, uint32_t asked, uint64_t min_frequency);
  /// The message with the vocabulary size called `vocab_size_name` and the minimum pair
  /// count `min_frequency_name`, or, without one, described ("a minimum pair count of 2",
  /// "give more text").
  std::string message(std::string_view vocab_size_name, std::optional<std::string_view> min_frequency_name) const;
  const std::string& inputs() const noexcept { return inputs_; }
  uint32_t supported() const noexcept { return supported_; }

 private:
  std::string inputs_;
  uint32_t supported_, asked_;
  uint64_t min_frequency_;
};

/// Trains merges on the config's inputs. Text too small for config.vocab_size:
/// VocabularyTooLarge.
BpeModel train_bpe(const BpeTrainConfig& config);

struct EncodeOptions {
  int threads = 0;  ///< 0 = all cores
  bool quiet = true;
  size_t block_bytes = size_t{4} << 20;  ///< read size (a knob for tests; >= 4096)
  /// The UTF-8 check of the input, as in BpeTrainConfig.
  bool check_text = true;
  bool allow_binary = false;
  std::function<void(const std::string&)> on_warning;
};

/// Encodes a text file into a token corpus (oneTBB pipeline over blocks of the file).
CorpusData encode_file(const BpeModel& model, const std::string& input_path, int threads, bool quiet = true);
CorpusData encode_file(const BpeModel& model, const std::string& input_path, const EncodeOptions& options);
/// The same encoding written straight into `writer` (made with CorpusFileWriter's
/// constructor without counts, for corpus_vocab(model)) as it goes, so the ids are never
/// all in memory; the caller commits the writer. Returns the token count. The committed file
/// is byte for byte what write_corpus writes for the in-memory form.
uint64_t encode_file(const BpeModel& model, const std::string& input_path, const EncodeOptions& options, CorpusFileWriter& writer);
/// A corpus's vocabulary for `model`: its pieces, by id.
std::vector<std::string> corpus_vocab(const BpeModel& model);

}  // namespace tokvec
