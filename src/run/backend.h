// What a training session drives: a backend that trains the run's state in stretches. The
// session (session.cpp) owns everything around the training, for every backend: when
// checkpoints fall due, writing and pruning them, SIGINT/SIGTERM, train.log and the
// summary. Backends: this process's Trainer (local_backend.cpp), or rank 0's side of a
// distributed job (src/distributed/mpi/), where every decision to pause is collective.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tokvec/run.h"

namespace tokvec::distributed {
struct World;  // distributed/distributed.h
}

namespace tokvec::detail {

/// What one stretch of training aims for.
struct StretchGoal {
  /// The session's checkpoint clock, read (never changed) while the stretch trains; with
  /// `checkpoints` false no checkpoint falls due.
  const CheckpointSchedule* schedule = nullptr;
  bool checkpoints = false;
  /// A pause for a log line at this many tokens done. A backend whose pauses are collective
  /// (they combine the replicas, which changes the model) ignores it.
  uint64_t report_at = UINT64_MAX;
  /// When and at what tokens_done the session began (for the progress line's rate).
  std::chrono::steady_clock::time_point run_started{};
  uint64_t run_started_tokens = 0;
};

/// How a stretch ended.
struct StretchEnd {
  bool finished = false;  ///< the run is done
  bool checkpoint = false;  ///< a checkpoint is due now (the backend agreed on it)
  int signal = 0;           ///< SIGINT/SIGTERM arrived: a checkpoint, then stop
  CheckpointSchedule::Due due;  ///< what fell due on the session's clock (to re-arm it)
};

class TrainingBackend {
 public:
  virtual ~TrainingBackend() = default;
  /// A line for the log before training ("" for none).
  virtual std::string describe() const { return ""; }
  /// Trains until the run is done or a pause (checkpoint, signal, report) is due.
  virtual StretchEnd run(const StretchGoal& goal) = 0;
  /// The run's progress (a distributed job's: every process's tokens).
  virtual uint64_t tokens_done() const = 0;
  virtual uint64_t tokens_total() const = 0;
  /// Calls `use` with the run's whole state as a checkpoint or state.tkv holds it (a
  /// distributed job's: the combined model, the counts and losses summed over the ranks).
  virtual void with_state(const std::function<void(const TrainingState&)>& use) = 0;
  /// The processes that train (an MPI job's ranks), each with its threads.
  virtual int processes() const { return 1; }
  /// Appended to the summary's "trained N tokens in S (R tokens/s)" (e.g. the processes).
  virtual std::string workers() const { return ""; }
  /// Appended to a checkpoint's "N of T tokens".
  virtual std::string checkpoint_note() const { return ""; }
  /// Lines for the log after the summary (the syncs, the ranks' model checksums).
  virtual std::vector<std::string> closing_lines() { return {}; }
};

class RunLog;  // session_detail.h

/// TrainingSession::start and resume, for rank 0 of an MPI job (`world`, which
/// distributed::run_command hands to the command) as well as for one process (nullptr).
SessionResult start_session(const RunConfig& config, const std::string& dir, bool force, const SessionOptions& options,
                            distributed::World* world);
SessionResult resume_session(const std::string& dir, const SessionOptions& options, distributed::World* world);

/// The session's training loop over the backend `make_backend` builds (once signals are
/// guarded): pauses for the progress notes in the log, writes checkpoint number
/// sequence+1, +2, ... when the backend says one is due or a signal arrived (pruning to the
/// policy's `keep`), stops after a signal's checkpoint, and at the end logs the summary and
/// writes state.tkv.
SessionResult train_to_end(const RunDir& dir, uint64_t sequence, const SessionOptions& options, RunLog& log,
                           const std::function<std::unique_ptr<TrainingBackend>()>& make_backend);

/// This process's Trainer on `state` (built once, at the first stretch).
/// `subwords`: a subword run's rows (src/sgns/subword.h), null for the other modes.
std::unique_ptr<TrainingBackend> local_backend(const CorpusView& corpus, const TrainConfig& cfg, TrainingState& state,
                                               std::shared_ptr<const SubwordMap> subwords = nullptr);

}  // namespace tokvec::detail
