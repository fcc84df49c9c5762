#include "tokvec/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <cstring>

#include "run/sections.h"
#include "tokvec/status.h"

namespace tokvec {

namespace {

template <typename T> std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

/// Largest vocabulary and dimension a state may declare: far above any real run, low
/// enough that a damaged header cannot make us allocate terabytes before noticing.
constexpr uint64_t kMaxVocab = 1ull << 31;
constexpr uint64_t kMaxDim = 1ull << 16;

void load_matrix(const SectionReader& file, std::string_view tag, uint64_t rows, uint64_t dim, uint64_t stride,
                 Matrix& out) {
  std::span<const float> data = file.array<float>(tag);
  // The stride is checked first and the size by division, so a damaged stride can neither
  // wrap rows x stride around 2^64 nor make us allocate before the check.
  if (stride != (dim + Matrix::kRowAlignFloats - 1) / Matrix::kRowAlignFloats * Matrix::kRowAlignFloats) {
    throw corrupt_error(file.path(), "section META", "row stride " + std::to_string(stride) + " does not match dim " + std::to_string(dim));
  }
  if (data.size() / stride != rows || data.size() % stride != 0) {
    throw corrupt_error(file.path(), "section " + std::string(tag),
                        "holds " + std::to_string(data.size()) + " floats, expected " + std::to_string(rows) + " x " +
                            std::to_string(stride));
  }
  out = Matrix(rows, dim);
  std::memcpy(out.storage().data(), data.data(), data.size_bytes());
}

std::vector<uint64_t> load_counts(const SectionReader& file, std::string_view tag, uint64_t n) {
  std::span<const uint64_t> data = file.array<uint64_t>(tag);
  if (data.size() != n) {
    throw corrupt_error(file.path(), "section " + std::string(tag),
                        "holds " + std::to_string(data.size()) + " counts, expected " + std::to_string(n));
  }
  return {data.begin(), data.end()};
}

}  // namespace

void save_state(const std::string& path, const TrainingState& s, uint64_t fail_after_bytes) {
  size_t n = s.vocab.size();
  if (s.frequencies.size() != n || s.input.rows() != n || s.output.rows() != n || s.input_updates.size() != n ||
      s.output_positive_updates.size() != n || s.output_negative_updates.size() != n ||
      s.output.cols() != s.input.cols()) {
    throw internal_error("inconsistent training state for " + path);
  }
  if (s.pretrain && (s.pretrain->source_rows > n || s.pretrain->frequencies.size() != n || s.pretrain->input_updates.size() != n ||
                     s.pretrain->output_positive_updates.size() != n || s.pretrain->output_negative_updates.size() != n)) {
    throw internal_error("inconsistent pretraining counts for " + path);
  }
  // Version 1 unless the state needs version 2's sections: a run from scratch writes the
  // same bytes as before, and older tokvec versions read it.
  SectionWriter writer(path, std::string_view(kStateMagic, 8), s.pretrain ? kStateVersion : 1);
  ByteWriter meta;
  meta.str(s.config_json);
  meta.str(tokenizer_kind_name(s.tokenizer_kind));
  meta.u64(s.tokenizer_checksum);
  meta.u32(static_cast<uint32_t>(n));
  meta.u32(s.dim());
  meta.u64(s.input.stride());
  meta.u64(s.seed);
  meta.u64(s.tokens_done);
  meta.u64(s.tokens_total);
  meta.u32(s.epochs_done);
  meta.f64(s.loss_sum);
  meta.u64(s.loss_count);
  writer.add("META", std::move(meta.bytes()));
  ByteWriter vocab;
  for (const std::string& t : s.vocab) vocab.str(t);
  writer.add("VOCB", std::move(vocab.bytes()));
  writer.add_view("FREQ", bytes_of(s.frequencies));
  writer.add_view("WIN_", std::as_bytes(s.input.storage()));
  writer.add_view("WOUT", std::as_bytes(s.output.storage()));
  writer.add_view("UPIN", bytes_of(s.input_updates));
  writer.add_view("UPOS", bytes_of(s.output_positive_updates));
  writer.add_view("UNEG", bytes_of(s.output_negative_updates));
  writer.add("CURS", s.cursor);
  if (s.pretrain) {
    ByteWriter pret;
    pret.u32(s.pretrain->source_rows);
    pret.u64(s.pretrain->tokens);
    writer.add("PRET", std::move(pret.bytes()));
    writer.add_view("PFRQ", bytes_of(s.pretrain->frequencies));
    writer.add_view("PUIN", bytes_of(s.pretrain->input_updates));
    writer.add_view("PUPS", bytes_of(s.pretrain->output_positive_updates));
    writer.add_view("PUNG", bytes_of(s.pretrain->output_negative_updates));
  }
  writer.commit(fail_after_bytes);
}

namespace {

SectionReader open_state_file(const std::string& path) {
  return SectionReader(path, std::string_view(kStateMagic, 8), 1, kStateVersion);
}

/// Reads and validates a state from an opened (checksum-verified) state file.
TrainingState read_state(const SectionReader& file) {
  TrainingState s;
  ByteReader meta = file.reader("META");
  s.config_json = meta.str();
  const std::string kind = meta.str();
  const std::optional<TokenizerKind> parsed = parse_tokenizer_kind(kind);
  if (!parsed || *parsed == TokenizerKind::subwords) meta.fail("unknown tokenizer kind '" + kind + "'");
  s.tokenizer_kind = *parsed;
  s.tokenizer_checksum = meta.u64();
  uint64_t n = meta.u32();
  uint64_t dim = meta.u32();
  uint64_t stride = meta.u64();
  s.seed = meta.u64();
  s.tokens_done = meta.u64();
  s.tokens_total = meta.u64();
  s.epochs_done = meta.u32();
  s.loss_sum = meta.f64();
  s.loss_count = meta.u64();
  meta.expect_done();
  if (n == 0 || n > kMaxVocab) meta.fail("vocabulary size " + std::to_string(n) + " out of range");
  if (dim == 0 || dim > kMaxDim) meta.fail("dimension " + std::to_string(dim) + " out of range");
  if (s.tokens_done > s.tokens_total) meta.fail("progress " + std::to_string(s.tokens_done) + " beyond the total " + std::to_string(s.tokens_total));
  ByteReader vocab = file.reader("VOCB");
  // Each string takes at least its 8-byte length: a damaged count is refused, not reserved.
  if (n > vocab.remaining() / 8) vocab.fail("cannot hold the " + std::to_string(n) + " tokens META announces");
  s.vocab.reserve(n);
  for (uint64_t i = 0; i < n; ++i) s.vocab.push_back(vocab.str());
  vocab.expect_done();
  s.frequencies = load_counts(file, "FREQ", n);
  load_matrix(file, "WIN_", n, dim, stride, s.input);
  load_matrix(file, "WOUT", n, dim, stride, s.output);
  s.input_updates = load_counts(file, "UPIN", n);
  s.output_positive_updates = load_counts(file, "UPOS", n);
  s.output_negative_updates = load_counts(file, "UNEG", n);
  s.cursor = std::string(file.section("CURS"));
  if (file.version() >= 2 && file.has("PRET")) {
    PretrainCounts p;
    ByteReader pret = file.reader("PRET");
    p.source_rows = pret.u32();
    p.tokens = pret.u64();
    pret.expect_done();
    if (p.source_rows > n) pret.fail("source rows " + std::to_string(p.source_rows) + " beyond the vocabulary size " + std::to_string(n));
    p.frequencies = load_counts(file, "PFRQ", n);
    p.input_updates = load_counts(file, "PUIN", n);
    p.output_positive_updates = load_counts(file, "PUPS", n);
    p.output_negative_updates = load_counts(file, "PUNG", n);
    s.pretrain = std::move(p);
  }
  return s;
}

}  // namespace

TrainingState load_state(const std::string& path) { return read_state(open_state_file(path)); }

std::vector<std::string> describe_state(const std::string& path) {
  const SectionReader file = open_state_file(path);
  const TrainingState s = read_state(file);
  std::vector<std::string> lines;
  lines.push_back("training state, format version " + std::to_string(file.version()));
  lines.push_back("tokenizer: " + std::string(tokenizer_kind_name(s.tokenizer_kind)) + ", checksum " + hex64(s.tokenizer_checksum));
  lines.push_back("vocabulary: " + std::to_string(s.vocab_size()) + " rows, dim " + std::to_string(s.dim()));
  lines.push_back("progress: " + std::to_string(s.tokens_done) + " / " + std::to_string(s.tokens_total) +
                  " tokens, epochs done " + std::to_string(s.epochs_done) + (s.finished() ? " (finished)" : " (in progress)"));
  if (s.loss_count > 0) lines.push_back("mean loss: " + std::to_string(s.loss_sum / static_cast<double>(s.loss_count)));
  if (s.pretrain) {
    lines.push_back("adapted: the first " + std::to_string(s.pretrain->source_rows) + " rows from a source run that processed " +
                    std::to_string(s.pretrain->tokens) + " tokens; " + std::to_string(s.vocab_size() - s.pretrain->source_rows) +
                    " rows new");
  }
  lines.push_back("config: " + s.config_json);
  for (std::string& d : file.describe()) lines.push_back("section " + d);
  return lines;
}

}  // namespace tokvec

