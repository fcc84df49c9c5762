// TrainConfig (validation, config.json), resuming settings and a run's initial state: the
// settings side of training, apart from the Trainer's thread loop in trainer.cpp.
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "base/config.h"
#include "base/io.h"
#include "sgns/sampler.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"

namespace tokvec {

std::string_view kernel_name(Kernel kernel) noexcept { return kernel == Kernel::pair ? "pair" : "hogbatch"; }

std::optional<Kernel> parse_kernel(std::string_view name) noexcept {
  for (Kernel k : {Kernel::hogbatch, Kernel::pair}) {
    if (name == kernel_name(k)) return k;
  }
  return std::nullopt;
}

Kernel kernel_from_name(std::string_view name) {
  if (const std::optional<Kernel> k = parse_kernel(name)) return *k;
  throw FieldError(ErrorKind::usage, "kernel", "must be hogbatch or pair, got '" + std::string(name) + "'");
}

void TrainConfig::validate() const {
  // Errors name the setting (its config.json key); the CLI shows its flag instead.
  check_field_range("dim", static_cast<int64_t>(dim), 1, 4096);
  check_field_range("window", static_cast<int64_t>(window), 1, 100);
  check_field_range("negative", static_cast<int64_t>(negative), 1, 100);
  check_field_range("sample", sample, 0.0, 1.0);
  check_field_range("min_count", static_cast<int64_t>(min_count), 1, int64_t{1} << 32);
  check_field_range("epochs", static_cast<int64_t>(epochs), 1, 1000);
  check_field_range("threads", static_cast<int64_t>(threads), 0, kMaxThreads);
  if (!(lr > 0.0 && lr <= 1.0)) check_field_range("lr", lr, 1e-9, 1.0);
}

void TrainConfig::validate(const CorpusView& corpus, const std::string& corpus_name) const {
  validate(corpus.tokens.size(), corpus.counts.size(), corpus_name);
}

void TrainConfig::validate(uint64_t n, size_t vocab_size, const std::string& corpus_name) const {
  validate();
  if (n == 0 || vocab_size == 0) throw input_error(corpus_name, "", "the corpus holds no token");
  if (n < static_cast<uint64_t>(window) + 1) {
    throw input_error(corpus_name, "", "the corpus holds " + std::to_string(n) + " tokens, fewer than window + 1 = " +
                                           std::to_string(window + 1) + ": no context window fits (lower " + setting_name("window") + ")");
  }
  const int t = resolve_threads(threads);
  if (static_cast<uint64_t>(t) > n) {
    throw FieldError(ErrorKind::usage, "threads", std::to_string(t) + " is more than the corpus's " + std::to_string(n) + " tokens");
  }
}

nlohmann::json TrainConfig::to_json() const {
  return {{"dim", dim},         {"window", window}, {"negative", negative}, {"sample", sample},
          {"min_count", min_count}, {"epochs", epochs}, {"threads", threads},  {"lr", lr},
          {"seed", seed},       {"kernel", kernel_name(kernel)}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& source) {
  TrainConfig c;
  if (!j.is_object()) throw usage_error(source + ": expected a JSON object of settings, got " + std::string(j.type_name()));
  try {
    auto get = [&](const char* key, auto& field) {
      if (!j.contains(key)) return;
      using T = std::remove_reference_t<decltype(field)>;
      const nlohmann::json& v = j.at(key);
      // The type first, so the error names the key (json's own says only "type must be
      // number, but is string").
      const bool type_ok = std::is_same_v<T, bool> ? v.is_boolean()
                           : std::is_same_v<T, std::string> ? v.is_string()
                                                            : v.is_number();
      if (!type_ok) {
        const char* want = std::is_same_v<T, bool> ? "true or false" : std::is_same_v<T, std::string> ? "a string" : "a number";
        throw usage_error(source + ": \"" + key + "\" must be " + want + ", got " + v.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
      }
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        // json's get<integer> casts a float or an out-of-range number as it stands: 1e300
        // is undefined behaviour and 4294967396 would quietly become dim 100 (found by
        // fuzzing config.json). Only a whole number in the field's range is taken.
        bool ok;
        if constexpr (std::is_signed_v<T>) {
          ok = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                                      : v.is_number_integer() && v.get<int64_t>() >= std::numeric_limits<T>::min() &&
                                            v.get<int64_t>() <= std::numeric_limits<T>::max();
        } else {
          ok = v.is_number_unsigned() && v.get<uint64_t>() <= std::numeric_limits<T>::max();
        }
        if (!ok) {
          throw usage_error(source + ": \"" + key + "\" must be a whole number in [" +
                            std::to_string(std::numeric_limits<T>::min()) + ", " + std::to_string(std::numeric_limits<T>::max()) +
                            "], got " + v.dump());
        }
      }
      field = v.get<T>();
    };
    get("dim", c.dim);
    get("window", c.window);
    get("negative", c.negative);
    get("sample", c.sample);
    get("min_count", c.min_count);
    get("epochs", c.epochs);
    get("threads", c.threads);
    get("lr", c.lr);
    get("seed", c.seed);
    std::string kernel(kernel_name(c.kernel));
    get("kernel", kernel);
    c.kernel = kernel_from_name(kernel);
  } catch (const nlohmann::json::exception& e) {
    throw usage_error(source + ": " + e.what());
  }
  return c;
}

namespace {

/// A JSON value for a message: short, and valid UTF-8 whatever the file held.
std::string show_value(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

}  // namespace

TrainConfig run_config_from_json(const nlohmann::json& config, const std::string& config_file) {
  try {
    TrainConfig c = TrainConfig::from_json(config, config_file);
    c.validate();
    return c;
  } catch (const FieldError& e) {
    // A value edited into the file: named by its key.
    throw Error(ErrorKind::corrupt, config_file + ": \"" + e.field() + "\" " + e.detail());
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::usage) throw;
    const std::string m = e.what();
    throw Error(ErrorKind::corrupt, m.rfind(config_file, 0) == 0 ? m : config_file + ": " + m);
  }
}

TrainConfig resume_settings(const nlohmann::json& config, const std::string& config_file, const std::string& recorded,
                            const std::string& recorded_file) {
  const nlohmann::json r = nlohmann::json::parse(recorded, nullptr, /*allow_exceptions=*/false);
  if (!r.is_object()) throw corrupt_error(recorded_file, "section META", "its record of the run's settings is not a JSON object");
  if (!config.is_object()) throw corrupt_error(config_file, "", "expected a JSON object of settings");
  for (const auto& [key, value] : r.items()) {
    if (key == "quiet") continue;  // recorded by earlier versions: a display option, not a setting
    if (!config.contains(key)) {
      throw corrupt_error(config_file, "key \"" + key + "\"",
                          "is missing, but " + recorded_file + " recorded " + show_value(value) +
                              " when the run began: config.json must not change during a run (put the key back, "
                              "or train a new run)");
    }
    if (config.at(key) != value) {
      throw corrupt_error(config_file, "key \"" + key + "\"",
                          "is " + show_value(config.at(key)) + ", but " + recorded_file + " recorded " + show_value(value) +
                              " when the run began: config.json must not change during a run (put back " + show_value(value) +
                              ", or train a new run with the new settings)");
    }
  }
  try {
    TrainConfig c = TrainConfig::from_json(r, recorded_file);
    c.validate();
    return c;
  } catch (const Error& e) {
    throw corrupt_error(recorded_file, "section META", e.what());
  }
}

void check_config_matches_corpus(const nlohmann::json& config, const std::string& config_file, const std::string& corpus_file,
                                 TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum) {
  auto differs = [&](const char* key, const std::string& expected) {
    throw corrupt_error(config_file, std::string("key \"") + key + "\"",
                        "is " + (config.contains(key) ? show_value(config.at(key)) : std::string("missing")) + ", but " + corpus_file +
                            " (the run's corpus) was made with " + expected +
                            ": config.json must not change during a run, nor its input text (put them back, or train a new run)");
  };
  auto text = [&](const char* key) -> std::string {
    return config.contains(key) && config.at(key).is_string() ? config.at(key).get<std::string>() : std::string("\x01");
  };
  const std::string mode = text("mode");
  const std::string name(tokenizer_kind_name(tokenizer_kind));
  const std::string kind = "the " + name + " tokenizer";
  if ((mode == "words" || mode == "bpe") && mode != name) differs("mode", kind);
  if (config.contains("tokenizer_kind") && text("tokenizer_kind") != name) differs("tokenizer_kind", kind);
  if (config.contains("tokenizer_checksum") && text("tokenizer_checksum") != hex64(tokenizer_checksum)) {
    differs("tokenizer_checksum", "the tokenizer of checksum \"" + hex64(tokenizer_checksum) + "\"");
  }
}

void initial_input_row(uint64_t seed, uint32_t row, std::span<float> out) {
  Rng rng(seed, row);
  const float scale = 1.0f / static_cast<float>(out.size());
  for (float& v : out) v = (rng.uniform() - 0.5f) * scale;
}

TrainingState initial_state(const CorpusView& corpus, const std::vector<std::string>& vocab,
                            TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum, const TrainConfig& config) {
  if (vocab.size() != corpus.counts.size()) throw internal_error("vocabulary and counts differ in size");
  TrainingState s;
  s.config_json = config.to_json().dump();
  s.tokenizer_kind = tokenizer_kind;
  s.tokenizer_checksum = tokenizer_checksum;
  s.vocab = vocab;
  s.frequencies.assign(corpus.counts.begin(), corpus.counts.end());
  const size_t v = vocab.size();
  try {
    const auto touching = static_cast<unsigned>(resolve_threads(config.threads));
    s.input = Matrix(v, config.dim, touching);
    s.output = Matrix(v, config.dim, touching);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::io) throw;
    throw Error(ErrorKind::io, std::string(e.what()) + " for the vectors (" + std::to_string(v) + " tokens x dim " +
                                   std::to_string(config.dim) + "; training holds two such matrices, input and output): lower " + setting_name("dim") +
                                   ", or shrink the vocabulary (" + setting_name("min_count") + ", " + setting_name("bpe_vocab_size") + ")");
  }
  Matrix& in = s.input;
#pragma omp parallel for schedule(static) num_threads(resolve_threads(config.threads))
  for (size_t r = 0; r < v; ++r) initial_input_row(config.seed, static_cast<uint32_t>(r), {in.row(r), in.cols()});
  s.input_updates.assign(v, 0);
  s.output_positive_updates.assign(v, 0);
  s.output_negative_updates.assign(v, 0);
  s.seed = config.seed;
  s.tokens_done = 0;
  s.tokens_total = static_cast<uint64_t>(config.epochs) * corpus.tokens.size();
  s.epochs_done = 0;
  return s;
}

}  // namespace tokvec
