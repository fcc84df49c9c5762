// One rank's part of a distributed job (distributed.h says what the job does): its shard,
// its replica of the model, its Trainer (built once per run), the replicas' sync and the
// communication thread. Rank 0's session and the followers' loop drive it stretch by
// stretch; every decision to stop a stretch is agreed by all ranks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "distributed/distributed.h"
#include "distributed/mpi/transport.h"
#include "distributed/replica_sync.h"
#include "run/backend.h"
#include "sgns/subword.h"
#include "tokvec/trainer.h"

namespace tokvec::distributed {

/// A rank's shard: its token ids (a view into rank 0's corpus, or received), its line ends
/// rebased to the shard, and the corpus-wide counts.
struct LocalCorpus {
  std::vector<uint32_t> owned;
  std::span<const uint32_t> tokens;
  std::vector<uint64_t> line_ends;
  std::vector<uint64_t> counts;
  CorpusView view() const { return {tokens, line_ends, counts}; }
};

/// The line ends of [b, e) relative to b; e - b always ends the last line.
std::vector<uint64_t> shard_line_ends(std::span<const uint64_t> all, uint64_t b, uint64_t e);

/// What every rank knows of the job (rank 0 sends it, the followers receive it).
struct Job {
  TrainConfig cfg;  ///< the run's settings (seed = the run's seed)
  SyncOptions sync;
  uint64_t corpus_tokens = 0;
  uint64_t global_total = 0;      ///< epochs x corpus tokens
  std::vector<RankCursor> ranks;  ///< shards (and, when resumed, positions) of every rank
  LocalCorpus corpus;
  TrainingState state;  ///< this rank's: full matrices, its own counts and progress
  /// A subword run's rows of each word (src/sgns/subword.h), null for the other modes; the
  /// state's rows are then the words' and the pieces', the corpus counts the words' only.
  std::shared_ptr<const SubwordMap> subwords;
  // Rank 0 only: what the written states carry besides the local state.
  std::string config_json;
  TokenizerKind tokenizer_kind = TokenizerKind::bpe;
  uint64_t tokenizer_checksum = 0;
};

/// Rank 0 sends the job (settings, vocabulary and counts, the model, each rank's shard).
void send_job(const Comm& comm, const Job& job, const TrainingState& s, const CorpusView& corpus);
/// Rank 0 ends before handing a job over: the followers end with `code`.
void release_followers(const Comm& comm, int code);
/// A follower receives the job; false when rank 0 ended before handing one over (`code`
/// is then its exit code).
bool receive_job(const Comm& comm, Job& job, int& code);

/// How a stretch ended, as agreed by all ranks at a sync.
struct Agreement {
  bool all_finished = false;
  bool checkpoint = false;
  int signal = 0;
};

/// One rank's side of the job.
class RankJob {
 public:
  RankJob(const Comm& comm, Job& job);
  ~RankJob();
  RankJob(const RankJob&) = delete;
  RankJob& operator=(const RankJob&) = delete;

  /// Trains until all ranks agree to stop (every rank finished, a checkpoint due on rank
  /// 0's `schedule`, a signal on any rank), then combines the replicas (every rank ends
  /// with the same model) and gathers the job's totals on rank 0. Collective.
  Agreement stretch(const detail::StretchGoal* goal);
  /// Rank 0, after a stretch: calls `use` with the job's state (the combined model, the
  /// summed counts and losses, every rank's position), without copying the matrices.
  void with_job_state(const std::function<void(const TrainingState&)>& use);

  uint64_t global_done() const noexcept { return global_done_; }
  const Job& job() const noexcept { return job_; }
  const ReplicaSync& sync() const noexcept { return sync_; }
  double sync_seconds() const noexcept { return sync_seconds_; }
  double waited_seconds() const noexcept { return waited_seconds_; }
  /// Rank 0, after a stretch: every rank's model checksum.
  const std::vector<uint64_t>& model_checksums() const noexcept { return checksums_; }

 private:
  void gather();

  const Comm& comm_;
  Job& job_;
  TrainConfig rank_cfg_;
  ReplicaSync sync_;
  std::optional<Trainer> trainer_;
  uint64_t global_done_ = 0;
  double sync_seconds_ = 0.0;
  double waited_seconds_ = 0.0;  ///< this rank's workers, waiting for syncs (--sync-tokens)
  // Rank 0, after a stretch: what it gathered from every rank.
  std::vector<RankCursor> ranks_;
  std::vector<uint64_t> input_updates_, positive_, negative_;
  double loss_sum_ = 0.0;
  uint64_t loss_count_ = 0;
  std::vector<uint64_t> checksums_;
};

}  // namespace tokvec::distributed
