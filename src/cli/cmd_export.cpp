// tokvec export / neighbors / eval: getting trained vectors out of a run and using them.
//
// A SOURCE is a run folder (or its state.tkv) or a vectors file (word2vec text or binary,
// or a tokvec .npy with its vocabulary file). In a BPE run, words are composed from their
// pieces (the mean of the piece vectors, export.h), so every word has a vector.
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "tokvec/postprocess.h"
#include "cli_common.h"
#include "commands.h"
#include "tokvec/audit.h"
#include "base/config.h"
#include "tokvec/eval.h"
#include "tokvec/export.h"
#include "base/io.h"
#include "tokvec/status.h"
#include "text/text.h"

namespace tokvec::cli {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Refuses an output whose folder does not exist before any slow work is done.
void check_output_folder(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) throw io_error(path, "cannot write: the folder " + parent.string() + " does not exist", 0);
  if (fs::is_directory(path, ec)) throw usage_error("--output " + path + " is a folder; give a file name");
}

/// Vectors to search for eval and neighbors, and what they are.
struct Searchable {
  Embeddings vectors;
  size_t restrict = 0;  ///< rows the analogy search may use
  std::string note;     ///< how they were obtained (BPE runs)
  /// BPE runs: how many leading rows are the training text's words (then come the
  /// requested words outside them); 0 otherwise.
  size_t corpus_rows = 0;
  bool lowercase = false;  ///< a --words --lowercase run: queries are lowercased
  /// BPE runs: the run, to compose words not known in advance (neighbors reading stdin).
  std::optional<Run> run;
};

/// Vectors for `source`. A vectors file and a words run give their rows as they are (the
/// first `restrict` are searched). A BPE run composes: the `restrict` most frequent words
/// of the training text (count >= the run's min_count), then every word of `wanted` not
/// already among them (case-insensitively), and all of these are searched, so coverage
/// of `wanted` is full. Without the training text (neither corpus.tkc nor the input file),
/// `need_text` makes that an error (neighbours searched among the query words alone mean
/// nothing); otherwise only `wanted` is composed, and the note says so.
Searchable load_searchable(const char* command, const std::string& source, const std::vector<std::string>& wanted, size_t restrict, bool need_text) {
  Searchable s;
  if (!is_run_path(source)) {
    s.vectors = read_vectors(source);
    s.restrict = restrict;
    return s;
  }
  Run run = load_run(source);
  // An unfinished run read from its newest checkpoint: said first, on its own line.
  if (!run.note.empty()) std::fprintf(stderr, "tokvec %s: note: %s\n", command, run.note.c_str());
  if (!run.composes()) {
    s.vectors = token_embeddings(run.state);
    s.restrict = restrict;
    s.lowercase = run.lowercase;
    return s;
  }
  std::string text, base;
  std::vector<std::string> words;
  try {
    words = run_corpus_words(run, &text);
    if (words.size() > restrict) words.resize(restrict);
    base = "for the " + std::to_string(words.size()) + " most frequent words of " + text + " (count >= " + std::to_string(run.min_count) +
           "), plus ";
  } catch (const Error& e) {
    if (need_text || e.kind() != ErrorKind::io) throw;
    const std::string corpus = (fs::path(run.state_path).parent_path() / "corpus.tkc").string();
    base = "(no training text: " + (run.input_path.empty() ? std::string("none recorded") : run.input_path + " is missing") + ", and so is " +
           corpus + ") for ";
  }
  Embeddings corpus = run_compose(run, words);
  s.corpus_rows = corpus.size();
  WordIndex index(corpus, corpus.size());
  std::vector<std::string> extra;
  std::unordered_set<std::string> extra_seen;
  for (const std::string& w : wanted) {
    if (index.find(w) >= 0) continue;
    if (extra_seen.insert(WordIndex::upper(w)).second) extra.push_back(w);
  }
  Embeddings more = run_compose(run, extra);
  corpus.words.insert(corpus.words.end(), more.words.begin(), more.words.end());
  corpus.data.insert(corpus.data.end(), more.data.begin(), more.data.end());
  s.vectors = std::move(corpus);
  s.restrict = s.vectors.size();
  s.note = std::string(run.is_subwords() ? "subword run: vectors composed as trained " : "BPE run: vectors composed from pieces (mean) ") + base + std::to_string(extra.size()) + " requested words outside them; all " +
           std::to_string(s.vectors.size()) + " are searched";
  s.run = std::move(run);
  return s;
}

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

