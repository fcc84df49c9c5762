#include "tokvec/export.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <tbb/parallel_for.h>

#include "base/config.h"
#include "tokvec/bpe.h"
#include "tokvec/corpus.h"
#include "base/io.h"
#include "base/sniff.h"
#include "tokvec/status.h"
#include "text/text.h"
#include "text/words.h"
#include "vectors/export_detail.h"

namespace tokvec {

namespace fs = std::filesystem;

using namespace export_detail;

TokenOrder parse_token_order(std::string_view name) {
  if (name == "id") return TokenOrder::id;
  if (name == "frequency") return TokenOrder::frequency;
  throw FieldError(ErrorKind::usage, "order", "must be id or frequency, got '" + std::string(name) + "'");
}

void ExportConfig::validate() const {
  if (!words_file.empty() && corpus_words) throw usage_error("give " + setting_name("words") + " FILE or " + setting_name("corpus_words") + ", not both");
  if ((!words_file.empty() || corpus_words) && matrix != MatrixChoice::input) {
    throw usage_error("word vectors are composed from the input matrix; drop " + setting_name("matrix") + " output");
  }
}

Embeddings token_embeddings(const TrainingState& state, MatrixChoice matrix, TokenOrder rows) {
  const Matrix& m = matrix == MatrixChoice::input ? state.input : state.output;
  size_t n = state.vocab.size();
  if (m.rows() != n || state.frequencies.size() != n) throw internal_error("token_embeddings: inconsistent state");
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  if (rows == TokenOrder::frequency) {
    // An adapted run: frequency over everything it was trained on, so that "the N most
    // frequent" rows are not just the adaptation text's.
    std::vector<uint64_t> freq(state.frequencies);
    if (state.pretrain) {
      for (size_t i = 0; i < n; ++i) freq[i] += state.pretrain->frequencies[i];
    }
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return freq[a] > freq[b]; });
  }
  Embeddings e;
  e.dim = static_cast<uint32_t>(m.cols());
  e.words.reserve(n);
  e.data.resize(n * e.dim);
  for (size_t i = 0; i < n; ++i) {
    e.words.push_back(state.vocab[order[i]]);
    std::memcpy(e.row(i), m.row(order[i]), e.dim * sizeof(float));
  }
  return e;
}

Embeddings compose_word_vectors(const TrainingState& state, const std::vector<std::string>& words,
                                const PieceEncoder& encode) {
  Embeddings e;
  e.dim = state.dim();
  e.words = words;
  e.data.assign(words.size() * e.dim, 0.0f);
  std::vector<double> sum(e.dim);
  for (size_t w = 0; w < words.size(); ++w) {
    std::vector<uint32_t> ids = encode(words[w]);
    if (ids.empty()) throw input_error("", "", "the word " + quote_token(words[w]) + " encodes to no token");
    std::fill(sum.begin(), sum.end(), 0.0);
    for (uint32_t id : ids) {
      if (id >= state.vocab.size()) {
        throw internal_error("piece id " + std::to_string(id) + " of " + quote_token(words[w]) + " is outside the vocabulary of " +
                             std::to_string(state.vocab.size()));
      }
      const float* r = state.input.row(id);
      for (uint32_t d = 0; d < e.dim; ++d) sum[d] += r[d];
    }
    // The mean of the piece vectors (see export.h for why the mean).
    float* out = e.row(w);
    for (uint32_t d = 0; d < e.dim; ++d) out[d] = static_cast<float>(sum[d] / static_cast<double>(ids.size()));
  }
  return e;
}

std::vector<WordCount> count_text_words(const std::string& path, uint64_t min_count) {
  WordCountConfig config;
  config.rule = WordRule::pretokens;
  config.min_count = min_count;
  return count_words(path, config);
}

std::vector<WordCount> count_words_in_text(std::string_view text, uint64_t min_count) {
  WordCountConfig config;
  config.rule = WordRule::pretokens;
  config.min_count = min_count;
  return count_words_in_memory(text, config);
}

std::vector<std::string> read_word_list(const std::string& path) {
  std::string text = read_file(path);
  std::vector<std::string> words;
  std::unordered_map<std::string, size_t> seen;
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    while (!line.empty() && is_ascii_space(line.back())) line.remove_suffix(1);
    while (!line.empty() && is_ascii_space(line.front())) line.remove_prefix(1);
    if (line.empty()) continue;
    for (char c : line) {
      if (is_ascii_space(c)) throw input_error(input_name(path), at_line(line_no), "expected one word per line, got " + quote_token(line));
    }
    std::string w(line);
    if (seen.emplace(w, words.size()).second) words.push_back(std::move(w));
  }
  return words;
}

bool is_run_path(const std::string& path) { return find_run_target(path).has_value(); }

namespace detail {
void attach_subwords(Run& run, const fs::path& dir, const nlohmann::json& config);  // subword_vectors.cpp
}

