// tokvec train: parses the options into a RunConfig and a session's options, runs the
// TrainingSession (src/run/session.cpp) and prints how it ended. The run folder's layout and
// lifecycle: include/tokvec/run.h.
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "cli_common.h"
#include "train_subword_options.h"
#include "commands.h"
#include "tokvec/bpe.h"
#include "base/config.h"
#include "distributed/distributed.h"
#include "run/backend.h"
#include "base/io.h"
#include "tokvec/run.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"

namespace tokvec::cli {

namespace {

namespace fs = std::filesystem;

/// Runs `f`, giving a settings error the name of the flag that sets the field.
template <class F>
auto with_flag_names(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const VocabularyTooLarge& e) {  // the tokenizer this run trains: train has no --min-frequency
    throw Error(e.kind(), e.message("--bpe-vocab-size", std::nullopt));
  } catch (const RunFolderNotEmpty& e) {
    throw Error(e.kind(), "--output " + e.dir() + " is not empty; pass --force to replace its run, or --resume " + e.dir() +
                              " to continue it (nothing was changed)");
  }
  // Any other FieldError: main() names it by its flag.
}

/// Prints how the session ended; returns the exit code.
int report(const SessionResult& r, const std::string& dir) {
  switch (r.outcome) {
    case SessionResult::Outcome::finished:
      return 0;
    case SessionResult::Outcome::already_finished:
      std::fprintf(stderr, "tokvec train: %s already finished (%s); nothing to resume\n", dir.c_str(), r.state_path.c_str());
      return 0;
    case SessionResult::Outcome::stopped:
      break;
  }
  const char* sig = r.signal == SIGTERM ? "SIGTERM" : "SIGINT";
  if (r.processes > 1) {
    std::fprintf(stderr, "\ntokvec train: stopped by %s; progress of all %d processes saved in %s.\nResume with: mpirun -np %d tokvec "
                 "train --resume %s\n", sig, r.processes, r.checkpoint.c_str(), r.processes, dir.c_str());
  } else {
    std::fprintf(stderr, "\ntokvec train: stopped by %s; progress saved in %s.\nResume with: tokvec train --resume %s\n", sig,
                 r.checkpoint.c_str(), dir.c_str());
  }
  return 128 + r.signal;
}

}  // namespace

