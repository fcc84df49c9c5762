// The run layer: a run folder (RunDir), its config.json (RunConfig), the one way a
// RUN_DIR|STATE argument is resolved (resolve_run_target), and the training session that
// fills a run folder (TrainingSession: checkpoints, signals, train.log, resume).
//
// RUN_DIR layout (export, eval and audit read it):
//   config.json    RunConfig::to_json: the TrainConfig used (TrainConfig::to_json's keys)
//                  plus "mode" ("words", "bpe" or "corpus"), "input", "corpus",
//                  "tokenizer", "bpe_vocab_size", "lowercase", "version", "init_from" (a run
//                  adapted from another: that run's folder or state), and once the
//                  corpus is known "tokenizer_kind", "tokenizer_checksum" (16 hex digits),
//                  "threads_used", "processes"
//   tokenizer.bpe  the BPE model (BPE runs only; BpeModel::save)
//   corpus.tkc     the token corpus trained on (write_corpus)
//   checkpoint-NNNNNN.tkv  TrainingStates written during training (the `keep` newest)
//   state.tkv      the final TrainingState (save_state): vectors, counts, progress
//   train.log      settings, timings, loss, rows still under-trained as training goes
// Every file is written atomically. config.json is written before any work, then the
// tokenizer and the corpus, then checkpoints, so a run stopped at any point can be resumed:
// from the newest valid checkpoint, or, when there is none yet, from the start with the
// saved config.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokvec/checkpoint.h"
#include "tokvec/status.h"
#include "tokvec/subword.h"
#include "tokvec/trainer.h"

namespace tokvec {

class FolderLock;  // src/base/io.h

// ---- config.json -------------------------------------------------------------------------

/// What a run trains on: text split into words, text with a BPE tokenizer (trained in the
/// run or given), an already encoded token corpus, or words composed of BPE pieces
/// (train --subwords: a words corpus plus the run's tokenizer.bpe).
enum class RunMode { words, bpe, corpus, subwords };
/// "words", "bpe", "corpus" or "subwords".
std::string_view run_mode_name(RunMode mode) noexcept;
/// The mode of a name run_mode_name gives; nullopt for anything else.
std::optional<RunMode> parse_run_mode(std::string_view name) noexcept;

/// A run folder's config.json, typed. Old folders load: every key keeps its meaning, and
/// keys this version does not model are kept as they were (`extra`) and written back.
struct RunConfig {
  RunMode mode = RunMode::bpe;
  std::string input;           ///< the training text (absolute, or "-"); "" for a corpus run
  std::string corpus_path;     ///< corpus runs: the encoded corpus given (absolute)
  std::string tokenizer_path;  ///< a BPE model given instead of training one (absolute)
  uint32_t bpe_vocab = 0;      ///< BPE runs that train their tokenizer: its size
  bool lowercase = false;      ///< words runs: words lowercased before counting and encoding
  /// A run adapted from another (train --init-from): that run's folder or state file
  /// (absolute); "" for a run from scratch. Its tokenizer (words: its vocabulary, then the
  /// new text's words) and both matrices are the start; mode, tokenizer and lowercase are
  /// the source's.
  std::string init_from;
  SubwordConfig subwords;      ///< subword runs: the composition (written only for them)
  TrainConfig train;
  // What only the corpus tells; absent until it is built.
  std::optional<TokenizerKind> tokenizer_kind;
  std::optional<uint64_t> tokenizer_checksum;
  std::optional<int> threads_used;
  std::optional<int> processes;
  /// Every key read that is not modelled above, written back unchanged.
  nlohmann::json extra = nlohmann::json::object();

