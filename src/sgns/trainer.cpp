#include "tokvec/trainer.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <type_traits>

#include "sgns/sgns_detail.h"
#include "base/config.h"
#include "base/io.h"
#include "base/progress.h"
#include "sgns/sampler.h"
#include "sgns/sgns.h"
#include "sgns/subword.h"
#include "sgns/trainer_cursor.h"
#include "tokvec/simd.h"
#include "tokvec/status.h"

namespace tokvec {

namespace {

using sgns_cursor::ThreadCursor;
using sgns_cursor::decode_cursor;
using sgns_cursor::encode_cursor;
using sgns_cursor::make_shards;

/// A thread's range as the other threads see it, for work sharing. Its owner claims each
/// segment under `mutex` before training it (uncontended but for a thread taking work: one
/// lock per 4,096 tokens at most); a thread whose range has run out cuts another's range
/// under the same mutex, never below `claimed`, so no token is trained twice or skipped.
struct alignas(64) RangeSlot {
  std::mutex mutex;
  uint64_t claimed = 0;  ///< the owner has trained, or is training, the tokens before this
  uint64_t range_end = 0;
  uint32_t epoch = 0;
};

/// Work sharing: the smallest rest of a range worth splitting. Below it the owner finishes
/// alone (under 2 ms of training here), which bounds the time one thread idles at the end.
constexpr uint64_t kMinShareTokens = 4 * kSegmentTokens;
/// Everything the threads share: read-only inputs built once per Trainer (samplers,
/// tables), the range slots and a few atomics touched once per segment (never per token).
struct Shared {
  CorpusView corpus;  ///< a copy of the view (spans): the caller's may be a temporary
  const TrainConfig& config;
  Matrix& input;
  Matrix& output;
  NegativeSampler negatives;
  Subsampler subsampler;
  SigmoidTable sigmoid;
  uint64_t tokens_total;
  std::atomic<uint64_t> tokens_done{0};
  std::atomic<double> loss_sum{0.0};
  std::atomic<uint64_t> pairs{0};
  std::atomic<bool> stop{false};   ///< a thread failed: everyone stops
  std::atomic<bool> pause{false};  ///< a pause condition was met: everyone stops at a segment start
  const TrainPause* pause_when = nullptr;
  std::chrono::steady_clock::time_point deadline{};
  bool has_deadline = false;
  std::unique_ptr<RangeSlot[]> slots{};  ///< one per thread
  int threads = 0;
  /// Subword runs: each word's input rows (the inputs are compositions; subword.h).
  std::shared_ptr<const SubwordMap> subwords{};
  bool piece_outputs = false;  ///< subword runs: targets composed of their rows' output rows
};

/// Work sharing. Static shards leave a thread idle at the end whenever the other ran
/// slower (text that keeps more tokens after subsampling, or a virtual CPU the host gives
/// less time, which can leave one thread idle for a sixth of a short training). A thread
/// whose range has run out takes the second half of the largest unclaimed rest among the
/// threads in its epoch and trains it with its own RNG, so every token of the epoch is
/// trained once, by one thread or the other.
/// Returns false when no rest of at least kMinShareTokens is left: the epoch ends.
bool take_work(Shared& sh, int self, ThreadCursor& cur) {
  uint64_t from = 0, to = 0;
  for (;;) {
    int victim = -1;
    uint64_t best = 0;
    for (int k = 0; k < sh.threads; ++k) {
      if (k == self) continue;
      RangeSlot& s = sh.slots[k];
      std::lock_guard lock(s.mutex);
      if (s.epoch == cur.epoch && s.range_end > s.claimed && s.range_end - s.claimed > best) {
        best = s.range_end - s.claimed;
        victim = k;
      }
    }
    if (victim < 0 || best < kMinShareTokens) return false;
    RangeSlot& s = sh.slots[victim];
    std::lock_guard lock(s.mutex);
    // Checked again: the owner may have claimed more, or another thread cut the range
    // meanwhile (then look again: every retry follows someone else's progress).
    if (s.epoch != cur.epoch || s.range_end < s.claimed + kMinShareTokens) continue;
    from = s.claimed + (s.range_end - s.claimed) / 2;
    to = s.range_end;
    s.range_end = from;
    break;
  }
  RangeSlot& mine = sh.slots[self];
  std::lock_guard lock(mine.mutex);
  mine.claimed = cur.pos = from;
  mine.range_end = cur.range_end = to;
  return true;
}

/// Why the threads share the matrices with no private copies (Hogwild), measured on a
/// 2-core machine (gut100m words, 2 threads, training phase; docs/design.md has the figures):
/// - Sharing costs CPU: two threads spend about 5.7-6.2 s of CPU together for the work one
///   thread does in 3.8-4.3 s, while two separate one-thread processes run side by side as
///   fast as alone. The cache lines of rows written by both cores move between them.
/// - The cost is spread over the whole matrices, not the frequent rows: private copies of the
///   256 (or 8,192) most frequent rows, merged every 1,024 (16,384) steps as W += L - S,
///   do not change the wall time measurably, so the trainer keeps none.
/// - Private copies of every row (no sharing at all, merged at the end) bring the CPU back to
///   the one-thread figure (4.2-4.7 s, wall 1.6-1.75x), but each thread then learns from
///   the other's updates only at merges: merged every 100,000 or 400,000 steps, analogy
///   accuracy falls from 18.3-18.6 % to 14.0-18.0 % and the loss rises from 2.44 to 2.47-2.48.
/// So the speed of Hogwild's second thread is bought with quality; the trainer keeps the
/// quality and shares the rows.

/// Divergence: a learning rate too high for the window (and the corpus) makes the weights
/// grow without bound until they overflow to inf and NaN; the vectors are then useless and
/// every later step wastes time. The untrained model scores every pair 0, where each of its
/// 1 + K scores costs ln 2, so the loss per pair starts near (1 + K) ln 2 and falls as
/// training goes. A thread stops the run when a segment's loss is not finite (NaN or inf
/// scores: sgns.h's table turns them into a NaN or inf loss), or when its mean loss per
/// pair over its recent segments (at least kDivergencePairs pairs) exceeds
/// kDivergenceFactor times that starting level: a margin no healthy run comes near (the
/// observed diverged runs reach 1e21), while a few unlucky pairs cannot trigger it.
constexpr uint64_t kDivergencePairs = 1000;
constexpr double kDivergenceFactor = 20.0;

[[noreturn]] void throw_diverged(const TrainConfig& cfg, uint64_t tokens_done, uint64_t tokens_total, double mean_loss) {
  char default_lr[32];
  std::snprintf(default_lr, sizeof default_lr, "%g", TrainConfig{}.lr);
  const std::string advice = cfg.lr > TrainConfig{}.lr
                                 ? "a lower " + setting_name("lr") + " (the default is " + default_lr + ") or " + setting_name("window")
                                 : "a smaller " + setting_name("window") + " or a lower " + setting_name("lr");
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "training diverged at %llu of %llu tokens: the loss per pair reached %g (it starts near %.2f and falls "
                "as training goes); the learning rate %g is probably too high for window %u (and dim %u): train again "
                "with %s",
                static_cast<unsigned long long>(tokens_done), static_cast<unsigned long long>(tokens_total), mean_loss,
                (1.0 + cfg.negative) * std::log(2.0), cfg.lr, cfg.window, cfg.dim,
                advice.c_str());
  throw Error(ErrorKind::input, buf);
}

/// Rows counted in a thread's own arrays; the rest of the vocabulary is counted straight
/// into the shared arrays with an atomic add. Ids are in decreasing frequency order in
/// words mode (and mostly so in BPE's merge order), so the local rows take nearly every
/// count (the frequent rows, where atomics would also contend) while the per-thread memory
/// stays bounded whatever the vocabulary: 3 x 8 bytes x 65,536 = 1.5 MB a thread.
constexpr uint32_t kLocalCountRows = 1u << 16;

/// One of the per-row count arrays, as one thread adds to it: rows below `local_rows_`
/// into this thread's array (merged into the shared one by flush(), after the threads
/// have stopped), the others into the shared array directly. Counts are integers, so the
/// totals are exact whatever the order of the adds.
class RowCounter {
 public:
  explicit RowCounter(size_t vocab) : local_(std::min<size_t>(vocab, kLocalCountRows), 0), local_rows_(static_cast<uint32_t>(local_.size())) {}
  /// The shared array this run() counts into (the state's, re-read at every run()).
  void bind(std::vector<uint64_t>& shared) noexcept { shared_ = shared.data(); }
  void add(uint32_t id, uint64_t n) noexcept {
    if (id < local_rows_) {
      local_[id] += n;
    } else {
      std::atomic_ref<uint64_t>(shared_[id]).fetch_add(n, std::memory_order_relaxed);
    }
  }
  const uint64_t* address(uint32_t id) const noexcept { return id < local_rows_ ? &local_[id] : &shared_[id]; }
  /// Adds the local counts into the shared array and zeroes them. Only while no thread trains.
  void flush() noexcept {
    for (uint32_t i = 0; i < local_rows_; ++i) {
      shared_[i] += local_[i];
      local_[i] = 0;
    }
  }

