// Distributed training over MPI: `mpirun -np P tokvec train ...` trains one model
// with P processes ("ranks"), each with its own threads and its own shard of the corpus.
//
// Roles. Rank 0 (the leader) runs the ordinary training session (src/run), which builds the
// vocabulary or tokenizer and corpus.tkc, writes config.json, and owns the checkpoint
// policy, the checkpoints, state.tkv and train.log for every backend; its backend here is
// the job (lead()), where the local run's is its Trainer. The other ranks (followers) never
// touch the run folder: they receive the job from rank 0 by MPI (settings, vocabulary, counts, the model, and only
// their own shard of the token ids), so no shared filesystem is needed.
//
// Shards. Rank r trains the contiguous token range [r·N/P, (r+1)·N/P) of the corpus (line
// ends inside it are kept; the range ends count as line ends), split among its threads as
// a single process splits the whole corpus. Every rank uses the corpus-wide counts, so the
// negative-sampling and subsampling distributions are the same everywhere.
//
// Synchronisation (a communication thread per rank, beside the OpenMP workers, which never
// wait for it). Every `every_seconds` the thread
//   1. agrees with the others on the job's state: allreduce of (this rank's tokens done,
//      finished?, wants a checkpoint?, signal received?);
//   2. syncs rows [0, R) of both matrices, R = `rows` (ids are sorted by frequency, so these
//      are the most frequent tokens), or R = every row at every `full_every`-th sync.
// With s the local rows when the snapshot was taken, b the rows all ranks agreed on at the
// previous sync ("base") and x the live rows, which the workers keep changing meanwhile:
//   mode "sum":      D = allreduce_sum(s - b);  n = b + D;        x += n - s;  b = n
//   mode "average":  S = allreduce_sum(s);      n = S / P;        x += n - s
//   mode "adaptive": D = allreduce_sum(s - b),  q = allreduce_sum(|s - b|^2) per row,
//                    rho = |D|^2 / q,  n = b + D / max(1, rho);   x += n - s;  b = n
// Adding n - s (rather than storing n) keeps the local progress made during the allreduce,
// x - s, on top of the agreed value. "sum" adds every rank's progress since the last sync,
// as threads sharing one matrix do (Hogwild with one sync interval of delay); "average"
// takes the mean of the replicas (pWord2Vec's MPI version), which divides each rank's
// progress by P; "hybrid" averages rows [0, H) and sums the others (a rare row is mostly
// updated by one rank, whose progress averaging would divide by P); "adaptive" decides per
// row and per sync: rho is 1 when the ranks' deltas are orthogonal (unrelated moves, or one
// rank alone moved the row) and P when they are equal (every rank made the same move), so
// the row gets the sum of the deltas when they add up and their mean when they repeat
// (a per-row form of Maleki et al.'s AdaSum, 2021, which combines gradients the same way).
// The default is "adaptive": with few syncs "sum" overshoots (the summed steps were computed
// against a stale base) and collapsed on gut100m, while "adaptive" scored at least as well
// as "average" at every interval measured and better with frequent syncs
// (docs/distributed.md).
//
// Bounded staleness (`tokens` = T > 0). Time alone lets a rank run arbitrarily far between
// syncs when the collectives are slow (a loaded or oversubscribed machine, a slow link), and
// the model's quality then depends on the scheduler's luck: in tests/mpi_test.sh, 3 ranks on
// 2 cores got 5-17 syncs per run and a held-out loss from 2.98 to 3.22. With T, a rank's comm
// thread also starts a sync once its workers have trained T tokens since the previous one
// began, and the workers wait (at a segment start) when they reach 2T before it completes,
// so no rank ever trains more than 2T tokens on a replica the others have not seen. The
// workers keep training during the sync as long as it takes less than T tokens' time.
//
// Learning rate. It decays with the job's progress, not the rank's: at each sync the ranks
// learn the global token count G and each keeps the local count L it reported; in between
// a thread with local count l uses (G + P·(l − L)) / total as the fraction done.
//
// Code: the sync maths is pure (replica_sync.h, tested on fake replicas in-process); the
// MPI calls are in mpi/transport.h; each rank's part (its Trainer, built once per run, and
// its communication thread) is mpi/rank_job.h; mpi/world.cpp starts the roles.
//
// Checkpoints are collective. A pause (checkpoint due on rank 0's clock or token count,
// SIGINT/SIGTERM on any rank) is decided at a sync, so every rank learns it from the same
// allreduce; the workers stop at a segment start, the ranks combine their models once more
// (full matrices, reduced on rank 0 and broadcast, so all ranks hold bit-identical
// matrices), rank 0 sums the per-row update counts and the losses, gathers every rank's
// cursor and writes one checkpoint in the ordinary TrainingState format. Its CURS section
// then holds a job cursor (see encode_job_cursor) instead of a thread cursor.
// `mpirun -np P tokvec train --resume RUN_DIR` continues it with the same P only.
//
// Failure. A rank that dies (killed, crashed) makes mpirun kill the whole job (Open MPI's
// default) and exit non-zero, naming the rank; an error raised inside a rank after the job
// started is printed by that rank and ends the job by MPI_Abort with the error's exit code.
// Checkpoints are written atomically by rank 0, so the newest complete one stays valid.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "distributed/replica_sync.h"
#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"
#include "tokvec/trainer.h"

