// Distributed training over MPI (compiled only when CMake found MPI; distributed.h says
// what it does, this file how).
//
// Threads and MPI. MPI is initialised with MPI_THREAD_SERIALIZED: while the workers train,
// only the rank's communication thread calls MPI; between training rounds (checkpoints, the
// end) only the main thread does. The communication thread never blocks inside MPI: it
// starts non-blocking collectives and polls them with short sleeps, because Open MPI's
// blocking calls spin, and on a machine with as many workers as cores a spinning thread
// would take a core from them while it waits for a slower rank.
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <new>
#include <thread>
#include <tuple>

#include "base/config.h"
#include "distributed/distributed.h"
#include "base/interrupt.h"
#include "base/io.h"
#include "sgns/sampler.h"
#include "tokvec/status.h"

namespace tokvec::distributed {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int g_rank = 0;
int g_size = 1;
bool g_active = false;
bool g_handed_over = false;  ///< rank 0: the followers have started the job
SyncOptions g_sync;

// ---- MPI helpers: element counts are int in MPI, so large arrays go in chunks -----------

constexpr size_t kChunk = size_t{1} << 26;

template <typename T> MPI_Datatype mpi_type();
template <> MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <> MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }
template <> MPI_Datatype mpi_type<uint64_t>() { return MPI_UINT64_T; }
template <> MPI_Datatype mpi_type<uint32_t>() { return MPI_UINT32_T; }
template <> MPI_Datatype mpi_type<char>() { return MPI_CHAR; }

int chunk(size_t n, size_t off) { return static_cast<int>(std::min(kChunk, n - off)); }

template <typename T> void bcast(T* data, size_t n) {
  for (size_t off = 0; off < n; off += kChunk) MPI_Bcast(data + off, chunk(n, off), mpi_type<T>(), 0, MPI_COMM_WORLD);
}

void bcast_string(std::string& s) {
  uint64_t n = s.size();
  bcast(&n, 1);
  s.resize(n);
  bcast(s.data(), n);
}

template <typename T> void send(const T* data, size_t n, int to) {
  for (size_t off = 0; off < n; off += kChunk) MPI_Send(data + off, chunk(n, off), mpi_type<T>(), to, 7, MPI_COMM_WORLD);
}

