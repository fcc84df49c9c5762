#include "tokvec/eval.h"

#include <omp.h>
#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "eval_detail.h"
#include "base/config.h"
#include "base/io.h"
#include "tokvec/status.h"

namespace tokvec {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

/// Lines as Python's text mode yields them: "\n", "\r\n" and a lone "\r" end a line.
std::vector<std::string_view> text_lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      out.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// Analogy lines: the bytes between '\n's (gensim reads the file in binary lines).
std::vector<std::string_view> binary_lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

/// Section name as gensim computes it: line.lstrip(': ').strip().
std::string section_name(std::string_view line) {
  while (!line.empty() && (line.front() == ':' || line.front() == ' ')) line.remove_prefix(1);
  return std::string(strip(line));
}

constexpr size_t kTop = 8;  // gensim's topn 5 + the 3 question rows

// ---- The scoring kernel ---------------------------------------------------------------
//
// S = Q · Cᵀ for a block of queries Q (nq x dim, nq a multiple of 4) against candidates
// stored transposed, CT (dim x cols, cols a multiple of 32). A 4 x 32 tile of S is
// accumulated while d runs over the dimension; the vectorised loop runs over candidates,
// so no floating-point reduction needs reassociating. Candidates are walked in tiles of
// kScoreColTile columns, each reused by all queries of the block. This portable version is
// the scalar SIMD path (simd.h); eval_simd.cpp has the AVX-512, AVX2 and NEON ones.
void score_block_portable(const float* Q, size_t nq, const float* CT, size_t cols, size_t dim, float* S) {
  for (size_t c0 = 0; c0 < cols; c0 += detail::kScoreColTile) {
    size_t c1 = std::min(cols, c0 + detail::kScoreColTile);
    for (size_t q = 0; q < nq; q += 4) {
      const float* q0 = Q + q * dim;
      for (size_t c = c0; c < c1; c += 32) {
        float acc[4][32] = {};
        for (size_t d = 0; d < dim; ++d) {
          const float* ct = CT + d * cols + c;
          for (size_t i = 0; i < 4; ++i) {
            float a = q0[i * dim + d];
            for (size_t j = 0; j < 32; ++j) acc[i][j] += a * ct[j];
          }
        }
        for (size_t i = 0; i < 4; ++i) std::memcpy(S + (q + i) * cols + c, acc[i], sizeof acc[i]);
      }
    }
  }
}


/// The `k` best (score, row) of `scores[0, n)`, best first; rows in `dead` never enter.
void top_k(const float* scores, size_t n, const std::vector<uint8_t>& dead, size_t k, std::vector<std::pair<float, uint32_t>>& out) {
  out.clear();
  float floor = -std::numeric_limits<float>::infinity();
  for (size_t c = 0; c < n; ++c) {
    float s = scores[c];
    if (out.size() == k && !(s > floor)) continue;
    if (dead[c] || std::isnan(s)) continue;
    // Insert keeping descending order; ties keep the lower row first.
    auto pos = std::upper_bound(out.begin(), out.end(), s, [](float v, const std::pair<float, uint32_t>& e) { return v > e.first; });
    out.insert(pos, {s, static_cast<uint32_t>(c)});
    if (out.size() > k) out.pop_back();
    if (out.size() == k) floor = out.back().first;
  }
}

}  // namespace

void detail::score_block(const float* Q, size_t nq, const float* CT, size_t cols, size_t dim, float* S) {
  if (detail::ScoreBlockKernel k = detail::score_simd_kernel(simd::active())) return k(Q, nq, CT, cols, dim, S);
  score_block_portable(Q, nq, CT, cols, dim, S);
}

void EvalConfig::validate() const {
  check_field_range("restrict", static_cast<int64_t>(restrict), 1, int64_t{1} << 31);
  check_field_range("threads", static_cast<int64_t>(threads), 0, kMaxThreads);
  check_field_range("k", static_cast<int64_t>(neighbors), 1, 100000);
}