  nlohmann::json to_json() const;
  /// Reads a config.json object; a bad value is a corrupt error naming `file` and the key
  /// (config.json is tokvec's own file, so a bad value there was edited in).
  static RunConfig from_json(const nlohmann::json& j, const std::string& file);
  /// Reads and parses `file` (not JSON, or not an object: corrupt errors naming it).
  static RunConfig read(const std::string& file);
  /// Writes to_json() to `file` atomically (two-space indented, newline-terminated).
  void write(const std::string& file) const;
  bool operator==(const RunConfig& other) const { return to_json() == other.to_json(); }
};

// ---- Run folders -------------------------------------------------------------------------

/// A run folder this process writes, locked (FolderLock) while the object lives, so that two
/// commands never write one run folder at once.
class RunDir;

/// RunDir::create refusing a folder that is not empty (no `force`): a FieldError (usage) on
/// "output", "DIR is not empty (nothing was changed)". A front end adds, in its own words,
/// how to replace the run or continue it.
class RunFolderNotEmpty : public FieldError {
 public:
  explicit RunFolderNotEmpty(const std::string& dir)
      : FieldError(ErrorKind::usage, "output", dir + " is not empty (nothing was changed)"), dir_(dir) {}
  const std::string& dir() const noexcept { return dir_; }

 private:
  std::string dir_;
};

class RunDir {
 public:
  /// A new run: creates `dir` when missing and locks it. A path that is not a folder is a
  /// FieldError on "output" (usage). A non-empty folder is refused (RunFolderNotEmpty,
  /// nothing changed) unless `force`; its old run is replaced only once
  /// the new run's corpus is known (clear_old_run). Temporaries left by dead processes are
  /// removed first.
  static RunDir create(const std::string& dir, bool force);
  /// An existing run to continue: a missing path or a file is an io error ("no such run
  /// folder to resume"); locked; stale temporaries removed.
  static RunDir open(const std::string& dir);

  const std::string& path() const noexcept { return path_; }
  /// `path()/name`.
  std::string file(std::string_view name) const;
  bool has(std::string_view name) const;
  /// create(): the folder was made here (a run that fails before training removes it again).
  bool created() const noexcept { return created_; }
  /// create(): the folder held nothing (no old run to replace).
  bool was_empty() const noexcept { return was_empty_; }

  /// The files of a run in the folder that a forced new run replaces: config.json,
  /// tokenizer.bpe, corpus.tkc, state.tkv, train.log and the checkpoints present.
  std::vector<std::string> run_files() const;
  /// --force: removes run_files(), then, when the folder held a run (config.json,
  /// state.tkv, train.log or a checkpoint), everything else the old run left (exports,
  /// plots, folders of them). Kept: `inputs` (and any folder holding one) and this
  /// process's own temporary files. A folder that held no run keeps its other files.
  void clear_old_run(const std::vector<std::string>& inputs) const;

  /// The newest checkpoint that loads and validates; newer damaged ones are reported
  /// through `warn` and skipped (resume selection). nullopt when none is usable.
  std::optional<LoadedCheckpoint> newest_checkpoint(const std::function<void(const std::string&)>& warn) const;

