#include "sgns/subword.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "base/config.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"

namespace tokvec {

std::optional<SubwordCompose> parse_subword_compose(std::string_view name) noexcept {
  if (name == "sum") return SubwordCompose::sum;
  if (name == "mean") return SubwordCompose::mean;
  if (name == "own-plus-mean") return SubwordCompose::own_plus_mean;
  if (name == "own-plus-scaled") return SubwordCompose::own_plus_scaled;
  return std::nullopt;
}

std::string_view subword_compose_name(SubwordCompose c) noexcept {
  switch (c) {
    case SubwordCompose::mean: return "mean";
    case SubwordCompose::own_plus_mean: return "own-plus-mean";
    case SubwordCompose::own_plus_scaled: return "own-plus-scaled";
    case SubwordCompose::sum: break;
  }
  return "sum";
}

std::optional<SubwordStep> parse_subword_step(std::string_view name) noexcept {
  if (name == "gradient") return SubwordStep::gradient;
  if (name == "unit") return SubwordStep::unit;
  return std::nullopt;
}

std::string_view subword_step_name(SubwordStep s) noexcept { return s == SubwordStep::unit ? "unit" : "gradient"; }

std::optional<SubwordOutputs> parse_subword_outputs(std::string_view name) noexcept {
  if (name == "words") return SubwordOutputs::words;
  if (name == "pieces") return SubwordOutputs::pieces;
  return std::nullopt;
}

std::string_view subword_outputs_name(SubwordOutputs o) noexcept { return o == SubwordOutputs::pieces ? "pieces" : "words"; }

void SubwordConfig::to_json(nlohmann::json& j) const {
  j["subword_compose"] = subword_compose_name(compose);
  j["subword_ancestors"] = ancestors;
  j["subword_own_min_count"] = own_min_count;
  j["subword_step"] = subword_step_name(step);
  if (ancestor_min_chars > 1) j["subword_ancestor_min_chars"] = ancestor_min_chars;  // absent: no filter
  if (outputs != SubwordOutputs::words) j["subword_outputs"] = subword_outputs_name(outputs);  // absent: per word
  if (piece_damping_count > 0) j["subword_piece_damping_count"] = piece_damping_count;  // absent: none
}

SubwordConfig SubwordConfig::from_json(const nlohmann::json& j, const std::string& file) {
  SubwordConfig c;
  auto corrupt = [&](const char* key, const std::string& expected, const nlohmann::json& v) {
    return corrupt_error(file, std::string("key \"") + key + "\"", "expected " + expected + ", got " + v.dump());
  };
  // A key naming one of a setting's values: `parse` gives nullopt for any other string.
  auto named = [&](const char* key, auto parse, const std::string& expected, auto& field) {
    if (!j.contains(key)) return;
    const nlohmann::json& v = j.at(key);
    const auto parsed = v.is_string() ? parse(v.get<std::string>()) : std::nullopt;
    if (!parsed) throw corrupt(key, expected, v);
    field = *parsed;
  };
  // A whole number key, in the range of its field.
  auto count = [&](const char* key, auto& field) {
    if (!j.contains(key)) return;
    using T = std::remove_reference_t<decltype(field)>;
    const nlohmann::json& v = j.at(key);
    if (!v.is_number_unsigned() || v.get<uint64_t>() > std::numeric_limits<T>::max()) throw corrupt(key, "a whole number >= 0", v);
    field = v.get<T>();
  };
  named("subword_compose", parse_subword_compose, "\"sum\", \"mean\", \"own-plus-mean\" or \"own-plus-scaled\"", c.compose);
  if (j.contains("subword_ancestors")) {
    const nlohmann::json& v = j.at("subword_ancestors");
    if (!v.is_boolean()) throw corrupt("subword_ancestors", "true or false", v);
    c.ancestors = v.get<bool>();
  }
  count("subword_own_min_count", c.own_min_count);
  c.step = SubwordStep::gradient;  // the only step before the key existed
  named("subword_step", parse_subword_step, "\"gradient\" or \"unit\"", c.step);
  count("subword_ancestor_min_chars", c.ancestor_min_chars);
  named("subword_outputs", parse_subword_outputs, "\"words\" or \"pieces\"", c.outputs);
  count("subword_piece_damping_count", c.piece_damping_count);
  return c;
}

namespace {

/// The first id of a merge: ids below it are bytes, the marker and single characters.
uint32_t first_merge_id(const BpeModel& model) { return model.vocab_size() - static_cast<uint32_t>(model.merges().size()); }

/// The characters (UTF-8 code points) of a piece, its word-start marker not counted.
size_t piece_chars(const BpeModel& model, uint32_t id) {
  size_t n = 0;
  for (unsigned char b : model.token_bytes(id)) n += (b & 0xC0) != 0x80;
  return n;
}

/// Adds the multi-character pieces `id` was merged from, recursively; those shorter than
/// `min_chars` are left out (their own ancestors are no longer).
void add_ancestors(const BpeModel& model, uint32_t first_merge, uint32_t id, uint32_t min_chars, std::vector<uint32_t>& out) {
  if (id < first_merge) return;
  const BpeMerge m = model.merges()[id - first_merge];
  for (uint32_t part : {m.left, m.right}) {
    if (part >= first_merge && (min_chars <= 1 || piece_chars(model, part) >= min_chars)) {
      out.push_back(part);
      add_ancestors(model, first_merge, part, min_chars, out);
    }
  }
}

}  // namespace

std::vector<uint32_t> subword_rows(const BpeModel& model, std::string_view word, uint32_t words, const SubwordConfig& config,
                                   uint32_t own_row) {
  std::vector<uint32_t> pieces = model.encode_word(word);
  if (config.ancestors) {
    const uint32_t first = first_merge_id(model);
    const size_t n = pieces.size();
    for (size_t i = 0; i < n; ++i) add_ancestors(model, first, pieces[i], config.ancestor_min_chars, pieces);
  }
  std::vector<uint32_t> rows;
  rows.reserve(pieces.size() + 1);
  if (own_row != UINT32_MAX) rows.push_back(own_row);
  for (uint32_t p : pieces) rows.push_back(words + p);
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

SubwordMap SubwordMap::build(const BpeModel& model, const std::vector<std::string>& words, std::span<const uint64_t> counts,
                             const SubwordConfig& config) {
  if (counts.size() != words.size()) throw internal_error("subword map: words and counts differ in size");
  const uint64_t rows = static_cast<uint64_t>(words.size()) + model.vocab_size();
  if (rows > UINT32_MAX) throw input_error("corpus", "", "too many words and pieces for one matrix (" + std::to_string(rows) + ")");
  SubwordMap m;
  m.config_ = config;
  m.words_ = static_cast<uint32_t>(words.size());
  m.rows_ = static_cast<uint32_t>(rows);
  m.offsets_.reserve(words.size() + 1);
  m.offsets_.push_back(0);
  m.rows_list_.reserve(words.size() * 4);
  for (uint32_t w = 0; w < m.words_; ++w) {
    const bool own = config.own_min_count > 0 && counts[w] >= config.own_min_count;
    const std::vector<uint32_t> r = subword_rows(model, words[w], m.words_, config, own ? w : UINT32_MAX);
    if (r.empty()) throw input_error("corpus", "word " + std::to_string(w), "is empty: it has no piece to compose it from");
    m.rows_list_.insert(m.rows_list_.end(), r.begin(), r.end());
    m.offsets_.push_back(m.rows_list_.size());
    m.max_rows_ = std::max(m.max_rows_, r.size());
  }
  m.set_weights(counts);
  return m;
}

SubwordMap SubwordMap::from_parts(const SubwordConfig& config, uint32_t words, uint32_t rows, std::vector<uint64_t> offsets,
                                  std::vector<uint32_t> rows_list, std::span<const uint64_t> counts) {
  bool ok = words <= rows && offsets.size() == static_cast<size_t>(words) + 1 && offsets.front() == 0 &&
            offsets.back() == rows_list.size() && counts.size() == words;
  for (size_t w = 0; ok && w < words; ++w) ok = offsets[w] < offsets[w + 1];
  for (size_t i = 0; ok && i < rows_list.size(); ++i) ok = rows_list[i] < rows;
  if (!ok) throw internal_error("subword map: the parts do not form a table of " + std::to_string(rows) + " rows");
  SubwordMap m;
  m.config_ = config;
  m.words_ = words;
  m.rows_ = rows;
  for (size_t w = 0; w < words; ++w) m.max_rows_ = std::max<size_t>(m.max_rows_, offsets[w + 1] - offsets[w]);
  m.offsets_ = std::move(offsets);
  m.rows_list_ = std::move(rows_list);
  m.set_weights(counts);
  return m;
}

void SubwordMap::set_weights(std::span<const uint64_t> counts) {
  weights_.resize(words_);
  for (uint32_t w = 0; w < words_; ++w) weights_[w] = subword_weights(config_, words_, rows_of(w), counts[w]);
}

void compose_rows(const Matrix& input, std::span<const uint32_t> rows, float s, float* __restrict out) noexcept {
  const size_t stride = input.stride();
  std::memcpy(out, input.row(rows[0]), stride * sizeof(float));
  for (size_t i = 1; i < rows.size(); ++i) {
    const float* __restrict v = input.row(rows[i]);
    for (size_t c = 0; c < stride; ++c) out[c] += v[c];
  }
  if (s != 1.0f) {
    for (size_t c = 0; c < stride; ++c) out[c] *= s;
  }
}

void compose_rows(const Matrix& input, std::span<const uint32_t> rows, SubwordWeights a, float* __restrict out) noexcept {
  if (a.uniform() || rows.size() < 2) {
    compose_rows(input, rows, a.first, out);
    return;
  }
  compose_rows(input, rows.subspan(1), a.rest, out);
  const float* __restrict v = input.row(rows[0]);
  const size_t stride = input.stride();
  for (size_t c = 0; c < stride; ++c) out[c] += a.first * v[c];
}

void scatter_rows(Matrix& input, std::span<const uint32_t> rows, SubwordWeights a, float k, const float* after,
                  const float* before, size_t cols) noexcept {
  if (a.uniform() || rows.size() < 2) {
    scatter_rows(input, rows, k * a.first, after, before, cols);
    return;
  }
  scatter_rows(input, rows.first(1), k * a.first, after, before, cols);
  scatter_rows(input, rows.subspan(1), k * a.rest, after, before, cols);
}

void scatter_rows(Matrix& input, std::span<const uint32_t> rows, float s, const float* __restrict after,
                  const float* __restrict before, size_t cols) noexcept {
  // Hogwild, as the kernel: another thread may update a shared piece row at the same time;
  // the race is intentional (a slightly stale gradient, which SGD tolerates).
  for (uint32_t r : rows) {
    float* __restrict v = input.row(r);
    for (size_t c = 0; c < cols; ++c) v[c] += s * (after[c] - before[c]);
  }
}

void SubwordTargets::compose(const SubwordMap& map, const Matrix& output, const uint32_t* targets, size_t T,
                             float** rows) noexcept {
  const size_t stride = output.stride();
  for (size_t t = 0; t < T; ++t) {
    const std::span<const uint32_t> r = map.rows_of(targets[t]);
    float* u = u_.row(t);
    compose_rows(output, r, map.weights(targets[t]), u);
    std::memcpy(u0_.row(t), u, stride * sizeof(float));
    rows[t] = u;
  }
}

void SubwordTargets::scatter(const SubwordMap& map, Matrix& output, const uint32_t* targets, size_t T) noexcept {
  const bool unit = map.config().step == SubwordStep::unit;
  for (size_t t = 0; t < T; ++t) {
    const std::span<const uint32_t> r = map.rows_of(targets[t]);
    const SubwordWeights a = map.weights(targets[t]);
    scatter_rows(output, r, a, unit ? 1.0f / a.sum_squares(r.size()) : 1.0f, u_.row(t), u0_.row(t), output.cols());
  }
}

double subword_step(Matrix& input, Matrix& output, const SubwordMap& map, std::span<const uint32_t> inputs,
                    std::span<const uint32_t> targets, float lr, const SigmoidTable& table, SubwordScratch& scratch,
                    SubwordKernel kernel) {
  const size_t B = inputs.size(), T = targets.size(), stride = input.stride(), cols = input.cols();
  for (size_t b = 0; b < B; ++b) {
    const std::span<const uint32_t> rows = map.rows_of(inputs[b]);
    float* x = scratch.composed.row(b);
    compose_rows(input, rows, map.weights(inputs[b]), x);
    std::memcpy(scratch.before.row(b), x, stride * sizeof(float));
    scratch.input_rows[b] = x;
  }
  const bool piece_outputs = map.config().outputs == SubwordOutputs::pieces;
  if (piece_outputs) {
    scratch.targets.compose(map, output, targets.data(), T, scratch.target_rows.data());
  } else {
    for (size_t t = 0; t < T; ++t) scratch.target_rows[t] = output.row(targets[t]);
  }
  const double loss = kernel(scratch.input_rows.data(), B, scratch.target_rows.data(), T, stride, cols, lr, table,
                             scratch.scores.data(), scratch.delta.row(0));
  if (piece_outputs) scratch.targets.scatter(map, output, targets.data(), T);
  for (size_t b = 0; b < B; ++b) {
    const std::span<const uint32_t> rows = map.rows_of(inputs[b]);
    scatter_rows(input, rows, map.weights(inputs[b]), 1.0f, scratch.composed.row(b), scratch.before.row(b), cols);
  }
  return loss;
}

void SubwordWindow::begin(const SubwordMap& map, Matrix& input, const uint32_t* words, size_t n) noexcept {
  map_ = &map;
  input_ = &input;
  seg_ = words;
  n_ = n;
  lo_ = hi_ = 0;
}

void SubwordWindow::leave(size_t j) noexcept {
  const size_t slot = j % span_;
  const std::span<const uint32_t> rows = map_->rows_of(words_[slot]);
  // x - x₀ = c Σ Δ; the rows get g Σ Δ: the sum of the steps, as subword_step would have
  // scattered them (gradient), or scaled so that x moves by Δ (unit).
  const SubwordWeights a = map_->weights(words_[slot]);
  if (uses_[slot] > 0 && a.uniform()) {
    const float s = a.first;
    const float c = map_->step_moves_x(words_[slot]);
    const float g = map_->config().step == SubwordStep::unit ? 1.0f / (s * static_cast<float>(rows.size())) : s;
    scatter_rows(*input_, rows, g / c, x_.row(slot), x0_.row(slot), input_->cols());
  } else if (uses_[slot] > 0) {
    // Row r gets (a_r / Σ a²) (x - x₀) under both steps (subword.h).
    scatter_rows(*input_, rows, a, 1.0f / a.sum_squares(rows.size()), x_.row(slot), x0_.row(slot), input_->cols());
  }
  left_.push_back({words_[slot], uses_[slot]});
}

void SubwordWindow::advance(size_t lo, size_t hi) noexcept {
  hi = std::min(hi, n_);
  for (; lo_ < lo && lo_ < hi_; ++lo_) leave(lo_);
  if (lo_ < lo) lo_ = hi_ = lo;
  for (; hi_ < hi; ++hi_) {
    const size_t slot = hi_ % span_;
    const uint32_t w = seg_[hi_];
    words_[slot] = w;
    uses_[slot] = 0;
    const std::span<const uint32_t> rows = map_->rows_of(w);
    compose_rows(*input_, rows, map_->weights(w), x_.row(slot));
    std::memcpy(x0_.row(slot), x_.row(slot), x_.stride() * sizeof(float));
  }
}

void SubwordWindow::before(const size_t* positions, size_t B) noexcept {
  // The unit step leaves the kernel's step as it is (c = 1): nothing to keep.
  const bool keep = map_->config().step != SubwordStep::unit;
  for (size_t b = 0; b < B; ++b) {
    slots_[b] = positions[b] % span_;
    ++uses_[slots_[b]];
    if (keep) std::memcpy(before_.row(b), x_.row(slots_[b]), x_.stride() * sizeof(float));
  }
}

void SubwordWindow::absorb(size_t B) noexcept {
  if (map_->config().step == SubwordStep::unit) return;
  const size_t cols = x_.cols();
  for (size_t b = 0; b < B; ++b) {
    const size_t slot = slots_[b];
    const float c = map_->step_moves_x(words_[slot]);
    if (c == 1.0f) continue;
    float* __restrict x = x_.row(slot);
    const float* __restrict x_before = before_.row(b);
    for (size_t k = 0; k < cols; ++k) x[k] = x_before[k] + c * (x[k] - x_before[k]);
  }
}

void SubwordWindow::finish() noexcept {
  for (; lo_ < hi_; ++lo_) leave(lo_);
}

TrainingState initial_subword_state(const CorpusView& corpus, const std::vector<std::string>& words, const BpeModel& model,
                                    const SubwordMap& map, TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum,
                                    uint32_t dim, uint64_t seed, uint32_t epochs, int threads) {
  if (words.size() != corpus.counts.size() || map.words() != words.size() || map.pieces() != model.vocab_size()) {
    throw internal_error("subword state: the corpus, the map and the tokenizer differ in size");
  }
  TrainingState s;
  s.tokenizer_kind = tokenizer_kind;
  s.tokenizer_checksum = tokenizer_checksum;
  const size_t n = map.rows();
  s.vocab = words;
  s.vocab.reserve(n);
  for (uint32_t p = 0; p < model.vocab_size(); ++p) s.vocab.emplace_back(model.piece(p));
  s.frequencies.assign(n, 0);
  for (uint32_t w = 0; w < map.words(); ++w) {
    s.frequencies[w] = corpus.counts[w];
    for (uint32_t r : map.rows_of(w)) {
      if (r >= map.words()) s.frequencies[r] += corpus.counts[w];
    }
  }
  try {
    const auto touching = static_cast<unsigned>(resolve_threads(threads));
    s.input = Matrix(n, dim, touching);
    s.output = Matrix(n, dim, touching);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::io) throw;
    throw Error(ErrorKind::io, std::string(e.what()) + " for the vectors (" + std::to_string(n) + " words and pieces x dim " +
                                   std::to_string(dim) + "; training holds two such matrices): lower " + setting_name("dim") + ", or shrink the vocabulary (" +
                                   setting_name("min_count") + ", " + setting_name("bpe_vocab_size") + ")");
  }
  Matrix& in = s.input;
#pragma omp parallel for schedule(static) num_threads(resolve_threads(threads))
  for (size_t r = 0; r < n; ++r) initial_input_row(seed, static_cast<uint32_t>(r), {in.row(r), in.cols()});
  s.input_updates.assign(n, 0);
  s.output_positive_updates.assign(n, 0);
  s.output_negative_updates.assign(n, 0);
  s.seed = seed;
  s.tokens_total = static_cast<uint64_t>(epochs) * corpus.tokens.size();
  return s;
}

}  // namespace tokvec
