// Run folders: config.json, creating and opening a run folder, and resolving RUN_DIR|STATE.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "base/config.h"
#include "base/io.h"
#include "tokvec/run.h"
#include "text/text.h"

namespace tokvec {

namespace fs = std::filesystem;

// ---- config.json ------------------------------------------------------------------------

std::string_view run_mode_name(RunMode mode) noexcept {
  switch (mode) {
    case RunMode::words: return "words";
    case RunMode::bpe: return "bpe";
    case RunMode::corpus: return "corpus";
    case RunMode::subwords: return "subwords";
  }
  return "bpe";
}

std::optional<RunMode> parse_run_mode(std::string_view name) noexcept {
  for (RunMode m : {RunMode::words, RunMode::bpe, RunMode::corpus, RunMode::subwords}) {
    if (name == run_mode_name(m)) return m;
  }
  return std::nullopt;
}

namespace {

/// The keys RunConfig models (with TrainConfig::to_json's); the rest goes to `extra`.
/// "quiet", which earlier versions wrote, is a display option: read past and not written.
bool is_modelled_key(const std::string& key) {
  static const char* const kKeys[] = {"mode",           "input",          "corpus",          "tokenizer",
                                      "bpe_vocab_size", "lowercase",      "tokenizer_kind",  "tokenizer_checksum",
                                      "threads_used",   "processes",      "init_from",       "quiet",
                                      "subword_compose", "subword_ancestors", "subword_own_min_count",
                                      "subword_step",   "subword_outputs", "subword_ancestor_min_chars",
                                      "subword_piece_damping_count"};
  for (const char* k : kKeys) {
    if (key == k) return true;
  }
  return TrainConfig{}.to_json().contains(key);
}

}  // namespace

nlohmann::json RunConfig::to_json() const {
  // A config read keeps what it held but did not model (a path's "_hex" twin, "version",
  // keys of another version); the modelled keys are written over it.
  nlohmann::json j = extra.is_object() ? extra : nlohmann::json::object();
  const nlohmann::json settings = train.to_json();
  for (const auto& [key, value] : settings.items()) j[key] = value;
  j["mode"] = run_mode_name(mode);
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
  if (!init_from.empty()) path_to_json(j, "init_from", init_from);  // absent from runs from scratch
  j["bpe_vocab_size"] = mode == RunMode::bpe || mode == RunMode::subwords ? nlohmann::json(bpe_vocab) : nlohmann::json(nullptr);
  if (mode == RunMode::subwords) subwords.to_json(j);
  j["lowercase"] = lowercase;
  if (!j.contains("version")) j["version"] = "0.1.0";
  if (tokenizer_kind) j["tokenizer_kind"] = tokenizer_kind_name(*tokenizer_kind);
  if (tokenizer_checksum) j["tokenizer_checksum"] = hex64(*tokenizer_checksum);
  if (threads_used) j["threads_used"] = *threads_used;
  if (processes) j["processes"] = *processes;
  return j;
}

RunConfig RunConfig::from_json(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw corrupt_error(file, "", "expected a JSON object of settings");
  RunConfig c;
  c.train = run_config_from_json(j, file);
  auto text = [&](const char* key) {
    return j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>() : std::string();
  };
  const std::optional<RunMode> mode = parse_run_mode(text("mode"));
  if (!mode) throw corrupt_error(file, "key \"mode\"", "expected words, bpe, corpus or subwords");
  c.mode = *mode;
  if (c.mode == RunMode::subwords) c.subwords = SubwordConfig::from_json(j, file);
  c.input = path_from_json(j, "input");
  c.corpus_path = path_from_json(j, "corpus");
  c.tokenizer_path = path_from_json(j, "tokenizer");
  c.init_from = path_from_json(j, "init_from");
  if (j.contains("bpe_vocab_size") && j.at("bpe_vocab_size").is_number_unsigned()) {
    c.bpe_vocab = j.at("bpe_vocab_size").get<uint32_t>();
  }
  if (j.contains("lowercase") && j.at("lowercase").is_boolean()) c.lowercase = j.at("lowercase").get<bool>();
  // The corpus's record: kept in `extra` as it is when it does not parse (resume compares
  // it with the corpus and names the key).
  nlohmann::json rest = nlohmann::json::object();
  for (const auto& [key, value] : j.items()) {
    if (!is_modelled_key(key)) rest[key] = value;
  }
  auto keep = [&](const char* key) { if (j.contains(key)) rest[key] = j.at(key); };
  if (j.contains("tokenizer_kind") && j.at("tokenizer_kind").is_string() &&
      parse_tokenizer_kind(j.at("tokenizer_kind").get<std::string>())) {
    c.tokenizer_kind = parse_tokenizer_kind(j.at("tokenizer_kind").get<std::string>());
  } else {
    keep("tokenizer_kind");
  }
  const std::string sum = text("tokenizer_checksum");
  if (sum.size() == 16 && hex64(std::strtoull(sum.c_str(), nullptr, 16)) == sum) {
    c.tokenizer_checksum = std::strtoull(sum.c_str(), nullptr, 16);
  } else {
    keep("tokenizer_checksum");
  }
  for (auto [key, field] : {std::pair{"threads_used", &c.threads_used}, std::pair{"processes", &c.processes}}) {
    if (j.contains(key) && j.at(key).is_number_integer()) {
      *field = j.at(key).get<int>();
    } else {
      keep(key);
    }
  }
  c.extra = std::move(rest);
  return c;
}

RunConfig RunConfig::read(const std::string& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw corrupt_error(file, "", std::string("not valid JSON: ") + e.what());
  }
  return from_json(j, file);
}