 private:
  std::string path_;
  std::shared_ptr<FolderLock> lock_;  // held while the RunDir (or a copy) lives
  bool created_ = false;
  bool was_empty_ = false;
};

// ---- RUN_DIR|STATE arguments -------------------------------------------------------------

/// What a RUN_DIR|STATE argument names: a run folder, or a state/checkpoint file.
struct RunTarget {
  enum class Kind { folder, state_file };
  Kind kind = Kind::folder;
  std::string path;  ///< as given
  std::string dir;   ///< the run folder: `path`, or the folder holding the state file
};

/// The exit code of a RUN_DIR|STATE argument that names nothing: an io error (4).
/// Every command resolves such an argument here:
///   resolve_run_target: a folder, or any existing file (taken to be a state; reading it
///     says what it is when it is not); a missing path is an io error "no such run
///     folder or state file".
RunTarget resolve_run_target(const std::string& arg);
/// For commands that take a run or a vectors file (neighbors, eval, vectors): the target
/// when `arg` is a folder or a file starting with the state magic, else nullopt (and
/// nullopt for a missing path, which the vectors readers report).
std::optional<RunTarget> find_run_target(const std::string& arg);

/// The state a run's results are read from: state.tkv; for an unfinished run (stopped or
/// killed: checkpoints but no state.tkv) its newest valid checkpoint, with a one-line `note`
/// naming it and the resume command. An unfinished run with no usable checkpoint, or a
/// folder that is no run, is an input error saying which. A state file target is read as
/// it is.
struct RunState {
  std::string path;
  TrainingState state;
  std::string note;  ///< "" for a finished run
};
RunState load_run_state(const RunTarget& target);
/// load_run_state(resolve_run_target(dir)).
RunState load_run_state(const std::string& dir);

// ---- Training sessions -------------------------------------------------------------------

/// --checkpoint-every's default: at most ten minutes of work lost to a crash.
inline constexpr const char* kDefaultCheckpointEvery = "10m";

/// When checkpoints are written and how many are kept.
struct CheckpointPolicy {
  CheckpointEvery every = CheckpointEvery::parse(kDefaultCheckpointEvery);
  size_t keep = 2;  ///< the newest kept, [1, 1000]
  /// Test hook: every checkpoint write fails (as on a full disk) after this many bytes.
  uint64_t fail_after_bytes = UINT64_MAX;
  /// FieldError on "keep" outside [1, 1000].
  void validate() const;
};

/// The checkpoint clock of one session: when the next checkpoint falls due (by tokens, by
/// time, or both), re-armed after each one written. Time is passed in, so it is testable.
class CheckpointSchedule {
 public:
  using Clock = std::chrono::steady_clock;
  CheckpointSchedule(const CheckpointEvery& every, uint64_t tokens_done, Clock::time_point now);
  /// The tokens_done at which the next token checkpoint falls due (UINT64_MAX: none).
  uint64_t next_tokens() const noexcept { return next_tokens_; }
  /// Seconds until the time checkpoint falls due (at least 0.001); 0 when not by time.
  double seconds_left(Clock::time_point now) const;
  struct Due {
    bool tokens = false;
    bool time = false;
    bool any() const noexcept { return tokens || time; }
  };
  Due due(uint64_t tokens_done, Clock::time_point now) const;
  /// A checkpoint was written for `due`: re-arms what fell due.
  void written(Due due, uint64_t tokens_done, Clock::time_point now);

 private:
  CheckpointEvery every_;
  uint64_t next_tokens_ = UINT64_MAX;
  Clock::time_point next_time_;
};

/// How a session ended.
struct SessionResult {
  enum class Outcome { finished, already_finished, stopped };
  Outcome outcome = Outcome::finished;
  int signal = 0;          ///< stopped: SIGINT or SIGTERM
  std::string checkpoint;  ///< stopped: the checkpoint holding the progress
  std::string state_path;  ///< already_finished: the run's state.tkv
  int processes = 1;       ///< stopped: the processes of the job (MPI), whose progress it holds
};

/// Options of one session that are not the run's settings (never in config.json).
struct SessionOptions {
  CheckpointPolicy checkpoints;
  bool quiet = false;         ///< no progress or log lines on stderr (warnings still)
  bool allow_binary = false;  ///< train on text that does not look like UTF-8
};

/// Fills a run folder: builds the corpus as the RunConfig says, trains with checkpoints as
/// the policy says (SIGINT/SIGTERM: a checkpoint, then stop), keeps train.log, and writes
/// state.tkv at the end. Under an MPI job (distributed.h), rank 0's session hands the
/// training to the job.
class TrainingSession {
 public:
  /// A new run of `config` (paths absolute) in `dir`, which RunDir::create prepares
  /// (`force`). Bad input fails before the folder changes; a folder created here for a run
  /// that fails before training is removed again.
  static SessionResult start(const RunConfig& config, const std::string& dir, bool force, const SessionOptions& options);
  /// Continues the run in `dir` from its newest valid checkpoint (a damaged newer one is
  /// skipped with a warning), or from the start with its config.json when none was written
  /// yet; rebuilds a missing or damaged corpus.tkc.
  static SessionResult resume(const std::string& dir, const SessionOptions& options);
};

}  // namespace tokvec