double round_to(double v, double scale) { return std::round(v * scale) / scale; }

}  // namespace

/// The format of an export: --format when given, else the output's extension (.npy, .bin,
/// .vec, .txt), else word2vec text; a --format that contradicts the extension is refused.
static VectorFormat resolve_format(const cxxopts::ParseResult& p, const std::string& output) {
  const std::optional<VectorFormat> by_name = vector_format_of_name(output);  // none for "-"
  if (p.count("format") == 0) return by_name.value_or(VectorFormat::word2vec_text);
  const VectorFormat given = parse_vector_format(p["format"].as<std::string>());
  if (by_name && *by_name != given) {
    throw usage_error("--format " + std::string(vector_format_name(given)) + " contradicts the name --output " + output + " (" +
                      std::string(vector_format_name(*by_name)) + "); drop --format or change the file name");
  }
  return given;
}

int cmd_export(int argc, char** argv) {
  cxxopts::Options options("tokvec export", "Export vectors of a run: token vectors, or word vectors composed from BPE pieces.");
  options.positional_help("RUN_DIR|STATE_FILE");
  options.add_options()
      ("source", "Run folder or state file", cxxopts::value<std::string>())
      ("format", "word2vec-text, word2vec-binary or npy (npy also writes FILE.vocab.txt); default: from the --output name (.npy, .bin, .vec/.txt), else word2vec-text", cxxopts::value<std::string>())
      ("o,output", "Output file (written atomically), or - for stdout (word2vec formats)", cxxopts::value<std::string>())
      ("order", "Token rows: id (row i is token i; the default for BPE runs) or frequency (most frequent first; the default for words runs, where it is also id order)", cxxopts::value<std::string>())
      ("words", "Export a vector for each word of FILE (one per line); BPE runs compose unseen words from pieces", cxxopts::value<std::string>())
      ("corpus-words", "Export a vector for every word of the training text with count >= the run's min_count")
      ("matrix", "Token vectors of the input or output matrix", cxxopts::value<std::string>()->default_value(ExportConfig{}.matrix == MatrixChoice::input ? "input" : "output"))
      ("skip-flagged", "Leave out rows the audit flags (and words composed from a flagged piece)")
      ("min-updates", "With --skip-flagged: the audit's threshold", cxxopts::value<uint64_t>()->default_value(std::to_string(AuditConfig{}.min_updates)))
      ("postprocess", "center (subtract the mean vector) or abtt[:D] (all-but-the-top: the mean and the top D principal directions removed; D default dim/100, at least 1)", cxxopts::value<std::string>());
  options.parse_positional({"source"});
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& p = *parsed;
  require(p, "source");
  require(p, "output");
  const std::string source = p["source"].as<std::string>();
  const std::string output = p["output"].as<std::string>();
  const bool to_stdout = output == "-";
  ExportConfig config;
  config.format = resolve_format(p, output);
  const std::string matrix_name = p["matrix"].as<std::string>();
  if (matrix_name != "input" && matrix_name != "output") throw usage_error("--matrix must be input or output, got '" + matrix_name + "'");
  config.matrix = matrix_name == "input" ? MatrixChoice::input : MatrixChoice::output;
  if (p.count("words")) config.words_file = p["words"].as<std::string>();
  config.corpus_words = p.count("corpus-words") > 0;
  config.validate();
  const VectorFormat format = config.format;
  const bool words_file = !config.words_file.empty(), corpus_words = config.corpus_words;
  const bool skip_flagged = p.count("skip-flagged") > 0;
  std::optional<TokenOrder> order;
  if (p.count("order")) {
    order = parse_token_order(p["order"].as<std::string>());
    if (words_file || corpus_words) throw usage_error("--order applies to token vectors; word vectors follow the word list's order");
    if (*order == TokenOrder::id && skip_flagged) {
      throw usage_error("--skip-flagged leaves rows out, so row i would no longer be token i; use --order frequency");
    }
  }
  // What the export reads must survive it: the run's files, the state file, the word list.
  std::vector<std::string> inputs{source, (fs::path(source) / "state.tkv").string(), config.words_file};
  auto check_outputs = [&] {
    if (to_stdout) return;
    check_output_is_safe("--output", output, inputs);
    if (format == VectorFormat::npy) check_output_is_safe("--output", npy_vocab_path(output), inputs);
  };
  if (to_stdout) {
    if (format == VectorFormat::npy) {
      throw usage_error("npy writes two files (the matrix and its vocabulary), so it cannot go to stdout; give a file name, or use "
                        "--format word2vec-text or word2vec-binary");
    }
    if (format == VectorFormat::word2vec_binary && ::isatty(STDOUT_FILENO) == 1) {
      throw usage_error("word2vec-binary is not for a terminal; redirect stdout to a file or a pipe, or use --format word2vec-text");
    }
  } else {
    check_output_folder(output);
    if (format == VectorFormat::npy) check_output_folder(npy_vocab_path(output));
  }
  check_outputs();
  // Into a run folder: not while train replaces or continues that run.
  const FolderLock lock = lock_if_in_run_folder(output);
  std::vector<std::string> listed;
  if (words_file) listed = read_word_list(config.words_file);

  auto t0 = std::chrono::steady_clock::now();
  Run run = load_run(source);
  if (!run.note.empty()) std::fprintf(stderr, "tokvec export: note: %s\n", run.note.c_str());
  inputs.push_back(run.input_path);  // the training text, read again for --corpus-words
  check_outputs();
  Embeddings e;
  std::string what;
  if (words_file || corpus_words) {
    if (corpus_words) listed = run_corpus_words(run);
    size_t missing = 0;
    e = run_word_vectors(run, listed, &missing);
    what = run.is_bpe() ? "word vectors (mean of BPE pieces)" : run.is_subwords() ? "word vectors (trained compositions)" : "word vectors";
    if (missing > 0) {
      std::fprintf(stderr, "tokvec export: %zu of %zu listed words are not in the vocabulary of this words run; skipped\n", missing, listed.size());
    }
  } else {
    // BPE runs: id order, so that row i is token i (the ids encode prints, what an
    // embedding layer indexes); --skip-flagged drops rows, which breaks that, so it keeps
    // frequency order. Words runs: ids are frequency order already.
    const TokenOrder rows = order.value_or(run.is_bpe() && !skip_flagged ? TokenOrder::id : TokenOrder::frequency);
    e = token_embeddings(run.state, config.matrix, rows);
    if (rows == TokenOrder::id) {
      what = "token vectors (" + matrix_name + " matrix, id order: row i is token i)";
    } else {
      what = "token vectors (" + matrix_name + " matrix, frequency order" + (run.is_bpe() ? "" : ", which is id order in a words run") + ")";
    }
  }
  if (skip_flagged) {
    const uint64_t threshold = p["min-updates"].as<uint64_t>();
    const size_t dropped = drop_flagged(run, e, threshold, (words_file || corpus_words) && run.composes());
    std::fprintf(stderr, "tokvec export: --skip-flagged left out %zu entries resting on rows with fewer than %llu updates\n",
                 dropped, static_cast<unsigned long long>(threshold));
  } else if (p.count("min-updates")) {
    throw usage_error("--min-updates applies only with --skip-flagged");
  }
  if (e.size() == 0) throw input_error(source, "", "nothing to export: no listed word has a vector");
  if (p.count("postprocess")) {
    const std::string text = p["postprocess"].as<std::string>();
    const Postprocess pp = Postprocess::parse(text, e.dim);
    postprocess(e, pp);
    what += pp.kind == Postprocess::Kind::center ? ", mean removed"
                                                  : ", mean and top " + std::to_string(pp.components) + " principal directions removed";
  }
  if (to_stdout) {
    write_vectors_to_stream(stdout, "<stdout>", format, e);
  } else {
    write_vectors(output, format, e);
  }
  std::fprintf(stderr, "tokvec export: wrote %zu %s of dimension %u as %s to %s%s in %.2fs\n", e.size(), what.c_str(), e.dim,
               std::string(vector_format_name(format)).c_str(), to_stdout ? "stdout" : output.c_str(),
               format == VectorFormat::npy ? (" and " + npy_vocab_path(output)).c_str() : "", seconds_since(t0));
  return 0;
}

