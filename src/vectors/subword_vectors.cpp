// Word vectors of subword runs (train --subwords): any word, seen or not, gets the
// composition it was (or would have been) trained with.
#include <filesystem>
#include <unordered_map>

#include "sgns/subword.h"
#include "tokvec/export.h"
#include "tokvec/status.h"

namespace tokvec {

namespace fs = std::filesystem;

namespace detail {

/// Completes `run` (a subword run's state, read from `dir`) with its tokenizer and its
/// rows: run.encode gives R(w) for any word, with the word's own row when it is a corpus
/// word that has one. `config` is the state's record of the run's settings.
void attach_subwords(Run& run, const fs::path& dir, const nlohmann::json& config) {
  std::error_code ec;
  const std::string tok = (dir / "tokenizer.bpe").string();
  if (!fs::exists(tok, ec)) throw input_error(run.state_path, "", "is a subword run but " + tok + " is missing");
  auto model = std::make_shared<const BpeModel>(BpeModel::load(tok));
  run.subwords = SubwordConfig::from_json(config, run.state_path);
  const size_t rows = run.state.vocab.size();
  // The state's last rows are this tokenizer's pieces, in id order (initial_subword_state).
  const size_t pieces = model->vocab_size();
  bool same = rows > pieces;
  for (size_t p = 0; same && p < pieces; ++p) same = run.state.vocab[rows - pieces + p] == model->piece(static_cast<uint32_t>(p));
  if (!same) throw input_error(tok, "", "is not the tokenizer of the subword run " + run.state_path + " (its pieces differ from the run's rows)");
  run.subword_words = static_cast<uint32_t>(rows - pieces);
  auto index = std::make_shared<std::unordered_map<std::string, uint32_t>>();
  for (uint32_t w = 0; w < run.subword_words; ++w) index->emplace(run.state.vocab[w], w);
  const SubwordConfig cfg = run.subwords;
  const uint32_t words = run.subword_words;
  // A corpus word's own row exists when it was counted often enough (SubwordMap::build).
  std::vector<uint64_t> counts(run.state.frequencies.begin(), run.state.frequencies.begin() + words);
  run.encode = [model, index, cfg, words, counts = std::move(counts)](std::string_view w) {
    uint32_t own = UINT32_MAX;
    if (cfg.own_min_count > 0) {
      auto it = index->find(std::string(w));
      if (it != index->end() && counts[it->second] >= cfg.own_min_count) own = it->second;
    }
    return subword_rows(*model, w, words, cfg, own);
  };
  run.model = model;
}

}  // namespace detail

Embeddings run_compose(const Run& run, const std::vector<std::string>& words) {
  if (run.is_bpe()) return compose_word_vectors(run.state, words, run.encode);
  if (!run.is_subwords()) throw internal_error("run_compose on a words run");
  Embeddings e;
  e.dim = run.state.dim();
  e.words = words;
  e.data.assign(words.size() * e.dim, 0.0f);
  std::vector<float> x(run.state.input.stride());
  for (size_t i = 0; i < words.size(); ++i) {
    const std::vector<uint32_t> rows = run.encode(words[i]);
    if (rows.empty()) throw input_error("", "", "the word " + words[i] + " encodes to no piece");
    for (uint32_t r : rows) {
      if (r >= run.state.input.rows()) throw internal_error("subword row " + std::to_string(r) + " outside the state");
    }
    // The same float sums as training's (compose_rows), so a seen word's vector is the
    // x_w its last step saw. A word's own row is its corpus id, its first row.
    const uint64_t count = rows[0] < run.subword_words ? run.state.frequencies[rows[0]] : 0;
    compose_rows(run.state.input, rows, subword_weights(run.subwords, run.subword_words, rows, count), x.data());
    std::copy(x.begin(), x.begin() + e.dim, e.row(i));
  }
  return e;
}

}  // namespace tokvec
