// Skip-gram training with negative sampling over a token corpus: the configuration, the
// initial state and the multithreaded training loop.
//
// Threads (OpenMP, one long parallel region): the corpus is cut into one contiguous shard
// per thread, boundaries moved to a line end where one is near. Each epoch, each thread
// starts with its own shard; a thread whose range has run out takes over the second half
// of the largest untrained rest of another thread's range in the same epoch (work sharing,
// so no thread idles at the end when the other ran slower). Each thread walks its range
// segment by segment (a segment is a line, or up to kSegmentTokens tokens of a longer
// line), drops frequent tokens by subsampling, and trains every kept token's window
// (random shrinking: the half-width is uniform in [1, window]) with sgns.h's kernel. A
// window never crosses a segment, so never a line end. The learning rate decays linearly
// from `lr` to lr·1e-4 over epochs x tokens, driven by a global token count that each
// thread adds to once per segment.
//
// Per-row update counts (kept in TrainingState, for the audit), in pairs, the unit of the
// classic word2vec step, whatever the kernel:
//   input_updates[x]            pair updates row x of the input matrix received. In
//                               word2vec's and HogBatch's skip-gram the input row updated by
//                               a pair is the context token's (the centre is the target), so
//                               this counts x's occurrences inside the kept windows of
//                               other tokens; the pair set is symmetric, so it equals (up to
//                               window-shrinking noise) the pairs x had as a centre token.
//   output_positive_updates[y]  pairs in which output row y was the positive target
//   output_negative_updates[y]  pairs in which output row y was a negative sample
// Each thread counts the first 65,536 rows (the most frequent ones in words mode) in its own
// arrays, added to the state's when run() returns, and the rarer rows straight into the
// state's arrays with an atomic add: exact counts, no atomic on the frequent rows, and
// per-thread memory that does not grow with the vocabulary.
//
// Reproducibility: all randomness comes from Rng(seed, thread) per thread and Rng(seed,
// row) for the initial input rows; with one thread, the same seed gives bit-identical
// vectors. With more threads Hogwild's races make runs differ slightly.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"

namespace tokvec {

/// Tokens per segment when a line is longer (word2vec uses 1000): windows do not cross
/// segment boundaries, which costs < 0.1 % of the pairs at window 5.
inline constexpr uint64_t kSegmentTokens = 4096;

/// The SGNS step: HogBatch (one draw of negatives shared by a window's pairs) or word2vec.c's
/// pair step (negatives drawn per pair).
enum class Kernel { hogbatch, pair };

/// The kernel's name in config.json and the front ends: "hogbatch" or "pair".
std::string_view kernel_name(Kernel kernel) noexcept;
/// The kernel named `name`, or nullopt.
std::optional<Kernel> parse_kernel(std::string_view name) noexcept;
/// parse_kernel, or a FieldError (usage) on "kernel": "must be hogbatch or pair, got 'NAME'".
Kernel kernel_from_name(std::string_view name);

struct TrainConfig {
  uint32_t dim = 100;        ///< embedding dimension, [1, 4096]
  uint32_t window = 5;       ///< maximum context half-width, [1, 100]
  uint32_t negative = 5;     ///< negatives per window (HogBatch) or per pair, [1, 100]
  double sample = 1e-4;      ///< subsampling threshold t, [0, 1]; 0 keeps every token
  uint64_t min_count = 5;    ///< words mode: rarer words are dropped, [1, 2^32]
  uint32_t epochs = 1;       ///< passes over the corpus, [1, 1000]
  int threads = 0;           ///< 0 = all cores
  /// Initial learning rate, decayed linearly to lr·1e-4. Measured on gut100m (words, 1
  /// epoch, HogBatch, 2 threads; analogy % / WS-353): 0.025 -> 13.28 / 0.420,
  /// 0.05 -> 18.57 / 0.517, 0.075 -> 14.66 / 0.513. 0.05 is also fastText's default.
  double lr = 0.05;
  uint64_t seed = 1;
  Kernel kernel = Kernel::hogbatch;
  /// No progress line on stderr. A display option of this session, not a setting of the
  /// model: to_json() leaves it out (earlier versions wrote it; from_json ignores it).
  bool quiet = false;