namespace {

/// Reads whitespace-separated words from stdin a line at a time, so that each line's
/// answers come out (flushed) before the next line is read: usable from a pipe in both
/// directions. On a terminal it prompts on stderr.
template <typename OnWord>
void for_each_stdin_word(const char* prompt, OnWord on_word) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  std::string line;
  for (;;) {
    if (tty) std::fprintf(stderr, "%s", prompt);
    line.clear();
    int c;
    while ((c = std::getchar()) != EOF && c != '\n') line += static_cast<char>(c);
    if (c == EOF && std::ferror(stdin)) throw io_error("<stdin>", "cannot read", errno);
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      const size_t start = i;
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      if (i > start) on_word(line.substr(start, i - start));
    }
    std::fflush(stdout);
    if (c == EOF) break;
  }
  if (tty) std::fprintf(stderr, "\n");
}

/// A vector for any word of a source: a BPE run composes it from its pieces; a words run
/// or a vectors file looks it up (exactly, else any case), and has none for other words.
class WordLookup {
 public:
  explicit WordLookup(const std::string& source) {
    if (is_run_path(source)) {
      run_ = load_run(source);
      if (!run_.note.empty()) note_ = run_.note;
      if (run_.composes()) return;
      vectors_ = token_embeddings(run_.state);
    } else {
      vectors_ = read_vectors(source);
    }
    index_.emplace(vectors_, vectors_.size());
    for (size_t i = 0; i < vectors_.size(); ++i) exact_.emplace(vectors_.words[i], i);
  }
  uint32_t dim() const { return run_.composes() ? run_.state.dim() : vectors_.dim; }
  const std::string& note() const { return note_; }
  /// The word's vector into `out` (dim floats); false when it has none.
  bool find(const std::string& word, std::vector<float>& out) const {
    if (run_.composes()) {
      Embeddings one = run_compose(run_, {word});
      out = std::move(one.data);
      return true;
    }
    const std::string key = run_.lowercase ? lowercase_utf8(word) : word;  // a --words --lowercase run
    auto it = exact_.find(key);
    const int64_t row = it != exact_.end() ? static_cast<int64_t>(it->second) : index_->find(key);
    if (row < 0) return false;
    out.assign(vectors_.row(static_cast<size_t>(row)), vectors_.row(static_cast<size_t>(row)) + vectors_.dim);
    return true;
  }