void RunConfig::write(const std::string& file) const { write_file_atomically(file, to_json().dump(2) + "\n"); }

// ---- Run folders ------------------------------------------------------------------------

RunDir RunDir::create(const std::string& dir, bool force) {
  RunDir run;
  run.path_ = dir;
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) throw FieldError(ErrorKind::usage, "output", dir + " exists and is not a folder");
  } else {
    run.created_ = fs::create_directories(dir, ec);
    if (ec) throw io_error(dir, "cannot create the run folder", ec.value());
  }
  run.lock_ = std::make_shared<FolderLock>(dir);
  remove_stale_temporaries(dir);
  run.was_empty_ = fs::is_empty(dir, ec);
  if (!run.was_empty_ && !force) {
    throw RunFolderNotEmpty(dir);
  }
  return run;
}

RunDir RunDir::open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw io_error(dir, "no such run folder to resume", ENOENT);
  RunDir run;
  run.path_ = dir;
  run.lock_ = std::make_shared<FolderLock>(dir);
  remove_stale_temporaries(dir);
  return run;
}

std::string RunDir::file(std::string_view name) const { return (fs::path(path_) / name).string(); }

bool RunDir::has(std::string_view name) const {
  std::error_code ec;
  return fs::exists(fs::path(path_) / name, ec);
}

std::vector<std::string> RunDir::run_files() const {
  std::vector<std::string> files;
  std::error_code ec;
  for (const char* name : {"config.json", "tokenizer.bpe", "corpus.tkc", "state.tkv", "train.log"}) {
    const fs::path p = fs::path(path_) / name;
    if (fs::exists(fs::symlink_status(p, ec))) files.push_back(p.string());
  }
  for (const auto& [sequence, path] : list_checkpoints(path_)) files.push_back(path);
  return files;
}