 private:
  std::vector<uint64_t> local_;
  uint32_t local_rows_;
  uint64_t* shared_ = nullptr;
};

/// How many centres ahead the HogBatch loop draws a centre's targets and prefetches their
/// output rows. At 1 M rows x 300 dims (rows far beyond the caches; tools/bench_scale.sh's
/// corpus, 4 M tokens, 2 threads, two alternating rounds) 2 trained 1.17-1.25x faster than
/// 1; 3 was 0.91-1.23x, no better than 2.
constexpr uint32_t kLookahead = 2;

/// One thread's own state, allocated once per Trainer and kept across run() calls: its
/// cursor, its scratch space (the loops allocate nothing), its counters and the watches
/// that span segments (divergence, progress line). Aligned so that two threads' workers
/// never share a cache line (the RNG state is written at every draw).
struct alignas(128) Worker {
  Worker(const TrainConfig& cfg, size_t vocab, bool subwords)
      : kept(kSegmentTokens),
        context(2 * cfg.window),
        targets(cfg.negative + 1),
        ahead_targets(static_cast<size_t>(kLookahead + 1) * (cfg.negative + 1)),
        input_rows(2 * cfg.window),
        target_rows(cfg.negative + 1),
        scores(hogbatch_scores_floats(static_cast<size_t>(2 * cfg.window), cfg.negative + 1)),
        delta(cfg.negative + 1, cfg.dim),
        input_counts(vocab),
        positive_counts(vocab),
        negative_counts(vocab) {
    if (subwords) {
      sub.emplace(2 * static_cast<size_t>(cfg.window) + 1, 2 * static_cast<size_t>(cfg.window), cfg.dim);
      positions.resize(2 * static_cast<size_t>(cfg.window));
      composed_targets = SubwordTargets(cfg.negative + 1, cfg.dim);
    }
  }