// ---- Checkpoints of a run ----------------------------------------------------------------

namespace tokvec {

CheckpointEvery CheckpointEvery::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return FieldError(ErrorKind::usage, "checkpoint_every",
                      "'" + std::string(text) + "': " + why + " (use 30s, 10m, 2h for time, a plain number of tokens, or off)");
  };
  CheckpointEvery every;
  if (text == "off" || text == "0") return every;
  if (text.empty()) throw bad("empty");
  char unit = text.back();
  bool timed = unit == 's' || unit == 'm' || unit == 'h';
  std::string number(timed ? text.substr(0, text.size() - 1) : text);
  if (number.empty() || number.find_first_not_of("0123456789.") != std::string::npos ||
      number.find('.') != number.rfind('.')) {
    throw bad("not a number with an optional s/m/h unit");
  }
  if (timed) {
    // from_chars, not std::stod: "." or a 400-digit number must be a usage error, not an
    // escaping std::invalid_argument / std::out_of_range (found by fuzzing: "--checkpoint-every .h").
    double value = 0.0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size()) throw bad("not a number with an optional s/m/h unit");
    every.seconds = value * (unit == 's' ? 1.0 : unit == 'm' ? 60.0 : 3600.0);
    if (every.seconds < 1.0 || every.seconds > 30.0 * 86400.0) throw bad("time must be between 1s and 720h");
  } else {
    if (number.find('.') != std::string::npos) throw bad("a token count must be a whole number");
    if (number.size() > 18) throw bad("token count too large");
    every.tokens = std::stoull(number);
    if (every.tokens < 1000) throw bad("token interval must be at least 1000");
  }
  return every;
}