template <typename T> void recv(T* data, size_t n, int from) {
  for (size_t off = 0; off < n; off += kChunk) {
    MPI_Recv(data + off, chunk(n, off), mpi_type<T>(), from, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
}

/// Sum (or other op) onto rank 0 only; `out` is used on rank 0 only.
template <typename T> void reduce_to_root(const T* in, T* out, size_t n, MPI_Op op) {
  for (size_t off = 0; off < n; off += kChunk) {
    MPI_Reduce(in + off, g_rank == 0 ? out + off : nullptr, chunk(n, off), mpi_type<T>(), op, 0, MPI_COMM_WORLD);
  }
}

/// Waits for a request while leaving the core to the workers (see the file comment).
void wait_politely(MPI_Request& request) {
  for (;;) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

template <typename T> void allreduce_politely(const T* in, T* out, size_t n, MPI_Op op) {
  for (size_t off = 0; off < n; off += kChunk) {
    MPI_Request request;
    MPI_Iallreduce(in + off, out + off, chunk(n, off), mpi_type<T>(), op, MPI_COMM_WORLD, &request);
    wait_politely(request);
  }
}

template <typename T> void allreduce_now(const T* in, T* out, size_t n, MPI_Op op) {
  for (size_t off = 0; off < n; off += kChunk) MPI_Allreduce(in + off, out + off, chunk(n, off), mpi_type<T>(), op, MPI_COMM_WORLD);
}

/// Ends the whole job after an error inside one rank: the message first (mpirun shows each
/// rank's stderr), then MPI_Abort, which makes mpirun kill every rank and exit with `code`.
[[noreturn]] void abort_job(const char* message, int code) {
  std::fprintf(stderr, "tokvec train: error on rank %d of %d: %s; ending the whole job\n", g_rank, g_size, message);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

template <typename F> auto or_abort(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception&) {
    const ErrorReport e = describe_current_exception();  // the message and exit code main() would give
    abort_job(e.message, e.exit_code);
  }
}

// ---- The job every rank runs ------------------------------------------------------------

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
std::vector<uint64_t> shard_line_ends(std::span<const uint64_t> all, uint64_t b, uint64_t e) {
  std::vector<uint64_t> out;
  for (auto it = std::upper_bound(all.begin(), all.end(), b); it != all.end() && *it <= e; ++it) out.push_back(*it - b);
  if (out.empty() || out.back() != e - b) out.push_back(e - b);
  return out;
}

struct Job {
  TrainConfig cfg;         ///< the run's settings (seed = the run's seed)
  SyncOptions sync;
  uint64_t corpus_tokens = 0;
  uint64_t global_total = 0;  ///< epochs x corpus tokens
  std::vector<RankCursor> ranks;  ///< shards (and, when resumed, positions) of every rank
  LocalCorpus corpus;
  TrainingState state;  ///< this rank's: full matrices, its own counts and progress
  LeaderJob* leader = nullptr;  ///< rank 0 only
  // Rank 0 only: what the written states carry besides the local state.
  std::string config_json, tokenizer_kind;
  uint64_t tokenizer_checksum = 0;
};

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
  /// The comm thread has stopped syncing (the round ends): nobody waits any more.
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    synced_cv_.notify_all();
  }
  /// Set before the round's workers start: a worker about to wait calls it, so that the comm
  /// thread starts a sync at once instead of at its next tick.
  void set_on_wait(std::function<void()> f) { on_wait_ = std::move(f); }
  uint64_t sync_tokens() const noexcept { return sync_tokens_; }
  /// Worker-seconds spent waiting for syncs in this round.
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

/// The model replicas' synchronisation (the maths is in distributed.h).
class SyncEngine {
 public:
  SyncEngine(Matrix& in, Matrix& out, const SyncOptions& options)
      : in_(in), out_(out), mode_(mode_of(options.mode)),
        hybrid_rows_(mode_ == Mode::hybrid ? std::min<uint64_t>(options.rows, in.rows()) : 0) {
    if (mode_ != Mode::average) {
      base_in_ = in;
      base_out_ = out;
    }
  }

  /// Rows [0, r) of both matrices, while the workers keep training.
  void sync_rows(size_t r) {
    const auto t0 = Clock::now();
    const size_t d = in_.cols();
    const size_t values = 2 * r * d;
    // Mode adaptive also sends each row's ‖s − b‖², after the 2·r·d values.
    const size_t n = values + (mode_ == Mode::adaptive ? 2 * r : 0);
    if (snap_.size() < values) snap_.resize(values);
    if (send_.size() < n) {
      send_.resize(n);
      recv_.resize(n);
    }
    size_t k = 0;
    for (Matrix* m : {&in_, &out_}) {
      for (size_t row = 0; row < r; ++row, k += d) std::memcpy(&snap_[k], m->row(row), d * sizeof(float));
    }
    k = 0;
    size_t norm_at = values;
    for (Matrix* b : {&base_in_, &base_out_}) {
      for (size_t row = 0; row < r; ++row) {
        const Rule rule = rule_of(row);
        const float* base = rule != Rule::average ? b->row(row) : nullptr;
        const size_t first = k;
        for (size_t c = 0; c < d; ++c, ++k) send_[k] = base != nullptr ? snap_[k] - base[c] : snap_[k];
        if (rule == Rule::adaptive) send_[norm_at++] = squared_norm(&send_[first], d);
      }
    }
    // Blocking: the control allreduce just before this one has brought every rank here, so
    // nobody waits long, and the collective runs at full speed instead of one polled step
    // at a time.
    allreduce_now(send_.data(), recv_.data(), n, MPI_SUM);
    k = 0;
    norm_at = values;
    Matrix* bases[2] = {&base_in_, &base_out_};
    int which = 0;
    for (Matrix* m : {&in_, &out_}) {
      Matrix* b = bases[which++];
      for (size_t row = 0; row < r; ++row, k += d) {
        const Rule rule = rule_of(row);
        const float gain = rule == Rule::adaptive ? adaptive_gain(&recv_[k], d, recv_[norm_at++]) : 1.0f;
        float* base = rule != Rule::average ? b->row(row) : nullptr;
        agree(rule, &recv_[k], base, gain, d, &snap_[k], m->row(row));
      }
    }
    ++syncs;
    if (r == in_.rows()) ++full_syncs;
    payload_bytes += n * sizeof(float);
    seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  /// Every row, with the workers stopped: reduced on rank 0 and broadcast, so that every
  /// rank ends with bit-identical matrices.
  void combine_all() {
    Matrix* bases[2] = {&base_in_, &base_out_};
    int which = 0;
    for (Matrix* m : {&in_, &out_}) {
      Matrix* b = bases[which++];
      std::span<float> x = m->storage();
      const size_t stride = m->stride();
      const size_t rows = m->rows();
      const size_t values = x.size();
      const size_t n = values + (mode_ == Mode::adaptive ? rows : 0);
      if (send_.size() < n) {
        send_.resize(n);
        recv_.resize(n);
      }
      for (size_t row = 0; row < rows; ++row) {
        const float* xr = m->row(row);
        float* out = &send_[row * stride];
        const Rule rule = rule_of(row);
        if (rule != Rule::average) {
          const float* base = b->row(row);
          for (size_t c = 0; c < stride; ++c) out[c] = xr[c] - base[c];
          if (rule == Rule::adaptive) send_[values + row] = squared_norm(out, stride);
        } else {
          std::copy(xr, xr + stride, out);
        }
      }
      reduce_to_root(send_.data(), recv_.data(), n, MPI_SUM);
      if (g_rank == 0) {
        for (size_t row = 0; row < rows; ++row) {
          const Rule rule = rule_of(row);
          const float* in = &recv_[row * stride];
          const float gain = rule == Rule::adaptive ? adaptive_gain(in, stride, recv_[values + row]) : 1.0f;
          float* xr = m->row(row);
          if (rule == Rule::average) {
            for (size_t c = 0; c < stride; ++c) xr[c] = in[c] * inv_ranks();
          } else {
            const float* base = b->row(row);
            for (size_t c = 0; c < stride; ++c) xr[c] = base[c] + gain * in[c];
          }
        }
      }
      bcast(x.data(), values);
      if (mode_ != Mode::average) std::copy(x.begin(), x.end(), b->storage().begin());
    }
  }

  uint64_t syncs = 0, full_syncs = 0, payload_bytes = 0;
  double seconds = 0.0;

 private:
  enum class Mode { average, sum, hybrid, adaptive };
  static Mode mode_of(const std::string& name) {
    if (name == "sum") return Mode::sum;
    if (name == "hybrid") return Mode::hybrid;
    if (name == "adaptive") return Mode::adaptive;
    return Mode::average;  // SyncOptions::validate refused anything else
  }
  /// How a row's replicas combine (distributed.h has the maths).
  enum class Rule { average, sum, adaptive };
  Rule rule_of(size_t row) const noexcept {
    switch (mode_) {
      case Mode::sum: return Rule::sum;
      case Mode::adaptive: return Rule::adaptive;
      case Mode::hybrid: return row < hybrid_rows_ ? Rule::average : Rule::sum;
      case Mode::average: break;
    }
    return Rule::average;
  }
  static float inv_ranks() noexcept { return 1.0f / static_cast<float>(g_size); }

  /// Mode adaptive: D = Σ_r δ_r (the summed deltas, d values) and q = Σ_r ‖δ_r‖². With
  /// ρ = ‖D‖² / q, which is 1 for orthogonal deltas (ranks moved the row in unrelated
  /// directions, or only one rank moved it) and P for equal ones (every rank made the same
  /// move), the row takes b + D / max(1, ρ): the sum when the ranks' progress adds up, the
  /// mean when it repeats.
  static float adaptive_gain(const float* summed, size_t d, float norms) noexcept {
    if (!(norms > 0.0f)) return 1.0f;
    return 1.0f / std::max(1.0f, squared_norm(summed, d) / norms);
  }
  static float squared_norm(const float* v, size_t d) noexcept {
    float total = 0.0f;
    for (size_t c = 0; c < d; ++c) total += v[c] * v[c];
    return total;
  }

  /// n = the agreed row; x += n − s keeps what the workers did during the collective.
  static void agree(Rule rule, const float* reduced, float* base, float gain, size_t d, const float* snap, float* x) noexcept {
    for (size_t c = 0; c < d; ++c) {
      const float agreed = rule == Rule::average ? reduced[c] * inv_ranks() : base[c] + gain * reduced[c];
      x[c] += agreed - snap[c];
      if (base != nullptr) base[c] = agreed;
    }
  }

  Matrix& in_;
  Matrix& out_;
  Mode mode_;
  size_t hybrid_rows_;    ///< hybrid: rows [0, H) averaged, the rest summed; else 0
  Matrix base_in_, base_out_;  ///< b: what all ranks agreed on (every mode but average)
  std::vector<float> snap_, send_, recv_;
};

/// How a round of training ended, as agreed by all ranks at a sync.
struct Agreement {
  bool all_finished = false;
  bool checkpoint = false;
  int signal = 0;
  uint64_t global_done = 0;
};

/// The communication thread of one training round.
class CommThread {
 public:
  CommThread(Job& job, SyncEngine& engine, GlobalProgress& progress, std::atomic<bool>& pause, Clock::time_point checkpoint_due,
             uint64_t checkpoint_tokens)
      : job_(job), engine_(engine), progress_(progress), pause_(pause), checkpoint_due_(checkpoint_due),
        checkpoint_tokens_(checkpoint_tokens) {
    progress_.set_on_wait([this] {
      {
        std::lock_guard lock(mutex_);
        workers_waiting_ = true;
      }
      wake_.notify_all();
    });
    thread_ = std::thread([this] { or_abort([this] { run(); }); });
  }
  /// This rank's workers are done with their shard (train() returned finished).
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
      uint64_t wants[2] = {0, static_cast<uint64_t>(InterruptGuard::signal_number())}, agreed[2];
      if (job_.leader != nullptr && job_.leader->every.enabled()) {
        const bool time_due = job_.leader->every.seconds > 0 && Clock::now() >= checkpoint_due_;
        const bool tokens_due = job_.leader->every.tokens > 0 && last_global_ >= checkpoint_tokens_;
        wants[0] = time_due || tokens_due ? 1 : 0;
      }
      allreduce_politely(sums, total, 2, MPI_SUM);
      allreduce_politely(wants, agreed, 2, MPI_MAX);
      last_global_ = total[0];
      progress_.synced(total[0], local);
      result_.global_done = total[0];
      if (agreed[0] != 0 || agreed[1] != 0) {
        result_.checkpoint = agreed[0] != 0;
        result_.signal = static_cast<int>(agreed[1]);
        pause_.store(true);
        progress_.release();  // workers waiting for a sync go on to the pause
        return;
      }
      if (total[1] == static_cast<uint64_t>(g_size)) {
        result_.all_finished = true;
        progress_.release();
        return;
      }
      engine_.sync_rows(round % job_.sync.full_every == 0 ? v : hot);
    }
  }

  Job& job_;
  SyncEngine& engine_;
  GlobalProgress& progress_;
  std::atomic<bool>& pause_;
  Clock::time_point checkpoint_due_;
  uint64_t checkpoint_tokens_;
  uint64_t last_global_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  bool workers_waiting_ = false;
  uint64_t final_tokens_ = 0;
  Agreement result_;
  std::thread thread_;
};

/// What rank 0 collects from every rank after the models are combined.
struct Gathered {
  std::vector<RankCursor> ranks;
  std::vector<uint64_t> input_updates, positive, negative;
  double loss_sum = 0.0;
  uint64_t loss_count = 0;
  std::vector<uint64_t> model_checksums;
};

Gathered gather(Job& job) {
  TrainingState& s = job.state;
  Gathered g;
  ByteWriter mine;
  mine.u64(s.tokens_done);
  mine.u32(s.epochs_done);
  mine.str(s.cursor);
  std::string bytes = std::move(mine.bytes());
  int length = static_cast<int>(bytes.size());
  std::vector<int> lengths(g_size), offsets(g_size);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string all;
  if (g_rank == 0) {
    int total = 0;
    for (int r = 0; r < g_size; ++r) {
      offsets[r] = total;
      total += lengths[r];
    }
    all.resize(static_cast<size_t>(total));
  }
  MPI_Gatherv(bytes.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  const size_t v = s.vocab_size();
  if (g_rank == 0) {
    g.input_updates.resize(v);
    g.positive.resize(v);
    g.negative.resize(v);
  }
  reduce_to_root(s.input_updates.data(), g.input_updates.data(), v, MPI_SUM);
  reduce_to_root(s.output_positive_updates.data(), g.positive.data(), v, MPI_SUM);
  reduce_to_root(s.output_negative_updates.data(), g.negative.data(), v, MPI_SUM);
  reduce_to_root(&s.loss_sum, &g.loss_sum, 1, MPI_SUM);
  reduce_to_root(&s.loss_count, &g.loss_count, 1, MPI_SUM);
  uint64_t sum = checksum64(s.input.storage().data(), s.input.storage().size_bytes()) ^
                 splitmix64(checksum64(s.output.storage().data(), s.output.storage().size_bytes()));
  g.model_checksums.resize(static_cast<size_t>(g_size));
  MPI_Gather(&sum, 1, MPI_UINT64_T, g.model_checksums.data(), 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  if (g_rank == 0) {
    g.ranks = job.ranks;
    for (int r = 0; r < g_size; ++r) {
      ByteReader reader(std::string_view(all).substr(static_cast<size_t>(offsets[r]), static_cast<size_t>(lengths[r])), "rank",
                        "cursor");
      g.ranks[r].tokens_done = reader.u64();
      g.ranks[r].epochs_done = reader.u32();
      g.ranks[r].trainer_cursor = reader.str();
    }
  }
  return g;
}

/// Rank 0: writes the job's state (checkpoint or final) from its local state and what it
/// gathered, without copying the matrices.
void write_job_state(Job& job, const Gathered& g, const std::string& path, uint64_t fail_bytes) {
  TrainingState& local = job.state;
  TrainingState out;
  out.config_json = job.config_json;
  out.tokenizer_kind = job.tokenizer_kind;
  out.tokenizer_checksum = job.tokenizer_checksum;
  out.vocab = std::move(local.vocab);
  out.frequencies = std::move(local.frequencies);
  out.input = std::move(local.input);
  out.output = std::move(local.output);
  out.input_updates = g.input_updates;
  out.output_positive_updates = g.positive;
  out.output_negative_updates = g.negative;
  out.seed = local.seed;
  out.tokens_total = job.global_total;
  out.tokens_done = 0;
  out.epochs_done = job.cfg.epochs;
  bool all_done = true;
  for (const RankCursor& r : g.ranks) {
    out.tokens_done += r.tokens_done;
    out.epochs_done = std::min(out.epochs_done, r.epochs_done);
    all_done = all_done && r.trainer_cursor.empty();
  }
  out.loss_sum = g.loss_sum;
  out.loss_count = g.loss_count;
  out.cursor = all_done ? std::string() : encode_job_cursor(job.corpus_tokens, g.ranks);
  auto restore = [&] {
    local.vocab = std::move(out.vocab);
    local.frequencies = std::move(out.frequencies);
    local.input = std::move(out.input);
    local.output = std::move(out.output);
  };
  try {
    save_state(path, out, fail_bytes);
  } catch (...) {
    restore();
    throw;
  }
  restore();
}

std::string mb(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  return buf;
}

/// Trains this rank's shard with the others until the job ends; returns the exit code.
int run_job(Job& job) {
  InterruptGuard interrupt;
  LeaderJob* lead = job.leader;
  TrainConfig rank_cfg = job.cfg;
  // Each rank its own random streams (subsampling, negatives, windows); the initial rows
  // come from the run's seed and were broadcast, so they are the same everywhere.
  if (g_rank > 0) rank_cfg.seed = splitmix64(job.cfg.seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(g_rank)));
  if (g_rank > 0) rank_cfg.quiet = true;
  SyncEngine engine(job.state.input, job.state.output, job.sync);
  uint64_t global_done = 0;
  for (const RankCursor& r : job.ranks) global_done += r.tokens_done;
  const uint64_t start_done = global_done;
  const auto t0 = Clock::now();
  auto every_seconds = [&] {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(lead != nullptr ? lead->every.seconds : 0.0));
  };
  Clock::time_point checkpoint_due = Clock::now() + every_seconds();
  uint64_t checkpoint_tokens =
      lead != nullptr && lead->every.tokens > 0 ? global_done + lead->every.tokens : UINT64_MAX;
  uint64_t sequence = lead != nullptr ? lead->sequence : 0;
  double waited_seconds = 0.0;  // this rank's workers, waiting for syncs (--sync-tokens)
  for (;;) {
    GlobalProgress progress(global_done, job.state.tokens_done, g_size, job.global_total, job.sync.tokens);
    std::atomic<bool> pause{false};
    CommThread comm(job, engine, progress, pause, checkpoint_due, checkpoint_tokens);
    TrainPause when;
    when.interrupt = &pause;
    when.job = &progress;
    const bool finished = or_abort([&] { return train(job.corpus.view(), rank_cfg, job.state, when); });
    if (finished) comm.local_finished(job.state.tokens_done);
    const Agreement agreed = comm.join();
    waited_seconds += progress.waited_seconds();
    global_done = agreed.global_done;
    // Every rank's workers have stopped at a segment start: one consistent model.
    engine.combine_all();
    Gathered g = gather(job);
    if (g_rank == 0) {
      global_done = 0;
      for (const RankCursor& r : g.ranks) global_done += r.tokens_done;
    }
    bcast(&global_done, 1);
    if (agreed.all_finished) {
      if (lead != nullptr) {
        or_abort([&] {
          const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
          char buf[400];
          // The whole run's tokens, as the progress line counts them; a resumed run says
          // how many this session trained (its time and rate are this session's).
          std::string count = std::to_string(global_done) + " tokens";
          if (start_done > 0) count += " (" + std::to_string(global_done - start_done) + " of them since the resume)";
          std::snprintf(buf, sizeof buf,
                        "trained %s in %.2fs (%.0f tokens/s) with %d processes x %d threads, mean loss %.4f over %llu pairs",
                        count.c_str(), secs,
                        static_cast<double>(global_done - start_done) / std::max(secs, 1e-9), g_size,
                        resolve_threads(rank_cfg.threads), g.loss_count ? g.loss_sum / static_cast<double>(g.loss_count) : 0.0,
                        static_cast<unsigned long long>(g.loss_count));
          lead->log(buf);
          std::snprintf(buf, sizeof buf,
                        "sync: %llu syncs (%llu full), %s sent per rank (%s/s), %.2fs in collectives on rank 0's comm thread "
                        "(overlapped with training), rank 0's workers waited %.2fs for syncs",
                        static_cast<unsigned long long>(engine.syncs), static_cast<unsigned long long>(engine.full_syncs),
                        mb(static_cast<double>(engine.payload_bytes)).c_str(),
                        mb(static_cast<double>(engine.payload_bytes) / std::max(secs, 1e-9)).c_str(), engine.seconds,
                        waited_seconds);
          lead->log(buf);
          std::string sums = "final model checksum by rank:";
          bool same = true;
          for (uint64_t c : g.model_checksums) {
            sums += " " + hex64(c);
            same = same && c == g.model_checksums[0];
          }
          lead->log(sums + (same ? " (all equal)" : " (RANKS DIFFER)"));
          // The state holds the summed counts; log the coverage of the written state.
          const std::string path = (fs::path(lead->dir) / "state.tkv").string();
          write_job_state(job, g, path, UINT64_MAX);
          lead->log("at the end: " + lead->undertrained(load_state(path)));
          lead->log("wrote " + lead->dir + "/state.tkv");
          lead->save_log();
        });
      }
      return 0;
    }
    if (lead != nullptr && (agreed.checkpoint || agreed.signal != 0)) {
      or_abort([&] {
        ++sequence;
        lead->checkpoint(sequence, [&](const std::string& path) { write_job_state(job, g, path, lead->fault_bytes); },
                         std::to_string(global_done) + " of " + std::to_string(job.global_total) + " tokens, all " +
                             std::to_string(g_size) + " ranks");
      });
    }
    if (agreed.signal != 0) {
      // The front end says where the progress is (TrainingSession's result).
      return 128 + agreed.signal;
    }
    if (agreed.checkpoint) {
      checkpoint_due = Clock::now() + every_seconds();
      if (lead != nullptr && lead->every.tokens > 0) checkpoint_tokens = global_done + lead->every.tokens;
    }
  }
}

// ---- Handing the job over: rank 0 sends, the others receive ------------------------------

void release_followers(int code) {
  uint64_t header[2] = {0, static_cast<uint64_t>(code)};
  bcast(header, 2);
}

std::string encode_job(const Job& job, const TrainingState& s) {
  ByteWriter w;
  w.str(job.cfg.to_json().dump());
  w.f64(job.sync.every_seconds);
  w.u64(job.sync.rows);
  w.u32(job.sync.full_every);
  w.str(job.sync.mode);
  w.u64(job.sync.tokens);
  w.u64(job.corpus_tokens);
  w.u64(job.global_total);
  w.u64(s.seed);
  w.u32(s.vocab_size());
  w.u32(s.dim());
  for (const std::string& t : s.vocab) w.str(t);
  for (uint64_t c : s.frequencies) w.u64(c);
  w.str(encode_job_cursor(job.corpus_tokens, job.ranks));
  return std::move(w.bytes());
}

/// Sends the job (settings, vocabulary and counts, the model, each rank's shard).
void send_job(const Job& job, const TrainingState& s, const CorpusView& corpus) {
  uint64_t header[2] = {1, 0};
  bcast(header, 2);
  std::string blob = encode_job(job, s);
  bcast_string(blob);
  uint64_t sum = checksum64(blob);
  bcast(&sum, 1);
  bcast(const_cast<float*>(s.input.storage().data()), s.input.storage().size());
  bcast(const_cast<float*>(s.output.storage().data()), s.output.storage().size());
  for (int r = 1; r < g_size; ++r) {
    const auto [b, e] = std::pair(job.ranks[r].begin, job.ranks[r].end);
    send(corpus.tokens.data() + b, e - b, r);
    std::vector<uint64_t> ends = shard_line_ends(corpus.line_ends, b, e);
    uint64_t n = ends.size();
    send(&n, 1, r);
    send(ends.data(), n, r);
  }
}

/// Receives the job on a follower; false when rank 0 ended before handing one over
/// (`code` is then its exit code).
bool receive_job(Job& job, int& code) {
  uint64_t header[2];
  bcast(header, 2);
  if (header[0] == 0) {
    code = static_cast<int>(header[1]);
    return false;
  }
  std::string blob;
  bcast_string(blob);
  uint64_t sum = 0;
  bcast(&sum, 1);
  if (sum != checksum64(blob)) throw internal_error("the job received from rank 0 fails its checksum");
  ByteReader r(blob, "job from rank 0", "JOB");
  job.cfg = TrainConfig::from_json(nlohmann::json::parse(r.str()));
  job.sync.every_seconds = r.f64();
  job.sync.rows = r.u64();
  job.sync.full_every = r.u32();
  job.sync.mode = r.str();
  job.sync.tokens = r.u64();
  job.corpus_tokens = r.u64();
  job.global_total = r.u64();
  TrainingState& s = job.state;
  s.seed = r.u64();
  const uint32_t v = r.u32();
  const uint32_t dim = r.u32();
  s.vocab.resize(v);
  for (std::string& t : s.vocab) t = r.str();
  s.frequencies.resize(v);
  for (uint64_t& c : s.frequencies) c = r.u64();
  job.ranks = *decode_job_cursor(r.str(), "job from rank 0", job.corpus_tokens);
  r.expect_done();
  s.input = Matrix(v, dim);
  s.output = Matrix(v, dim);
  bcast(s.input.storage().data(), s.input.storage().size());
  bcast(s.output.storage().data(), s.output.storage().size());
  const RankCursor& me = job.ranks[g_rank];
  job.corpus.owned.resize(me.end - me.begin);
  recv(job.corpus.owned.data(), job.corpus.owned.size(), 0);
  job.corpus.tokens = job.corpus.owned;
  uint64_t n = 0;
  recv(&n, 1, 0);
  job.corpus.line_ends.resize(n);
  recv(job.corpus.line_ends.data(), n, 0);
  job.corpus.counts = s.frequencies;
  s.input_updates.assign(v, 0);
  s.output_positive_updates.assign(v, 0);
  s.output_negative_updates.assign(v, 0);
  s.tokens_done = me.tokens_done;
  s.tokens_total = static_cast<uint64_t>(job.cfg.epochs) * (me.end - me.begin);
  s.epochs_done = me.epochs_done;
  s.cursor = me.trainer_cursor;
  return true;
}

int follow() {
  return or_abort([&] {
    Job job;
    int code = 0;
    if (!receive_job(job, code)) return code;
    return run_job(job);
  });
}

}  // namespace