namespace tokvec {

namespace detail {
class TrainingBackend;  // src/run/backend.h
}

/// How the ranks keep their replicas of the model together (see the file comment).
struct SyncOptions {
  double every_seconds = 0.25;  ///< interval between syncs, (0, 3600]
  uint64_t rows = 8192;         ///< H: the most frequent rows synced at every sync, >= 1
  uint32_t full_every = 8;      ///< F: every F-th sync moves the full matrices, >= 1
  SyncMode mode = SyncMode::adaptive;  ///< how the replicas combine (see the file comment)
  /// T > 0: a rank also syncs as soon as it has trained T tokens (all its threads) since its
  /// last sync began, and its workers wait when they reach 2T before that sync is done
  /// (bounded staleness); 0: time only
  uint64_t tokens = 0;
  void validate() const;
  std::string to_string() const;
};

/// Where one rank stands in a distributed job (one entry of a job cursor).
struct RankCursor {
  uint64_t begin = 0, end = 0;  ///< its shard of the corpus, [begin, end)
  uint64_t tokens_done = 0;     ///< tokens of its shard done, over all epochs
  uint32_t epochs_done = 0;
  std::string trainer_cursor;   ///< the trainer's own cursor for the shard; empty when done
};

/// A job cursor, stored as the CURS section of a checkpoint written by a distributed job:
/// u32 magic "MPIJ", u32 version 1, u64 corpus tokens, u32 ranks, then per rank: u64 begin,
/// u64 end, u64 tokens_done, u32 epochs_done, str trainer_cursor. The trainer's own cursor
/// starts with u32 version 1 or 2, so the two never collide.
std::string encode_job_cursor(uint64_t corpus_tokens, const std::vector<RankCursor>& ranks);
/// nullopt when `cursor` is a single-process (trainer) cursor or empty; the entries of a job
/// cursor otherwise (corrupt error naming `path` when it is damaged or does not fit a corpus
/// of `corpus_tokens` tokens).
std::optional<std::vector<RankCursor>> decode_job_cursor(const std::string& cursor, const std::string& path,
                                                         uint64_t corpus_tokens);
/// The number of processes that wrote a checkpoint's cursor: P for a job cursor, 1 otherwise.
int cursor_ranks(const std::string& cursor);
/// Refuses (usage error naming both numbers and the command to use) to resume the
/// checkpoint `path` of run `dir` with `ranks` processes when it was written by another
/// number. An empty cursor (nothing to resume) is accepted with any number.
void check_resume_ranks(const std::string& path, const std::string& cursor, int ranks, const std::string& dir);

/// Rank r's shard of n tokens among p ranks: [r·n/p, (r+1)·n/p).
std::pair<uint64_t, uint64_t> rank_shard(uint64_t n, int p, int r);

/// The number of processes the MPI launcher started (Open MPI's OMPI_COMM_WORLD_SIZE,
/// MPICH's PMI_SIZE); 1 when not launched by one.
int launched_world_size();

/// A job's progress from every rank's position: tokens_done the sum, epochs_done the least
/// (at most `epochs`), and the cursor a job cursor, empty once every rank is done.
void set_job_progress(TrainingState& out, const std::vector<RankCursor>& ranks, uint64_t corpus_tokens, uint32_t epochs);

namespace distributed {

/// This process's place in an MPI job of more than one process (run_command makes it and
/// hands it to the command; a process that trains alone has none).
struct World {
  int rank = 0;
  int size = 1;
  SyncOptions sync;           ///< set by the front end before the session starts
  bool handed_over = false;   ///< rank 0: the other ranks are in the job
};

/// A command run under run_command: `world` is nullptr unless this process is rank 0 of a
/// job of more than one process.
using Command = int (*)(int argc, char** argv, World* world);

/// Whether this build has MPI.
bool built_with_mpi() noexcept;

/// Runs `command` (a CLI command's function). Not under an MPI launcher, or with one
/// process: just calls it (world nullptr). Otherwise initialises MPI; rank 0 runs `command`
/// with its World, whose training session drives the job through lead(); the other ranks
/// wait for rank 0's job and train their shards. If rank 0 fails or returns before handing
/// the job over (bad option, bad input, nothing to resume), the other ranks end with the
/// same exit code without printing anything; an error after the hand-over ends the whole
/// job (MPI_Abort) with its exit code.
int run_command(int argc, char** argv, Command command);

/// Rank 0: the backend that trains `state` (fresh from initial_state, or a checkpoint of a
/// job of world.size ranks; moved from) with all ranks, for the session of run `dir` to
/// drive. Errors found before the job is handed over (the rank count of a checkpoint, too
/// few tokens per rank) are thrown; creating the backend hands the job over.
/// `subwords`: a subword run's rows (src/sgns/subword.h), sent to the other ranks; null
/// for the other modes.
std::unique_ptr<detail::TrainingBackend> lead(World& world, const std::string& dir, const CorpusView& corpus, const TrainConfig& cfg,
                                              TrainingState& state, std::shared_ptr<const SubwordMap> subwords = nullptr);

}  // namespace distributed
}  // namespace tokvec
