// tokvec train: raw text (or an encoded corpus) to trained vectors, in one command.
//
// RUN_DIR layout (export, eval and audit read it):
//   config.json    the TrainConfig used (its keys, see TrainConfig::to_json) plus "mode"
//                  ("words", "bpe" or "corpus"), "input", "corpus", "tokenizer",
//                  "bpe_vocab_size", "tokenizer_kind", "tokenizer_checksum" (16 hex digits),
//                  "threads_used", "version"
//   tokenizer.bpe  the BPE model (BPE runs only; BpeModel::save)
//   corpus.tkc     the token corpus trained on (write_corpus)
//   checkpoint-NNNNNN.tkv  TrainingStates written during training (the --keep newest)
//   state.tkv      the final TrainingState (save_state): vectors, counts, progress
//   train.log      settings, timings, loss, rows still under-trained as training goes
// Every file is written atomically. A missing RUN_DIR is created; a non-empty one is
// refused unless --force (which clears the old run out of it: remove_run_files).
//
// Crash safety: config.json is written before any work, then the tokenizer and the corpus,
// then checkpoints, so `tokvec train --resume RUN_DIR` can always continue: from the newest
// valid checkpoint, or, when there is none yet, from the start with the saved config.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>

#include "cli_common.h"
#include "commands.h"
#include "tokvec/audit.h"
#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/config.h"
#include "tokvec/corpus.h"
#include "tokvec/distributed.h"
#include "tokvec/interrupt.h"
#include "tokvec/io.h"
#include "tokvec/run.h"
#include "tokvec/status.h"
#include "tokvec/text.h"
#include "tokvec/text_check.h"
#include "tokvec/trainer.h"
#include "tokvec/vocab.h"

namespace tokvec::cli {

namespace {

namespace fs = std::filesystem;

/// The run's log: kept in memory, echoed to stderr unless quiet, and written to
/// RUN_DIR/train.log at every checkpoint and at the end (a resumed run appends).
class Log {
 public:
  explicit Log(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}
  void line(const std::string& text) {
    note(text);
    // On a terminal the progress line may be on screen without a newline: clear it first.
    if (!quiet_) std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", text.c_str());
  }
  /// A warning: logged, and printed even when quiet (--quiet hides progress, not warnings).
  void warn(const std::string& text) {
    note(text);
    std::fprintf(stderr, "%s%s\n", tty_ && !quiet_ ? "\r\033[K" : "", text.c_str());
  }
  /// A line for the log file only (an error, which main() prints itself).
  void note(const std::string& text) {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[%8.2fs] ", seconds());
    lines_ += stamp + text + "\n";
  }
  /// A line for train.log only (detail that would fill the screen while training).
  void log_only(const std::string& text) {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[%8.2fs] ", seconds());
    lines_ += stamp + text + "\n";
  }
  void keep_previous(const std::string& text) { lines_ = text + lines_; }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  const std::string& text() const { return lines_; }

 private:
  bool quiet_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::string lines_;
};

/// Where a run keeps a copy of text read from "-" or a pipe while it needs it (the
/// tokenizer or word count, then the encoding, read it twice); removed once corpus.tkc is
/// written.
constexpr const char* kSpoolName = "input.spool";

/// Whether two paths name one file (device and inode).
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return !a.empty() && !b.empty() && fs::equivalent(a, b, ec) && !ec;
}

/// What a run trains on, from the command line or, on --resume, from config.json.
struct RunPlan {
  std::string mode;  ///< "words", "bpe" or "corpus"
  std::string input, corpus_path, tokenizer_path;
  uint32_t bpe_vocab = 0;
  bool lowercase = false;  ///< words mode: words lowercased before counting and encoding
  TrainConfig cfg;
  /// The file the text is read from: `input`, or the run's copy of a stream (not saved).
  std::string read_path;
  /// --allow-binary; and whether the text was checked already (while it was copied).
  bool allow_binary = false;
  bool text_checked = false;

  const std::string& text_path() const { return read_path.empty() ? input : read_path; }

  nlohmann::json to_json() const {
    nlohmann::json j = cfg.to_json();
    j["mode"] = mode;
    // Paths may hold any bytes but JSON only text: path_to_json keeps them losslessly.
    auto put_path = [&](const char* key, const std::string& path) {
      if (path.empty()) {
        j[key] = nullptr;
      } else {
        path_to_json(j, key, path);
      }
    };
    put_path("input", input);
    put_path("corpus", corpus_path);
    put_path("tokenizer", tokenizer_path);
    j["bpe_vocab_size"] = mode == "bpe" ? nlohmann::json(bpe_vocab) : nlohmann::json(nullptr);
    j["lowercase"] = lowercase;
    j["version"] = "0.1.0";
    return j;
  }

