// Distributed training over MPI (compiled only when CMake found MPI; distributed.h says
// what it does): starting the processes' roles, rank 0's backend for the training session,
// and the followers' loop.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <tuple>

#include "base/config.h"
#include "base/interrupt.h"
#include "base/io.h"
#include "distributed/distributed.h"
#include "distributed/mpi/rank_job.h"
#include "distributed/mpi/transport.h"
#include "run/backend.h"
#include "tokvec/status.h"

namespace tokvec::distributed {

void Comm::abort_job(const char* message, int code) const {
  std::fprintf(stderr, "tokvec train: error on rank %d of %d: %s; ending the whole job\n", rank_, size_, message);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

namespace {

std::string mb(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  return buf;
}

/// Rank 0's side of the job, driven by its training session like the local trainer: each
/// stretch is collective, and the state it hands the session is the job's.
class LeaderBackend final : public detail::TrainingBackend {
 public:
  /// Errors are thrown before the other ranks get the job (a refused resume, too few tokens
  /// per rank); from the hand-over on, an error ends the whole job.
  LeaderBackend(World& world, const std::string& dir, const CorpusView& corpus, const TrainConfig& cfg, TrainingState& state,
                std::shared_ptr<const SubwordMap> subwords)
      : comm_(world.rank, world.size), threads_(resolve_threads(cfg.threads)) {
    const int p = world.size;
    job_.cfg = cfg;
    job_.subwords = std::move(subwords);
    job_.sync = world.sync;
    job_.corpus_tokens = corpus.tokens.size();
    job_.global_total = static_cast<uint64_t>(cfg.epochs) * job_.corpus_tokens;
    job_.config_json = state.config_json;
    job_.tokenizer_kind = state.tokenizer_kind;
    job_.tokenizer_checksum = state.tokenizer_checksum;
    const std::string where = "checkpoint of " + dir;
    check_resume_ranks(where, state.cursor, p, dir);
    if (state.cursor.empty()) {
      if (state.tokens_done != 0) throw internal_error("a distributed job starts from a fresh state or a job checkpoint");
      for (int r = 0; r < p; ++r) {
        RankCursor c;
        std::tie(c.begin, c.end) = rank_shard(job_.corpus_tokens, p, r);
        job_.ranks.push_back(c);
      }
    } else {
      job_.ranks = *decode_job_cursor(state.cursor, where, job_.corpus_tokens);
    }
    const uint64_t need = std::max<uint64_t>(cfg.window + 1, static_cast<uint64_t>(threads_));
    for (const RankCursor& c : job_.ranks) {
      if (c.end - c.begin < need) {
        throw usage_error("the corpus's " + std::to_string(job_.corpus_tokens) + " tokens are too few for " + std::to_string(p) +
                          " processes: each shard needs at least " + std::to_string(need) +
                          " tokens (window + 1, and one per thread); use fewer processes");
      }
    }
    // From here on the other ranks are in the job: an error ends it with MPI_Abort.
    world.handed_over = true;
    or_abort(comm_, [&] {
      send_job(comm_, job_, state, corpus);
      const RankCursor& me = job_.ranks[0];
      job_.corpus.tokens = corpus.tokens.subspan(me.begin, me.end - me.begin);
      job_.corpus.line_ends = shard_line_ends(corpus.line_ends, me.begin, me.end);
      job_.corpus.counts.assign(corpus.counts.begin(), corpus.counts.end());
      // Rank 0's local state keeps the summed counts and losses of a resumed job (the
      // others start from zero), so the sums at the next checkpoint are the job's totals.
      job_.state = std::move(state);
      job_.state.tokens_done = me.tokens_done;
      job_.state.tokens_total = static_cast<uint64_t>(cfg.epochs) * (me.end - me.begin);
      job_.state.epochs_done = me.epochs_done;
      job_.state.cursor = me.trainer_cursor;
      rank_.emplace(comm_, job_);
    });
    started_ = std::chrono::steady_clock::now();
  }

  std::string describe() const override {
    return "distributed: " + std::to_string(comm_.size()) + " processes x " + std::to_string(threads_) + " threads, about " +
           std::to_string(job_.corpus_tokens / static_cast<uint64_t>(comm_.size())) + " tokens per process; sync " +
           job_.sync.to_string();
  }

  detail::StretchEnd run(const detail::StretchGoal& goal) override {
    const Agreement agreed = rank_->stretch(&goal);
    detail::StretchEnd end;
    end.finished = agreed.all_finished;
    end.checkpoint = agreed.checkpoint;
    end.signal = agreed.signal;
    if (!end.finished && goal.schedule != nullptr) end.due = goal.schedule->due(rank_->global_done(), std::chrono::steady_clock::now());
    return end;
  }
  uint64_t tokens_done() const override { return rank_->global_done(); }
  uint64_t tokens_total() const override { return job_.global_total; }
  void with_state(const std::function<void(const TrainingState&)>& use) override { rank_->with_job_state(use); }
  int processes() const override { return comm_.size(); }
  std::string workers() const override {
    return " with " + std::to_string(comm_.size()) + " processes x " + std::to_string(threads_) + " threads";
  }
  std::string checkpoint_note() const override { return ", all " + std::to_string(comm_.size()) + " ranks"; }
  std::vector<std::string> closing_lines() override {
    const double secs = std::max(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count(), 1e-9);
    const ReplicaSync& sync = rank_->sync();
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "sync: %llu syncs (%llu full), %s sent per rank (%s/s), %.2fs in collectives on rank 0's comm thread "
                  "(overlapped with training), rank 0's workers waited %.2fs for syncs",
                  static_cast<unsigned long long>(sync.syncs), static_cast<unsigned long long>(sync.full_syncs),
                  mb(static_cast<double>(sync.payload_bytes)).c_str(), mb(static_cast<double>(sync.payload_bytes) / secs).c_str(),
                  rank_->sync_seconds(), rank_->waited_seconds());
    std::string sums = "final model checksum by rank:";
    bool same = true;
    for (uint64_t c : rank_->model_checksums()) {
      sums += " " + hex64(c);
      same = same && c == rank_->model_checksums()[0];
    }
    return {buf, sums + (same ? " (all equal)" : " (RANKS DIFFER)")};
  }

 private:
  Comm comm_;
  int threads_;
  Job job_;
  std::optional<RankJob> rank_;
  std::chrono::steady_clock::time_point started_;
};

/// A follower: receives the job and trains its shard, stretch after stretch, until the
/// ranks agree that the job is done (exit 0) or stops on a signal (128 + the signal).
int follow(const Comm& comm) {
  return or_abort(comm, [&] {
    Job job;
    int code = 0;
    if (!receive_job(comm, job, code)) return code;
    InterruptGuard interrupt;
    RankJob rank(comm, job);
    for (;;) {
      const Agreement agreed = rank.stretch(nullptr);
      if (agreed.all_finished) return 0;
      if (agreed.signal != 0) return 128 + agreed.signal;
    }
  });
}

}  // namespace

bool built_with_mpi() noexcept { return true; }

int run_command(int argc, char** argv, Command command) {
  if (launched_world_size() <= 1) return command(argc, argv, nullptr);
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    throw internal_error("MPI_Init_thread failed");
  }
  struct Finalize {
    ~Finalize() { MPI_Finalize(); }
  } finalize;
  World world;
  MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world.size);
  if (provided < MPI_THREAD_SERIALIZED) {
    if (world.rank == 0) std::fprintf(stderr, "tokvec: error: the MPI library does not allow MPI calls from a second thread (MPI_THREAD_SERIALIZED)\n");
    return 70;
  }
  if (world.size <= 1) return command(argc, argv, nullptr);
  const Comm comm(world.rank, world.size);
  if (world.rank != 0) return follow(comm);
  // An error before the job is handed over (a refused resume, a bad option) is printed here,
  // as main() would print it, and only then are the followers released: a follower that
  // exits non-zero makes mpirun kill the whole job at once, rank 0 included, which could
  // otherwise lose rank 0's message before it reached stderr. After the hand-over the other
  // ranks wait in the job's collectives, so an error (a checkpoint that cannot be written)
  // ends the whole job.
  try {
    const int code = command(argc, argv, &world);
    if (!world.handed_over) release_followers(comm, code);
    return code;
  } catch (const std::exception&) {
    if (world.handed_over) {
      const ErrorReport e = describe_current_exception();
      comm.abort_job(e.message, e.exit_code);
    }
    const int code = report_current_exception(argc > 0 ? argv[0] : "train");
    release_followers(comm, code);
    return code;
  } catch (...) {
    if (!world.handed_over) release_followers(comm, 70);
    throw;
  }
}

std::unique_ptr<detail::TrainingBackend> lead(World& world, const std::string& dir, const CorpusView& corpus, const TrainConfig& cfg,
                                              TrainingState& state, std::shared_ptr<const SubwordMap> subwords) {
  if (world.size < 2 || world.rank != 0) throw internal_error("distributed::lead called outside rank 0 of an MPI job");
  world.sync.validate();
  return std::make_unique<LeaderBackend>(world, dir, corpus, cfg, state, std::move(subwords));
}

}  // namespace tokvec::distributed
