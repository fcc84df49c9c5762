// One rank's part of a distributed job: training stretches with a communication thread
// beside the workers, then the combination and the gathering of the job's totals.
#include "distributed/mpi/rank_job.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "base/config.h"
#include "base/interrupt.h"
#include "base/io.h"
#include "sgns/sampler.h"
#include "tokvec/status.h"

namespace tokvec::distributed {

namespace {

using Clock = std::chrono::steady_clock;

/// The job's progress for the learning rate (distributed.h): G + P·(l − L); and, with
/// --sync-tokens T, the bounded staleness: the workers wait at L + 2T.
class GlobalProgress final : public JobProgress {
 public:
  GlobalProgress(uint64_t global_done, uint64_t local_done, int ranks, uint64_t global_total, uint64_t sync_tokens)
      : observed_(local_done), global_(global_done), local_(local_done), ranks_(ranks),
        total_(static_cast<double>(global_total)), sync_tokens_(sync_tokens) {}
  double fraction_done(uint64_t local) noexcept override {
    uint64_t seen = observed_.load(std::memory_order_relaxed);
    while (local > seen && !observed_.compare_exchange_weak(seen, local, std::memory_order_relaxed)) {
    }
    const uint64_t g = global_.load(std::memory_order_relaxed), l = local_.load(std::memory_order_relaxed);
    const double estimate = static_cast<double>(g) + static_cast<double>(ranks_) * static_cast<double>(local > l ? local - l : 0);
    return std::min(1.0, estimate / total_);
  }
  /// The newest local count a thread reported (a segment or so behind the truth).
  uint64_t local_done() const noexcept { return observed_.load(std::memory_order_relaxed); }
  void note_local(uint64_t local) noexcept { fraction_done(local); }
  /// L: the local count the last completed sync started from.
  uint64_t synced_local() const noexcept { return local_.load(std::memory_order_relaxed); }
  void synced(uint64_t global_done, uint64_t local_reported) {
    {
      std::lock_guard lock(mutex_);
      local_.store(local_reported, std::memory_order_relaxed);
      global_.store(global_done, std::memory_order_relaxed);
    }
    synced_cv_.notify_all();
  }
  /// With T > 0: a worker at l >= L + 2T tells the comm thread (`on_wait`) and waits for a
  /// sync that moves L past l − 2T, or for release().
  bool wait_for_sync(uint64_t local) override {
    if (sync_tokens_ == 0 || local < synced_local() + 2 * sync_tokens_) return false;
    note_local(local);
    if (on_wait_) on_wait_();
    std::unique_lock lock(mutex_);
    const auto t0 = Clock::now();
    synced_cv_.wait(lock, [&] { return released_ || local < synced_local() + 2 * sync_tokens_; });
    waited_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
    return true;
  }
  /// The comm thread has stopped syncing (the stretch ends): nobody waits any more.
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    synced_cv_.notify_all();
  }
  /// Set before the stretch's workers start: a worker about to wait calls it, so that the
  /// comm thread starts a sync at once instead of at its next tick.
  void set_on_wait(std::function<void()> f) { on_wait_ = std::move(f); }
  uint64_t sync_tokens() const noexcept { return sync_tokens_; }
  /// Worker-seconds spent waiting for syncs in this stretch.
  double waited_seconds() {
    std::lock_guard lock(mutex_);
    return waited_seconds_;
  }

 private:
  std::atomic<uint64_t> observed_, global_, local_;
  int ranks_;
  double total_;
  uint64_t sync_tokens_;
  std::mutex mutex_;
  std::condition_variable synced_cv_;
  bool released_ = false;
  double waited_seconds_ = 0.0;
  std::function<void()> on_wait_;
};

/// The communication thread of one stretch: agrees with the other ranks on the job's state
/// and syncs the replicas, until the ranks agree to stop.
class CommThread {
 public:
  /// `goal`: rank 0's (its checkpoint clock decides for the job); nullptr on the others.
  CommThread(const Comm& comm, const Job& job, ReplicaSync& sync, GlobalProgress& progress, std::atomic<bool>& pause,
             const detail::StretchGoal* goal, uint64_t global_done, double& sync_seconds)
      : comm_(comm), job_(job), sync_(sync), progress_(progress), pause_(pause), goal_(goal), last_global_(global_done),
        sync_seconds_(sync_seconds) {
    progress_.set_on_wait([this] {
      {
        std::lock_guard lock(mutex_);
        workers_waiting_ = true;
      }
      wake_.notify_all();
    });
    thread_ = std::thread([this] { or_abort(comm_, [this] { run(); }); });
  }
  /// This rank's workers are done with their shard (the trainer returned finished).
  void local_finished(uint64_t tokens_done) {
    std::lock_guard lock(mutex_);
    finished_ = true;
    final_tokens_ = tokens_done;
    wake_.notify_all();
  }
  Agreement join() {
    thread_.join();
    return result_;
  }