  static RunPlan from_json(const nlohmann::json& j, const std::string& file) {
    RunPlan p;
    p.cfg = run_config_from_json(j, file);
    auto text = [&](const char* key) {
      return j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>() : std::string();
    };
    p.mode = text("mode");
    p.input = path_from_json(j, "input");
    p.corpus_path = path_from_json(j, "corpus");
    p.tokenizer_path = path_from_json(j, "tokenizer");
    if (j.contains("bpe_vocab_size") && j.at("bpe_vocab_size").is_number_unsigned()) {
      p.bpe_vocab = j.at("bpe_vocab_size").get<uint32_t>();
    }
    if (j.contains("lowercase") && j.at("lowercase").is_boolean()) p.lowercase = j.at("lowercase").get<bool>();
    if (p.mode != "words" && p.mode != "bpe" && p.mode != "corpus") {
      throw corrupt_error(file, "key \"mode\"", "expected words, bpe or corpus");
    }
    return p;
  }
};

/// The token corpus of a run: RUN_DIR/corpus.tkc, memory-mapped. Training reads the ids
/// through the map and releases the pages it has read (CorpusView::done_with), so memory
/// does not grow with the corpus's length.
struct RunCorpus {
  std::optional<TokenCorpus> mapped;
  std::optional<BpeModel> model;