  ThreadCursor cur;
  Rng rng;
  detail::SgnsKernels kernels;  ///< resolved once per run(), not per step
  std::vector<uint32_t> kept, context, targets;
  /// HogBatch's lookahead: the targets of the centres from the current one to kLookahead
  /// ahead (a ring, one slot of negative + 1 ids per centre) and the window draws made
  /// before them.
  std::vector<uint32_t> ahead_targets;
  uint32_t ahead_windows[kLookahead + 1] = {};
  std::vector<float*> input_rows, target_rows;
  std::vector<float> scores;  ///< the HogBatch step's B x T scores (hogbatch_scores_floats)
  Matrix delta;               ///< ΔU (HogBatch) or the input's Δ (pair)
  RowCounter input_counts, positive_counts, negative_counts;
  std::optional<SubwordWindow> sub;  ///< subword runs: the segment's composed inputs
  std::vector<size_t> positions;      ///< subword runs: the current window's context positions
  SubwordTargets composed_targets;  ///< subword runs with per-piece outputs: the step's targets
  double recent_loss = 0.0;  ///< divergence watch: this thread's segments since the last check
  uint64_t recent_pairs = 0;
  std::chrono::steady_clock::time_point last_report{};
  double reported_loss = 0.0;
  uint64_t reported_pairs = 0;
};

/// The segment a thread trains next: [begin, end) inside one line of its range.
struct Segment {
  uint64_t begin = 0, end = 0;
};

/// Claiming work, part 1: the next segment of the thread's range, claimed under its slot's
/// mutex (another thread may have cut the range short). False when the range has run out.
/// `line` is a line index at or before the line holding cur.pos (lines only move forward
/// within a range).
bool claim_segment(Shared& sh, int self, Worker& wk, size_t& line, Segment& seg) {
  const auto& line_ends = sh.corpus.line_ends;
  ThreadCursor& cur = wk.cur;
  RangeSlot& slot = sh.slots[self];
  std::lock_guard lock(slot.mutex);
  cur.range_end = slot.range_end;
  if (cur.pos >= cur.range_end) return false;
  while (line_ends[line] <= cur.pos) ++line;
  seg.begin = cur.pos;
  seg.end = std::min({cur.range_end, line_ends[line], cur.pos + kSegmentTokens});
  slot.claimed = seg.end;
  return true;
}

/// The first line of a range starting at `pos`.
size_t line_of(const CorpusView& corpus, uint64_t pos) {
  return static_cast<size_t>(std::upper_bound(corpus.line_ends.begin(), corpus.line_ends.end(), pos) -
                             corpus.line_ends.begin());
}

/// Deciding to stop, checked at every segment start (where the cursor says exactly where to
/// continue): `stop` when another thread failed or a pause condition holds (then every
/// thread stops at its next segment start), `again` when a distributed job made the thread
/// wait for a sync (a pause may have been decided meanwhile: claim and check again).
enum class StopCheck { train, stop, again };

StopCheck check_stop(Shared& sh) {
  if (sh.stop.load(std::memory_order_relaxed) || sh.pause.load(std::memory_order_relaxed)) return StopCheck::stop;
  const TrainPause& when = *sh.pause_when;
  if (sh.tokens_done.load(std::memory_order_relaxed) >= when.at_tokens ||
      (when.interrupt != nullptr && when.interrupt->load(std::memory_order_relaxed)) ||
      (sh.has_deadline && std::chrono::steady_clock::now() >= sh.deadline)) {
    sh.pause.store(true, std::memory_order_relaxed);
    return StopCheck::stop;
  }
  if (when.job != nullptr && when.job->wait_for_sync(sh.tokens_done.load(std::memory_order_relaxed))) return StopCheck::again;
  return StopCheck::train;
}

inline void prefetch_row(const float* row, size_t row_bytes) {
  for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(reinterpret_cast<const char*>(row) + off, 1, 3);
}

/// A target's output rows into cache: its own row, or with per-piece outputs every row of
/// its composition.
inline void prefetch_output(const Shared& sh, uint32_t id, size_t row_bytes) {
  if (sh.piece_outputs) {
    for (uint32_t row : sh.subwords->rows_of(id)) prefetch_row(sh.output.row(row), row_bytes);
  } else {
    prefetch_row(sh.output.row(id), row_bytes);
  }
}

/// The centre `centre` as positive target and K negatives from the unigram^0.75 table,
/// their output rows (and counters) prefetched.
inline void draw_negatives(const Shared& sh, Worker& wk, uint32_t* out, uint32_t centre, size_t row_bytes) {
  const uint32_t K = sh.config.negative;
  out[0] = centre;
  prefetch_output(sh, centre, row_bytes);
  for (uint32_t k = 1; k <= K; ++k) {
    uint32_t id = sh.negatives.draw(wk.rng);
    // The positive drawn as a negative would push u_w both ways: redraw (a few times at
    // most, so a one-token vocabulary cannot loop).
    for (int tries = 0; id == centre && tries < 4; ++tries) id = sh.negatives.draw(wk.rng);
    out[k] = id;
    prefetch_output(sh, id, row_bytes);
    __builtin_prefetch(wk.negative_counts.address(id), 1, 3);  // its counter: the same miss, hidden too
  }
}

struct SegmentResult {
  double loss = 0.0;
  uint64_t pairs = 0;
};

/// Subword runs: a position's input rows are counted once it leaves the window, with the
/// number of steps that used it (the same counts as one per pair, by the segment's end).
void count_left(const Shared& sh, Worker& wk) {
  for (const SubwordWindow::Left& l : wk.sub->left()) {
    for (uint32_t row : sh.subwords->rows_of(l.word)) wk.input_counts.add(row, l.uses);
  }
  wk.sub->clear_left();
}

/// Training a segment: subsampling, then every kept token's window with the kernel at
/// learning rate `lr`, counting each pair's row updates.
SegmentResult train_segment(Shared& sh, Worker& wk, const Segment& seg, float lr) {
  const CorpusView& corpus = sh.corpus;
  const TrainConfig& cfg = sh.config;
  const bool hogbatch = cfg.kernel == Kernel::hogbatch;
  const uint32_t window = cfg.window;
  const uint32_t K = cfg.negative;
  const size_t stride = sh.output.stride();
  const size_t cols = sh.output.cols();
  const size_t row_bytes = stride * sizeof(float);
  uint32_t* kept = wk.kept.data();
  uint32_t* context = wk.context.data();
  // Subsampling first, as word2vec does: dropped tokens leave the window, so the remaining
  // ones see farther.
  size_t n = 0;
  for (uint64_t p = seg.begin; p < seg.end; ++p) {
    uint32_t id = corpus.tokens[p];
    if (sh.subsampler.keep(id, wk.rng)) kept[n++] = id;
  }
  SegmentResult r;
  // HogBatch draws each centre's targets kLookahead centres early and prefetches their output
  // rows (mostly cache misses in a large vocabulary), so that they arrive while the steps
  // between compute. The random numbers are still drawn in the order of a loop that looks
  // one centre ahead (centre j's targets, centre j's window, centre j + 1's targets, ...),
  // so the distance changes no result.
  const size_t ring = kLookahead + 1;
  size_t drawn = 0, windows = 0;  // centres whose targets / window are drawn
  auto targets_of = [&](size_t j) { return wk.ahead_targets.data() + (j % ring) * (K + 1); };
  auto draw_ahead = [&](size_t upto) {
    for (; drawn < upto; ++drawn) {
      if (windows < drawn) wk.ahead_windows[windows++ % ring] = 1 + static_cast<uint32_t>(wk.rng.below(window));
      draw_negatives(sh, wk, targets_of(drawn), kept[drawn], row_bytes);
      __builtin_prefetch(wk.positive_counts.address(kept[drawn]), 1, 3);
    }
  };
  if (sh.subwords) wk.sub->begin(*sh.subwords, sh.input, kept, n);
  for (size_t i = 0; i < n; ++i) {
    if (hogbatch) draw_ahead(std::min(n, i + kLookahead + 1));
    const uint32_t w = windows > i ? wk.ahead_windows[i % ring] : 1 + static_cast<uint32_t>(wk.rng.below(window));  // random window shrinking
    if (windows <= i) windows = i + 1;
    const size_t lo = i >= w ? i - w : 0;
    const size_t hi = std::min(n, i + w + 1);
    uint32_t B = 0;
    for (size_t j = lo; j < hi; ++j) {
      if (j != i) context[B++] = kept[j];
    }
    const uint32_t centre = kept[i];
    if (hogbatch) {
      if (i + window + 1 < n) {
        if (sh.subwords) {
          // The rows the position entering the window at the next centre is composed of.
          for (uint32_t row : sh.subwords->rows_of(kept[i + window + 1])) prefetch_row(sh.input.row(row), row_bytes);
        } else {
          prefetch_row(sh.input.row(kept[i + window + 1]), row_bytes);
          __builtin_prefetch(wk.input_counts.address(kept[i + window + 1]), 1, 3);
        }
      }
      if (B == 0) continue;
      const uint32_t* targets = targets_of(i);
      if (sh.subwords) {
        // The inputs are the context positions' composed x, kept while they are in the
        // window (subword.h: SubwordWindow).
        wk.sub->advance(i >= window ? i - window : 0, i + window + 1);
        uint32_t b = 0;
        for (size_t j = lo; j < hi; ++j) {
          if (j != i) {
            wk.positions[b] = j;
            wk.input_rows[b++] = wk.sub->row(j);
          }
        }
        wk.sub->before(wk.positions.data(), B);
      } else {
        for (uint32_t b = 0; b < B; ++b) wk.input_rows[b] = sh.input.row(context[b]);
      }
      if (sh.piece_outputs) {
        // Each target's u = Σ a_r o_r, composed for this step (the targets change at every
        // step); the kernel moves it and the change goes back to its rows below.
        wk.composed_targets.compose(*sh.subwords, sh.output, targets, K + 1, wk.target_rows.data());
      } else {
        for (uint32_t t = 0; t <= K; ++t) wk.target_rows[t] = sh.output.row(targets[t]);
      }
      r.loss += wk.kernels.hogbatch(wk.input_rows.data(), B, wk.target_rows.data(), K + 1, stride, cols, lr, sh.sigmoid,
                                    wk.scores.data(), wk.delta.row(0));
      if (sh.subwords) wk.sub->absorb(B);
      if (sh.piece_outputs) {
        wk.composed_targets.scatter(*sh.subwords, sh.output, targets, K + 1);
        for (uint32_t t = 0; t <= K; ++t) {
          const std::span<const uint32_t> rows = sh.subwords->rows_of(targets[t]);
          if (t == 0) {
            for (uint32_t row : rows) wk.positive_counts.add(row, B);
          } else {
            for (uint32_t row : rows) wk.negative_counts.add(row, B);
          }
        }
      } else {
        for (uint32_t k = 1; k <= K; ++k) wk.negative_counts.add(targets[k], B);
      }
    } else {
      for (uint32_t b = 0; b < B; ++b) {
        draw_negatives(sh, wk, wk.targets.data(), centre, row_bytes);  // word2vec: fresh negatives for every pair
        r.loss += wk.kernels.pair(sh.input.row(0), sh.output.row(0), stride, cols, context[b], wk.targets.data(), K + 1, lr,
                                  sh.sigmoid, wk.delta.row(0));
        for (uint32_t k = 1; k <= K; ++k) wk.negative_counts.add(wk.targets[k], 1);
      }
    }
    if (sh.subwords) {
      count_left(sh, wk);  // the rows of the positions that left the window
    } else {
      for (uint32_t b = 0; b < B; ++b) wk.input_counts.add(context[b], 1);
    }
    if (!sh.piece_outputs) wk.positive_counts.add(centre, B);
    r.pairs += B;
  }
  if (sh.subwords) {
    wk.sub->finish();
    count_left(sh, wk);
  }
  return r;
}

/// After a segment: the divergence watch, the shared totals, the cursor (pos and RNG: the
/// next segment start is a place to pause at) and, on the reporting thread, the progress line.
void finish_segment(Shared& sh, Worker& wk, const Segment& seg, const SegmentResult& r, float lr, ProgressReporter* progress) {
  const TrainConfig& cfg = sh.config;
  wk.recent_loss += r.loss;
  wk.recent_pairs += r.pairs;
  const double divergence_limit = kDivergenceFactor * (1.0 + cfg.negative) * std::log(2.0);
  if (!std::isfinite(r.loss) ||
      (wk.recent_pairs >= kDivergencePairs && wk.recent_loss > divergence_limit * static_cast<double>(wk.recent_pairs))) {
    sh.stop.store(true, std::memory_order_relaxed);
    throw_diverged(cfg, sh.tokens_done.load(std::memory_order_relaxed) + (seg.end - seg.begin), sh.tokens_total,
                   std::isfinite(r.loss) ? wk.recent_loss / static_cast<double>(wk.recent_pairs) : r.loss);
  }
  if (wk.recent_pairs >= kDivergencePairs) wk.recent_loss = 0.0, wk.recent_pairs = 0;
  sh.tokens_done.fetch_add(seg.end - seg.begin, std::memory_order_relaxed);
  sh.loss_sum.fetch_add(r.loss, std::memory_order_relaxed);
  sh.pairs.fetch_add(r.pairs, std::memory_order_relaxed);
  wk.cur.pos = seg.end;
  wk.cur.rng = wk.rng.state();
  if (progress == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - wk.last_report < std::chrono::milliseconds(200)) return;
  wk.last_report = now;
  const double ls = sh.loss_sum.load(std::memory_order_relaxed);
  const uint64_t pc = sh.pairs.load(std::memory_order_relaxed);
  char detail[96];
  std::snprintf(detail, sizeof detail, "loss %.4f  lr %.5f",
                pc > wk.reported_pairs ? (ls - wk.reported_loss) / static_cast<double>(pc - wk.reported_pairs) : 0.0,
                static_cast<double>(lr));
  wk.reported_loss = ls;
  wk.reported_pairs = pc;
  progress->update(sh.tokens_done.load(std::memory_order_relaxed), detail);
}

/// The learning rate for the next segment: linear decay over the run's tokens (or, in a
/// distributed job, over the whole job's).
float learning_rate(Shared& sh) {
  const uint64_t done_now = sh.tokens_done.load(std::memory_order_relaxed);
  const double frac = sh.pause_when->job != nullptr ? sh.pause_when->job->fraction_done(done_now)
                                                    : static_cast<double>(done_now) / static_cast<double>(sh.tokens_total);
  return static_cast<float>(sh.config.lr * std::max(1e-4, 1.0 - frac));
}

/// One thread's loop, until its epochs are done or a stop: claim a segment (from its own
/// range, else by taking work over), check whether to stop, train it, finish it; at the end
/// of its epoch's ranges, the next epoch starts from its own shard.
void work(Shared& sh, int self, Worker& wk, ProgressReporter* progress) {
  ThreadCursor& cur = wk.cur;
  RangeSlot& slot = sh.slots[self];
  wk.rng.set_state(cur.rng);
  wk.kernels = detail::sgns_kernels(simd::active(), sh.output.stride());
  while (cur.epoch < sh.config.epochs) {
    size_t line = line_of(sh.corpus, cur.pos);
    uint64_t released = cur.pos;  // tokens before this were handed to corpus.done_with
    for (;;) {
      Segment seg;
      if (!claim_segment(sh, self, wk, line, seg)) {
        if (!take_work(sh, self, cur)) break;  // the epoch's work has all been claimed
        line = line_of(sh.corpus, cur.pos);
        released = cur.pos;
        continue;
      }
      const StopCheck check = check_stop(sh);
      if (check == StopCheck::stop) return;
      if (check == StopCheck::again) continue;
      const float lr = learning_rate(sh);
      const SegmentResult r = train_segment(sh, wk, seg, lr);
      finish_segment(sh, wk, seg, r, lr, progress);
      released = sh.corpus.done_with(released, cur.pos);  // a mapped corpus drops the pages read (bounded memory)
    }
    std::lock_guard lock(slot.mutex);
    slot.epoch = ++cur.epoch;
    if (cur.epoch < sh.config.epochs) {
      slot.claimed = cur.pos = cur.begin;
      slot.range_end = cur.range_end = cur.end;
    }
  }
}

}  // namespace