std::string CheckpointEvery::to_string() const {
  if (seconds > 0.0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%gs", seconds);
    return buf;
  }
  if (tokens > 0) return std::to_string(tokens) + " tokens";
  return "off";
}

std::string checkpoint_path(const std::string& run_dir, uint64_t sequence) {
  char name[48];
  std::snprintf(name, sizeof name, "checkpoint-%06llu.tkv", static_cast<unsigned long long>(sequence));
  return (std::filesystem::path(run_dir) / name).string();
}

std::vector<std::pair<uint64_t, std::string>> list_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<uint64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir, ec)) {
    std::string name = entry.path().filename().string();
    constexpr std::string_view prefix = "checkpoint-", suffix = ".tkv";
    if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::stoull(digits), entry.path().string());
  }
  if (ec) throw io_error(run_dir, "cannot list the run folder", ec.value());
  std::sort(found.begin(), found.end());
  return found;
}

void prune_checkpoints(const std::string& run_dir, size_t keep) {
  if (keep == 0) throw internal_error("prune_checkpoints needs keep >= 1");
  auto all = list_checkpoints(run_dir);
  for (size_t i = 0; i + keep < all.size(); ++i) {
    std::error_code ec;
    std::filesystem::remove(all[i].second, ec);  // a stale old checkpoint left behind is harmless
  }
}

std::optional<LoadedCheckpoint> load_newest_checkpoint(const std::string& run_dir,
                                                       const std::function<void(const std::string&)>& warn) {
  auto all = list_checkpoints(run_dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      return LoadedCheckpoint{it->first, it->second, load_state(it->second)};
    } catch (const Error& e) {
      warn(std::string(e.what()) + "; falling back to an older checkpoint");
    }
  }
  return std::nullopt;
}

}  // namespace tokvec