  CorpusView view() const { return mapped->view(); }
  const std::vector<std::string>& vocab() const { return mapped->vocab(); }
  const std::string& kind() const { return mapped->tokenizer_kind(); }
  uint64_t checksum() const { return mapped->tokenizer_checksum(); }
};

/// Called once the corpus's size and tokenizer are known, before anything is written into
/// the run folder: (tokens, vocabulary size, tokenizer kind, tokenizer checksum). It
/// validates the settings against the corpus and, on a new run, writes config.json; if it
/// throws, the folder is unchanged.
using BeforeWrite = std::function<void(uint64_t, size_t, const std::string&, uint64_t)>;

/// Builds the run's tokenizer and corpus as the plan says and writes them into `dir`
/// (tokenizer.bpe for BPE runs, then corpus.tkc), then maps the corpus. Words mode streams
/// the ids into corpus.tkc as they are encoded (write_word_corpus), so the text's ids are
/// never all in memory; BPE mode encodes in memory, writes, then frees the ids before
/// training; --corpus copies the given file. On --resume (`resuming`) `dir` may hold the
/// tokenizer this run trained earlier, which is used again; a new run (--force included)
/// never reads the folder's old tokenizer.
RunCorpus build_corpus(const RunPlan& plan, const std::string& dir, Log& log, const BeforeWrite& before_write, bool resuming) {
  RunCorpus rc;
  const TrainConfig& cfg = plan.cfg;
  const std::string tokenizer_file = (fs::path(dir) / "tokenizer.bpe").string();
  const std::string corpus_file = (fs::path(dir) / "corpus.tkc").string();
  if (plan.mode == "words") {
    WordVocabConfig wc;
    wc.min_count = cfg.min_count;
    wc.threads = cfg.threads;
    wc.lowercase = plan.lowercase;
    wc.check_text = !plan.text_checked;
    wc.allow_binary = plan.allow_binary;
    wc.on_warning = [&](const std::string& w) { log.line("warning: " + w); };
    const WordCorpusInfo info = write_word_corpus(plan.text_path(), wc, corpus_file, [&](const WordCorpusInfo& i) {
      log.line("vocabulary: " + std::to_string(i.vocab_size) + " words with count >= " + std::to_string(cfg.min_count) + " (of " +
               std::to_string(i.distinct_words) + " distinct), " + std::to_string(i.token_count) + " tokens");
      before_write(i.token_count, i.vocab_size, "words", i.tokenizer_checksum);
    });
    log.line("corpus: " + std::to_string(info.token_count) + " tokens in " + std::to_string(info.line_count) + " lines, streamed to " +
             corpus_file);
  } else if (plan.mode == "bpe") {
    std::error_code ec;
    bool text_checked = plan.text_checked;
    if (!plan.tokenizer_path.empty()) {
      rc.model = BpeModel::load(plan.tokenizer_path);
      log.line("tokenizer: " + plan.tokenizer_path + ", " + std::to_string(rc.model->vocab_size()) + " tokens");
    } else if (resuming && fs::exists(tokenizer_file, ec)) {
      rc.model = BpeModel::load(tokenizer_file);  // resumed: the tokenizer this run trained
      log.line("tokenizer: " + tokenizer_file + " (trained earlier in this run)");
    } else {
      BpeTrainConfig bc;
      bc.inputs = {plan.text_path()};
      bc.vocab_size = plan.bpe_vocab;
      bc.threads = cfg.threads;
      bc.quiet = cfg.quiet;
      bc.vocab_size_option = "--bpe-vocab-size";
      bc.min_frequency_is_option = false;
      bc.check_text = !text_checked;
      bc.allow_binary = plan.allow_binary;
      bc.on_warning = [&](const std::string& w) { log.line("warning: " + w); };
      rc.model = train_bpe(bc);
      text_checked = true;
      log.line("tokenizer: trained, " + std::to_string(rc.model->vocab_size()) + " tokens");
    }
    // The ids go straight into corpus.tkc's temporary file as they are encoded (never all in
    // memory); it is renamed into place after config.json and the tokenizer, as before.
    EncodeOptions eo;
    eo.threads = cfg.threads;
    eo.quiet = cfg.quiet;
    eo.check_text = !text_checked;  // once per text: the tokenizer's training read it already
    eo.allow_binary = plan.allow_binary;
    eo.on_warning = [&](const std::string& w) { log.line("warning: " + w); };
    const std::vector<std::string> vocab = corpus_vocab(*rc.model);
    CorpusFileWriter writer(corpus_file, "bpe", rc.model->checksum(), plan.input, vocab);
    signal_point("train:encoding");
    const uint64_t tokens = encode_file(*rc.model, plan.text_path(), eo, writer);
    log.line("encoded: " + std::to_string(tokens) + " tokens in " + std::to_string(writer.lines_written()) + " lines");
    before_write(tokens, vocab.size(), "bpe", rc.model->checksum());
    rc.model->save(tokenizer_file);
    writer.commit();
  } else {
    // The run keeps its own copy, so --resume never depends on the given file. It is
    // copied before before_write, which on --force removes the old run's files: the given
    // corpus may be one of them (`--corpus RUN/corpus.tkc --output RUN --force`).
    std::optional<AtomicFileWriter> copy;
    {
      TokenCorpus given = TokenCorpus::open(plan.corpus_path);
      copy.emplace(corpus_file);
      copy_file_to(plan.corpus_path, *copy);
      if (!plan.tokenizer_path.empty()) {
        rc.model = BpeModel::load(plan.tokenizer_path);
        if (given.tokenizer_kind() != "bpe" || given.tokenizer_checksum() != rc.model->checksum()) {
          throw input_error(plan.corpus_path, "", "was encoded with another tokenizer (" + given.tokenizer_kind() + ", checksum " +
                                                      hex64(given.tokenizer_checksum()) + ") than " + plan.tokenizer_path +
                                                      " (bpe, checksum " + hex64(rc.model->checksum()) + ")");
        }
      }
      log.line("corpus: " + std::to_string(given.view().tokens.size()) + " tokens, " + std::to_string(given.vocab().size()) + " types");
      before_write(given.view().tokens.size(), given.vocab().size(), given.tokenizer_kind(), given.tokenizer_checksum());
    }
    if (rc.model) rc.model->save(tokenizer_file);
    copy->commit();
  }
  rc.mapped = TokenCorpus::open(corpus_file);
  plan.cfg.validate(rc.view(), corpus_file);
  return rc;
}

/// The log line on under-trained rows, with the audit's default threshold.
std::string undertrained_summary(const TrainingState& state) {
  const uint64_t threshold = AuditConfig{}.min_updates;
  return update_coverage(state, threshold).describe(threshold);
}

/// Test hook for fault injection: TOKVEC_TEST_FAIL_CHECKPOINT_AFTER_BYTES=N makes every
/// checkpoint write fail (as on a full disk) once it has written N bytes.
uint64_t checkpoint_fault_bytes() {
  const char* v = std::getenv("TOKVEC_TEST_FAIL_CHECKPOINT_AFTER_BYTES");
  return v == nullptr ? UINT64_MAX : std::strtoull(v, nullptr, 10);
}

struct CheckpointOptions {
  CheckpointEvery every = CheckpointEvery::parse(kDefaultCheckpointEvery);
  size_t keep = 2;
};

/// Trains to the end, pausing to write checkpoints and to log the under-trained rows, and
/// stopping (with a checkpoint) on SIGINT/SIGTERM. Returns the process exit code.
int run_training(const std::string& dir, const RunCorpus& corpus, const TrainConfig& cfg, TrainingState& state,
                 uint64_t sequence, const CheckpointOptions& ckpt, Log& log) {
  if (distributed::active()) {  // rank 0 of an MPI job: src/mpi/distributed_mpi.cpp trains with all ranks
    LeaderJob job{dir, corpus.view(), cfg, ckpt.every, ckpt.keep, checkpoint_fault_bytes(), sequence,
                  [&](const std::string& line) { log.line(line); },
                  [&] { write_file_atomically((fs::path(dir) / "train.log").string(), log.text()); }, undertrained_summary};
    return distributed::lead(job, state);
  }
  // Progress lines in the log: ten a run, so the log shows how the under-trained rows
  // shrink as training goes.
  const uint64_t report_every = std::max<uint64_t>(1, state.tokens_total / 10);
  // A second Ctrl-C ends at once: what it leaves.
  set_signal_note(dir + " keeps config.json, corpus.tkc and the checkpoints written so far; resume with: tokvec train --resume " + dir);
  const uint64_t fault_bytes = checkpoint_fault_bytes();
  InterruptGuard interrupt;
  auto checkpoint_due = std::chrono::steady_clock::now();
  auto set_timer = [&] {
    checkpoint_due = std::chrono::steady_clock::now() +
                     std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(ckpt.every.seconds));
  };
  set_timer();
  uint64_t next_token_checkpoint = ckpt.every.tokens > 0 ? state.tokens_done + ckpt.every.tokens : UINT64_MAX;
  const double t0 = log.seconds();
  const uint64_t tokens_at_start = state.tokens_done;
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    TrainPause pause;
    pause.interrupt = &InterruptGuard::flag();
    pause.run_started = started;
    pause.run_started_tokens = tokens_at_start;
    const uint64_t next_report = (state.tokens_done / report_every + 1) * report_every;
    pause.at_tokens = std::min(next_report, next_token_checkpoint);
    if (ckpt.every.seconds > 0) {
      pause.after_seconds = std::max(0.001, std::chrono::duration<double>(checkpoint_due - std::chrono::steady_clock::now()).count());
    }
    bool finished;
    try {
      finished = train(corpus.view(), cfg, state, pause);
    } catch (const Error& e) {
      // The weights in memory may be diverged: nothing of them is written, the checkpoints
      // on disk (written before) stay as they are.
      const std::string kept = sequence > 0 ? checkpoint_path(dir, sequence) + " (the last checkpoint) is kept"
                                            : std::string("no checkpoint was written");
      log.note(std::string("training stopped: ") + e.what() + "; " + kept);
      write_file_atomically((fs::path(dir) / "train.log").string(), log.text());
      throw Error(e.kind(), std::string(e.what()) + "; " + kept);
    }
    if (finished) break;
    const bool interrupted = InterruptGuard::requested();
    const bool token_due = state.tokens_done >= next_token_checkpoint;
    const bool time_due = ckpt.every.seconds > 0 && std::chrono::steady_clock::now() >= checkpoint_due;
    if (state.tokens_done >= next_report) {
      char pct[32];
      std::snprintf(pct, sizeof pct, "%.0f%%", 100.0 * static_cast<double>(state.tokens_done) / static_cast<double>(state.tokens_total));
      // In train.log only: on screen the progress line is enough, and "at the end" sums up.
      log.log_only(std::string("at ") + pct + " of training: " + undertrained_summary(state));
    }
    if (interrupted || ((token_due || time_due) && ckpt.every.enabled())) {
      ++sequence;
      const std::string path = checkpoint_path(dir, sequence);
      const double w0 = log.seconds();
      try {
        save_state(path, state, fault_bytes);
      } catch (const Error& e) {
        log.line(std::string("checkpoint failed: ") + e.what() + "; the previous checkpoint is kept, training stops");
        write_file_atomically((fs::path(dir) / "train.log").string(), log.text());
        throw;
      }
      prune_checkpoints(dir, ckpt.keep);
      char buf[160];
      std::snprintf(buf, sizeof buf, "checkpoint %s at %llu of %llu tokens (written in %.3fs)",
                    fs::path(path).filename().c_str(), static_cast<unsigned long long>(state.tokens_done),
                    static_cast<unsigned long long>(state.tokens_total), log.seconds() - w0);
      log.line(buf);
      write_file_atomically((fs::path(dir) / "train.log").string(), log.text());
      if (token_due) next_token_checkpoint = state.tokens_done + ckpt.every.tokens;
      if (time_due) set_timer();
    }
    if (interrupted) {
      const int sig = InterruptGuard::signal_number();
      std::fprintf(stderr, "\ntokvec train: stopped by %s; progress saved in %s.\nResume with: tokvec train --resume %s\n",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT", checkpoint_path(dir, sequence).c_str(), dir.c_str());
      return 128 + sig;
    }
  }
  const double train_s = log.seconds() - t0;
  // The progress line counts the whole run's tokens: so does this line, and a resumed run
  // says how many of them this session trained (its time and rate are this session's).
  const uint64_t session_tokens = state.tokens_done - tokens_at_start;
  char buf[300];
  std::string count = std::to_string(state.tokens_done) + " tokens";
  if (tokens_at_start > 0) count += " (" + std::to_string(session_tokens) + " of them since the resume)";
  std::snprintf(buf, sizeof buf, "trained %s in %.2fs (%.0f tokens/s), mean loss %.4f over %llu pairs", count.c_str(), train_s,
                static_cast<double>(session_tokens) / std::max(train_s, 1e-9),
                state.loss_count ? state.loss_sum / static_cast<double>(state.loss_count) : 0.0,
                static_cast<unsigned long long>(state.loss_count));
  log.line(buf);
  log.line("at the end: " + undertrained_summary(state));
  // The state last, so its presence means a complete run.
  const double w0 = log.seconds();
  save_state((fs::path(dir) / "state.tkv").string(), state);
  log.line("wrote " + dir + "/state.tkv in " + std::to_string(log.seconds() - w0) + "s");
  write_file_atomically((fs::path(dir) / "train.log").string(), log.text());
  return 0;
}