// ---- Case-insensitive index -------------------------------------------------------------

struct WordIndex::Impl {
  std::unordered_map<std::string, int64_t> rows;
};

std::string WordIndex::upper(std::string_view word) {
  std::string out;
  out.reserve(word.size());
  size_t i = 0;
  while (i < word.size()) {
    auto u = static_cast<unsigned char>(word[i]);
    if (u < 0x80) {
      out += (u >= 'a' && u <= 'z') ? static_cast<char>(u - 32) : static_cast<char>(u);
      ++i;
      continue;
    }
    utf8proc_int32_t cp;
    auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(word.data() + i), static_cast<utf8proc_ssize_t>(word.size() - i), &cp);
    if (n <= 0) {  // not UTF-8: keep the byte
      out += word[i];
      ++i;
      continue;
    }
    utf8proc_uint8_t buf[4];
    auto m = utf8proc_encode_char(utf8proc_toupper(cp), buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(m));
    i += static_cast<size_t>(n);
  }
  return out;
}

WordIndex::WordIndex(const Embeddings& e, size_t limit) {
  auto impl = std::make_shared<Impl>();
  limit = std::min(limit, e.size());
  impl->rows.reserve(limit);
  for (size_t i = 0; i < limit; ++i) impl->rows.emplace(upper(e.words[i]), static_cast<int64_t>(i));  // first wins
  impl_ = std::move(impl);
}

int64_t WordIndex::find(std::string_view word) const {
  auto it = impl_->rows.find(upper(word));
  return it == impl_->rows.end() ? -1 : it->second;
}

std::vector<float> unit_rows(const Embeddings& e) {
  std::vector<float> out(e.data.size());
  for (size_t i = 0; i < e.size(); ++i) {
    const float* r = e.row(i);
    double n2 = 0;
    for (uint32_t d = 0; d < e.dim; ++d) n2 += static_cast<double>(r[d]) * r[d];
    float inv = n2 > 0 ? static_cast<float>(1.0 / std::sqrt(n2)) : 0.0f;
    for (uint32_t d = 0; d < e.dim; ++d) out[i * e.dim + d] = r[d] * inv;
  }
  return out;
}

// ---- Analogies ----------------------------------------------------------------------------

EvalFile EvalFile::read(const std::string& path) { return EvalFile{input_name(path), read_file(path)}; }

AnalogyResult evaluate_analogies(const Embeddings& e, const std::string& path, size_t restrict, int threads) {
  return evaluate_analogies(e, EvalFile::read(path), restrict, threads);
}