 private:
  Run run_;
  Embeddings vectors_;
  std::optional<WordIndex> index_;
  std::unordered_map<std::string, size_t> exact_;
  std::string note_;
};

}  // namespace

int cmd_vectors(int argc, char** argv) {
  cxxopts::Options options("tokvec vectors",
                           "Print a vector for each word, as word2vec text lines (\"word v1 ... vD\", no header): the words given, "
                           "or else the words read from stdin, each line's answers printed as soon as it is read. BPE runs "
                           "compose any word from its pieces.");
  options.positional_help("RUN_DIR|VECTORS [WORD...]");
  options.add_options()
      ("source", "Run folder, state file or vectors file", cxxopts::value<std::string>())
      ("words", "Words (none: read them from stdin)", cxxopts::value<std::vector<std::string>>());
  options.parse_positional({"source", "words"});
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& p = *parsed;
  require(p, "source");
  WordLookup lookup(p["source"].as<std::string>());
  if (!lookup.note().empty()) std::fprintf(stderr, "tokvec vectors: note: %s\n", lookup.note().c_str());
  int status = 0;
  std::vector<float> v;
  auto answer = [&](const std::string& w) {
    if (!lookup.find(w, v)) {
      std::fflush(stdout);
      std::fprintf(stderr, "%s: not in the vocabulary\n", w.c_str());
      status = 3;
      return;
    }
    std::fputs(word2vec_text_record(w, v.data(), lookup.dim()).c_str(), stdout);
  };
  if (p.count("words")) {
    for (const std::string& w : p["words"].as<std::vector<std::string>>()) answer(w);
  } else {
    for_each_stdin_word("word? ", answer);
  }
  return status;
}

