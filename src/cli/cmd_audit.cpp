// tokvec audit RUN_DIR|STATE: which rows of a trained model can be trusted, on the training
// text or a target text, how stable they are across seeds, and the geometry of the vectors.
#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_common.h"
#include "commands.h"
#include "tokvec/audit.h"
#include "tokvec/checkpoint.h"
#include "tokvec/export.h"
#include "base/io.h"
#include "tokvec/run.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"

namespace tokvec::cli {

namespace {

/// Whether a state is a train --subwords run's (its settings record the mode).
bool is_subword_state(const TrainingState& state) {
  const nlohmann::json j = nlohmann::json::parse(state.config_json, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("mode") && j["mode"] == "subwords";
}

}  // namespace

namespace {

/// --min-updates: a count, or "auto" (the threshold --stability derives).
std::optional<uint64_t> parse_min_updates(const std::string& text) {
  if (text == "auto") return std::nullopt;
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end) {
    throw usage_error("--min-updates expects an integer from 0 to 9223372036854775807 or auto, got '" + text + "' (see --help)");
  }
  return v;
}

}  // namespace

int cmd_audit(int argc, char** argv) {
  AuditConfig defaults;
  cxxopts::Options options("tokvec audit", "List the rare, under-trained rows of a trained model.");
  options.add_options()
      ("run", "Run folder or state/checkpoint file", cxxopts::value<std::string>())
      ("min-updates", "Flag rows whose input row received fewer updates; auto: the threshold --stability derives",
       cxxopts::value<std::string>()->default_value(std::to_string(defaults.min_updates)))
      ("top", "Flagged rows that occur in the corpus listed on stdout (most frequent first; rows that never occur are counted)",
       cxxopts::value<uint64_t>()->default_value(std::to_string(defaults.top)))
      ("target", "Also audit the text in FILE: its tokens (as the run tokenises) on flagged rows or with no row",
       cxxopts::value<std::string>())
      ("stability", "Compare nearest neighbours with OTHER_RUN (the same settings, another seed) and derive a threshold",
       cxxopts::value<std::string>())
      ("k,neighbors", "Nearest neighbours for stability and hubness (also --k N)",
       cxxopts::value<uint32_t>()->default_value(std::to_string(defaults.k)))
      ("threads", "Threads for the neighbour searches (0 = all cores)",
       cxxopts::value<int>()->default_value(std::to_string(defaults.threads)))
      ("csv", "Write every row as CSV to FILE", cxxopts::value<std::string>())
      ("json", "Write the summary and every row as JSON to FILE", cxxopts::value<std::string>())
      ("svg", "Write a log-log plot of frequency against updates to FILE", cxxopts::value<std::string>())
      ("words-csv", "A --subwords run: write every word with its rows and its weakest row as CSV to FILE",
       cxxopts::value<std::string>());
  options.parse_positional({"run"});
  options.positional_help("RUN_DIR|STATE");
  // The option parser takes one-letter options with one dash only; k is the name the
  // literature uses, so --k N and --k=N are read as -k.
  std::vector<std::string> args(argv, argv + argc);
  std::vector<char*> argp;
  for (std::string& a : args) {
    if (a == "--k") a = "-k";
    else if (a.rfind("--k=", 0) == 0) a = "-k" + a.substr(4);
    argp.push_back(a.data());
  }
  argp.push_back(nullptr);
  auto parsed = parse(options, argc, argp.data());
  if (!parsed) return 0;
  require(*parsed, "run");
  AuditConfig config;
  const std::optional<uint64_t> min_updates = parse_min_updates((*parsed)["min-updates"].as<std::string>());
  if (!min_updates && parsed->count("stability") == 0) {
    throw usage_error("--min-updates auto takes the threshold --stability derives: give --stability OTHER_RUN too");
  }
  config.min_updates = min_updates.value_or(0);
  config.top = (*parsed)["top"].as<uint64_t>();
  config.k = (*parsed)["k"].as<uint32_t>();
  config.threads = (*parsed)["threads"].as<int>();
  config.validate();

  const std::string target = (*parsed)["run"].as<std::string>();
  std::error_code ec;
  // A run folder's checkpoints are run files, which check_output_is_safe refuses anyway.
  const std::string source =
      std::filesystem::is_directory(target, ec) ? (std::filesystem::path(target) / "state.tkv").string() : target;
  std::vector<std::string> inputs = {source};
  if (parsed->count("target")) inputs.push_back((*parsed)["target"].as<std::string>());
  for (const char* option : {"csv", "json", "svg", "words-csv"}) {
    if (parsed->count(option)) check_output_is_safe(std::string("--") + option, (*parsed)[option].as<std::string>(), inputs);
  }
  // Into a run folder: not while train replaces or continues that run.
  std::vector<FolderLock> locks;
  for (const char* option : {"csv", "json", "svg", "words-csv"}) {
    if (parsed->count(option)) locks.push_back(lock_if_in_run_folder((*parsed)[option].as<std::string>()));
  }
  // A run folder means its final state (an unfinished one: its newest checkpoint, with a
  // note on stderr); a file is taken as a state or checkpoint itself. Only a target text
  // needs the rest of the run (a BPE run's tokenizer, a words run's case rule).
  Run run;
  if (parsed->count("target")) {
    run = load_run(target);
  } else {
    RunState rs = load_run_state(resolve_run_target(target));
    run.state = std::move(rs.state);
    run.note = std::move(rs.note);
    // A subword run's words are composed of rows: its tokenizer tells which.
    if (is_subword_state(run.state)) {
      std::string note = std::move(run.note);
      run = load_run(target);
      run.note = std::move(note);
    }
  }
  if (parsed->count("words-csv") && !run.is_subwords()) {
    throw usage_error("--words-csv lists the words of a --subwords run; " + target + " is a " + std::string(tokenizer_kind_name(run.state.tokenizer_kind)) + " run");
  }
  if (!run.note.empty()) std::fprintf(stderr, "tokvec audit: note: %s\n", run.note.c_str());
  std::optional<Stability> stability;
  if (parsed->count("stability")) {
    const std::string other_name = (*parsed)["stability"].as<std::string>();
    RunState other = load_run_state(resolve_run_target(other_name));
    if (!other.note.empty()) std::fprintf(stderr, "tokvec audit: note: %s\n", other.note.c_str());
    stability = measure_stability(run.state, other.state, other_name, config.k, kStabilityLevel, config.threads);
    if (!min_updates) {
      if (!stability->threshold) {
        throw input_error(other_name, "",
                          "no bucket of " + std::to_string(kStabilityMinBinRows) +
                              " or more rows shares any nearest neighbour with it, so --min-updates auto has no threshold "
                              "to take (are they runs of the same text? see the overlaps with a fixed --min-updates)");
      }
      config.min_updates = *stability->threshold;
    }
  }
  const uint64_t seed = run.state.seed;
  AuditReport report = audit(run.state, config, [seed](uint32_t row, std::span<float> out) {
    initial_input_row(seed, row, out);
  }, std::move(stability));
  if (parsed->count("target")) {
    TargetCounts counts = count_target(run, (*parsed)["target"].as<std::string>());
    if (!counts.warning.empty()) std::fprintf(stderr, "tokvec audit: warning: %s\n", counts.warning.c_str());
    add_target(report, counts, std::max<uint64_t>(config.top, 20), run.is_bpe() ? std::function<std::vector<uint32_t>(std::string_view)>(run.encode) : nullptr);
  }
  if (run.is_subwords()) {
    add_word_rows(report, std::vector<std::string>(run.state.vocab.begin(), run.state.vocab.begin() + run.subword_words),
                  std::span<const uint64_t>(run.state.frequencies.data(), run.subword_words), run.encode);
  }
  // Files first: a bad output path fails before anything is printed. One set: all of them
  // or (a full disk, a missing folder) none.
  AtomicFileSet files;
  if (parsed->count("csv")) files.add((*parsed)["csv"].as<std::string>()).write(audit_csv(report));
  if (parsed->count("json")) files.add((*parsed)["json"].as<std::string>()).write(audit_json(report));
  if (parsed->count("svg")) files.add((*parsed)["svg"].as<std::string>()).write(audit_svg(report));
  if (parsed->count("words-csv")) files.add((*parsed)["words-csv"].as<std::string>()).write(audit_words_csv(report));
  files.commit();
  std::fputs(audit_text(report, config.top).c_str(), stdout);
  return 0;
}

}  // namespace tokvec::cli