bool built_with_mpi() noexcept { return true; }
bool active() noexcept { return g_active; }
int rank() noexcept { return g_rank; }
int size() noexcept { return g_size; }
void set_sync_options(const SyncOptions& options) { g_sync = options; }

int run_command(int argc, char** argv, int (*command)(int, char**)) {
  if (launched_world_size() <= 1) return command(argc, argv);
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    throw internal_error("MPI_Init_thread failed");
  }
  struct Finalize {
    ~Finalize() { MPI_Finalize(); }
  } finalize;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  if (provided < MPI_THREAD_SERIALIZED) {
    if (g_rank == 0) std::fprintf(stderr, "tokvec: error: the MPI library does not allow MPI calls from a second thread (MPI_THREAD_SERIALIZED)\n");
    return 70;
  }
  g_active = g_size > 1;
  if (!g_active) return command(argc, argv);
  if (g_rank != 0) return follow();
  // An error before the job is handed over (a refused resume, a bad option) is printed here,
  // as main() would print it, and only then are the followers released: a follower that
  // exits non-zero makes mpirun kill the whole job at once, rank 0 included, which could
  // otherwise lose rank 0's message before it reached stderr.
  try {
    const int code = command(argc, argv);
    if (!g_handed_over) release_followers(code);
    return code;
  } catch (const std::exception&) {
    if (g_handed_over) throw;
    const int code = report_current_exception(argc > 0 ? argv[0] : "train");
    release_followers(code);
    return code;
  } catch (...) {
    if (!g_handed_over) release_followers(70);
    throw;
  }
}