 private:
  bool checkpoint_wanted() const {
    if (goal_ == nullptr || !goal_->checkpoints || goal_->schedule == nullptr) return false;
    return goal_->schedule->due(last_global_, Clock::now()).any();
  }

  void run() {
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(job_.sync.every_seconds));
    const uint64_t v = job_.state.input.rows();
    const uint64_t hot = std::min<uint64_t>(job_.sync.rows, v);
    auto next = Clock::now() + interval;
    bool finish_reported = false;
    for (uint64_t round = 1;; ++round) {
      bool finished = false;
      uint64_t local = 0;
      {
        std::unique_lock lock(mutex_);
        // A rank that has just finished syncs at once, so the last one to finish ends the job
        // without waiting for its next tick. With --sync-tokens T, so does a rank whose
        // workers have trained T tokens since the last sync began (polled every 2 ms) or
        // have started waiting for a sync.
        const uint64_t T = progress_.sync_tokens();
        auto due = [&] {
          return (finished_ && !finish_reported) || workers_waiting_ ||
                 (T > 0 && progress_.local_done() >= progress_.synced_local() + T);
        };
        while (!due() && Clock::now() < next) {
          wake_.wait_until(lock, T > 0 ? std::min(next, Clock::now() + std::chrono::milliseconds(2)) : next);
        }
        workers_waiting_ = false;
        finished = finished_;
        local = finished_ ? final_tokens_ : progress_.local_done();
      }
      finish_reported = finished;
      next = Clock::now() + interval;
      uint64_t sums[2] = {local, finished ? 1u : 0u}, total[2];
      uint64_t wants[2] = {checkpoint_wanted() ? 1u : 0u, static_cast<uint64_t>(InterruptGuard::signal_number())}, agreed[2];
      comm_.allreduce_politely(sums, total, 2, MPI_SUM);
      comm_.allreduce_politely(wants, agreed, 2, MPI_MAX);
      last_global_ = total[0];
      progress_.synced(total[0], local);
      if (agreed[0] != 0 || agreed[1] != 0) {
        result_.checkpoint = agreed[0] != 0;
        result_.signal = static_cast<int>(agreed[1]);
        pause_.store(true);
        progress_.release();  // workers waiting for a sync go on to the pause
        return;
      }
      if (total[1] == static_cast<uint64_t>(comm_.size())) {
        result_.all_finished = true;
        progress_.release();
        return;
      }
      const auto t0 = Clock::now();
      comm_.sync_rows(sync_, round % job_.sync.full_every == 0 ? v : hot);
      sync_seconds_ += std::chrono::duration<double>(Clock::now() - t0).count();
    }
  }

  const Comm& comm_;
  const Job& job_;
  ReplicaSync& sync_;
  GlobalProgress& progress_;
  std::atomic<bool>& pause_;
  const detail::StretchGoal* goal_;
  uint64_t last_global_;
  double& sync_seconds_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  bool workers_waiting_ = false;
  uint64_t final_tokens_ = 0;
  Agreement result_;
  std::thread thread_;
};

}  // namespace

std::vector<uint64_t> shard_line_ends(std::span<const uint64_t> all, uint64_t b, uint64_t e) {
  std::vector<uint64_t> out;
  for (auto it = std::upper_bound(all.begin(), all.end(), b); it != all.end() && *it <= e; ++it) out.push_back(*it - b);
  if (out.empty() || out.back() != e - b) out.push_back(e - b);
  return out;
}

RankJob::RankJob(const Comm& comm, Job& job)
    : comm_(comm), job_(job), rank_cfg_(job.cfg),
      sync_(job.state.input, job.state.output, job.sync.mode, job.sync.rows, comm.size()) {
  // Each rank its own random streams (subsampling, negatives, windows); the initial rows
  // come from the run's seed and were broadcast, so they are the same everywhere.
  if (comm.rank() > 0) {
    rank_cfg_.seed = splitmix64(job.cfg.seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(comm.rank())));
    rank_cfg_.quiet = true;
  }
  for (const RankCursor& r : job.ranks) global_done_ += r.tokens_done;
}

RankJob::~RankJob() = default;