/// Makes sure a checkpoint belongs to this run's corpus.
void check_checkpoint_corpus(const std::string& path, const TrainingState& s, const RunCorpus& corpus) {
  if (s.tokenizer_checksum != corpus.checksum() || s.vocab_size() != corpus.view().counts.size()) {
    throw corrupt_error(path, "section META", "belongs to another tokenizer or corpus than this run folder's corpus.tkc");
  }
}

/// Makes sure a checkpoint belongs to this run's corpus and config before continuing it.
void check_checkpoint_matches(const std::string& path, const TrainingState& s, const RunCorpus& corpus, const TrainConfig& cfg) {
  const CorpusView v = corpus.view();
  check_checkpoint_corpus(path, s, corpus);
  if (s.dim() != cfg.dim || s.tokens_total != static_cast<uint64_t>(cfg.epochs) * v.tokens.size()) {
    throw corrupt_error(path, "section META", "its dimension or length does not match config.json");
  }
  // A distributed job's cursor holds one trainer cursor per rank, for that rank's
  // shard: decoding it checks it against the corpus; a single process's is checked here.
  if (decode_job_cursor(s.cursor, path, v.tokens.size())) return;
  check_cursor(s, v, cfg, path);
}

/// A BPE run's tokenizer.bpe must be the one its corpus was encoded with: without it (or
/// with another) the trained vectors cannot be used, so resuming would train for nothing.
void check_run_tokenizer(const std::string& dir, const RunPlan& plan, const RunCorpus& corpus, const std::string& corpus_file) {
  const bool has_tokenizer = plan.mode == "bpe" || (plan.mode == "corpus" && !plan.tokenizer_path.empty());
  if (!has_tokenizer) return;
  const std::string tokenizer_file = (fs::path(dir) / "tokenizer.bpe").string();
  std::error_code ec;
  if (!fs::exists(tokenizer_file, ec)) {
    throw input_error(tokenizer_file, "", "is missing: this BPE run's corpus was encoded with it, and its vectors cannot be used "
                                          "without it (restore it, or train a new run)");
  }
  const BpeModel model = BpeModel::load(tokenizer_file);
  if (corpus.kind() != "bpe" || model.checksum() != corpus.checksum()) {
    throw input_error(tokenizer_file, "", "is not the tokenizer " + corpus_file + " was encoded with (checksum " + hex64(model.checksum()) +
                                                ", the corpus records " + corpus.kind() + " " + hex64(corpus.checksum()) +
                                                "): restore the run's own tokenizer.bpe, or train a new run");
  }
}

