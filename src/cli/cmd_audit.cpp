// tokvec audit RUN_DIR|STATE: which rows of a trained model can be trusted.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

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

/// A run folder means its final state (an unfinished one: its newest checkpoint, with a
/// note on stderr); a file is taken as a state or checkpoint itself.
TrainingState load_target(const std::string& target) {
  RunState run = load_run_state(resolve_run_target(target));
  if (!run.note.empty()) std::fprintf(stderr, "tokvec audit: note: %s\n", run.note.c_str());
  return std::move(run.state);
}

}  // namespace

int cmd_audit(int argc, char** argv) {
  AuditConfig defaults;
  cxxopts::Options options("tokvec audit", "List the rare, under-trained rows of a trained model.");
  options.add_options()
      ("run", "Run folder or state/checkpoint file", cxxopts::value<std::string>())
      ("min-updates", "Flag rows whose input row received fewer updates",
       cxxopts::value<uint64_t>()->default_value(std::to_string(defaults.min_updates)))
      ("top", "Flagged rows that occur in the corpus listed on stdout (most frequent first; rows that never occur are counted)",
       cxxopts::value<uint64_t>()->default_value(std::to_string(defaults.top)))
      ("csv", "Write every row as CSV to FILE", cxxopts::value<std::string>())
      ("json", "Write the summary and every row as JSON to FILE", cxxopts::value<std::string>())
      ("svg", "Write a log-log plot of frequency against updates to FILE", cxxopts::value<std::string>());
  options.parse_positional({"run"});
  options.positional_help("RUN_DIR|STATE");
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  require(*parsed, "run");
  AuditConfig config;
  config.min_updates = (*parsed)["min-updates"].as<uint64_t>();
  config.top = (*parsed)["top"].as<uint64_t>();
  config.validate();

  const std::string target = (*parsed)["run"].as<std::string>();
  std::error_code ec;
  // A run folder's checkpoints are run files, which check_output_is_safe refuses anyway.
  const std::string source =
      std::filesystem::is_directory(target, ec) ? (std::filesystem::path(target) / "state.tkv").string() : target;
  for (const char* option : {"csv", "json", "svg"}) {
    if (parsed->count(option)) check_output_is_safe(std::string("--") + option, (*parsed)[option].as<std::string>(), {source});
  }
  // Into a run folder: not while train replaces or continues that run.
  std::vector<FolderLock> locks;
  for (const char* option : {"csv", "json", "svg"}) {
    if (parsed->count(option)) locks.push_back(lock_if_in_run_folder((*parsed)[option].as<std::string>()));
  }
  TrainingState state = load_target(target);
  const uint64_t seed = state.seed;
  AuditReport report = audit(state, config, [seed](uint32_t row, std::span<float> out) {
    initial_input_row(seed, row, out);
  });
  // Files first: a bad output path fails before anything is printed. One set: all of them
  // or (a full disk, a missing folder) none.
  AtomicFileSet files;
  if (parsed->count("csv")) files.add((*parsed)["csv"].as<std::string>()).write(audit_csv(report));
  if (parsed->count("json")) files.add((*parsed)["json"].as<std::string>()).write(audit_json(report));
  if (parsed->count("svg")) files.add((*parsed)["svg"].as<std::string>()).write(audit_svg(report));
  files.commit();
  std::fputs(audit_text(report, config.top).c_str(), stdout);
  return 0;
}

}  // namespace tokvec::cli