int lead(LeaderJob& leader, TrainingState& state) {
  if (!g_active || g_rank != 0) throw internal_error("distributed::lead called outside rank 0 of an MPI job");
  g_sync.validate();
  Job job;
  job.cfg = leader.cfg;
  job.sync = g_sync;
  job.leader = &leader;
  job.corpus_tokens = leader.corpus.tokens.size();
  job.global_total = static_cast<uint64_t>(job.cfg.epochs) * job.corpus_tokens;
  job.config_json = state.config_json;
  job.tokenizer_kind = state.tokenizer_kind;
  job.tokenizer_checksum = state.tokenizer_checksum;
  const std::string where = "checkpoint of " + leader.dir;
  check_resume_ranks(where, state.cursor, g_size, leader.dir);
  if (state.cursor.empty()) {
    if (state.tokens_done != 0) throw internal_error("a distributed job starts from a fresh state or a job checkpoint");
    for (int r = 0; r < g_size; ++r) {
      RankCursor c;
      std::tie(c.begin, c.end) = rank_shard(job.corpus_tokens, g_size, r);
      job.ranks.push_back(c);
    }
  } else {
    job.ranks = *decode_job_cursor(state.cursor, where, job.corpus_tokens);
  }
  const uint64_t need = std::max<uint64_t>(job.cfg.window + 1, static_cast<uint64_t>(resolve_threads(job.cfg.threads)));
  for (const RankCursor& c : job.ranks) {
    if (c.end - c.begin < need) {
      throw usage_error("the corpus's " + std::to_string(job.corpus_tokens) + " tokens are too few for " + std::to_string(g_size) +
                        " processes: each shard needs at least " + std::to_string(need) +
                        " tokens (window + 1, and one per thread); use fewer processes");
    }
  }
  leader.log("distributed: " + std::to_string(g_size) + " processes x " + std::to_string(resolve_threads(job.cfg.threads)) +
             " threads, about " + std::to_string(job.corpus_tokens / static_cast<uint64_t>(g_size)) +
             " tokens per process; sync " + job.sync.to_string());
  // From here on the other ranks are in the job: an error ends it with MPI_Abort.
  g_handed_over = true;
  return or_abort([&] {
    send_job(job, state, leader.corpus);
    const RankCursor& me = job.ranks[0];
    job.corpus.tokens = leader.corpus.tokens.subspan(me.begin, me.end - me.begin);
    job.corpus.line_ends = shard_line_ends(leader.corpus.line_ends, me.begin, me.end);
    job.corpus.counts.assign(leader.corpus.counts.begin(), leader.corpus.counts.end());
    // Rank 0's local state keeps the summed counts and losses of a resumed job (the
    // others start from zero), so the sums at the next checkpoint are the job's totals.
    job.state = std::move(state);
    job.state.tokens_done = me.tokens_done;
    job.state.tokens_total = static_cast<uint64_t>(job.cfg.epochs) * (me.end - me.begin);
    job.state.epochs_done = me.epochs_done;
    job.state.cursor = me.trainer_cursor;
    return run_job(job);
  });
}

}  // namespace tokvec::distributed