int resume_run(const std::string& dir, const CheckpointOptions& ckpt, bool quiet) {
  const std::string config_file = (fs::path(dir) / "config.json").string();
  std::error_code ec;
  // Held to the end: a second `train --resume` (or a `train --force`) of this folder is refused.
  const RunDir run_dir = RunDir::open(dir);
  const std::string resume_hint = "resume with: tokvec train --resume " + dir;
  set_signal_note(dir + " was left as it was; " + resume_hint);
  if (!fs::exists(config_file, ec)) throw input_error(dir, "", "holds no config.json: not a tokvec run folder");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(config_file));
  } catch (const nlohmann::json::exception& e) {
    throw corrupt_error(config_file, "", std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw corrupt_error(config_file, "", "expected a JSON object of settings");
  RunPlan plan = RunPlan::from_json(j, config_file);
  plan.cfg.quiet = quiet;
  const std::string state_file = (fs::path(dir) / "state.tkv").string();
  if (fs::exists(state_file, ec)) {
    TrainingState done = load_state(state_file);
    if (done.finished()) {
      std::fprintf(stderr, "tokvec train: %s already finished (%s); nothing to resume\n", dir.c_str(), state_file.c_str());
      return 0;
    }
  }
  Log log(quiet);
  std::string previous_log;
  if (fs::exists(fs::path(dir) / "train.log", ec)) previous_log = read_file((fs::path(dir) / "train.log").string());
  log.keep_previous(previous_log);
  log.line("tokvec train --resume " + dir);

  RunCorpus corpus;
  const std::string corpus_file = (fs::path(dir) / "corpus.tkc").string();
  bool have_corpus = false;
  if (fs::exists(corpus_file, ec)) {
    try {
      corpus.mapped = TokenCorpus::open(corpus_file);
      have_corpus = true;
      log.line("corpus: " + corpus_file + ", " + std::to_string(corpus.view().tokens.size()) + " tokens");
    } catch (const Error& e) {
      log.warn(std::string("warning: ") + e.what() + "; rebuilding the corpus");
    }
  }
  // The checkpoint before any rebuild: its record of the settings the run began with wins,
  // and an edited config.json is refused before anything uses it (a checkpoint of another
  // run is named as such first).
  std::optional<LoadedCheckpoint> loaded =
      load_newest_checkpoint(dir, [&](const std::string& warning) { log.warn("warning: " + warning); });
  if (loaded) {
    if (have_corpus) check_checkpoint_corpus(loaded->path, loaded->state, corpus);
    plan.cfg = resume_settings(j, config_file, loaded->state.config_json, loaded->path);
    plan.cfg.quiet = quiet;
  }
  if (!have_corpus) {
    // The text passed the UTF-8 check when the run began (config.json is written after it).
    plan.allow_binary = true;
    if (plan.mode != "corpus" && is_stream_input(plan.input)) {
      const std::string spool = (fs::path(dir) / kSpoolName).string();
      if (!fs::exists(spool, ec)) {
        throw input_error(dir, "", "its text was read from " + input_name(plan.input) +
                                       ", which cannot be read again, and its corpus.tkc is missing or damaged: start the run again");
      }
      plan.read_path = spool;
      plan.text_checked = true;
    }
    const std::string name = plan.mode == "corpus" ? plan.corpus_path : plan.input;
    corpus = build_corpus(plan, dir, log, [&](uint64_t tokens, size_t vocab, const std::string& kind, uint64_t checksum) {
      plan.cfg.validate(tokens, vocab, name);
      if (!j.contains("tokenizer_checksum")) {
        // A run stopped before its corpus was built has the config written first, without
        // what only the corpus tells: complete it now, as a new run would have.
        j["tokenizer_kind"] = kind;
        j["tokenizer_checksum"] = hex64(checksum);
        j["threads_used"] = resolve_threads(plan.cfg.threads);
        j["processes"] = distributed::size();
        write_file_atomically(config_file, j.dump(2) + "\n");
      }
    }, /*resuming=*/true);
  }
  plan.cfg.validate(corpus.view(), corpus_file);
  check_config_matches_corpus(j, config_file, corpus_file, corpus.kind(), corpus.checksum());
  check_run_tokenizer(dir, plan, corpus, corpus_file);

  TrainingState state;
  uint64_t sequence = 0;
  if (loaded) {
    check_resume_ranks(loaded->path, loaded->state.cursor, distributed::size(), dir);  // same process count
    check_checkpoint_matches(loaded->path, loaded->state, corpus, plan.cfg);
    state = std::move(loaded->state);
    sequence = loaded->sequence;
    char buf[200];
    std::snprintf(buf, sizeof buf, "resuming from %s: %llu of %llu tokens done", fs::path(loaded->path).filename().c_str(),
                  static_cast<unsigned long long>(state.tokens_done), static_cast<unsigned long long>(state.tokens_total));
    log.line(buf);
  } else {
    log.line("no checkpoint yet: starting over with the settings of config.json");
    state = initial_state(corpus.view(), corpus.vocab(), corpus.kind(), corpus.checksum(), plan.cfg);
    state.config_json = j.dump();
  }
  return run_training(dir, corpus, plan.cfg, state, sequence, ckpt, log);
}

}  // namespace