/// The Trainer's state between run() calls.
struct Trainer::Impl {
  Impl(const CorpusView& corpus, const TrainConfig& cfg, TrainingState& s)
      : config(cfg),
        state(s),
        sh{corpus, config, s.input, s.output, NegativeSampler(corpus.counts), Subsampler(corpus.counts, cfg.sample),
           SigmoidTable(), s.tokens_total},
        progress("train", s.tokens_total, "tokens", cfg.quiet, 15.0, s.tokens_done) {}

  TrainConfig config;  ///< a copy: the caller's may change or go away between runs
  TrainingState& state;
  Shared sh;
  ProgressReporter progress;
  std::vector<std::unique_ptr<Worker>> workers;  ///< one per thread (none once finished)
  bool finished = false;
  bool failed = false;
};

Trainer::Trainer(const CorpusView& corpus, const TrainConfig& config, TrainingState& state)
    : Trainer(corpus, config, state, nullptr) {}

Trainer::Trainer(const CorpusView& corpus, const TrainConfig& config, TrainingState& state,
                 std::shared_ptr<const SubwordMap> subwords) {
  config.validate(corpus, "corpus");
  if (subwords && (subwords->words() != corpus.counts.size() || config.kernel != Kernel::hogbatch)) {
    throw internal_error("subword training needs its corpus's map and the hogbatch kernel");
  }
  // A subword run's matrices hold the words' rows and then the pieces' (subword.h).
  const size_t v = subwords ? subwords->rows() : corpus.counts.size();
  if (state.vocab_size() != v || state.input.rows() != v || state.output.rows() != v || state.dim() != config.dim ||
      state.input_updates.size() != v || state.output_positive_updates.size() != v ||
      state.output_negative_updates.size() != v ||
      state.tokens_total != static_cast<uint64_t>(config.epochs) * corpus.tokens.size()) {
    throw internal_error("training state does not match the corpus or the configuration");
  }
  std::vector<ThreadCursor> cursors;
  bool finished = false;
  if (state.cursor.empty()) {
    finished = state.finished();
    if (!finished) cursors = make_shards(corpus, resolve_threads(config.threads), config.seed);
  } else {
    cursors = decode_cursor(state.cursor, corpus.tokens.size(), config.epochs);
  }
  impl_ = std::make_unique<Impl>(corpus, config, state);
  Impl& m = *impl_;
  m.finished = finished;
  m.sh.subwords = std::move(subwords);
  m.sh.piece_outputs = m.sh.subwords && m.sh.subwords->config().outputs == SubwordOutputs::pieces;
  const int threads = static_cast<int>(cursors.size());
  m.sh.threads = threads;
  m.sh.slots = std::make_unique<RangeSlot[]>(threads);
  m.workers.reserve(threads);
  for (const ThreadCursor& c : cursors) {
    m.workers.push_back(std::make_unique<Worker>(m.config, v, m.sh.subwords != nullptr));
    m.workers.back()->cur = c;
  }
}