int cmd_neighbors(int argc, char** argv) {
  cxxopts::Options options("tokvec neighbors", "Nearest neighbours by cosine similarity: of the words given, or else of each word read from stdin.");
  options.positional_help("RUN_DIR|VECTORS [WORD...]");
  options.add_options()
      ("source", "Run folder, state file or vectors file", cxxopts::value<std::string>())
      ("words", "Words to look up (none: read them from stdin)", cxxopts::value<std::vector<std::string>>())
      ("k", "Neighbours per word", cxxopts::value<size_t>()->default_value(std::to_string(EvalConfig{}.neighbors)))
      ("csls", "Rank by CSLS, 2 cos(x,y) - r(y) with r(y) the mean cosine of y to its 10 nearest (hubs drop), among the 200 nearest by cosine; the cosine is printed");
  options.parse_positional({"source", "words"});
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& p = *parsed;
  require(p, "source");
  EvalConfig config;
  config.neighbors = p["k"].as<size_t>();
  try {
    config.validate();
  } catch (const FieldError& e) {
    if (e.field() == "k") throw e.with_field_name("-k");  // a short option here
    throw;
  }
  const size_t k = config.neighbors;
  const bool csls = p.count("csls") > 0;
  const bool from_stdin = p.count("words") == 0;
  std::vector<std::string> words = from_stdin ? std::vector<std::string>{} : p["words"].as<std::vector<std::string>>();
  const std::string source = p["source"].as<std::string>();
  Searchable s = load_searchable("neighbors", source, words, SIZE_MAX, /*need_text=*/true);
  if (!s.note.empty()) std::fprintf(stderr, "%s\n", s.note.c_str());
  std::vector<float> unit = unit_rows(s.vectors);
  WordIndex index(s.vectors, s.vectors.size());
  std::unordered_map<std::string, size_t> exact;
  for (size_t i = 0; i < s.vectors.size(); ++i) exact.emplace(s.vectors.words[i], i);
  // Words read from stdin are not known in advance: a BPE run composes each one that is
  // not among the searched rows.
  const std::optional<Run>& run = s.run;
  int status = 0;
  std::vector<float> composed;
  auto answer = [&](const std::string& w) {
    // Exact match first, then any case variant (the most frequent).
    const std::string key = s.lowercase ? lowercase_utf8(w) : w;
    auto it = exact.find(key);
    int64_t row = it != exact.end() ? static_cast<int64_t>(it->second) : index.find(key);
    const float* query = nullptr;
    if (row >= 0) {
      query = s.vectors.row(static_cast<size_t>(row));
    } else if (run) {
      composed = run_compose(*run, {w}).data;
      query = composed.data();
    } else {
      std::fflush(stdout);
      std::fprintf(stderr, "%s: not in the vocabulary\n", w.c_str());
      status = 3;
      return;
    }
    std::vector<Neighbor> nn = csls ? nearest_csls(s.vectors, unit, query, k, row, w) : nearest(s.vectors, unit, query, k, row, w);
    if (nn.empty()) {
      // Never an empty answer with exit 0: say why there is none.
      std::fflush(stdout);
      std::fprintf(stderr, "%s: no neighbours: %s\n", w.c_str(),
                   s.vectors.size() <= 1 ? "the vectors hold no other word" : "its vector is zero (a row never trained?)");
      status = 3;
      return;
    }
    std::printf("%s%s\n", w.c_str(), row < 0 || s.vectors.words[static_cast<size_t>(row)] == w ? "" : (" (as " + s.vectors.words[static_cast<size_t>(row)] + ")").c_str());
    for (const Neighbor& n : nn) std::printf("  %.4f  %s\n", static_cast<double>(n.cosine), n.word.c_str());
  };
  if (from_stdin) {
    for_each_stdin_word("query word? ", answer);
  } else {
    for (const std::string& w : words) answer(w);
  }
  return status;
}