static int train_main(int argc, char** argv) {
  const TrainConfig d;
  const SyncOptions sync_defaults;
  const BpeTrainConfig bpe_defaults;
  const CheckpointOptions ckpt_defaults;
  cxxopts::Options options("tokvec train",
                           "Train skip-gram (negative sampling) token embeddings.\n"
                           "  tokvec train --input FILE --output RUN_DIR [--tokenizer MODEL | --bpe-vocab-size N | --words]\n"
                           "  tokvec train --corpus CORPUS --output RUN_DIR [--tokenizer MODEL]\n"
                           "  tokvec train --resume RUN_DIR");
  options.add_options()
      ("input", "Raw UTF-8 text to train on ('-' for stdin)", cxxopts::value<std::string>())
      ("output", "Run folder (created; must be empty unless --force)", cxxopts::value<std::string>())
      ("tokenizer", "Use this BPE model instead of training one", cxxopts::value<std::string>())
      ("bpe-vocab-size", "Train a BPE tokenizer of this size (the default mode)",
       cxxopts::value<uint32_t>()->default_value(std::to_string(bpe_defaults.vocab_size)))
      ("words", "Whitespace-separated words as tokens (as word2vec/fastText/gensim)")
      ("lowercase", "With --words: lowercase the text (Unicode) before counting; queries to the run are lowercased too")
      ("corpus", "Train on an already encoded token corpus (.tkc)", cxxopts::value<std::string>())
      ("resume", "Continue the run in RUN_DIR from its newest valid checkpoint", cxxopts::value<std::string>())
      ("dim", "Embedding dimension", cxxopts::value<uint32_t>()->default_value(std::to_string(d.dim)))
      ("window", "Maximum context half-width", cxxopts::value<uint32_t>()->default_value(std::to_string(d.window)))
      ("negative", "Negative samples", cxxopts::value<uint32_t>()->default_value(std::to_string(d.negative)))
      ("sample", "Subsampling threshold (0 = off)", cxxopts::value<double>()->default_value(nlohmann::json(d.sample).dump()))
      ("min-count", "Words mode: drop rarer words", cxxopts::value<uint64_t>()->default_value(std::to_string(d.min_count)))
      ("epochs", "Passes over the corpus", cxxopts::value<uint32_t>()->default_value(std::to_string(d.epochs)))
      ("threads", "Threads (0 = all cores)", cxxopts::value<int>()->default_value(std::to_string(d.threads)))
      ("lr", "Initial learning rate (decays linearly)", cxxopts::value<double>()->default_value(nlohmann::json(d.lr).dump()))
      ("seed", "Random seed", cxxopts::value<uint64_t>()->default_value(std::to_string(d.seed)))
      ("kernel", "hogbatch or pair", cxxopts::value<std::string>()->default_value(d.kernel))
      ("checkpoint-every", "Checkpoint interval: 30s, 10m, 2h, a number of tokens, or off",
       cxxopts::value<std::string>()->default_value(kDefaultCheckpointEvery))
      ("keep", "Checkpoints kept (the newest)", cxxopts::value<size_t>()->default_value(std::to_string(ckpt_defaults.keep)))
      ("sync-every", "MPI jobs: seconds between model syncs",
       cxxopts::value<double>()->default_value(nlohmann::json(sync_defaults.every_seconds).dump()))
      ("sync-rows", "MPI jobs: the most frequent rows, synced at every sync",
       cxxopts::value<uint64_t>()->default_value(std::to_string(sync_defaults.rows)))
      ("sync-tokens", "MPI jobs: also sync when a process has trained N tokens since its last sync, and make its threads wait at 2N until that sync is done (bounded staleness); 0: by time only",
       cxxopts::value<uint64_t>()->default_value(std::to_string(sync_defaults.tokens)))
      ("sync-full-every", "MPI jobs: every N-th sync moves all rows",
       cxxopts::value<uint32_t>()->default_value(std::to_string(sync_defaults.full_every)))
      ("sync-mode", "MPI jobs: average (the replicas), sum (every process's progress), hybrid (average the synced frequent rows, sum the others), or adaptive (per row: the sum of the processes' changes where they differ, their mean where they repeat)", cxxopts::value<std::string>()->default_value(sync_defaults.mode))
      ("allow-binary", "Train on text that does not look like UTF-8 (UTF-16, Latin-1, binary) instead of refusing it")
      ("quiet", "No progress output")
      ("force", "Replace the run in a non-empty --output folder");
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const cxxopts::ParseResult& r = *parsed;

  CheckpointOptions ckpt;
  ckpt.every = CheckpointEvery::parse(r["checkpoint-every"].as<std::string>());
  ckpt.keep = r["keep"].as<size_t>();
  check_range("--keep", static_cast<int64_t>(std::min<size_t>(ckpt.keep, 1000000)), 1, 1000);
  const bool quiet = r.count("quiet") > 0;
  SyncOptions sync;
  sync.every_seconds = r["sync-every"].as<double>();
  sync.rows = r["sync-rows"].as<uint64_t>();
  sync.full_every = r["sync-full-every"].as<uint32_t>();
  sync.tokens = r["sync-tokens"].as<uint64_t>();
  sync.mode = r["sync-mode"].as<std::string>();
  sync.validate();
  distributed::set_sync_options(sync);

  if (r.count("resume") > 0) {
    for (const char* other : {"input", "output", "tokenizer", "bpe-vocab-size", "words", "corpus", "dim", "window", "negative",
                              "sample", "min-count", "epochs", "threads", "lr", "seed", "kernel", "force", "lowercase", "allow-binary"}) {
      if (r.count(other) > 0) {
        throw usage_error(std::string("--resume continues a run with the settings in its config.json; --") + other +
                          " cannot be changed");
      }
    }
    return resume_run(r["resume"].as<std::string>(), ckpt, quiet);
  }
  require(r, "output");

  RunPlan plan;
  TrainConfig& cfg = plan.cfg;
  cfg.dim = r["dim"].as<uint32_t>();
  cfg.window = r["window"].as<uint32_t>();
  cfg.negative = r["negative"].as<uint32_t>();
  cfg.sample = r["sample"].as<double>();
  cfg.min_count = r["min-count"].as<uint64_t>();
  cfg.epochs = r["epochs"].as<uint32_t>();
  cfg.threads = r["threads"].as<int>();
  cfg.lr = r["lr"].as<double>();
  cfg.seed = r["seed"].as<uint64_t>();
  cfg.kernel = r["kernel"].as<std::string>();
  cfg.quiet = quiet;
  cfg.validate();

  const bool words = r.count("words") > 0;
  const bool have_tokenizer = r.count("tokenizer") > 0;
  const bool have_corpus = r.count("corpus") > 0;
  const bool have_input = r.count("input") > 0;
  if (words && (have_tokenizer || r.count("bpe-vocab-size") > 0)) {
    throw usage_error("--words cannot be combined with --tokenizer or --bpe-vocab-size");
  }
  if (r.count("lowercase") > 0 && !words) {
    throw usage_error("--lowercase applies to --words runs (a BPE tokenizer keeps the text's case so that decode gives it back)");
  }
  plan.lowercase = r.count("lowercase") > 0;
  if (have_tokenizer && r.count("bpe-vocab-size") > 0) throw usage_error("give --tokenizer or --bpe-vocab-size, not both");
  if (have_corpus && (words || r.count("bpe-vocab-size") > 0)) {
    throw usage_error("--corpus trains on an encoded corpus: --words and --bpe-vocab-size do not apply");
  }
  if (!have_corpus && !have_input) throw usage_error("--input is required (or --corpus, or --resume)");
  if (have_corpus && have_input) throw usage_error("give --input or --corpus, not both");
  plan.mode = have_corpus ? "corpus" : (words ? "words" : "bpe");
  plan.bpe_vocab = r["bpe-vocab-size"].as<uint32_t>();
  // Paths are kept absolute in config.json so --resume works from any folder.
  auto absolute = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
  if (have_input) {
    const std::string given = r["input"].as<std::string>();
    plan.input = is_stdin_path(given) ? given : absolute(given);
  }
  plan.allow_binary = r.count("allow-binary") > 0;
  if (have_corpus) plan.corpus_path = absolute(r["corpus"].as<std::string>());
  if (have_tokenizer) plan.tokenizer_path = absolute(r["tokenizer"].as<std::string>());
  if (have_input) check_readable_input(plan.input);
  if (have_corpus) check_readable_file(plan.corpus_path);
  if (have_tokenizer) check_readable_file(plan.tokenizer_path);
  if (plan.mode == "bpe" && !have_tokenizer) {
    BpeTrainConfig bc;
    bc.inputs = {plan.input};
    bc.vocab_size = plan.bpe_vocab;
    bc.threads = cfg.threads;
    bc.validate();
  }

  const std::string dir = r["output"].as<std::string>();
  std::optional<RunDir> run_dir;
  try {
    run_dir.emplace(RunDir::create(dir, r.count("force") > 0));
  } catch (const FieldError& e) {
    throw e.with_field_name("--" + e.field());
  }
  const RunDir& hold = *run_dir;
  const bool created = hold.created();
  // --force replaces the old run's files once the new corpus is known. What this run reads
  // is read before that (the tokenizer into memory, a --corpus copied first); a text input
  // is read again after it (words mode's second pass), so it must not be one of them.
  for (const std::string& old : hold.run_files()) {
    if (same_file(plan.input, old)) {
      throw usage_error("--input " + plan.input + " is " + old + ", a file of the run that --force replaces in " + dir +
                        "; copy it out of the folder first (nothing was changed)");
    }
  }
  const std::string resume_hint = "resume with: tokvec train --resume " + dir;
  bool replaced = false;  // before_write ran: the folder is this run's
  try {
    Log log(quiet);
    log.line("tokvec train: mode " + plan.mode + (plan.lowercase ? " (lowercased)" : "") + (have_input ? ", input " + input_name(plan.input) : ", corpus " + plan.corpus_path));
    // Text from "-" or a pipe is read twice (tokenizer or word count, then encoding): it is
    // copied into the run folder once, checked as it goes, and removed once corpus.tkc is in.
    SpooledText spool;
    if (have_input && is_stream_input(plan.input)) {
      TextCheck check(input_name(plan.input), plan.allow_binary);
      spool = SpooledText(plan.input, (fs::path(dir) / kSpoolName).string(), [&](std::string_view b) { check.feed(b); });
      const std::string warning = check.finish();
      if (!warning.empty()) log.line("warning: " + input_name(plan.input) + ": " + warning);
      if (spool.bytes() == 0) throw input_error(input_name(plan.input), "", "no text to train on: the stream is empty");
      log.line("read " + std::to_string(spool.bytes()) + " bytes from " + input_name(plan.input) + " into " + spool.path());
      plan.read_path = spool.path();
      plan.text_checked = true;
    }
    // Bad input fails before the folder changes: build_corpus calls this once the corpus's
    // size and tokenizer are known and before it writes anything (words mode: after the
    // counting pass, before the ids are streamed into corpus.tkc).
    const int threads = resolve_threads(cfg.threads);
    nlohmann::json cj = plan.to_json();
    const std::string config_file = (fs::path(dir) / "config.json").string();
    if (hold.was_empty()) {
      // An empty folder holds no run to keep: the config goes in first, so that a run
      // stopped while its tokenizer or corpus is built can be resumed.
      write_file_atomically(config_file, cj.dump(2) + "\n");
      set_signal_note(dir + " holds config.json and no corpus yet; " + resume_hint + " (or start over with --force)");
    } else {
      set_signal_note("the run in " + dir + " was left as it was");
    }
    const std::string name = have_corpus ? plan.corpus_path : plan.input;
    auto before_write = [&](uint64_t tokens, size_t vocab, const std::string& kind, uint64_t checksum) {
      cfg.validate(tokens, vocab, name);
      cj["tokenizer_kind"] = kind;
      cj["tokenizer_checksum"] = hex64(checksum);
      cj["threads_used"] = threads;
      cj["processes"] = distributed::size();  // MPI processes, each with threads_used threads
      // From here on the folder is this run's: config before the tokenizer and the corpus,
      // and those before any training, so a run killed at any later point can be resumed.
      if (!hold.was_empty()) hold.clear_old_run({plan.input, plan.corpus_path, plan.tokenizer_path});  // --force: a stale checkpoint must never be resumed into this run
      replaced = true;
      write_file_atomically(config_file, cj.dump(2) + "\n");
      set_signal_note(dir + " holds config.json and no complete corpus yet; " + resume_hint);
    };
    RunCorpus corpus = build_corpus(plan, dir, log, before_write, /*resuming=*/false);
    set_signal_note(dir + " holds config.json and corpus.tkc; " + resume_hint);
    spool = SpooledText();  // corpus.tkc holds the text now
    log.line("settings: " + cfg.to_json().dump() + ", " + std::to_string(threads) + " threads, checkpoints every " +
             ckpt.every.to_string() + ", keeping " + std::to_string(ckpt.keep));

    TrainingState state = initial_state(corpus.view(), corpus.vocab(), corpus.kind(), corpus.checksum(), cfg);
    state.config_json = cj.dump();
    return run_training(dir, corpus, cfg, state, 0, ckpt, log);
  } catch (...) {
    std::error_code ec;
    // A folder created here for a run that failed before training leaves nothing to resume;
    // an empty folder given is left empty again.
    const bool no_corpus = !fs::exists(fs::path(dir) / "corpus.tkc", ec);
    if (created && no_corpus) {
      fs::remove_all(dir, ec);
    } else if (hold.was_empty() && !replaced) {
      fs::remove(fs::path(dir) / "config.json", ec);
    }
    throw;
  }
}

// Under mpirun with several processes, rank 0 runs train_main and the others follow it
// (distributed.h); otherwise this is train_main.
int cmd_train(int argc, char** argv) { return distributed::run_command(argc, argv, train_main); }

}  // namespace tokvec::cli