static int train_main(int argc, char** argv, distributed::World* world) {
  const TrainConfig d;
  const SyncOptions sync_defaults;
  const BpeTrainConfig bpe_defaults;
  const CheckpointPolicy ckpt_defaults;
  const SubwordConfig sub_defaults;
  cxxopts::Options options("tokvec train",
                           "Train skip-gram (negative sampling) token embeddings.\n"
                           "  tokvec train --input FILE --output RUN_DIR [--tokenizer MODEL | --bpe-vocab-size N | --words]\n"
                           "  tokvec train --subwords --input FILE --output RUN_DIR [--tokenizer MODEL | --bpe-vocab-size N]\n"
                           "  tokvec train --corpus CORPUS --output RUN_DIR [--tokenizer MODEL]\n"
                           "  tokvec train --init-from RUN --input FILE --output RUN_DIR\n"
                           "  tokvec train --resume RUN_DIR");
  options.add_options()
      ("input", "Raw UTF-8 text to train on ('-' for stdin)", cxxopts::value<std::string>())
      ("output", "Run folder (created; must be empty unless --force)", cxxopts::value<std::string>())
      ("tokenizer", "Use this BPE model instead of training one", cxxopts::value<std::string>())
      ("bpe-vocab-size", "Train a BPE tokenizer of this size (the default mode)",
       cxxopts::value<uint32_t>()->default_value(std::to_string(bpe_defaults.vocab_size)))
      ("words", "Whitespace-separated words as tokens (as word2vec/fastText/gensim)")
      ("subwords", "Whitespace words as tokens, each word's input vector composed of its BPE pieces' rows, trained end to end")
      ("subword-compose", "With --subwords: sum or mean of the word's rows, own-plus-mean (its own row plus the mean of "
                          "its other rows) or own-plus-scaled (its own row plus the sum of its n other rows over sqrt(n))",
       cxxopts::value<std::string>()->default_value(std::string(subword_compose_name(kSubwordDefaultCompose))))
      ("subword-ancestors", "With --subwords: also the rows of the pieces each piece was merged from (yes or no)",
       cxxopts::value<std::string>()->default_value(sub_defaults.ancestors ? "yes" : "no"))
      ("subword-ancestor-min-chars", "With --subwords: only ancestors of at least N characters, the word-start marker not "
                                     "counted (0 = all)",
       cxxopts::value<uint32_t>()->default_value(std::to_string(kSubwordDefaultAncestorMinChars)))
      ("subword-own-rows", "With --subwords: a row of its own for each word seen at least N times (0 = none)",
       cxxopts::value<uint64_t>()->default_value(std::to_string(sub_defaults.own_min_count)))
      ("subword-piece-damping", "With --subwords and an own-plus-* composition: a word seen c times weighs its other rows "
                                "by a further sqrt(N / (N + c)), so frequent words lean on their own row (0 = none)",
       cxxopts::value<uint64_t>()->default_value(std::to_string(kSubwordDefaultPieceDamping)))
      ("subword-step", "With --subwords: gradient (each row by the chain rule) or unit (x moves by the full step whatever the word's size)",
       cxxopts::value<std::string>()->default_value(std::string(subword_step_name(kSubwordDefaultStep))))
      ("subword-outputs", "With --subwords: words (each word's own output row) or pieces (its output vector composed of "
                          "its rows' output rows, weighted as its input)",
       cxxopts::value<std::string>()->default_value("words"))
      ("lowercase", "With --words: lowercase the text (Unicode) before counting; queries to the run are lowercased too")
      ("corpus", "Train on an already encoded token corpus (.tkc)", cxxopts::value<std::string>())
      ("resume", "Continue the run in RUN_DIR from its newest valid checkpoint", cxxopts::value<std::string>())
      ("init-from", "Adapt a finished run (folder or state file) to --input: its tokenizer (words: its vocabulary, plus the new "
                    "words that pass --min-count) and both matrices, trained on with a fresh learning-rate schedule; the source is "
                    "not changed", cxxopts::value<std::string>())
      ("dim", "Embedding dimension", cxxopts::value<uint32_t>()->default_value(std::to_string(d.dim)))
      ("window", "Maximum context half-width", cxxopts::value<uint32_t>()->default_value(std::to_string(d.window)))
      ("negative", "Negative samples", cxxopts::value<uint32_t>()->default_value(std::to_string(d.negative)))
      ("sample", "Subsampling threshold (0 = off)", cxxopts::value<double>()->default_value(nlohmann::json(d.sample).dump()))
      ("min-count", "Words mode: drop rarer words", cxxopts::value<uint64_t>()->default_value(std::to_string(d.min_count)))
      ("epochs", "Passes over the corpus", cxxopts::value<uint32_t>()->default_value(std::to_string(d.epochs)))
      ("threads", "Threads (0 = all cores)", cxxopts::value<int>()->default_value(std::to_string(d.threads)))
      ("lr", "Initial learning rate (decays linearly)", cxxopts::value<double>()->default_value(nlohmann::json(d.lr).dump()))
      ("seed", "Random seed", cxxopts::value<uint64_t>()->default_value(std::to_string(d.seed)))
      ("kernel", "hogbatch or pair", cxxopts::value<std::string>()->default_value(std::string(kernel_name(d.kernel))))
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
      ("sync-mode", "MPI jobs: average (the replicas), sum (every process's progress), hybrid (average the synced frequent rows, sum the others), or adaptive (per row: the sum of the processes' changes where they differ, their mean where they repeat)", cxxopts::value<std::string>()->default_value(std::string(sync_mode_name(sync_defaults.mode))))
      ("allow-binary", "Train on text that does not look like UTF-8 (UTF-16, Latin-1, binary) instead of refusing it")
      ("quiet", "No progress output")
      ("force", "Replace the run in a non-empty --output folder");
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const cxxopts::ParseResult& r = *parsed;

  SessionOptions session;
  session.checkpoints.every = CheckpointEvery::parse(r["checkpoint-every"].as<std::string>());
  session.checkpoints.keep = r["keep"].as<size_t>();
  with_flag_names([&] { session.checkpoints.validate(); });
  session.quiet = r.count("quiet") > 0;
  session.allow_binary = r.count("allow-binary") > 0;
  SyncOptions sync;
  sync.every_seconds = r["sync-every"].as<double>();
  sync.rows = r["sync-rows"].as<uint64_t>();
  sync.full_every = r["sync-full-every"].as<uint32_t>();
  sync.tokens = r["sync-tokens"].as<uint64_t>();
  sync.validate();
  const std::string mode = r["sync-mode"].as<std::string>();
  const std::optional<SyncMode> parsed_mode = parse_sync_mode(mode);
  if (!parsed_mode) throw usage_error("--sync-mode must be average, sum, hybrid or adaptive, got '" + mode + "'");
  sync.mode = *parsed_mode;
  if (world != nullptr) world->sync = sync;

  if (r.count("resume") > 0) {
    refuse_given(r, {"input", "output", "init-from", "tokenizer", "bpe-vocab-size", "words", "corpus", "dim", "window", "negative",
                     "sample", "min-count", "epochs", "threads", "lr", "seed", "kernel", "force", "lowercase", "allow-binary",
                     "subwords", "subword-compose", "subword-ancestors", "subword-ancestor-min-chars", "subword-own-rows", "subword-step", "subword-outputs", "subword-piece-damping"},
                 "--resume continues a run with the settings in its config.json; ", " cannot be changed");
    const std::string dir = r["resume"].as<std::string>();
    return report(with_flag_names([&] { return detail::resume_session(dir, session, world); }), dir);
  }
  require(r, "output");

  RunConfig run;
  TrainConfig& cfg = run.train;
  cfg.dim = r["dim"].as<uint32_t>();
  cfg.window = r["window"].as<uint32_t>();
  cfg.negative = r["negative"].as<uint32_t>();
  cfg.sample = r["sample"].as<double>();
  cfg.min_count = r["min-count"].as<uint64_t>();
  cfg.epochs = r["epochs"].as<uint32_t>();
  cfg.threads = r["threads"].as<int>();
  cfg.lr = r["lr"].as<double>();
  cfg.seed = r["seed"].as<uint64_t>();
  cfg.kernel = with_flag_names([&] { return kernel_from_name(r["kernel"].as<std::string>()); });
  cfg.quiet = session.quiet;
  const bool adapt = r.count("init-from") > 0;
  if (adapt) {
    refuse_given(r, {"words", "subwords", "tokenizer", "bpe-vocab-size", "corpus", "lowercase"},
                 "--init-from keeps the tokenizer (and lowercasing) of the run it starts from; ", " cannot be given with it");
    if (r.count("input") == 0) throw usage_error("--init-from needs --input, the text to adapt the run to");
    run.init_from = fs::absolute(r["init-from"].as<std::string>()).lexically_normal().string();
    if (r.count("dim") == 0) cfg.dim = 0;  // the source's, taken when the session reads it
    TrainConfig check = cfg;
    if (check.dim == 0) check.dim = d.dim;
    with_flag_names([&] { check.validate(); });
  } else {
    with_flag_names([&] { cfg.validate(); });
  }

  const bool words = r.count("words") > 0;
  const bool subwords = r.count("subwords") > 0;
  if (subwords) run.subwords = parse_subword_options(r, words, cfg.kernel);
  else refuse_given(r, {"subword-compose", "subword-ancestors", "subword-ancestor-min-chars", "subword-own-rows", "subword-step", "subword-outputs", "subword-piece-damping"}, "", " applies to --subwords runs");
  const bool have_tokenizer = r.count("tokenizer") > 0;
  const bool have_corpus = r.count("corpus") > 0;
  const bool have_input = r.count("input") > 0;
  if (words && (have_tokenizer || r.count("bpe-vocab-size") > 0)) {
    throw usage_error("--words cannot be combined with --tokenizer or --bpe-vocab-size");
  }
  if (r.count("lowercase") > 0 && !words) {
    throw usage_error("--lowercase applies to --words runs (a BPE tokenizer keeps the text's case so that decode gives it back)");
  }
  run.lowercase = r.count("lowercase") > 0;
  if (have_tokenizer && r.count("bpe-vocab-size") > 0) throw usage_error("give --tokenizer or --bpe-vocab-size, not both");
  if (have_corpus && (words || r.count("bpe-vocab-size") > 0)) {
    throw usage_error("--corpus trains on an encoded corpus: --words and --bpe-vocab-size do not apply");
  }
  if (!have_corpus && !have_input) throw usage_error("--input is required (or --corpus, or --resume)");
  if (have_corpus && have_input) throw usage_error("give --input or --corpus, not both");
  run.mode = have_corpus ? RunMode::corpus : (words ? RunMode::words : subwords ? RunMode::subwords : RunMode::bpe);
  run.bpe_vocab = r["bpe-vocab-size"].as<uint32_t>();
  // Paths are kept absolute in config.json so --resume works from any folder.
  auto absolute = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
  if (have_input) {
    const std::string given = r["input"].as<std::string>();
    run.input = is_stdin_path(given) ? given : absolute(given);
  }
  if (have_corpus) run.corpus_path = absolute(r["corpus"].as<std::string>());
  if (have_tokenizer) run.tokenizer_path = absolute(r["tokenizer"].as<std::string>());
  if (have_input) check_readable_input(run.input);
  if (have_corpus) check_readable_file(run.corpus_path);
  if (have_tokenizer) check_readable_file(run.tokenizer_path);
  if ((run.mode == RunMode::bpe || run.mode == RunMode::subwords) && !have_tokenizer && !adapt) {
    BpeTrainConfig bc;
    bc.inputs = {run.input};
    bc.vocab_size = run.bpe_vocab;
    bc.threads = cfg.threads;
    try {
      bc.validate();
    } catch (const FieldError& e) {  // the tokenizer this run trains: its size is --bpe-vocab-size
      if (e.field() == "vocab_size") throw e.with_field_name("--bpe-vocab-size");
      throw;
    }
  }
  const std::string dir = r["output"].as<std::string>();
  return report(with_flag_names([&] { return detail::start_session(run, dir, r.count("force") > 0, session, world); }), dir);
}

// Under mpirun with several processes, rank 0 runs train_main and the others follow it
// (distributed.h); otherwise this is train_main.
int cmd_train(int argc, char** argv) { return distributed::run_command(argc, argv, train_main); }

}  // namespace tokvec::cli
