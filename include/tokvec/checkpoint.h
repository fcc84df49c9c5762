// The training state: everything a run needs to be exported, audited or continued.
//
// The final state of a run (RUN_DIR/state.tkv) and its checkpoints share this format.
// File: a sectioned file (docs/formats.md), magic "TKVSTATE", version 1 (2 when it holds the
// pretraining sections below; version 1 files are what a run not adapted from another
// writes, byte for byte as before), sections:
//   META  str config_json, str tokenizer_kind, u64 tokenizer_checksum, u32 vocab_size,
//         u32 dim, u64 stride, u64 seed, u64 tokens_done, u64 tokens_total,
//         u32 epochs_done, f64 loss_sum, u64 loss_count
//   VOCB  vocab_size strings: each row's token (display form)
//   FREQ  vocab_size u64: corpus frequency of each token
//   WIN_  vocab_size x stride f32: input (centre-token) vectors, the embeddings users keep
//   WOUT  vocab_size x stride f32: output (context) vectors
//   UPIN  vocab_size u64: gradient updates each input row received (as a centre token)
//   UPOS  vocab_size u64: updates each output row received as a positive target
//   UNEG  vocab_size u64: updates each output row received as a negative sample
//   CURS  opaque trainer cursor (thread positions, RNG states), empty when finished
// Version 2, a run adapted from another (train --init-from), adds what its earlier phases
// did; UPIN/UPOS/UNEG then hold the totals over every phase, so this run's own updates are
// the difference:
//   PRET  u32 source_rows (the first rows, which came from the source run), u64 tokens
//         (corpus tokens the earlier phases processed)
//   PFRQ, PUIN, PUPS, PUNG  vocab_size u64 each: the earlier phases' frequencies and
//         updates (as FREQ, UPIN, UPOS, UNEG; 0 for the rows new in this run)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/matrix.h"
#include "tokvec/tokenizer_kind.h"

namespace tokvec {

inline constexpr char kStateMagic[] = "TKVSTATE";
inline constexpr uint32_t kStateVersion = 2;

/// What the phases before this run did to its rows: a run adapted from another (train
/// --init-from) starts from that run's matrices and keeps its counts apart here. Every
/// vector has vocab_size entries; rows from `source_rows` on are new in this run (0).
struct PretrainCounts {
  uint32_t source_rows = 0;  ///< rows taken from the source run (the first ones)
  uint64_t tokens = 0;       ///< corpus tokens processed by the earlier phases
  std::vector<uint64_t> frequencies;  ///< the earlier phases' corpus frequencies, summed
  std::vector<uint64_t> input_updates;
  std::vector<uint64_t> output_positive_updates;
  std::vector<uint64_t> output_negative_updates;
};

struct TrainingState {
  std::string config_json;  ///< the TrainConfig of the run, as JSON
  TokenizerKind tokenizer_kind = TokenizerKind::bpe;
  uint64_t tokenizer_checksum = 0;
  std::vector<std::string> vocab;
  std::vector<uint64_t> frequencies;  ///< this run's corpus frequencies
  Matrix input;   ///< vocab x dim
  Matrix output;  ///< vocab x dim
  /// Updates each row received, over every phase (with `pretrain`: the earlier phases'
  /// plus this run's).
  std::vector<uint64_t> input_updates;
  std::vector<uint64_t> output_positive_updates;
  std::vector<uint64_t> output_negative_updates;
  /// A run adapted from another: its earlier phases' counts; nullopt for a run from scratch.
  std::optional<PretrainCounts> pretrain;
  /// The seed the input rows were initialised from (initial_input_row): the run's, or for
  /// an adapted run its first source's, which also initialises the rows new in it.
  uint64_t seed = 0;
  uint64_t tokens_done = 0;   ///< corpus tokens processed so far, over all epochs
  uint64_t tokens_total = 0;  ///< epochs x corpus tokens: where the learning rate reaches its floor
  uint32_t epochs_done = 0;
  double loss_sum = 0.0;      ///< sum of per-pair losses since the start (for reporting)
  uint64_t loss_count = 0;
  std::string cursor;         ///< opaque trainer cursor; empty when training finished

  uint32_t vocab_size() const noexcept { return static_cast<uint32_t>(vocab.size()); }
  uint32_t dim() const noexcept { return static_cast<uint32_t>(input.cols()); }
  bool finished() const noexcept { return tokens_total > 0 && tokens_done >= tokens_total; }
};

/// Writes the state atomically; `fail_after_bytes` injects a write failure for tests.
void save_state(const std::string& path, const TrainingState& state, uint64_t fail_after_bytes = UINT64_MAX);
/// Loads and validates a state file; errors name the file and the section.
TrainingState load_state(const std::string& path);
/// Lines for `tokvec inspect`.
std::vector<std::string> describe_state(const std::string& path);

// ---- Checkpoints of a run ---------------------------------------------------------------
//
// A run folder holds its checkpoints as checkpoint-NNNNNN.tkv (NNNNNN increasing, so the
// newest sorts last), each a complete TrainingState whose cursor says where every thread
// stands. Each is written atomically, so at every instant the newest complete checkpoint is
// intact on disk; older ones beyond --keep are removed only after a newer one is committed.

/// How often to checkpoint: every `seconds` of training or every `tokens` corpus tokens.
struct CheckpointEvery {
  double seconds = 0.0;  ///< > 0 for a time interval
  uint64_t tokens = 0;   ///< > 0 for a token interval
  /// Parses "30s", "10m", "2h" (time; fractions allowed, at least 1 s) or a plain count of
  /// tokens ("5000000", at least 1000); "0" or "off" disables checkpoints. Usage error
  /// naming --checkpoint-every otherwise.
  static CheckpointEvery parse(std::string_view text);
  bool enabled() const noexcept { return seconds > 0.0 || tokens > 0; }
  std::string to_string() const;
};

/// RUN_DIR/checkpoint-<sequence, 6+ digits>.tkv
std::string checkpoint_path(const std::string& run_dir, uint64_t sequence);
/// The checkpoints of a run folder, oldest first, as (sequence, path).
std::vector<std::pair<uint64_t, std::string>> list_checkpoints(const std::string& run_dir);
/// Removes all but the `keep` newest checkpoints (keep >= 1).
void prune_checkpoints(const std::string& run_dir, size_t keep);

struct LoadedCheckpoint {
  uint64_t sequence = 0;
  std::string path;
  TrainingState state;
};
/// The newest checkpoint that loads and validates. Each newer one that does not is reported
/// through `warn` (its error message) and skipped; nullopt when none is usable.
std::optional<LoadedCheckpoint> load_newest_checkpoint(const std::string& run_dir,
                                                       const std::function<void(const std::string&)>& warn);

}  // namespace tokvec
