// tokvec train: raw text (or an encoded corpus) to trained vectors, in one command.
//
// RUN_DIR layout (export, eval and audit read it):
//   config.json    the TrainConfig used (its keys, see TrainConfig::to_json) plus "mode"
//                  ("words", "bpe" or "corpus"), "input", "corpus", "tokenizer",
//                  "bpe_vocab_size", "tokenizer_kind", "tokenizer_checksum" (16 hex digits),
//                  "threads_used", "version"
//   tokenizer.bpe  the BPE model (BPE runs only; BpeModel::save)
//   corpus.tkc     the token corpus trained on (write_corpus)
//   state.tkv      the final TrainingState (save_state): vectors, counts, progress
//   train.log      settings, timings, final loss, rows still under-trained
// Every file is written atomically. A missing RUN_DIR is created; a non-empty one is
// refused unless --force, and nothing in it is touched before the run succeeds.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli_common.h"
#include "commands.h"
#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/config.h"
#include "tokvec/corpus.h"
#include "tokvec/io.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"
#include "tokvec/vocab.h"

namespace tokvec::cli {

namespace {

namespace fs = std::filesystem;

/// Rows with fewer input updates than this are reported as under-trained in train.log.
constexpr uint64_t kUndertrainedUpdates = 100;

class Log {
 public:
  explicit Log(bool quiet) : quiet_(quiet), start_(std::chrono::steady_clock::now()) {}
  void line(const std::string& text) {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[%8.2fs] ", seconds());
    lines_ += stamp + text + "\n";
    if (!quiet_) std::fprintf(stderr, "%s\n", text.c_str());
  }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  const std::string& text() const { return lines_; }

 private:
  bool quiet_;
  std::chrono::steady_clock::time_point start_;
  std::string lines_;
};

void write_atomically(const std::string& path, const std::string& bytes) {
  AtomicFileWriter w(path);
  w.write(bytes);
  w.commit();
}

/// Creates RUN_DIR if missing; refuses a non-empty one without --force. Returns whether
/// it was created here (so a failed run can remove the empty folder again).
bool prepare_run_dir(const std::string& dir, bool force) {
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) throw usage_error("--output " + dir + " exists and is not a folder");
    if (!fs::is_empty(dir, ec) && !force) {
      throw usage_error("--output " + dir + " is not empty; pass --force to replace its run (nothing was changed)");
    }
    return false;
  }
  if (!fs::create_directories(dir, ec) || ec) throw io_error(dir, "cannot create the run folder", ec.value());
  return true;
}

}  // namespace