AnalogyResult evaluate_analogies(const Embeddings& e, const EvalFile& file, size_t restrict, int threads) {
  auto t0 = std::chrono::steady_clock::now();
  const std::string& path = file.name;
  const std::string& text = file.text;
  AnalogyResult res;
  res.path = path;
  const size_t rows = std::min(restrict, e.size());
  res.restrict_rows = rows;
  const size_t dim = e.dim;
  WordIndex index(e, rows);
  std::vector<float> unit = unit_rows(e);

  // Parse: the questions with all four words among the searched rows become queries.
  struct Question {
    size_t section;
    int64_t a, b, c, expected;
    std::string ua, ub, uc, ue;
  };
  std::vector<Question> questions;
  size_t line_no = 0;
  size_t first_bad = 0;  // the first line that is not a question (gensim skips such lines)
  for (std::string_view line : binary_lines(text)) {
    ++line_no;
    if (line.substr(0, 2) == ": ") {
      res.sections.push_back({section_name(line), 0, 0, 0});
      continue;
    }
    if (res.sections.empty()) throw input_error(path, "line " + std::to_string(line_no), "a question before the first ': section' line");
    std::vector<std::string_view> w = split_ws(line);
    if (w.size() != 4) {  // gensim skips it without counting it
      if (first_bad == 0 && !w.empty()) first_bad = line_no;
      continue;
    }
    ++res.questions;
    Question q{res.sections.size() - 1, index.find(w[0]), index.find(w[1]), index.find(w[2]), index.find(w[3]),
               WordIndex::upper(w[0]), WordIndex::upper(w[1]), WordIndex::upper(w[2]), WordIndex::upper(w[3])};
    if (q.a < 0 || q.b < 0 || q.c < 0 || q.expected < 0) {
      ++res.sections.back().oov;
      continue;
    }
    questions.push_back(std::move(q));
  }
  // A file of another layout (a pairs file, say) would give "0 of 0" and look like a
  // result: no question at all is an input error.
  if (res.questions == 0) {
    if (first_bad > 0) {
      throw input_error(path, "line " + std::to_string(first_bad),
                        "not an analogy question (expected 4 words, as in questions-words.txt), and the file holds none");
    }
    throw input_error(path, "", "holds no analogy question (expected ': section' lines, then lines of 4 words)");
  }

  // Queries: b̂ + ĉ - â, normalised (gensim's weighted mean of unit vectors, normalised; the
  // scale does not change the ranking). Padded to a multiple of 4 rows with zeros.
  const size_t nq = questions.size();
  const size_t nq_pad = (nq + 3) / 4 * 4;
  std::vector<float> Q(nq_pad * dim, 0.0f);
  for (size_t i = 0; i < nq; ++i) {
    const Question& q = questions[i];
    float* out = &Q[i * dim];
    double n2 = 0;
    for (size_t d = 0; d < dim; ++d) {
      out[d] = unit[q.b * dim + d] + unit[q.c * dim + d] - unit[q.a * dim + d];
      n2 += static_cast<double>(out[d]) * out[d];
    }
    float inv = n2 > 0 ? static_cast<float>(1.0 / std::sqrt(n2)) : 0.0f;
    for (size_t d = 0; d < dim; ++d) out[d] *= inv;
  }
  // Candidates, transposed and padded to a multiple of 32 columns (padding scores are
  // ignored: only the first `rows` columns are searched).
  const size_t cols = (rows + 31) / 32 * 32;
  std::vector<float> CT(dim * cols, 0.0f);
  std::vector<uint8_t> dead(rows, 0);
  for (size_t c = 0; c < rows; ++c) {
    bool zero = true;
    for (size_t d = 0; d < dim; ++d) {
      CT[d * cols + c] = unit[c * dim + d];
      zero = zero && unit[c * dim + d] == 0.0f;
    }
    dead[c] = zero;  // gensim divides by a zero norm: NaN, never chosen
  }

  std::vector<uint8_t> correct(nq, 0);
  const int nthreads = resolve_threads(threads);
  // Queries per block: 64 (each candidate tile is reused 64 times), fewer when the scores
  // of a block (query_block x cols floats per thread) would pass 32 MiB.
  const size_t query_block = std::clamp<size_t>((size_t{8} << 20) / std::max<size_t>(cols, 1) / 4 * 4, 4, 64);
  const size_t blocks = (nq_pad + query_block - 1) / query_block;
  // One scratch buffer per thread, allocated before the parallel region (nothing in it
  // can throw).
  std::vector<std::vector<float>> scratch(static_cast<size_t>(nthreads), std::vector<float>(query_block * cols));
  // Nothing may escape an OpenMP region: the first exception (bad_alloc from a string) is
  // kept and rethrown after the join.
  std::exception_ptr failure;
#pragma omp parallel num_threads(nthreads)
  {
    std::vector<float>& S = scratch[static_cast<size_t>(omp_get_thread_num())];
    std::vector<std::pair<float, uint32_t>> best;
    best.reserve(kTop + 1);
#pragma omp for schedule(dynamic, 1)
    for (size_t b = 0; b < blocks; ++b) {
      try {
        size_t q0 = b * query_block;
        size_t qn = std::min(query_block, nq_pad - q0);
        detail::score_block(&Q[q0 * dim], qn, CT.data(), cols, dim, S.data());
        for (size_t i = 0; i < qn && q0 + i < nq; ++i) {
          const Question& q = questions[q0 + i];
          top_k(&S[i * cols], rows, dead, kTop, best);
          // gensim: drop the three question rows, keep the 5 best, take the first whose
          // upper-case form is not a question word (else the last one looked at).
          std::string predicted;
          size_t looked = 0;
          for (const auto& [score, row] : best) {
            if (row == q.a || row == q.b || row == q.c) continue;
            if (looked++ == 5) break;
            predicted = WordIndex::upper(e.words[row]);
            if (predicted != q.ua && predicted != q.ub && predicted != q.uc) break;
          }
          correct[q0 + i] = !predicted.empty() && predicted == q.ue;
        }
      } catch (...) {
#pragma omp critical(tokvec_eval_failure)
        if (!failure) failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);

  for (size_t i = 0; i < nq; ++i) {
    AnalogySection& s = res.sections[questions[i].section];
    if (correct[i]) ++s.correct; else ++s.incorrect;
  }
  for (const AnalogySection& s : res.sections) {
    uint64_t n = s.correct + s.incorrect;
    res.answered += n;
    res.correct += s.correct;
    if (s.syntactic()) {
      res.syntactic_answered += n;
      res.syntactic_correct += s.correct;
    } else {
      res.semantic_answered += n;
      res.semantic_correct += s.correct;
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

// ---- Word pairs ---------------------------------------------------------------------------

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  if (n != y.size() || n < 2) return std::nan("");
  auto ranks = [n](const std::vector<double>& v) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> r(n);
    for (size_t i = 0; i < n;) {
      size_t j = i;
      while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
      double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;  // average rank of a tie
      for (size_t k = i; k <= j; ++k) r[order[k]] = avg;
      i = j + 1;
    }
    return r;
  };
  std::vector<double> rx = ranks(x), ry = ranks(y);
  double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / static_cast<double>(n);
  double my = std::accumulate(ry.begin(), ry.end(), 0.0) / static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  if (sxx == 0 || syy == 0) return std::nan("");
  return sxy / std::sqrt(sxx * syy);
}

namespace {

/// A pairs line as gensim reads it: exactly three tab-separated fields, the third a
/// number (surrounding whitespace allowed, as Python's float()).
bool parse_pair(std::string_view line, std::string_view& a, std::string_view& b, double& score) {
  size_t t1 = line.find('\t');
  if (t1 == std::string_view::npos) return false;
  size_t t2 = line.find('\t', t1 + 1);
  if (t2 == std::string_view::npos || line.find('\t', t2 + 1) != std::string_view::npos) return false;
  a = line.substr(0, t1);
  b = line.substr(t1 + 1, t2 - t1 - 1);
  std::string_view s = strip(line.substr(t2 + 1));
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), score);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

PairsResult evaluate_pairs(const Embeddings& e, const std::string& path) { return evaluate_pairs(e, EvalFile::read(path)); }

PairsResult evaluate_pairs(const Embeddings& e, const EvalFile& file) {
  const std::string& path = file.name;
  const std::string& text = file.text;
  PairsResult res;
  res.path = path;
  WordIndex index(e, e.size());
  std::vector<double> gold, model;
  size_t line_no = 0, first_bad = 0;  // the first line that is not a pair (gensim skips such lines)
  for (std::string_view line : text_lines(text)) {
    ++line_no;
    if (!line.empty() && line.front() == '#') continue;
    std::string_view a, b;
    double score;
    if (!parse_pair(line, a, b, score)) {
      if (first_bad == 0 && !strip(line).empty()) first_bad = line_no;
      continue;
    }
    ++res.pairs;
    int64_t ia = index.find(a), ib = index.find(b);
    if (ia < 0 || ib < 0) continue;
    ++res.used;
    // Cosine in float32 as gensim computes it (dot of the unit rows).
    const float* ra = e.row(static_cast<size_t>(ia));
    const float* rb = e.row(static_cast<size_t>(ib));
    double na = 0, nb = 0, dot = 0;
    for (uint32_t d = 0; d < e.dim; ++d) {
      na += static_cast<double>(ra[d]) * ra[d];
      nb += static_cast<double>(rb[d]) * rb[d];
      dot += static_cast<double>(ra[d]) * rb[d];
    }
    gold.push_back(score);
    model.push_back(na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0);
  }
  // A file of another layout (space-separated, or an analogies file) would give "0 of 0"
  // and look like a result: no pair at all is an input error.
  if (res.pairs == 0) {
    if (first_bad > 0) {
      throw input_error(path, "line " + std::to_string(first_bad),
                        "not a word pair (expected word TAB word TAB score, as in wordsim353.tsv), and the file holds none");
    }
    throw input_error(path, "", "holds no word pair (expected lines of word TAB word TAB score)");
  }
  res.spearman = spearman(gold, model);
  return res;
}

std::vector<std::string> evaluation_words(const std::string& analogies_path, const std::vector<std::string>& pairs_paths) {
  std::vector<EvalFile> pairs;
  for (const std::string& p : pairs_paths) pairs.push_back(EvalFile::read(p));
  if (analogies_path.empty()) return evaluation_words(nullptr, pairs);
  const EvalFile analogies = EvalFile::read(analogies_path);
  return evaluation_words(&analogies, pairs);
}

std::vector<std::string> evaluation_words(const EvalFile* analogies, const std::vector<EvalFile>& pairs) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  auto add = [&](std::string_view w) {
    if (seen.emplace(w).second) out.emplace_back(w);
  };
  if (analogies != nullptr) {
    const std::string& text = analogies->text;
    for (std::string_view line : binary_lines(text)) {
      if (line.substr(0, 2) == ": ") continue;
      std::vector<std::string_view> w = split_ws(line);
      if (w.size() == 4) for (auto x : w) add(x);
    }
  }
  for (const EvalFile& p : pairs) {
    const std::string& text = p.text;
    for (std::string_view line : text_lines(text)) {
      if (!line.empty() && line.front() == '#') continue;
      std::string_view a, b;
      double score;
      if (!parse_pair(line, a, b, score)) continue;
      add(a);
      add(b);
    }
  }
  return out;
}

std::vector<Neighbor> nearest(const Embeddings& e, const std::vector<float>& unit, const float* query, size_t k,
                              int64_t exclude_row, std::string_view exclude_word) {
  double n2 = 0;
  for (uint32_t d = 0; d < e.dim; ++d) n2 += static_cast<double>(query[d]) * query[d];
  std::vector<Neighbor> out;
  if (n2 <= 0 || k == 0) return out;
  double inv = 1.0 / std::sqrt(n2);
  std::vector<std::pair<float, uint32_t>> best;
  for (size_t i = 0; i < e.size(); ++i) {
    if (static_cast<int64_t>(i) == exclude_row || (!exclude_word.empty() && e.words[i] == exclude_word)) continue;
    double dot = 0;
    for (uint32_t d = 0; d < e.dim; ++d) dot += static_cast<double>(query[d]) * unit[i * e.dim + d];
    float s = static_cast<float>(dot * inv);
    if (best.size() == k && !(s > best.back().first)) continue;
    auto pos = std::upper_bound(best.begin(), best.end(), s, [](float v, const std::pair<float, uint32_t>& x) { return v > x.first; });
    best.insert(pos, {s, static_cast<uint32_t>(i)});
    if (best.size() > k) best.pop_back();
  }
  for (const auto& [s, i] : best) out.push_back({e.words[i], s});
  return out;
}

}  // namespace tokvec