Run load_run(const std::string& path) {
  std::error_code ec;
  Run run;
  const RunTarget target = resolve_run_target(path);
  const fs::path dir = target.dir;
  RunState rs = load_run_state(target);
  run.state_path = std::move(rs.path);
  run.state = std::move(rs.state);
  run.note = std::move(rs.note);
  if (fs::exists(dir / "corpus.tkc", ec)) run.corpus_path = (dir / "corpus.tkc").string();
  run.tokenizer_kind = run.state.tokenizer_kind;
  nlohmann::json config = nlohmann::json::parse(run.state.config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_object()) {
    if (config.contains("min_count") && config["min_count"].is_number_unsigned()) run.min_count = config["min_count"].get<uint64_t>();
    run.input_path = path_from_json(config, "input");
    if (config.contains("lowercase") && config["lowercase"].is_boolean()) run.lowercase = config["lowercase"].get<bool>();
  }
  if (config.is_object() && config.contains("mode") && config["mode"] == "subwords") {
    run.tokenizer_kind = TokenizerKind::subwords;
    detail::attach_subwords(run, dir, config);
  } else if (run.is_bpe()) {
    std::string tok = (dir / "tokenizer.bpe").string();
    if (!fs::exists(tok, ec)) throw input_error(run.state_path, "", "is a BPE run but " + tok + " is missing");
    auto model = std::make_shared<const BpeModel>(BpeModel::load(tok));
    if (model->checksum() != run.state.tokenizer_checksum) {
      throw input_error(tok, "", "checksum " + hex64(model->checksum()) + " does not match the run's tokenizer " + hex64(run.state.tokenizer_checksum));
    }
    run.encode = [model](std::string_view w) { return model->encode_word(w); };
    run.model = model;
  }
  return run;
}

std::vector<std::string> run_corpus_words(const Run& run, std::string* source) {
  if (run.is_subwords()) {  // its corpus words, most frequent first: the state's first rows
    if (source) *source = "the vocabulary of " + run.state_path;
    return {run.state.vocab.begin(), run.state.vocab.begin() + run.subword_words};
  }
  if (!run.is_bpe()) {
    if (source) *source = "the vocabulary of " + run.state_path;
    return token_embeddings(run.state).words;
  }
  std::vector<std::string> words;
  std::error_code ec;
  if (!run.corpus_path.empty() && run.model) {
    const TokenCorpus corpus = TokenCorpus::open(run.corpus_path);
    if (corpus.tokenizer_kind() == TokenizerKind::bpe && corpus.tokenizer_checksum() == run.state.tokenizer_checksum) {
      // decode(encode(x)) is x normalised (whitespace runs made one space), which splits
      // into the same words as x.
      const CorpusView v = corpus.view();
      std::string text;
      uint64_t begin = 0;
      for (uint64_t end : v.line_ends) {
        text += run.model->decode(v.tokens.subspan(begin, end - begin));
        text.push_back('\n');
        begin = end;
      }
      for (WordCount& wc : count_words_in_text(text, run.min_count)) words.push_back(std::move(wc.word));
      if (source) *source = run.corpus_path;
      return words;
    }
  }
  if (!run.input_path.empty() && fs::is_regular_file(run.input_path, ec)) {
    for (WordCount& wc : count_text_words(run.input_path, run.min_count)) words.push_back(std::move(wc.word));
    if (source) *source = run.input_path;
    return words;
  }
  const std::string corpus = (fs::path(run.state_path).parent_path() / "corpus.tkc").string();
  throw io_error(run.state_path,
                 "a BPE run's word list comes from the text it trained on, and neither its corpus (" + corpus + ", of this tokenizer) nor " +
                     (run.input_path.empty() ? std::string("a recorded input text") : "its input " + run.input_path) +
                     " is there to take them from",
                 ENOENT);
}

Embeddings run_word_vectors(const Run& run, const std::vector<std::string>& words, size_t* missing) {
  if (missing) *missing = 0;
  if (run.composes()) return run_compose(run, words);
  std::unordered_map<std::string_view, uint32_t> index;
  for (uint32_t i = 0; i < run.state.vocab.size(); ++i) index.emplace(run.state.vocab[i], i);
  Embeddings e;
  e.dim = run.state.dim();
  std::vector<bool> given(run.state.vocab.size(), false);
  for (const std::string& w : words) {
    auto it = index.find(run.lowercase ? lowercase_utf8(w) : w);
    if (it == index.end()) {
      if (missing) ++*missing;
      continue;
    }
    if (given[it->second]) continue;  // "Sea" and "sea" in a lowercased run: one row
    given[it->second] = true;
    e.words.push_back(run.state.vocab[it->second]);
    const float* r = run.state.input.row(it->second);
    e.data.insert(e.data.end(), r, r + e.dim);
  }
  return e;
}

size_t drop_flagged(const Run& run, Embeddings& vectors, uint64_t min_updates, bool composed) {
  const TrainingState& state = run.state;
  std::unordered_map<std::string_view, uint32_t> index;
  if (!composed) {
    for (uint32_t i = 0; i < state.vocab.size(); ++i) index.emplace(state.vocab[i], i);
  }
  auto flagged = [&](const std::string& entry) {
    if (composed) {
      for (uint32_t id : run.encode(entry)) {
        if (id < state.vocab.size() && state.input_updates[id] < min_updates) return true;
      }
      return false;
    }
    auto it = index.find(entry);
    return it != index.end() && state.input_updates[it->second] < min_updates;
  };
  Embeddings kept;
  kept.dim = vectors.dim;
  for (size_t i = 0; i < vectors.size(); ++i) {
    if (flagged(vectors.words[i])) continue;
    kept.words.push_back(std::move(vectors.words[i]));
    kept.data.insert(kept.data.end(), vectors.row(i), vectors.row(i) + vectors.dim);
  }
  const size_t dropped = vectors.size() - kept.size();
  vectors = std::move(kept);
  return dropped;
}

}  // namespace tokvec