int cmd_train(int argc, char** argv) {
  const TrainConfig d;
  const BpeTrainConfig bpe_defaults;
  cxxopts::Options options("tokvec train",
                           "Train skip-gram (negative sampling) token embeddings.\n"
                           "  tokvec train --input FILE --output RUN_DIR [--tokenizer MODEL | --bpe-vocab-size N | --words]\n"
                           "  tokvec train --corpus CORPUS --output RUN_DIR [--tokenizer MODEL]");
  options.add_options()
      ("input", "Raw UTF-8 text to train on", cxxopts::value<std::string>())
      ("output", "Run folder (created; must be empty unless --force)", cxxopts::value<std::string>())
      ("tokenizer", "Use this BPE model instead of training one", cxxopts::value<std::string>())
      ("bpe-vocab-size", "Train a BPE tokenizer of this size (the default mode)",
       cxxopts::value<uint32_t>()->default_value(std::to_string(bpe_defaults.vocab_size)))
      ("words", "Whitespace-separated words as tokens (as word2vec/fastText/gensim)")
      ("corpus", "Train on an already encoded token corpus (.tkc)", cxxopts::value<std::string>())
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
      ("quiet", "No progress output")
      ("force", "Replace the run in a non-empty --output folder");
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const cxxopts::ParseResult& r = *parsed;
  require(r, "output");

  TrainConfig cfg;
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
  cfg.quiet = r.count("quiet") > 0;
  cfg.validate();

  const bool words = r.count("words") > 0;
  const bool have_tokenizer = r.count("tokenizer") > 0;
  const bool have_corpus = r.count("corpus") > 0;
  const bool have_input = r.count("input") > 0;
  if (words && (have_tokenizer || r.count("bpe-vocab-size") > 0)) {
    throw usage_error("--words cannot be combined with --tokenizer or --bpe-vocab-size");
  }
  if (have_tokenizer && r.count("bpe-vocab-size") > 0) throw usage_error("give --tokenizer or --bpe-vocab-size, not both");
  if (have_corpus && (words || r.count("bpe-vocab-size") > 0)) {
    throw usage_error("--corpus trains on an encoded corpus: --words and --bpe-vocab-size do not apply");
  }
  if (!have_corpus && !have_input) throw usage_error("--input is required (or --corpus)");
  if (have_corpus && have_input) throw usage_error("give --input or --corpus, not both");
  const std::string mode = have_corpus ? "corpus" : (words ? "words" : "bpe");
  const uint32_t bpe_vocab = r["bpe-vocab-size"].as<uint32_t>();
  const std::string input = have_input ? r["input"].as<std::string>() : "";
  const std::string corpus_path = have_corpus ? r["corpus"].as<std::string>() : "";
  const std::string tokenizer_path = have_tokenizer ? r["tokenizer"].as<std::string>() : "";
  if (have_input) check_readable_file(input);
  if (have_corpus) check_readable_file(corpus_path);
  if (have_tokenizer) check_readable_file(tokenizer_path);
  if (mode == "bpe" && !have_tokenizer) {
    BpeTrainConfig bc;
    bc.inputs = {input};
    bc.vocab_size = bpe_vocab;
    bc.threads = cfg.threads;
    bc.validate();
  }

  const std::string dir = r["output"].as<std::string>();
  const bool created = prepare_run_dir(dir, r.count("force") > 0);
  try {
    Log log(cfg.quiet);
    log.line("tokvec train: mode " + mode + (have_input ? ", input " + input : ", corpus " + corpus_path));
    std::optional<BpeModel> model;
    CorpusData data;
    std::optional<TokenCorpus> mapped;
    if (mode == "words") {
      WordVocabConfig wc;
      wc.min_count = cfg.min_count;
      wc.threads = cfg.threads;
      data = build_word_corpus(input, wc);
      log.line("vocabulary: " + std::to_string(data.vocab.size()) + " words with count >= " + std::to_string(cfg.min_count) +
               ", " + std::to_string(data.tokens.size()) + " tokens in " + std::to_string(data.line_ends.size()) + " lines");
    } else if (mode == "bpe") {
      if (have_tokenizer) {
        model = BpeModel::load(tokenizer_path);
        log.line("tokenizer: " + tokenizer_path + ", " + std::to_string(model->vocab_size()) + " tokens");
      } else {
        BpeTrainConfig bc;
        bc.inputs = {input};
        bc.vocab_size = bpe_vocab;
        bc.threads = cfg.threads;
        bc.quiet = cfg.quiet;
        model = train_bpe(bc);
        log.line("tokenizer: trained, " + std::to_string(model->vocab_size()) + " tokens");
      }
      data = encode_file(*model, input, cfg.threads, cfg.quiet);
      log.line("encoded: " + std::to_string(data.tokens.size()) + " tokens in " + std::to_string(data.line_ends.size()) + " lines");
    } else {
      mapped = TokenCorpus::open(corpus_path);
      if (have_tokenizer) {
        model = BpeModel::load(tokenizer_path);
        if (mapped->tokenizer_kind() != "bpe" || mapped->tokenizer_checksum() != model->checksum()) {
          throw input_error(corpus_path, "", "was encoded with another tokenizer (" + mapped->tokenizer_kind() + ", checksum " +
                                                 hex64(mapped->tokenizer_checksum()) + ") than " + tokenizer_path +
                                                 " (bpe, checksum " + hex64(model->checksum()) + ")");
        }
      }
      CorpusView v = mapped->view();
      data.tokenizer_kind = mapped->tokenizer_kind();
      data.tokenizer_checksum = mapped->tokenizer_checksum();
      data.source = mapped->source();
      data.vocab = mapped->vocab();
      data.tokens.assign(v.tokens.begin(), v.tokens.end());
      data.line_ends.assign(v.line_ends.begin(), v.line_ends.end());
      data.counts.assign(v.counts.begin(), v.counts.end());
      mapped.reset();
      log.line("corpus: " + std::to_string(data.tokens.size()) + " tokens, " + std::to_string(data.vocab.size()) + " types");
    }
    const std::string source_name = have_input ? input : corpus_path;
    cfg.validate(data.view(), source_name);
    const int threads = resolve_threads(cfg.threads);

    nlohmann::json cj = cfg.to_json();
    cj["mode"] = mode;
    cj["input"] = have_input ? nlohmann::json(input) : nlohmann::json(nullptr);
    cj["corpus"] = have_corpus ? nlohmann::json(corpus_path) : nlohmann::json(nullptr);
    cj["tokenizer"] = have_tokenizer ? nlohmann::json(tokenizer_path) : nlohmann::json(nullptr);
    cj["bpe_vocab_size"] = model ? nlohmann::json(model->vocab_size()) : nlohmann::json(nullptr);
    cj["tokenizer_kind"] = data.tokenizer_kind;
    cj["tokenizer_checksum"] = hex64(data.tokenizer_checksum);
    cj["threads_used"] = threads;
    cj["version"] = "0.1.0";
    log.line("settings: " + cfg.to_json().dump() + ", " + std::to_string(threads) + " threads");

    TrainingState state = initial_state(data.view(), data.vocab, data.tokenizer_kind, data.tokenizer_checksum, cfg);
    state.config_json = cj.dump();
    double t0 = log.seconds();
    train(data.view(), cfg, state);
    double train_s = log.seconds() - t0;
    char buf[200];
    std::snprintf(buf, sizeof buf, "trained %llu tokens in %.2fs (%.0f tokens/s), mean loss %.4f over %llu pairs",
                  static_cast<unsigned long long>(state.tokens_done), train_s, static_cast<double>(state.tokens_done) / train_s,
                  state.loss_count ? state.loss_sum / static_cast<double>(state.loss_count) : 0.0,
                  static_cast<unsigned long long>(state.loss_count));
    log.line(buf);
    uint64_t under = 0;
    for (uint64_t u : state.input_updates) under += u < kUndertrainedUpdates;
    log.line(std::to_string(under) + " of " + std::to_string(state.vocab.size()) + " input rows received fewer than " +
             std::to_string(kUndertrainedUpdates) + " updates");

    // Files of the run, each atomic; the state last, so its presence means a complete run.
    write_atomically((fs::path(dir) / "config.json").string(), cj.dump(2) + "\n");
    if (model) {
      model->save((fs::path(dir) / "tokenizer.bpe").string());
    } else {
      std::error_code ec;
      fs::remove(fs::path(dir) / "tokenizer.bpe", ec);  // a --force run replacing a BPE run
    }
    write_corpus((fs::path(dir) / "corpus.tkc").string(), data);
    save_state((fs::path(dir) / "state.tkv").string(), state);
    log.line("wrote " + dir + " in " + std::to_string(log.seconds()) + "s total");
    write_atomically((fs::path(dir) / "train.log").string(), log.text());
  } catch (...) {
    std::error_code ec;
    if (created && fs::is_empty(dir, ec)) fs::remove(dir, ec);
    throw;
  }
  return 0;
}

}  // namespace tokvec::cli
