// Byte-pair-encoding tokenizer: training, the model file, encoding and decoding.
//
// CONTRACT (used by train, export and eval; the BPE owner may extend it, not break it):
//   - BpeModel is immutable after construction; encode_line/encode_word/decode are
//     thread-safe (any scratch state is per call).
//   - ids are dense in [0, vocab_size()); piece(id) is a printable display form
//     (word-start marker shown as U+2581 "▁", raw bytes as "<0xAB>").
//   - checksum() identifies the model; corpora store it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/corpus.h"

namespace tokvec {

struct BpeTrainConfig {
  std::vector<std::string> inputs;
  uint32_t vocab_size = 32000;
  uint64_t min_frequency = 2;  ///< a pair seen fewer times is never merged
  int threads = 0;             ///< 0 = all cores
  bool quiet = false;
  void validate() const;
};

class BpeModel {
 public:
  BpeModel() = default;
  static BpeModel load(const std::string& path);
  /// Writes the model atomically.
  void save(const std::string& path) const;

  uint32_t vocab_size() const noexcept;
  uint64_t checksum() const noexcept;
  std::string_view piece(uint32_t id) const;
  /// Appends the ids of one line (the text holds no '\n') to `out`.
  void encode_line(std::string_view line, std::vector<uint32_t>& out) const;
  /// The ids of one word as it appears after a space (word-start marker included).
  std::vector<uint32_t> encode_word(std::string_view word) const;
  /// The text of a sequence of ids from one line (no newline added).
  std::string decode(std::span<const uint32_t> ids) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

/// Trains merges on the config's inputs.
BpeModel train_bpe(const BpeTrainConfig& config);

/// Encodes a text file into a token corpus (oneTBB pipeline over blocks of the file).
CorpusData encode_file(const BpeModel& model, const std::string& input_path, int threads, bool quiet = true);

}  // namespace tokvec
