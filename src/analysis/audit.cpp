#include "tokvec/audit.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <utility>

#include "analysis/audit_detail.h"
#include "base/config.h"
#include "tokvec/status.h"
#include "text/text.h"

namespace tokvec {

using audit_detail::percent;

void AuditConfig::validate() const {
  check_field_range("min_updates", static_cast<int64_t>(std::min<uint64_t>(min_updates, INT64_MAX)), 0, INT64_MAX);
  check_field_range("top", static_cast<int64_t>(std::min<uint64_t>(top, INT64_MAX)), 0, 100'000'000);
  check_field_range("k", static_cast<int64_t>(k), 1, 1000);
  check_field_range("threads", static_cast<int64_t>(threads), 0, kMaxThreads);
}

void Histogram::add(uint64_t value) {
  size_t bucket = value == 0 ? 0 : static_cast<size_t>(std::bit_width(value));
  if (buckets.size() <= bucket) buckets.resize(bucket + 1, 0);
  ++buckets[bucket];
}

std::string Histogram::bucket_label(size_t bucket) {
  if (bucket == 0) return "0";
  if (bucket == 1) return "1";
  uint64_t lo = uint64_t{1} << (bucket - 1);
  return std::to_string(lo) + "-" + std::to_string(2 * lo - 1);
}

std::string printable_token(std::string_view token) {
  std::string out;
  size_t i = 0;
  auto escape = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", c);
    out += buf;
  };
  while (i < token.size()) {
    auto c = static_cast<unsigned char>(token[i]);
    if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      escape(c);
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // Keep a well-formed UTF-8 sequence (shortest form, no surrogates), escape a bad byte.
      size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
      bool ok = len > 0 && i + len <= token.size();
      for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(token[i + k]) & 0xC0) == 0x80;
      if (ok && len == 3) {
        auto c1 = static_cast<unsigned char>(token[i + 1]);
        ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
      }
      if (ok && len == 4) {
        auto c1 = static_cast<unsigned char>(token[i + 1]);
        ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
      }
      if (ok) {
        out.append(token.substr(i, len));
        i += len;
      } else {
        escape(c);
        ++i;
      }
    }
  }
  return out;
}

UpdateCoverage update_coverage(const TrainingState& state, uint64_t min_updates) {
  UpdateCoverage c;
  c.rows = state.vocab.size();
  for (size_t i = 0; i < state.vocab.size(); ++i) {
    c.tokens += state.frequencies[i];
    if (state.input_updates[i] < min_updates) {
      ++c.flagged_rows;
      c.flagged_tokens += state.frequencies[i];
    }
  }
  return c;
}

std::string UpdateCoverage::describe(uint64_t threshold) const {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%llu of %llu input rows below %llu updates (%.2f%% of the vocabulary, %.3f%% of corpus tokens)",
                static_cast<unsigned long long>(flagged_rows), static_cast<unsigned long long>(rows),
                static_cast<unsigned long long>(threshold), percent(flagged_rows, rows), percent(flagged_tokens, tokens));
  return buf;
}

AuditReport audit(const TrainingState& state, const AuditConfig& config, const InitialRowFn& initial_row,
                  std::optional<Stability> stability) {
  config.validate();
  AuditReport report;
  report.threshold = config.min_updates;
  report.vocab_size = state.vocab_size();
  if (state.pretrain) {
    report.adapted = true;
    report.source_rows = state.pretrain->source_rows;
    report.pretrain_tokens = state.pretrain->tokens;
  }
  const size_t dim = state.dim();
  std::vector<float> init(dim);
  report.rows.reserve(state.vocab_size());
  for (uint32_t id = 0; id < state.vocab_size(); ++id) {
    AuditRow row;
    row.id = id;
    row.token = printable_token(state.vocab[id]);
    row.frequency = state.frequencies[id];
    row.input_updates = state.input_updates[id];
    row.output_positive_updates = state.output_positive_updates[id];
    row.output_negative_updates = state.output_negative_updates[id];
    initial_row(id, init);
    const float* v = state.input.row(id);
    double norm2 = 0.0, drift2 = 0.0;
    for (size_t k = 0; k < dim; ++k) {
      norm2 += static_cast<double>(v[k]) * v[k];
      double d = static_cast<double>(v[k]) - init[k];
      drift2 += d * d;
    }
    row.norm = std::sqrt(norm2);
    row.drift = std::sqrt(drift2);
    row.flagged = row.input_updates < config.min_updates;
    if (state.pretrain) {
      row.pretrain_frequency = state.pretrain->frequencies[id];
      row.pretrain_input_updates = state.pretrain->input_updates[id];
      report.pretrain_input_updates += row.pretrain_input_updates;
      report.adapt_input_updates += row.adapt_input_updates();
    }
    if (row.frequency == 0) ++report.never_produced;
    if (row.flagged && row.frequency > 0) ++report.flagged_seen_count;
    report.frequency_histogram.add(row.frequency);
    report.update_histogram.add(row.input_updates);
    report.rows.push_back(std::move(row));
  }
  const UpdateCoverage coverage = update_coverage(state, config.min_updates);
  report.corpus_tokens = coverage.tokens;
  report.flagged_count = coverage.flagged_rows;
  report.flagged_tokens = coverage.flagged_tokens;
  report.geometry = measure_geometry(state, config.k, config.threads);
  if (stability) {
    for (AuditRow& row : report.rows) {
      row.stability = row.id < stability->per_row.size() ? stability->per_row[row.id] : std::nan("");
    }
    stability->per_row.clear();
    report.stability = std::move(stability);
  }
  return report;
}

void add_target(AuditReport& report, const TargetCounts& counts, uint64_t top,
                const std::function<std::vector<uint32_t>(std::string_view)>& encode_word) {
  if (counts.frequency.size() != report.rows.size()) throw internal_error("target counts of another vocabulary");
  TargetSummary t;
  t.path = counts.path;
  t.tokens = counts.tokens;
  t.unknown_tokens = counts.unknown_tokens;
  t.unknown_words = counts.unknown.size();
  for (AuditRow& row : report.rows) {
    row.target_frequency = counts.frequency[row.id];
    if (row.target_frequency == 0) continue;
    ++t.rows_used;
    if (row.flagged) {
      ++t.flagged_rows_used;
      t.flagged_row_tokens += row.target_frequency;
    }
  }
  t.flagged_tokens = t.flagged_row_tokens + t.unknown_tokens;
  t.flagged_share = t.tokens == 0 ? 0.0 : static_cast<double>(t.flagged_tokens) / static_cast<double>(t.tokens);
  for (size_t i = 0; i < counts.unknown.size() && t.top_unknown.size() < top; ++i) {
    t.top_unknown.push_back({printable_token(counts.unknown[i].word), counts.unknown[i].count});
  }
  // A BPE run's words, most frequent first, each judged by its weakest piece: the word's
  // composed vector is no better than that piece.
  if (encode_word) {
    for (const WordCount& w : counts.words) {
      if (t.top_words.size() >= top) break;
      const std::vector<uint32_t> ids = encode_word(w.word);
      if (ids.empty()) continue;
      uint32_t weakest = ids[0];
      for (uint32_t id : ids) {
        if (id < report.rows.size() && report.rows[id].input_updates < report.rows[weakest].input_updates) weakest = id;
      }
      if (weakest >= report.rows.size() || !report.rows[weakest].flagged) continue;
      t.top_words.push_back({printable_token(w.word), w.count, report.rows[weakest].token, weakest,
                             report.rows[weakest].input_updates, ids.size()});
    }
  }
  report.target = std::move(t);
}

}  // namespace tokvec
