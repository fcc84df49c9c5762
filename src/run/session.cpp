// The training session: a new run or a resumed one, trained to the end with checkpoints,
// SIGINT/SIGTERM handling and train.log (run.h).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "run/backend.h"
#include "run/session_detail.h"
#include "tokvec/audit.h"
#include "base/config.h"
#include "distributed/distributed.h"
#include "base/interrupt.h"
#include "base/io.h"
#include "text/text.h"
#include "text/text_check.h"
#include "tokvec/trainer.h"
#include "sgns/subword.h"

namespace tokvec {

namespace fs = std::filesystem;
using detail::CorpusPlan;
using detail::RunCorpus;
using detail::RunLog;

namespace {

/// The log line on under-trained rows, with the audit's default threshold.
std::string undertrained_summary(const TrainingState& state) {
  const uint64_t threshold = AuditConfig{}.min_updates;
  return update_coverage(state, threshold).describe(threshold);
}

/// Test hook for fault injection: TOKVEC_TEST_FAIL_CHECKPOINT_AFTER_BYTES=N makes every
/// checkpoint write fail (as on a full disk) once it has written N bytes.
uint64_t checkpoint_fault_bytes(const CheckpointPolicy& policy) {
  const char* v = std::getenv("TOKVEC_TEST_FAIL_CHECKPOINT_AFTER_BYTES");
  return std::min<uint64_t>(policy.fail_after_bytes, v == nullptr ? UINT64_MAX : std::strtoull(v, nullptr, 10));
}

/// Writes the run's log to RUN_DIR/train.log.
void save_log(const RunDir& dir, const RunLog& log) { write_file_atomically(dir.file("train.log"), log.text()); }

/// Writes checkpoint number `sequence` with `write`, then prunes to the policy's `keep` and
/// logs it; a failed write is logged and rethrown (the previous checkpoint stays).
void write_checkpoint(const RunDir& dir, uint64_t sequence, const CheckpointPolicy& policy, RunLog& log,
                      const std::function<void(const std::string&)>& write, const std::string& what) {
  const std::string path = checkpoint_path(dir.path(), sequence);
  const double w0 = log.seconds();
  try {
    write(path);
  } catch (const Error& e) {
    log.line(std::string("checkpoint failed: ") + e.what() + "; the previous checkpoint is kept, training stops");
    save_log(dir, log);
    throw;
  }
  prune_checkpoints(dir.path(), policy.keep);
  char buf[300];
  std::snprintf(buf, sizeof buf, "checkpoint %s at %s (written in %.3fs)", fs::path(path).filename().c_str(), what.c_str(),
                log.seconds() - w0);
  log.line(buf);
  save_log(dir, log);
}

SessionResult stopped(int sig, const std::string& checkpoint, int processes) {
  SessionResult r;
  r.outcome = SessionResult::Outcome::stopped;
  r.signal = sig;
  r.checkpoint = checkpoint;
  r.processes = processes;
  return r;
}

}  // namespace

/// Trains to the end, pausing to write checkpoints and to log the under-trained rows, and
/// stopping (with a checkpoint) on SIGINT/SIGTERM. The backend is this process's Trainer,
/// or, on rank 0 of an MPI job, the job (src/distributed): either way the policy, the
/// checkpoints, the log and the summary are this function's.

SessionResult detail::train_to_end(const RunDir& dir, uint64_t sequence, const SessionOptions& options, RunLog& log,
                                   const std::function<std::unique_ptr<TrainingBackend>()>& make_backend) {
  const CheckpointPolicy& policy = options.checkpoints;
  // A second Ctrl-C ends at once: what it leaves.
  set_signal_note(dir.path() + " keeps config.json, corpus.tkc and the checkpoints written so far; resume with: " +
                  resume_command(dir.path()));
  const uint64_t fault_bytes = checkpoint_fault_bytes(policy);
  InterruptGuard interrupt;
  std::unique_ptr<detail::TrainingBackend> backend = make_backend();
  if (const std::string line = backend->describe(); !line.empty()) log.line(line);
  // Progress lines in the log: ten a run, so the log shows how the under-trained rows
  // shrink as training goes.
  const uint64_t report_every = std::max<uint64_t>(1, backend->tokens_total() / 10);
  using Clock = CheckpointSchedule::Clock;
  CheckpointSchedule schedule(policy.every, backend->tokens_done(), Clock::now());
  const double t0 = log.seconds();
  const uint64_t tokens_at_start = backend->tokens_done();
  const auto started = Clock::now();
  for (;;) {
    detail::StretchGoal goal;
    goal.schedule = &schedule;
    goal.checkpoints = policy.every.enabled();
    goal.run_started = started;
    goal.run_started_tokens = tokens_at_start;
    const uint64_t next_report = (backend->tokens_done() / report_every + 1) * report_every;
    goal.report_at = next_report;
    detail::StretchEnd end;
    try {
      end = backend->run(goal);
    } catch (const Error& e) {
      // The weights in memory may be diverged: nothing of them is written, the checkpoints
      // on disk (written before) stay as they are.
      const std::string kept = sequence > 0 ? checkpoint_path(dir.path(), sequence) + " (the last checkpoint) is kept"
                                            : std::string("no checkpoint was written");
      log.note(std::string("training stopped: ") + e.what() + "; " + kept);
      save_log(dir, log);
      throw Error(e.kind(), std::string(e.what()) + "; " + kept);
    }
    if (end.finished) break;
    const uint64_t done = backend->tokens_done();
    if (done >= next_report) {
      char pct[32];
      std::snprintf(pct, sizeof pct, "%.0f%%", 100.0 * static_cast<double>(done) / static_cast<double>(backend->tokens_total()));
      // In train.log only: on screen the progress line is enough, and "at the end" sums up.
      backend->with_state([&](const TrainingState& s) { log.note(std::string("at ") + pct + " of training: " + undertrained_summary(s)); });
    }
    if (end.signal != 0 || end.checkpoint) {
      ++sequence;
      write_checkpoint(dir, sequence, policy, log,
                       [&](const std::string& path) {
                         backend->with_state([&](const TrainingState& s) { save_state(path, s, fault_bytes); });
                       },
                       std::to_string(done) + " of " + std::to_string(backend->tokens_total()) + " tokens" + backend->checkpoint_note());
      schedule.written(end.due, done, Clock::now());
    }
    if (end.signal != 0) return stopped(end.signal, checkpoint_path(dir.path(), sequence), backend->processes());
  }
  const double train_s = log.seconds() - t0;
  // The progress line counts the whole run's tokens: so does this line, and a resumed run
  // says how many of them this session trained (its time and rate are this session's).
  const uint64_t done = backend->tokens_done();
  const uint64_t session_tokens = done - tokens_at_start;
  std::string count = std::to_string(done) + " tokens";
  if (tokens_at_start > 0) count += " (" + std::to_string(session_tokens) + " of them since the resume)";
  backend->with_state([&](const TrainingState& s) {
    char buf[400];
    std::snprintf(buf, sizeof buf, "trained %s in %.2fs (%.0f tokens/s)%s, mean loss %.4f over %llu pairs", count.c_str(), train_s,
                  static_cast<double>(session_tokens) / std::max(train_s, 1e-9), backend->workers().c_str(),
                  s.loss_count ? s.loss_sum / static_cast<double>(s.loss_count) : 0.0, static_cast<unsigned long long>(s.loss_count));
    log.line(buf);
  });
  for (const std::string& line : backend->closing_lines()) log.line(line);
  // The state last, so its presence means a complete run.
  const double w0 = log.seconds();
  backend->with_state([&](const TrainingState& s) {
    log.line("at the end: " + undertrained_summary(s));
    save_state(dir.file("state.tkv"), s);
  });
  log.line("wrote " + dir.path() + "/state.tkv in " + std::to_string(log.seconds() - w0) + "s");
  save_log(dir, log);
  return SessionResult{};
}

namespace {

/// The backend of a session: rank 0's side of an MPI job, or this process's Trainer.
std::function<std::unique_ptr<detail::TrainingBackend>()> backend_of(distributed::World* world, const RunDir& dir, const RunCorpus& corpus,
                                                                     const TrainConfig& cfg, TrainingState& state,
                                                                     const std::shared_ptr<const SubwordMap>& subwords) {
  return [world, &dir, &corpus, &cfg, &state, subwords]() -> std::unique_ptr<detail::TrainingBackend> {
    if (world != nullptr) return distributed::lead(*world, dir.path(), corpus.view(), cfg, state, subwords);
    return detail::local_backend(corpus.view(), cfg, state, subwords);
  };
}

/// Whether two paths name one file (device and inode).
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return !a.empty() && !b.empty() && fs::equivalent(a, b, ec) && !ec;
}

/// A subword run's rows (subword.h) from its tokenizer (loaded from RUN_DIR/tokenizer.bpe
/// when the corpus was not built in this session) and its corpus's words; null for the
/// other modes.
std::shared_ptr<const SubwordMap> subword_map(const RunConfig& run, RunCorpus& corpus, const std::string& dir, RunLog& log) {
  if (run.mode != RunMode::subwords) return nullptr;
  if (!corpus.model) {
    const std::string tokenizer_file = (fs::path(dir) / "tokenizer.bpe").string();
    std::error_code ec;
    if (!fs::exists(tokenizer_file, ec)) {
      throw input_error(tokenizer_file, "", "is missing: this subword run's words are composed of its pieces, and its vectors "
                                            "cannot be used without it (restore it, or train a new run)");
    }
    corpus.model = BpeModel::load(tokenizer_file);
  }
  auto map = std::make_shared<const SubwordMap>(SubwordMap::build(*corpus.model, corpus.vocab(), corpus.view().counts, run.subwords));
  const SubwordCompose compose = run.subwords.compose;
  const bool own_plus = weighs_own_row_apart(compose);
  log.line("subwords: " + std::to_string(map->words()) + " words composed of " +
           (compose == SubwordCompose::own_plus_mean     ? std::string("means")
            : compose == SubwordCompose::own_plus_scaled ? std::string("scaled sums (1/sqrt(n) for n rows)")
                                                         : std::string(subword_compose_name(compose)) + "s") +
           " of their pieces" + (run.subwords.ancestors ? " and the pieces' merge ancestors" : "") +
           (run.subwords.ancestors && run.subwords.ancestor_min_chars > 1
                ? " of at least " + std::to_string(run.subwords.ancestor_min_chars) + " characters"
                : std::string()) +
           (run.subwords.own_min_count > 0
                ? std::string(own_plus ? (compose == SubwordCompose::own_plus_mean ? ", plus an own row added to the mean for words seen >= "
                                                                                    : ", plus an own row added to them for words seen >= ")
                                       : ", plus an own row for words seen >= ") +
                      std::to_string(run.subwords.own_min_count) + " times"
                : std::string()) +
           (own_plus && run.subwords.own_min_count > 0 && run.subwords.piece_damping_count > 0
                ? ", the other rows weighed down by sqrt(" + std::to_string(run.subwords.piece_damping_count) + " / (" +
                      std::to_string(run.subwords.piece_damping_count) + " + count))"
                : std::string()) +
           (run.subwords.outputs == SubwordOutputs::pieces ? "; output vectors composed of the same rows" : "") + "; " +
           std::to_string(map->rows()) + " rows");
  return map;
}

/// A subword run's state: its rows are the words' and then the pieces'.
TrainingState initial_run_state(const RunConfig& run, const RunCorpus& corpus, const TrainConfig& cfg,
                                const std::shared_ptr<const SubwordMap>& subwords) {
  if (!subwords) return initial_state(corpus.view(), corpus.vocab(), corpus.kind(), corpus.checksum(), cfg);
  (void)run;
  TrainingState s = initial_subword_state(corpus.view(), corpus.vocab(), *corpus.model, *subwords, corpus.kind(), corpus.checksum(),
                                          cfg.dim, cfg.seed, cfg.epochs, cfg.threads);
  return s;
}

/// Makes sure a checkpoint belongs to this run's corpus.
void check_checkpoint_corpus(const std::string& path, const TrainingState& s, const RunCorpus& corpus, size_t rows) {
  if (s.tokenizer_checksum != corpus.checksum() || s.vocab_size() != rows) {
    throw corrupt_error(path, "section META", "belongs to another tokenizer or corpus than this run folder's corpus.tkc");
  }
}

/// Makes sure a checkpoint belongs to this run's corpus and config before continuing it.
void check_checkpoint_matches(const std::string& path, const TrainingState& s, const RunCorpus& corpus, const TrainConfig& cfg,
                              size_t rows) {
  const CorpusView v = corpus.view();
  check_checkpoint_corpus(path, s, corpus, rows);
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
void check_run_tokenizer(const std::string& dir, const RunConfig& plan, const RunCorpus& corpus, const std::string& corpus_file) {
  const bool has_tokenizer = plan.mode == RunMode::bpe || (plan.mode == RunMode::corpus && !plan.tokenizer_path.empty());
  if (!has_tokenizer) return;  // a subword run's tokenizer: subword_map
  const std::string tokenizer_file = (fs::path(dir) / "tokenizer.bpe").string();
  std::error_code ec;
  if (!fs::exists(tokenizer_file, ec)) {
    throw input_error(tokenizer_file, "", "is missing: this BPE run's corpus was encoded with it, and its vectors cannot be used "
                                          "without it (restore it, or train a new run)");
  }
  const BpeModel model = BpeModel::load(tokenizer_file);
  if (corpus.kind() != TokenizerKind::bpe || model.checksum() != corpus.checksum()) {
    throw input_error(tokenizer_file, "", "is not the tokenizer " + corpus_file + " was encoded with (checksum " + hex64(model.checksum()) +
                                                ", the corpus records " + std::string(tokenizer_kind_name(corpus.kind())) + " " + hex64(corpus.checksum()) +
                                                "): restore the run's own tokenizer.bpe, or train a new run");
  }
}

}  // namespace

SessionResult TrainingSession::start(const RunConfig& config, const std::string& dir, bool force, const SessionOptions& options) {
  return detail::start_session(config, dir, force, options, nullptr);
}

SessionResult TrainingSession::resume(const std::string& dir, const SessionOptions& options) {
  return detail::resume_session(dir, options, nullptr);
}

SessionResult detail::start_session(const RunConfig& config, const std::string& dir, bool force, const SessionOptions& options,
                                    distributed::World* world) {
  RunConfig run = config;
  TrainConfig& cfg = run.train;
  // An adapted run: the source is read and checked before the folder changes, and never
  // written to.
  std::optional<detail::AdaptSource> source;
  if (!run.init_from.empty()) {
    if (world != nullptr) throw FieldError(ErrorKind::usage, "init_from", "is not available in an MPI job: adapt a run in one process");
    source = detail::load_adapt_source(run.init_from);
    detail::apply_adapt_source(run, *source);
    cfg.validate();
    std::error_code ec;
    if (fs::equivalent(dir, source->dir, ec) && !ec) {
      throw FieldError(ErrorKind::usage, "output", dir + " is the folder of the run it starts from (" + source->dir +
                                                        "), which an adapted run never changes: give a new folder");
    }
  }
  const bool have_corpus = run.mode == RunMode::corpus;
  const RunDir hold = RunDir::create(dir, force);
  const bool created = hold.created();
  // A forced run replaces the old run's files once the new corpus is known. What this run
  // reads is read before that (the tokenizer into memory, a corpus copied first); a text
  // input is read again after it (words mode's second pass), so it must not be one of them.
  for (const std::string& old : hold.run_files()) {
    if (same_file(run.input, old)) {
      throw FieldError(ErrorKind::usage, "input", run.input + " is " + old + ", a file of the run that " + setting_name("force") + " replaces in " + dir +
                                                       "; copy it out of the folder first (nothing was changed)");
    }
  }
  const std::string resume_hint = "resume with: " + resume_command(dir);
  bool replaced = false;  // before_write ran: the folder is this run's
  try {
    RunLog log(options.quiet);
    log.line("tokvec train: mode " + std::string(run_mode_name(run.mode)) + (run.lowercase ? " (lowercased)" : "") +
             (!have_corpus ? ", input " + input_name(run.input) : ", corpus " + run.corpus_path));
    CorpusPlan plan;
    plan.allow_binary = options.allow_binary;
    plan.quiet = options.quiet;
    // Text from "-" or a pipe is read twice (tokenizer or word count, then encoding): it is
    // copied into the run folder once, checked as it goes, and removed once corpus.tkc is in.
    SpooledText spool;
    if (!have_corpus && is_stream_input(run.input)) {
      TextCheck check(input_name(run.input), options.allow_binary);
      spool = SpooledText(run.input, hold.file(detail::kSpoolName), [&](std::string_view b) { check.feed(b); });
      const std::string warning = check.finish();
      if (!warning.empty()) log.line("warning: " + input_name(run.input) + ": " + warning);
      if (spool.bytes() == 0) throw input_error(input_name(run.input), "", "no text to train on: the stream is empty");
      log.line("read " + std::to_string(spool.bytes()) + " bytes from " + input_name(run.input) + " into " + spool.path());
      plan.read_path = spool.path();
      plan.text_checked = true;
    }
    // Bad input fails before the folder changes: build_corpus calls this once the corpus's
    // size and tokenizer are known and before it writes anything (words mode: after the
    // counting pass, before the ids are streamed into corpus.tkc).
    const int threads = resolve_threads(cfg.threads);
    const std::string config_file = hold.file("config.json");
    if (hold.was_empty()) {
      // An empty folder holds no run to keep: the config goes in first, so that a run
      // stopped while its tokenizer or corpus is built can be resumed.
      run.write(config_file);
      set_signal_note(dir + " holds config.json and no corpus yet; " + resume_hint + " (or start over with " + setting_name("force") + ")");
    } else {
      set_signal_note("the run in " + dir + " was left as it was");
    }
    const std::string name = have_corpus ? run.corpus_path : run.input;
    auto before_write = [&](uint64_t tokens, size_t vocab, TokenizerKind kind, uint64_t checksum) {
      cfg.validate(tokens, vocab, name);
      run.tokenizer_kind = kind;
      run.tokenizer_checksum = checksum;
      run.threads_used = threads;
      run.processes = world != nullptr ? world->size : 1;  // MPI processes, each with threads_used threads
      // From here on the folder is this run's: config before the tokenizer and the corpus,
      // and those before any training, so a run killed at any later point can be resumed.
      // Forced: a stale checkpoint must never be resumed into this run.
      if (!hold.was_empty()) hold.clear_old_run({run.input, run.corpus_path, run.tokenizer_path});
      replaced = true;
      run.write(config_file);
      set_signal_note(dir + " holds config.json and no complete corpus yet; " + resume_hint);
    };
    plan.config = run;
    if (source && source->state.tokenizer_kind == TokenizerKind::words) plan.base_vocab = &source->state.vocab;
    if (source) {
      log.line("starting from " + source->path + ": " + std::to_string(source->state.vocab_size()) + " rows, dim " +
               std::to_string(source->state.dim()) + ", " + std::string(tokenizer_kind_name(source->state.tokenizer_kind)) + " tokenizer");
    }
    RunCorpus corpus = detail::build_corpus(plan, dir, log, before_write, /*resuming=*/false);
    set_signal_note(dir + " holds config.json and corpus.tkc; " + resume_hint);
    spool = SpooledText();  // corpus.tkc holds the text now
    log.line("settings: " + cfg.to_json().dump() + ", " + std::to_string(threads) + " threads, checkpoints every " +
             options.checkpoints.every.to_string() + ", keeping " + std::to_string(options.checkpoints.keep));

    const std::shared_ptr<const SubwordMap> subwords = subword_map(run, corpus, dir, log);
    TrainingState state = source ? detail::adapted_state(*source, corpus.view(), corpus.vocab(), corpus.kind(), corpus.checksum(), cfg)
                                 : initial_run_state(run, corpus, cfg, subwords);
    source.reset();  // its matrices are copied: memory back before training
    state.config_json = run.to_json().dump();
    return detail::train_to_end(hold, 0, options, log, backend_of(world, hold, corpus, cfg, state, subwords));
  } catch (...) {
    std::error_code ec;
    // A folder created here for a run that failed before training leaves nothing to resume;
    // an empty folder given is left empty again.
    const bool no_corpus = !hold.has("corpus.tkc");
    if (created && no_corpus) {
      fs::remove_all(dir, ec);
    } else if (hold.was_empty() && !replaced) {
      fs::remove(hold.file("config.json"), ec);
    }
    throw;
  }
}

SessionResult detail::resume_session(const std::string& dir, const SessionOptions& options, distributed::World* world) {
  // Held to the end: a second resume (or a forced new run) of this folder is refused.
  const RunDir run_dir = RunDir::open(dir);
  const std::string config_file = run_dir.file("config.json");
  const std::string resume_hint = "resume with: " + resume_command(dir);
  set_signal_note(dir + " was left as it was; " + resume_hint);
  if (!run_dir.has("config.json")) throw input_error(dir, "", "holds no config.json: not a tokvec run folder");
  // config.json as it is on disk: a checkpoint's record of the settings is compared with
  // it, and a run restarted from scratch records it unchanged.
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(config_file));
  } catch (const nlohmann::json::exception& e) {
    throw corrupt_error(config_file, "", std::string("not valid JSON: ") + e.what());
  }
  CorpusPlan plan;
  plan.config = RunConfig::from_json(j, config_file);
  plan.quiet = options.quiet;
  TrainConfig& cfg = plan.config.train;
  cfg.quiet = options.quiet;
  const std::string state_file = run_dir.file("state.tkv");
  if (run_dir.has("state.tkv")) {
    TrainingState done = load_state(state_file);
    if (done.finished()) {
      SessionResult r;
      r.outcome = SessionResult::Outcome::already_finished;
      r.state_path = state_file;
      return r;
    }
  }
  RunLog log(options.quiet);
  if (run_dir.has("train.log")) log.keep_previous(read_file(run_dir.file("train.log")));
  log.line(resume_command(dir));

  RunCorpus corpus;
  const std::string corpus_file = run_dir.file("corpus.tkc");
  bool have_corpus = false;
  if (run_dir.has("corpus.tkc")) {
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
  std::optional<LoadedCheckpoint> loaded = run_dir.newest_checkpoint([&](const std::string& warning) { log.warn("warning: " + warning); });
  // A subword run's rows: its words' and its tokenizer's pieces.
  auto run_rows = [&] {
    return corpus.view().counts.size() + (plan.config.mode == RunMode::subwords && corpus.model ? corpus.model->vocab_size() : 0);
  };
  if (loaded) {
    if (have_corpus && plan.config.mode != RunMode::subwords) check_checkpoint_corpus(loaded->path, loaded->state, corpus, run_rows());
    cfg = resume_settings(j, config_file, loaded->state.config_json, loaded->path);
    cfg.quiet = options.quiet;
  }
  const RunConfig& run = plan.config;
  std::optional<detail::AdaptSource> source;  // an adapted run's, when it has to be read again
  if (!have_corpus) {
    // The text passed the UTF-8 check when the run began (config.json is written after it).
    plan.allow_binary = true;
    if (run.mode != RunMode::corpus && is_stream_input(run.input)) {
      const std::string spool = run_dir.file(detail::kSpoolName);
      if (!run_dir.has(detail::kSpoolName)) {
        throw input_error(dir, "", "its text was read from " + input_name(run.input) +
                                       ", which cannot be read again, and its corpus.tkc is missing or damaged: start the run again");
      }
      plan.read_path = spool;
      plan.text_checked = true;
    }
    const std::string name = run.mode == RunMode::corpus ? run.corpus_path : run.input;
    if (!run.init_from.empty() && run.mode == RunMode::words) {
      source = detail::load_adapt_source(run.init_from);
      plan.base_vocab = &source->state.vocab;
    }
    corpus = detail::build_corpus(plan, dir, log, [&](uint64_t tokens, size_t vocab, TokenizerKind kind, uint64_t checksum) {
      cfg.validate(tokens, vocab, name);
      if (!j.contains("tokenizer_checksum")) {
        // A run stopped before its corpus was built has the config written first, without
        // what only the corpus tells: complete it now, as a new run would have.
        j["tokenizer_kind"] = tokenizer_kind_name(kind);
        j["tokenizer_checksum"] = hex64(checksum);
        j["threads_used"] = resolve_threads(cfg.threads);
        j["processes"] = world != nullptr ? world->size : 1;
        write_file_atomically(config_file, j.dump(2) + "\n");
      }
    }, /*resuming=*/true);
  }
  cfg.validate(corpus.view(), corpus_file);
  check_config_matches_corpus(j, config_file, corpus_file, corpus.kind(), corpus.checksum());
  check_run_tokenizer(dir, run, corpus, corpus_file);
  const std::shared_ptr<const SubwordMap> subwords = subword_map(run, corpus, dir, log);

  TrainingState state;
  uint64_t sequence = 0;
  if (loaded) {
    check_resume_ranks(loaded->path, loaded->state.cursor, world != nullptr ? world->size : 1, dir);  // same process count
    check_checkpoint_matches(loaded->path, loaded->state, corpus, cfg, run_rows());
    state = std::move(loaded->state);
    sequence = loaded->sequence;
    char buf[200];
    std::snprintf(buf, sizeof buf, "resuming from %s: %llu of %llu tokens done", fs::path(loaded->path).filename().c_str(),
                  static_cast<unsigned long long>(state.tokens_done), static_cast<unsigned long long>(state.tokens_total));
    log.line(buf);
  } else {
    log.line("no checkpoint yet: starting over with the settings of config.json");
    if (!run.init_from.empty()) {
      // An adapted run starts again from its source, which must still hold the same rows.
      if (!source) source = detail::load_adapt_source(run.init_from);
      state = detail::adapted_state(*source, corpus.view(), corpus.vocab(), corpus.kind(), corpus.checksum(), cfg);
    } else {
      state = initial_run_state(run, corpus, cfg, subwords);
    }
    state.config_json = j.dump();
  }
  return detail::train_to_end(run_dir, sequence, options, log, backend_of(world, run_dir, corpus, cfg, state, subwords));
}

}  // namespace tokvec