int cmd_eval(int argc, char** argv) {
  cxxopts::Options options("tokvec eval", "Analogy accuracy (3CosAdd) and word-pair Spearman correlation, as gensim computes them.");
  options.positional_help("RUN_DIR|VECTORS");
  options.add_options()
      ("source", "Run folder, state file or vectors file", cxxopts::value<std::string>())
      ("analogies", "Analogy questions (': section' lines, then 'a b c d')", cxxopts::value<std::string>())
      ("pairs", "Word-pair files (word TAB word TAB score); repeat the option or separate with commas", cxxopts::value<std::vector<std::string>>())
      ("restrict", "Search the analogy answers among the N most frequent rows", cxxopts::value<size_t>()->default_value(std::to_string(EvalConfig{}.restrict)))
      ("threads", "Threads for the analogy search (0 = all cores)", cxxopts::value<int>()->default_value(std::to_string(EvalConfig{}.threads)))
      ("json", "Print one JSON object instead of the summary");
  options.parse_positional({"source"});
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& p = *parsed;
  require(p, "source");
  if (p.count("analogies") == 0 && p.count("pairs") == 0) throw usage_error("give --analogies FILE and/or --pairs FILE... (see --help)");
  const std::string source = p["source"].as<std::string>();
  const std::string analogies = p.count("analogies") ? p["analogies"].as<std::string>() : "";
  const std::vector<std::string> pairs = p.count("pairs") ? p["pairs"].as<std::vector<std::string>>() : std::vector<std::string>{};
  EvalConfig config;
  config.restrict = p["restrict"].as<size_t>();
  config.threads = p["threads"].as<int>();
  config.validate();
  const size_t restrict = config.restrict;
  const int threads = config.threads;
  if (!analogies.empty()) check_readable_input(analogies);
  for (const std::string& f : pairs) check_readable_input(f);
  // Each file read once: "-" or a pipe can be read only once, and each is used twice.
  std::optional<EvalFile> analogies_file;
  if (!analogies.empty()) analogies_file = EvalFile::read(analogies);
  std::vector<EvalFile> pairs_files;
  for (const std::string& f : pairs) pairs_files.push_back(EvalFile::read(f));

  auto t0 = std::chrono::steady_clock::now();
  // The words to compose in a BPE run (a vectors file or a words run ignores them).
  std::vector<std::string> wanted =
      is_run_path(source) ? evaluation_words(analogies_file ? &*analogies_file : nullptr, pairs_files) : std::vector<std::string>{};
  Searchable s = load_searchable("eval", source, wanted, restrict, /*need_text=*/false);
  double load_s = seconds_since(t0);

  nlohmann::json out;
  out["vectors"] = escape_invalid_utf8(source);  // JSON holds text only: paths and names may be any bytes
  out["vocab"] = s.vectors.size();
  out["dim"] = s.vectors.dim;
  out["load_seconds"] = round_to(load_s, 1000);
  if (!s.note.empty()) out["note"] = escape_invalid_utf8(s.note);
  std::vector<std::string> lines;
  lines.push_back("vectors: " + source + " (" + std::to_string(s.vectors.size()) + " x " + std::to_string(s.vectors.dim) + ", loaded in " + pct(load_s) + "s)");
  if (!s.note.empty()) lines.push_back("  " + s.note);
  if (!analogies.empty()) {
    AnalogyResult r = evaluate_analogies(s.vectors, *analogies_file, s.restrict, threads);
    auto acc = [](uint64_t c, uint64_t n) { return n ? nlohmann::json(round_to(100.0 * static_cast<double>(c) / static_cast<double>(n), 100)) : nlohmann::json(nullptr); };
    out["analogy_total"] = round_to(r.accuracy(), 100);
    out["analogy_semantic"] = acc(r.semantic_correct, r.semantic_answered);
    out["analogy_semantic_n"] = r.semantic_answered;
    out["analogy_syntactic"] = acc(r.syntactic_correct, r.syntactic_answered);
    out["analogy_syntactic_n"] = r.syntactic_answered;
    out["analogy_questions"] = r.questions;
    out["analogy_answered"] = r.answered;
    out["analogy_correct"] = r.correct;
    out["analogy_coverage_pct"] = round_to(r.coverage(), 100);
    out["analogy_restrict"] = r.restrict_rows;
    out["analogy_seconds"] = round_to(r.seconds, 1000);
    nlohmann::json sections = nlohmann::json::array();
    for (const AnalogySection& sec : r.sections)
      sections.push_back({{"section", escape_invalid_utf8(sec.name)}, {"correct", sec.correct}, {"incorrect", sec.incorrect}, {"oov", sec.oov}});
    out["analogy_sections"] = sections;
    lines.push_back("analogies: " + analogies_file->name);
    lines.push_back("  total      " + pct(r.accuracy()) + " % (" + std::to_string(r.correct) + " / " + std::to_string(r.answered) + ")");
    lines.push_back("  semantic   " + (r.semantic_answered ? pct(100.0 * static_cast<double>(r.semantic_correct) / static_cast<double>(r.semantic_answered)) : std::string("-")) +
                    " % (" + std::to_string(r.semantic_correct) + " / " + std::to_string(r.semantic_answered) + ")");
    lines.push_back("  syntactic  " + (r.syntactic_answered ? pct(100.0 * static_cast<double>(r.syntactic_correct) / static_cast<double>(r.syntactic_answered)) : std::string("-")) +
                    " % (" + std::to_string(r.syntactic_correct) + " / " + std::to_string(r.syntactic_answered) + ")");
    lines.push_back("  coverage   " + pct(r.coverage()) + " % of " + std::to_string(r.questions) + " questions (" + pct(100.0 - r.coverage()) +
                    " % skipped: a word outside the " + std::to_string(r.restrict_rows) + " searched rows)");
    lines.push_back("  time       " + pct(r.seconds) + "s");
    if (s.corpus_rows > 0) {
      // The figure a words run would give: only the corpus words are searched, and only
      // the questions whose four words are among them count (what eval_vectors.py reports
      // on the `export --corpus-words` file).
      AnalogyResult c = evaluate_analogies(s.vectors, *analogies_file, s.corpus_rows, threads);
      out["analogy_corpus_words"] = {{"total", round_to(c.accuracy(), 100)},
                                     {"semantic", acc(c.semantic_correct, c.semantic_answered)},
                                     {"semantic_n", c.semantic_answered},
                                     {"syntactic", acc(c.syntactic_correct, c.syntactic_answered)},
                                     {"syntactic_n", c.syntactic_answered},
                                     {"answered", c.answered},
                                     {"coverage_pct", round_to(c.coverage(), 100)},
                                     {"restrict", c.restrict_rows}};
      lines.push_back("  as a words run (only the " + std::to_string(c.restrict_rows) + " corpus words searched, questions among them): " + pct(c.accuracy()) +
                      " % (" + std::to_string(c.correct) + " / " + std::to_string(c.answered) + "), semantic " +
                      (c.semantic_answered ? pct(100.0 * static_cast<double>(c.semantic_correct) / static_cast<double>(c.semantic_answered)) : std::string("-")) +
                      " %, syntactic " + (c.syntactic_answered ? pct(100.0 * static_cast<double>(c.syntactic_correct) / static_cast<double>(c.syntactic_answered)) : std::string("-")) +
                      " %, coverage " + pct(c.coverage()) + " %");
    }
  }
  for (size_t i = 0; i < pairs.size(); ++i) {
    const std::string& f = pairs_files[i].name;
    PairsResult r = evaluate_pairs(s.vectors, pairs_files[i]);
    std::string name = fs::path(f).filename().string();
    out[escape_invalid_utf8("pairs:" + name)] = {{"spearman", std::isnan(r.spearman) ? nlohmann::json(nullptr) : nlohmann::json(round_to(r.spearman, 10000))},
                            {"oov_pct", round_to(r.oov_pct(), 10)}, {"pairs", r.pairs}, {"used", r.used}};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", r.spearman);
    lines.push_back("pairs: " + f);
    lines.push_back("  Spearman   " + std::string(buf) + " over " + std::to_string(r.used) + " of " + std::to_string(r.pairs) + " pairs (" +
                    pct(r.oov_pct()) + " % out of vocabulary)");
  }
  out["seconds"] = round_to(seconds_since(t0), 1000);
  if (p.count("json")) {
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  }
  return 0;
}

}  // namespace tokvec::cli