void RunDir::clear_old_run(const std::vector<std::string>& inputs) const {
  std::error_code ec;
  const std::vector<std::string> files = run_files();
  bool held_a_run = false;
  for (const std::string& f : files) {
    const std::string name = fs::path(f).filename().string();
    held_a_run = held_a_run || (name != "tokenizer.bpe" && name != "corpus.tkc");
  }
  for (const std::string& path : files) fs::remove(path, ec);
  if (!held_a_run) return;
  std::vector<fs::path> keep;
  for (const std::string& in : inputs) {
    if (!in.empty()) keep.push_back(fs::weakly_canonical(in, ec));
  }
  auto holds_input = [&](const fs::path& entry) {
    const fs::path e = fs::weakly_canonical(entry, ec);
    for (const fs::path& k : keep) {
      // The entry is the input or a folder above it.
      if (std::mismatch(e.begin(), e.end(), k.begin(), k.end()).first == e.end()) return true;
    }
    return false;
  };
  const std::string own_temp = ".tmp." + std::to_string(::getpid());
  std::vector<fs::path> rest;
  for (const auto& entry : fs::directory_iterator(path_, ec)) rest.push_back(entry.path());
  for (const fs::path& path : rest) {
    const std::string name = path.filename().string();
    if (name.size() >= own_temp.size() && name.compare(name.size() - own_temp.size(), own_temp.size(), own_temp) == 0) continue;
    if (holds_input(path)) continue;
    fs::remove_all(path, ec);
  }
}

std::optional<LoadedCheckpoint> RunDir::newest_checkpoint(const std::function<void(const std::string&)>& warn) const {
  return load_newest_checkpoint(path_, warn);
}

// ---- RUN_DIR|STATE ----------------------------------------------------------------------

RunTarget resolve_run_target(const std::string& arg) {
  std::error_code ec;
  RunTarget t;
  t.path = arg;
  if (fs::is_directory(arg, ec)) {
    t.kind = RunTarget::Kind::folder;
    t.dir = arg;
    return t;
  }
  if (!fs::exists(arg, ec)) throw io_error(arg, "no such run folder or state file", ENOENT);
  t.kind = RunTarget::Kind::state_file;
  t.dir = fs::path(arg).parent_path().string();
  if (t.dir.empty()) t.dir = ".";
  return t;
}

std::optional<RunTarget> find_run_target(const std::string& arg) {
  std::error_code ec;
  if (fs::is_directory(arg, ec)) return resolve_run_target(arg);
  if (!fs::is_regular_file(arg, ec)) return std::nullopt;
  MappedFile f(arg);
  if (f.size() >= 8 && f.view().substr(0, 8) == std::string_view(kStateMagic, 8)) return resolve_run_target(arg);
  return std::nullopt;
}

RunState load_run_state(const RunTarget& target) {
  RunState r;
  if (target.kind == RunTarget::Kind::state_file) {
    r.path = target.path;
    r.state = load_state(r.path);
    return r;
  }
  const std::string& dir = target.dir;
  std::error_code ec;
  r.path = (fs::path(dir) / "state.tkv").string();
  if (fs::exists(r.path, ec)) {
    r.state = load_state(r.path);
    return r;
  }
  std::string warnings;
  std::optional<LoadedCheckpoint> newest = load_newest_checkpoint(dir, [&](const std::string& w) { warnings += "; skipped " + w; });
  const std::string resume = resume_command(dir);
  if (!newest) {
    const bool has_checkpoints = !list_checkpoints(dir).empty();
    if (has_checkpoints) {
      throw input_error(dir, "", "is an unfinished run (no state.tkv) and none of its checkpoints is readable" + warnings +
                                     "; continue it with: " + resume);
    }
    if (fs::exists(fs::path(dir) / "config.json", ec)) {
      throw input_error(dir, "", "is an unfinished run with no checkpoint yet (no state.tkv): nothing trained to read; continue it with: " +
                                     resume);
    }
    throw input_error(dir, "", "is not a tokvec run folder (no state.tkv in it)");
  }
  r.path = newest->path;
  r.state = std::move(newest->state);
  r.note = dir + " is unfinished (no state.tkv): using its newest checkpoint " + fs::path(newest->path).filename().string() + " (" +
           std::to_string(r.state.tokens_done) + " of " + std::to_string(r.state.tokens_total) + " tokens trained)" + warnings +
           "; finish it with: " + resume;
  return r;
}

RunState load_run_state(const std::string& dir) { return load_run_state(resolve_run_target(dir)); }

}  // namespace tokvec