Trainer::~Trainer() = default;

bool Trainer::finished() const noexcept { return impl_->finished; }

int Trainer::threads() const noexcept { return static_cast<int>(impl_->workers.size()); }

bool Trainer::run(const TrainPause& pause) {
  Impl& m = *impl_;
  if (m.failed) throw internal_error("the trainer stopped on an error and cannot continue");
  if (m.finished) return true;
  TrainingState& state = m.state;
  Shared& sh = m.sh;
  const int threads = sh.threads;
  sh.pause_when = &pause;
  sh.has_deadline = pause.after_seconds > 0;
  if (sh.has_deadline) {
    sh.deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(pause.after_seconds));
  }
  sh.stop = false;
  sh.pause = false;
  sh.tokens_done = state.tokens_done;
  sh.loss_sum = state.loss_sum;
  sh.pairs = state.loss_count;
  if (pause.run_started) m.progress.count_from(*pause.run_started, pause.run_started_tokens);
  for (int t = 0; t < threads; ++t) {
    Worker& wk = *m.workers[t];
    sh.slots[t].claimed = wk.cur.pos;
    sh.slots[t].range_end = wk.cur.range_end;
    sh.slots[t].epoch = wk.cur.epoch;
    wk.input_counts.bind(state.input_updates);
    wk.positive_counts.bind(state.output_positive_updates);
    wk.negative_counts.bind(state.output_negative_updates);
  }

  // One long parallel region; nothing escapes it: a thread's exception is kept and
  // re-thrown after the join, and the other threads stop at their next segment.
  std::vector<std::exception_ptr> errors(threads);