  /// Checks every option's range (usage errors naming the option).
  void validate() const;
  /// validate() plus what depends on the corpus: an empty corpus, fewer tokens than
  /// threads, a corpus shorter than the window (input errors naming `corpus_name`).
  void validate(const CorpusView& corpus, const std::string& corpus_name) const;
  /// The same checks from the corpus's sizes alone (before a streamed corpus is written).
  void validate(uint64_t token_count, size_t vocab_size, const std::string& corpus_name) const;
  nlohmann::json to_json() const;
  /// Reads the keys to_json() writes; missing keys keep their defaults, unknown keys are
  /// ignored (other fields of config.json), wrong types are usage errors naming the key and
  /// `source` (the file the settings came from).
  static TrainConfig from_json(const nlohmann::json& j, const std::string& source = "training configuration");
};

/// A run folder's config.json (read from `config_file`): from_json and validate(), every
/// error a corrupt error naming the file (config.json is tokvec's own file, so a bad value
/// there was edited in).
TrainConfig run_config_from_json(const nlohmann::json& config, const std::string& config_file);

/// train --resume: the settings a paused run continues with. `config` is the run's
/// config.json (read from `config_file`), `recorded` the settings the checkpoint being
/// resumed recorded when the run began (TrainingState::config_json, from `recorded_file`).
/// The recorded settings win: every key they hold (but "quiet") must be in config.json
/// with the same value, else a corrupt error naming `config_file`, the key and both values
/// (an edit would train the rest of the run with other settings than its start, or with
/// a corpus or tokenizer the vectors do not belong to). Returns the recorded TrainConfig.
TrainConfig resume_settings(const nlohmann::json& config, const std::string& config_file, const std::string& recorded,
                            const std::string& recorded_file);

/// train --resume: config.json's record of the run's corpus ("mode", "tokenizer_kind",
/// "tokenizer_checksum") against the corpus itself (`corpus_file`'s tokenizer kind and
/// checksum); a difference is a corrupt error naming `config_file` and the key.
void check_config_matches_corpus(const nlohmann::json& config, const std::string& config_file, const std::string& corpus_file,
                                 TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum);

/// The initial value of input row `row` for a run with `seed`: uniform in
/// [-0.5/dim, 0.5/dim) from Rng(seed, row), so it can be recomputed without storing it
/// (the audit's drift from initialisation). Writes `dim` floats.
void initial_input_row(uint64_t seed, uint32_t row, std::span<float> out);

/// Prepares a fresh state for `corpus`: vocabulary and frequencies from the corpus,
/// input rows from initial_input_row, output rows zero, counts zero, progress zero.
TrainingState initial_state(const CorpusView& corpus, const std::vector<std::string>& vocab,
                            TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum, const TrainConfig& config);

/// Trains `state` (from initial_state, or a paused state / checkpoint whose cursor is not
/// empty) on `corpus` until every epoch is done; then state.cursor is empty and
/// state.finished(). Progress goes to stderr unless config.quiet. Throws usage/input errors
/// from validate() and any error raised inside the threads (re-thrown after they have all
/// stopped).
void train(const CorpusView& corpus, const TrainConfig& config, TrainingState& state);

/// The progress of a whole distributed job (src/distributed/distributed.h), for the learning-rate decay of
/// one of its processes. Called by each thread once per segment with this process's
/// tokens_done; returns the fraction of the job's tokens done, in [0, 1], which replaces
/// tokens_done / tokens_total. Must be thread-safe and cheap.
class JobProgress {
 public:
  virtual ~JobProgress() = default;
  virtual double fraction_done(uint64_t local_tokens_done) noexcept = 0;
  /// Bounded staleness (src/distributed/distributed.h, SyncOptions::tokens): called by each thread at a segment
  /// start with this process's tokens_done; blocks while the process is too far ahead of
  /// its last completed sync and returns whether it blocked (the thread then checks the
  /// pause conditions again before it trains on). The default never blocks.
  virtual bool wait_for_sync(uint64_t local_tokens_done) { (void)local_tokens_done; return false; }
};

/// Checks that a paused state's cursor fits `corpus` and `config` (what train() would
/// refuse), with errors naming `path` and section CURS; `train --resume` calls it on the
/// checkpoint it picked, so that a bad cursor is reported against the file that holds it.
void check_cursor(const TrainingState& state, const CorpusView& corpus, const TrainConfig& config, const std::string& path);

/// When Trainer::run() (or train()) should pause (for a checkpoint, or because the user asked to stop). Each
/// thread checks at its next segment boundary (at most kSegmentTokens tokens away), so a
/// pause is quick and lands where the cursor can describe it exactly.
struct TrainPause {
  uint64_t at_tokens = UINT64_MAX;  ///< pause once tokens_done (over all epochs) reaches this
  double after_seconds = 0.0;       ///< pause after this much wall time in this call; 0 = never
  const std::atomic<bool>* interrupt = nullptr;  ///< pause as soon as this becomes true
  /// Distributed training only (not a pause condition): the job's progress drives the
  /// learning rate instead of this process's.
  JobProgress* job = nullptr;
  /// Not a pause condition either: a caller that trains in stretches (pausing for
  /// checkpoints and log lines) gives when and at what tokens_done its run began, so that
  /// the progress line's rate, ETA and closing time cover the run, not the last stretch.
  std::optional<std::chrono::steady_clock::time_point> run_started{};
  uint64_t run_started_tokens = 0;
};

/// Trains one run in stretches: built once per run (samplers, tables, each thread's scratch
/// space and counters), then run() trains until every epoch is done or until the stop
/// condition says to pause, and returns; calling run() again continues exactly where it
/// stopped (with one thread, bit-identically to a run that never paused).
///
/// `state` (from initial_state, or a paused state / checkpoint whose cursor is not empty)
/// is trained in place and must outlive the Trainer, as must the data `corpus` views (the
/// view itself is copied). When run() returns,
/// `state` holds the merged counts, the progress and, in state.cursor, every thread's
/// position and RNG: a checkpoint written from it resumes exactly. Between runs the caller
/// may read the state and change the weights (a distributed job averages them), nothing
/// else. A paused state continues with the thread count it started with (the cursor holds
/// one position per thread), whatever config.threads says.
class SubwordMap;  // src/sgns/subword.h

class Trainer {
 public:
  /// Throws usage/input errors from config.validate() and an internal error when `state`
  /// does not belong to `corpus` and `config`.
  Trainer(const CorpusView& corpus, const TrainConfig& config, TrainingState& state);
  /// A subword run (train --subwords): the corpus's words are composed from the rows
  /// `subwords` gives (state from initial_subword_state; the hogbatch kernel only).
  Trainer(const CorpusView& corpus, const TrainConfig& config, TrainingState& state,
          std::shared_ptr<const SubwordMap> subwords);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Trains until the run is done (returns true; state.cursor is then empty) or `stop`
  /// says to pause (returns false). Progress goes to stderr unless config.quiet. Throws any
  /// error raised inside the threads (re-thrown after they have all stopped); the Trainer
  /// cannot continue after that.
  bool run(const TrainPause& stop = {});
  bool finished() const noexcept;
  /// Training threads (those of the cursor the state was paused with, else config.threads
  /// resolved); 0 once finished.
  int threads() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Trainer(corpus, config, state).run(pause): one stretch of a run, with the Trainer built
/// for it. Returns state.finished().
bool train(const CorpusView& corpus, const TrainConfig& config, TrainingState& state, const TrainPause& pause);

}  // namespace tokvec