Agreement RankJob::stretch(const detail::StretchGoal* goal) {
  GlobalProgress progress(global_done_, job_.state.tokens_done, comm_.size(), job_.global_total, job_.sync.tokens);
  std::atomic<bool> pause{false};
  Agreement agreed;
  {
    CommThread thread(comm_, job_, sync_, progress, pause, goal, global_done_, sync_seconds_);
    TrainPause when;
    when.interrupt = &pause;
    when.job = &progress;
    const bool finished = or_abort(comm_, [&] {
      if (!trainer_) trainer_.emplace(job_.corpus.view(), rank_cfg_, job_.state, job_.subwords);
      return trainer_->run(when);
    });
    if (finished) thread.local_finished(job_.state.tokens_done);
    agreed = thread.join();
  }
  waited_seconds_ += progress.waited_seconds();
  // Every rank's workers have stopped at a segment start: one consistent model.
  comm_.combine_all(sync_);
  gather();
  if (comm_.rank() == 0) {
    global_done_ = 0;
    for (const RankCursor& r : ranks_) global_done_ += r.tokens_done;
  }
  comm_.bcast(&global_done_, 1);
  return agreed;
}

void RankJob::gather() {
  TrainingState& s = job_.state;
  const int p = comm_.size();
  const bool root = comm_.rank() == 0;
  ByteWriter mine;
  mine.u64(s.tokens_done);
  mine.u32(s.epochs_done);
  mine.str(s.cursor);
  std::string bytes = std::move(mine.bytes());
  int length = static_cast<int>(bytes.size());
  std::vector<int> lengths(p), offsets(p);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string all;
  if (root) {
    int total = 0;
    for (int r = 0; r < p; ++r) {
      offsets[r] = total;
      total += lengths[r];
    }
    all.resize(static_cast<size_t>(total));
  }
  MPI_Gatherv(bytes.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  const size_t v = s.vocab_size();
  if (root) {
    input_updates_.resize(v);
    positive_.resize(v);
    negative_.resize(v);
  }
  comm_.reduce_to_root(s.input_updates.data(), input_updates_.data(), v, MPI_SUM);
  comm_.reduce_to_root(s.output_positive_updates.data(), positive_.data(), v, MPI_SUM);
  comm_.reduce_to_root(s.output_negative_updates.data(), negative_.data(), v, MPI_SUM);
  comm_.reduce_to_root(&s.loss_sum, &loss_sum_, 1, MPI_SUM);
  comm_.reduce_to_root(&s.loss_count, &loss_count_, 1, MPI_SUM);
  uint64_t sum = checksum64(s.input.storage().data(), s.input.storage().size_bytes()) ^
                 splitmix64(checksum64(s.output.storage().data(), s.output.storage().size_bytes()));
  checksums_.resize(static_cast<size_t>(p));
  MPI_Gather(&sum, 1, MPI_UINT64_T, checksums_.data(), 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (root) {
    ranks_ = job_.ranks;
    for (int r = 0; r < p; ++r) {
      ByteReader reader(std::string_view(all).substr(static_cast<size_t>(offsets[r]), static_cast<size_t>(lengths[r])), "rank",
                        "cursor");
      ranks_[r].tokens_done = reader.u64();
      ranks_[r].epochs_done = reader.u32();
      ranks_[r].trainer_cursor = reader.str();
    }
  }
}

void RankJob::with_job_state(const std::function<void(const TrainingState&)>& use) {
  TrainingState& local = job_.state;
  TrainingState out;
  out.config_json = job_.config_json;
  out.tokenizer_kind = job_.tokenizer_kind;
  out.tokenizer_checksum = job_.tokenizer_checksum;
  out.vocab = std::move(local.vocab);
  out.frequencies = std::move(local.frequencies);
  out.input = std::move(local.input);
  out.output = std::move(local.output);
  out.input_updates = input_updates_;
  out.output_positive_updates = positive_;
  out.output_negative_updates = negative_;
  out.seed = local.seed;
  out.tokens_total = job_.global_total;
  out.loss_sum = loss_sum_;
  out.loss_count = loss_count_;
  set_job_progress(out, ranks_, job_.corpus_tokens, job_.cfg.epochs);
  // The matrices go back to the local state whatever `use` does: the trainer and the sync
  // keep working on them.
  struct Restore {
    TrainingState& local;
    TrainingState& out;
    ~Restore() {
      local.vocab = std::move(out.vocab);
      local.frequencies = std::move(out.frequencies);
      local.input = std::move(out.input);
      local.output = std::move(out.output);
    }
  } restore{local, out};
  use(out);
}

}  // namespace tokvec::distributed