#pragma omp parallel num_threads(threads)
  {
    const int tid = omp_get_thread_num();
    if (omp_get_num_threads() != threads) {
      if (tid == 0) errors[0] = std::make_exception_ptr(internal_error("OpenMP gave fewer threads than requested"));
    } else {
      try {
        work(sh, tid, *m.workers[tid], tid == 0 ? &m.progress : nullptr);
      } catch (...) {
        errors[tid] = std::current_exception();
        sh.stop = true;
      }
    }
  }
  for (const std::exception_ptr& e : errors) {
    if (e) {
      m.failed = true;
      std::rethrow_exception(e);
    }
  }
  // A thread that paused may have had its range cut afterwards by one still running.
  std::vector<ThreadCursor> cursors;
  for (int t = 0; t < threads; ++t) {
    Worker& wk = *m.workers[t];
    wk.cur.range_end = sh.slots[t].range_end;
    wk.input_counts.flush();
    wk.positive_counts.flush();
    wk.negative_counts.flush();
    cursors.push_back(wk.cur);
  }
  state.tokens_done = sh.tokens_done;
  state.loss_sum = sh.loss_sum;
  state.loss_count = sh.pairs;
  bool all_done = true;
  uint32_t epochs_done = m.config.epochs;
  for (const ThreadCursor& c : cursors) {
    all_done = all_done && c.epoch >= m.config.epochs;
    epochs_done = std::min(epochs_done, c.epoch);
  }
  state.epochs_done = epochs_done;
  if (all_done) {
    char detail[64];
    std::snprintf(detail, sizeof detail, "mean loss %.4f",
                  state.loss_count ? state.loss_sum / static_cast<double>(state.loss_count) : 0.0);
    state.cursor.clear();
    m.progress.finish(state.tokens_done, detail);
    m.finished = true;
    m.workers.clear();  // their memory goes back at once
  } else {
    state.cursor = encode_cursor(cursors);
  }
  return all_done;
}

void train(const CorpusView& corpus, const TrainConfig& config, TrainingState& state) {
  train(corpus, config, state, TrainPause{});
}

void check_cursor(const TrainingState& state, const CorpusView& corpus, const TrainConfig& config, const std::string& path) {
  if (!state.cursor.empty()) (void)decode_cursor(state.cursor, corpus.tokens.size(), config.epochs, path);
}

bool train(const CorpusView& corpus, const TrainConfig& config, TrainingState& state, const TrainPause& pause) {
  Trainer trainer(corpus, config, state);
  return trainer.run(pause);
}

}  // namespace tokvec
