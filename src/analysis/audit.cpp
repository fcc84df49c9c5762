#include "tokvec/audit.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "base/config.h"
#include "tokvec/status.h"
#include "text/text.h"

namespace tokvec {

void AuditConfig::validate() const {
  check_range("--min-updates", static_cast<int64_t>(std::min<uint64_t>(min_updates, INT64_MAX)), 0, INT64_MAX);
  check_range("--top", static_cast<int64_t>(std::min<uint64_t>(top, INT64_MAX)), 0, 100'000'000);
  check_range("--k", static_cast<int64_t>(k), 1, 1000);
  check_range("--threads", static_cast<int64_t>(threads), 0, kMaxThreads);
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

namespace {
double percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}
}  // namespace

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

namespace {

/// The shortest decimal that reads back as the same double (nlohmann's formatting), so the
/// CSV and the JSON carry identical numbers.
std::string number(double v) { return nlohmann::json(v).dump(); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

/// The rows the text report lists: the flagged rows that occur in the corpus, most frequent
/// first (a frequent token that is still under-trained is the surprise worth seeing), then
/// fewest updates, then by id. Rows that never occur (unused byte pieces, a tokenizer trained
/// on other text) are only counted: they have no vector to trust and nothing to fix.
/// The flagged rows with a nonzero `frequency` (the corpus's or the target's), most frequent
/// first, then fewest updates, then by id; all of them, for the caller to count and cut.
std::vector<const AuditRow*> flagged_rows_by(const AuditReport& report, uint64_t AuditRow::*frequency) {
  std::vector<const AuditRow*> rows;
  for (const AuditRow& r : report.rows) {
    if (r.flagged && r.*frequency > 0) rows.push_back(&r);
  }
  std::stable_sort(rows.begin(), rows.end(), [frequency](const AuditRow* a, const AuditRow* b) {
    if (a->*frequency != b->*frequency) return a->*frequency > b->*frequency;
    return a->input_updates != b->input_updates ? a->input_updates < b->input_updates : a->id < b->id;
  });
  return rows;
}

std::vector<const AuditRow*> worst_rows(const AuditReport& report, uint64_t top) {
  std::vector<const AuditRow*> rows = flagged_rows_by(report, &AuditRow::frequency);
  if (rows.size() > top) rows.resize(top);
  return rows;
}

std::string histogram_text(const char* title, const Histogram& h) {
  std::string out = std::string(title) + "\n";
  uint64_t most = 1;
  for (uint64_t c : h.buckets) most = std::max(most, c);
  for (size_t b = 0; b < h.buckets.size(); ++b) {
    char line[160];
    int bar = static_cast<int>(std::lround(40.0 * static_cast<double>(h.buckets[b]) / static_cast<double>(most)));
    std::snprintf(line, sizeof line, "  %-22s %10llu  %s\n", Histogram::bucket_label(b).c_str(),
                  static_cast<unsigned long long>(h.buckets[b]), std::string(static_cast<size_t>(bar), '#').c_str());
    out += line;
  }
  return out;
}

std::string geometry_text(const Geometry& g) {
  char buf[640];
  std::snprintf(buf, sizeof buf,
                "geometry of the %llu trained rows: anisotropy %.3f (mean cosine of %llu random pairs), hubness %.2f "
                "(skewness of the %u-occurrence counts over %llu rows; the top hub, %s, is in %llu lists)\n",
                static_cast<unsigned long long>(g.rows), g.anisotropy, static_cast<unsigned long long>(g.pairs), g.hubness, g.k,
                static_cast<unsigned long long>(g.hubness_rows), g.top_hub.empty() ? "-" : g.top_hub.c_str(),
                static_cast<unsigned long long>(g.max_occurrence));
  return buf;
}

std::string target_text(const AuditReport& r, uint64_t top) {
  const TargetSummary& t = *r.target;
  char buf[640];
  std::string out;
  std::snprintf(buf, sizeof buf,
                "target %s: %llu tokens, %llu (%.2f%%) cannot be trusted: %llu on flagged rows, %llu with no row (%llu "
                "distinct words); %llu rows used, %llu of them flagged\n",
                t.path.c_str(), static_cast<unsigned long long>(t.tokens), static_cast<unsigned long long>(t.flagged_tokens),
                100.0 * t.flagged_share, static_cast<unsigned long long>(t.flagged_row_tokens),
                static_cast<unsigned long long>(t.unknown_tokens), static_cast<unsigned long long>(t.unknown_words),
                static_cast<unsigned long long>(t.rows_used), static_cast<unsigned long long>(t.flagged_rows_used));
  out += buf;
  std::vector<const AuditRow*> rows = flagged_rows_by(r, &AuditRow::target_frequency);
  const size_t flagged_used = rows.size();
  if (rows.size() > top) rows.resize(top);
  if (!rows.empty()) {
    std::snprintf(buf, sizeof buf, "flagged rows the target uses, most frequent in the target first (%zu of %zu):\n", rows.size(),
                  flagged_used);
    out += buf;
    std::snprintf(buf, sizeof buf, "  %8s  %-24s %10s %10s %10s\n", "id", "token", "target", "frequency", "in_upd");
    out += buf;
    for (const AuditRow* row : rows) {
      std::snprintf(buf, sizeof buf, "  %8u  %-24s %10llu %10llu %10llu\n", row->id, row->token.c_str(),
                    static_cast<unsigned long long>(row->target_frequency), static_cast<unsigned long long>(row->frequency),
                    static_cast<unsigned long long>(row->input_updates));
      out += buf;
    }
  }
  if (!t.top_unknown.empty()) {
    std::snprintf(buf, sizeof buf, "target words with no row, most frequent first (%zu of %llu):\n", t.top_unknown.size(),
                  static_cast<unsigned long long>(t.unknown_words));
    out += buf;
    for (const WordCount& w : t.top_unknown) {
      std::snprintf(buf, sizeof buf, "  %-24s %10llu\n", w.word.c_str(), static_cast<unsigned long long>(w.count));
      out += buf;
    }
  }
  if (!t.top_words.empty()) {
    out += "target words whose weakest piece is flagged, most frequent first:\n";
    std::snprintf(buf, sizeof buf, "  %-24s %10s  %-16s %10s %7s\n", "word", "target", "weakest piece", "in_upd", "pieces");
    out += buf;
    for (const TargetWord& w : t.top_words) {
      std::snprintf(buf, sizeof buf, "  %-24s %10llu  %-16s %10llu %7llu\n", w.word.c_str(), static_cast<unsigned long long>(w.count),
                    w.piece.c_str(), static_cast<unsigned long long>(w.piece_updates), static_cast<unsigned long long>(w.pieces));
      out += buf;
    }
  }
  return out;
}

std::string bin_label(const StabilityBin& b) {
  return b.lo == b.hi ? std::to_string(b.lo) : std::to_string(b.lo) + "-" + std::to_string(b.hi);
}

std::string stability_text(const Stability& st) {
  char buf[640];
  std::string out;
  std::snprintf(buf, sizeof buf, "stability against %s: overlap of the %u nearest neighbours, %llu rows compared\n",
                st.other.c_str(), st.k, static_cast<unsigned long long>(st.rows_compared));
  out += buf;
  std::snprintf(buf, sizeof buf, "  %-22s %10s %8s %8s\n", "input-row updates", "rows", "median", "mean");
  out += buf;
  for (const StabilityBin& b : st.bins) {
    std::snprintf(buf, sizeof buf, "  %-22s %10llu %8.3f %8.3f  %s\n", bin_label(b).c_str(), static_cast<unsigned long long>(b.rows),
                  b.median, b.mean, std::string(static_cast<size_t>(std::lround(30 * b.median)), '#').c_str());
    out += buf;
  }
  if (st.threshold) {
    std::snprintf(buf, sizeof buf,
                  "derived threshold: %llu updates (the first bucket whose median overlap reaches %.2f = %.2f x the plateau "
                  "%.2f, the best bucket's median)\n",
                  static_cast<unsigned long long>(*st.threshold), st.needed, st.level, st.plateau);
  } else {
    std::snprintf(buf, sizeof buf, "derived threshold: none (no bucket of %llu or more rows has a median overlap above 0)\n",
                  static_cast<unsigned long long>(kStabilityMinBinRows));
  }
  out += buf;
  return out;
}

}  // namespace

std::string audit_text(const AuditReport& r, uint64_t top) {
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf,
                "rows: %llu, flagged (input row < %llu updates): %llu = %.2f%% of the vocabulary, "
                "%.3f%% of the %llu corpus tokens\n"
                "tokenizer entries never produced on this corpus: %llu\n",
                static_cast<unsigned long long>(r.vocab_size), static_cast<unsigned long long>(r.threshold),
                static_cast<unsigned long long>(r.flagged_count), percent(r.flagged_count, r.vocab_size),
                percent(r.flagged_tokens, r.corpus_tokens), static_cast<unsigned long long>(r.corpus_tokens),
                static_cast<unsigned long long>(r.never_produced));
  out += buf;
  if (r.adapted) {
    std::snprintf(buf, sizeof buf,
                  "adapted run: %llu rows from the source run (pretrained on %llu tokens), %llu new; input-row updates: "
                  "%llu in pretraining, %llu in adaptation (frequencies are the adaptation text's)\n",
                  static_cast<unsigned long long>(r.source_rows), static_cast<unsigned long long>(r.pretrain_tokens),
                  static_cast<unsigned long long>(r.vocab_size - r.source_rows),
                  static_cast<unsigned long long>(r.pretrain_input_updates), static_cast<unsigned long long>(r.adapt_input_updates));
    out += buf;
  }
  out += histogram_text("corpus frequency: rows per bucket", r.frequency_histogram);
  out += histogram_text("input-row updates: rows per bucket", r.update_histogram);
  std::vector<const AuditRow*> rows = worst_rows(r, top);
  const uint64_t flagged_unseen = r.flagged_count - r.flagged_seen_count;
  if (!rows.empty()) {
    std::snprintf(buf, sizeof buf, "flagged rows that occur in the corpus, most frequent first (%zu of %llu):\n", rows.size(),
                  static_cast<unsigned long long>(r.flagged_seen_count));
    out += buf;
    std::snprintf(buf, sizeof buf, "  %8s  %-24s %10s %10s %10s %10s %8s %8s", "id", "token", "frequency", "in_upd",
                  "out_pos", "out_neg", "norm", "drift");
    out += buf;
    // An adapted run: the input-row updates split into the two phases.
    out += r.adapted ? "  pre_upd  adapt_upd\n" : "\n";
    for (const AuditRow* row : rows) {
      std::snprintf(buf, sizeof buf, "  %8u  %-24s %10llu %10llu %10llu %10llu %8.4f %8.4f", row->id,
                    row->token.c_str(), static_cast<unsigned long long>(row->frequency),
                    static_cast<unsigned long long>(row->input_updates),
                    static_cast<unsigned long long>(row->output_positive_updates),
                    static_cast<unsigned long long>(row->output_negative_updates), row->norm, row->drift);
      out += buf;
      if (r.adapted) {
        std::snprintf(buf, sizeof buf, " %8llu %10llu", static_cast<unsigned long long>(row->pretrain_input_updates),
                      static_cast<unsigned long long>(row->adapt_input_updates()));
        out += buf;
      }
      out += "\n";
    }
  }
  if (flagged_unseen > 0) {
    std::snprintf(buf, sizeof buf, "flagged rows that never occur in the corpus (frequency 0, not listed; see --csv or --json): %llu\n",
                  static_cast<unsigned long long>(flagged_unseen));
    out += buf;
  }
  out += geometry_text(r.geometry);
  if (r.target) out += target_text(r, top);
  if (r.stability) out += stability_text(*r.stability);
  return out;
}

std::string audit_csv(const AuditReport& r) {
  std::string out = "id,token,frequency,input_updates,output_positive_updates,output_negative_updates,norm,drift,flagged";
  if (r.target) out += ",target_frequency";
  if (r.stability) out += ",stability";
  if (r.adapted) out += ",pretrain_frequency,pretrain_input_updates,adapt_input_updates";
  out += "\n";
  for (const AuditRow& row : r.rows) {
    out += std::to_string(row.id) + "," + csv_field(row.token) + "," + std::to_string(row.frequency) + "," +
           std::to_string(row.input_updates) + "," + std::to_string(row.output_positive_updates) + "," +
           std::to_string(row.output_negative_updates) + "," + number(row.norm) + "," + number(row.drift) + "," +
           (row.flagged ? "true" : "false");
    if (r.target) out += "," + std::to_string(row.target_frequency);
    if (r.stability) out += "," + (std::isnan(row.stability) ? std::string() : number(row.stability));
    if (r.adapted) {
      out += "," + std::to_string(row.pretrain_frequency) + "," + std::to_string(row.pretrain_input_updates) + "," +
             std::to_string(row.adapt_input_updates());
    }
    out += "\n";
  }
  return out;
}

std::string audit_json(const AuditReport& r) {
  nlohmann::ordered_json j;
  j["threshold"] = r.threshold;
  j["flagged_count"] = r.flagged_count;
  j["vocab_size"] = r.vocab_size;
  j["corpus_tokens"] = r.corpus_tokens;
  j["flagged_tokens"] = r.flagged_tokens;
  j["never_produced"] = r.never_produced;
  j["flagged_seen_count"] = r.flagged_seen_count;
  auto histogram = [](const Histogram& h) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (size_t b = 0; b < h.buckets.size(); ++b) list.push_back({{"bucket", Histogram::bucket_label(b)}, {"rows", h.buckets[b]}});
    return list;
  };
  j["frequency_histogram"] = histogram(r.frequency_histogram);
  j["update_histogram"] = histogram(r.update_histogram);
  const Geometry& g = r.geometry;
  j["geometry"] = {{"rows", g.rows},          {"pairs", g.pairs},
                   {"anisotropy", g.anisotropy}, {"k", g.k},
                   {"hubness_rows", g.hubness_rows}, {"hubness", g.hubness},
                   {"max_occurrence", g.max_occurrence}, {"top_hub", escape_invalid_utf8(g.top_hub)}};
  if (r.target) {
    const TargetSummary& t = *r.target;
    nlohmann::ordered_json unknown = nlohmann::ordered_json::array(), words = nlohmann::ordered_json::array();
    for (const WordCount& w : t.top_unknown) unknown.push_back({{"word", escape_invalid_utf8(w.word)}, {"count", w.count}});
    for (const TargetWord& w : t.top_words) {
      words.push_back({{"word", escape_invalid_utf8(w.word)}, {"count", w.count}, {"weakest_piece", escape_invalid_utf8(w.piece)},
                       {"weakest_piece_id", w.piece_id}, {"weakest_piece_updates", w.piece_updates}, {"pieces", w.pieces}});
    }
    j["target"] = {{"path", escape_invalid_utf8(t.path)},
                   {"tokens", t.tokens},
                   {"flagged_tokens", t.flagged_tokens},
                   {"flagged_row_tokens", t.flagged_row_tokens},
                   {"unknown_tokens", t.unknown_tokens},
                   {"unknown_words", t.unknown_words},
                   {"flagged_share", t.flagged_share},
                   {"rows_used", t.rows_used},
                   {"flagged_rows_used", t.flagged_rows_used},
                   {"top_unknown", std::move(unknown)},
                   {"top_words", std::move(words)}};
  }
  if (r.stability) {
    const Stability& st = *r.stability;
    nlohmann::ordered_json bins = nlohmann::ordered_json::array();
    for (const StabilityBin& b : st.bins) {
      bins.push_back({{"updates", bin_label(b)}, {"lo", b.lo}, {"hi", b.hi}, {"rows", b.rows}, {"median", b.median}, {"mean", b.mean}});
    }
    j["stability"] = {{"other", escape_invalid_utf8(st.other)},
                      {"k", st.k},
                      {"level", st.level},
                      {"plateau", st.plateau},
                      {"needed", st.needed},
                      {"threshold", st.threshold ? nlohmann::ordered_json(*st.threshold) : nlohmann::ordered_json(nullptr)},
                      {"rows_compared", st.rows_compared},
                      {"bins", std::move(bins)}};
  }
  if (r.adapted) {
    j["adaptation"] = {{"source_rows", r.source_rows},
                       {"new_rows", r.vocab_size - r.source_rows},
                       {"pretrain_tokens", r.pretrain_tokens},
                       {"pretrain_input_updates", r.pretrain_input_updates},
                       {"adapt_input_updates", r.adapt_input_updates}};
  }
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const AuditRow& row : r.rows) {
    rows.push_back({{"id", row.id},
                    {"token", escape_invalid_utf8(row.token)},  // a words run's token may be any bytes
                    {"frequency", row.frequency},
                    {"input_updates", row.input_updates},
                    {"output_positive_updates", row.output_positive_updates},
                    {"output_negative_updates", row.output_negative_updates},
                    {"norm", row.norm},
                    {"drift", row.drift},
                    {"flagged", row.flagged}});
    if (r.target) rows.back()["target_frequency"] = row.target_frequency;
    if (r.stability) rows.back()["stability"] = std::isnan(row.stability) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(row.stability);
    if (r.adapted) {
      rows.back()["pretrain_frequency"] = row.pretrain_frequency;
      rows.back()["pretrain_input_updates"] = row.pretrain_input_updates;
      rows.back()["adapt_input_updates"] = row.adapt_input_updates();
    }
  }
  j["rows"] = std::move(rows);
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string tick_label(uint64_t v) {
  if (v >= 1'000'000'000) return std::to_string(v / 1'000'000'000) + "G";
  if (v >= 1'000'000) return std::to_string(v / 1'000'000) + "M";
  if (v >= 1'000) return std::to_string(v / 1'000) + "k";
  return std::to_string(v);
}

constexpr double kStabilityPanel = 420;

/// The stability panel, below the main plot: each compared row's neighbour overlap against
/// its updates (the main plot's log scale), the median of each bucket as a line, the level
/// and the derived threshold dashed.
std::string stability_svg(const Stability& st, const std::vector<AuditRow>& rows, double y0, double width, double left,
                          double right, double x_span, uint64_t max_upd) {
  const double top = y0 + 40, plot_w = width - left - right, plot_h = kStabilityPanel - 110;
  auto x_of = [&](double v) { return left + plot_w * std::log10(1.0 + v) / x_span; };
  auto y_of = [&](double overlap) { return top + plot_h * (1.0 - overlap); };
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.0f\" y=\"%.1f\" font-size=\"15\" text-anchor=\"middle\">stability against another seed: "
                "overlap of the %u nearest neighbours, %llu rows</text>\n",
                width / 2, y0 + 22, st.k, static_cast<unsigned long long>(st.rows_compared));
  out += buf;
  out += "<g stroke=\"#dddddd\" stroke-width=\"1\">\n";
  std::string labels;
  for (int d = -1; d <= static_cast<int>(x_span); ++d) {
    uint64_t v = d < 0 ? 0 : static_cast<uint64_t>(std::llround(std::pow(10.0, d)));
    if (v > 10 * std::max<uint64_t>(max_upd, 1)) break;
    double x = x_of(static_cast<double>(v));
    std::snprintf(buf, sizeof buf, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, top, x, top + plot_h);
    out += buf;
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, top + plot_h + 18,
                  tick_label(v).c_str());
    labels += buf;
  }
  for (int t = 0; t <= 10; t += 2) {
    double y = y_of(t / 10.0);
    std::snprintf(buf, sizeof buf, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, y, left + plot_w, y);
    out += buf;
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n", left - 8, y + 4, t / 10.0);
    labels += buf;
  }
  out += "</g>\n<g fill=\"#333333\">\n" + labels + "</g>\n";
  std::snprintf(buf, sizeof buf,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333333\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">updates received by the input row (log scale)</text>\n"
                "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 20 %.1f)\">neighbour overlap</text>\n",
                left, top, plot_w, plot_h, left + plot_w / 2, top + plot_h + 40, top + plot_h / 2, top + plot_h / 2);
  out += buf;
  out += "<g fill=\"#1f77b4\" fill-opacity=\"0.25\">\n";
  std::set<std::pair<long, long>> drawn;
  for (const AuditRow& row : rows) {
    if (std::isnan(row.stability)) continue;
    double x = x_of(static_cast<double>(row.input_updates)), y = y_of(row.stability);
    if (!drawn.emplace(std::lround(x * 2), std::lround(y * 2)).second) continue;
    std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.5\"/>\n", x, y);
    out += buf;
  }
  out += "</g>\n";
  std::string points;
  for (const StabilityBin& b : st.bins) {
    // The bucket's geometric middle on the log axis.
    double mid = b.lo == 0 ? 0.0 : std::sqrt(static_cast<double>(b.lo) * static_cast<double>(b.hi + 1));
    std::snprintf(buf, sizeof buf, "%.1f,%.1f ", x_of(mid), y_of(b.median));
    points += buf;
  }
  out += "<polyline fill=\"none\" stroke=\"#333333\" stroke-width=\"2\" points=\"" + points + "\"/>\n";
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999999\" stroke-dasharray=\"2 3\"/>\n",
                left, y_of(st.needed), left + plot_w, y_of(st.needed));
  out += buf;
  if (st.threshold) {
    double x = x_of(static_cast<double>(*st.threshold));
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"1.5\" "
                  "stroke-dasharray=\"6 4\"/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"#d62728\">derived threshold: %llu updates "
                  "(median overlap %.2f)</text>\n",
                  x, top, x, top + plot_h, x + 6, top + 16, static_cast<unsigned long long>(*st.threshold), st.needed);
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">line: median per bucket of updates</text>\n",
                left + plot_w - 6, top + plot_h - 8);
  out += buf;
  return out;
}

}  // namespace

std::string audit_svg(const AuditReport& r) {
  // Both axes show log10(1 + v), so that zero (a token never seen, a row never updated)
  // sits on the axis instead of at minus infinity; ticks are labelled with v itself.
  const double width = 820, height = 600, left = 80, right = 30, top = 60, bottom = 70;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  uint64_t max_freq = 1, max_upd = std::max<uint64_t>(r.threshold, 1);
  for (const AuditRow& row : r.rows) {
    max_freq = std::max(max_freq, row.frequency);
    max_upd = std::max(max_upd, row.input_updates);
  }
  auto decades = [](uint64_t v) { return std::ceil(std::log10(1.0 + static_cast<double>(v))); };
  const double x_span = std::max(1.0, decades(max_freq)), y_span = std::max(1.0, decades(max_upd));
  auto x_of = [&](uint64_t v) { return left + plot_w * std::log10(1.0 + static_cast<double>(v)) / x_span; };
  auto y_of = [&](uint64_t v) { return top + plot_h * (1.0 - std::log10(1.0 + static_cast<double>(v)) / y_span); };

  const double total_height = height + (r.stability ? kStabilityPanel : 0.0);
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                "font-family=\"sans-serif\" font-size=\"12\">\n"
                "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                width, total_height, width, total_height);
  out += buf;
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.0f\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">tokvec audit: %llu rows, %llu flagged "
                "(%.1f%% of the vocabulary, %.2f%% of corpus tokens)</text>\n",
                width / 2, static_cast<unsigned long long>(r.vocab_size), static_cast<unsigned long long>(r.flagged_count),
                percent(r.flagged_count, r.vocab_size), percent(r.flagged_tokens, r.corpus_tokens));
  out += buf;
  // Grid and tick labels at 0, 1, 10, 100, ...
  out += "<g stroke=\"#dddddd\" stroke-width=\"1\">\n";
  std::string labels;
  for (int d = -1; d <= static_cast<int>(x_span); ++d) {
    uint64_t v = d < 0 ? 0 : static_cast<uint64_t>(std::llround(std::pow(10.0, d)));
    double x = x_of(v);
    std::snprintf(buf, sizeof buf, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, top, x, top + plot_h);
    out += buf;
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, top + plot_h + 18,
                  tick_label(v).c_str());
    labels += buf;
  }
  for (int d = -1; d <= static_cast<int>(y_span); ++d) {
    uint64_t v = d < 0 ? 0 : static_cast<uint64_t>(std::llround(std::pow(10.0, d)));
    double y = y_of(v);
    std::snprintf(buf, sizeof buf, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, y, left + plot_w, y);
    out += buf;
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 8, y + 4,
                  tick_label(v).c_str());
    labels += buf;
  }
  out += "</g>\n<g fill=\"#333333\">\n" + labels + "</g>\n";
  std::snprintf(buf, sizeof buf,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333333\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">corpus frequency (log scale)</text>\n"
                "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 20 %.1f)\">updates received by the "
                "input row (log scale)</text>\n",
                left, top, plot_w, plot_h, left + plot_w / 2, height - 22, top + plot_h / 2, top + plot_h / 2);
  out += buf;
  // Points, one group per colour; points that round to the same pixel are drawn once (the
  // many rare tokens share a few positions), which keeps the file small.
  for (bool flagged : {false, true}) {
    std::snprintf(buf, sizeof buf, "<g fill=\"%s\" fill-opacity=\"%s\">\n", flagged ? "#d62728" : "#1f77b4",
                  flagged ? "0.8" : "0.45");
    out += buf;
    std::set<std::pair<long, long>> drawn;
    for (const AuditRow& row : r.rows) {
      if (row.flagged != flagged) continue;
      double x = x_of(row.frequency), y = y_of(row.input_updates);
      if (!drawn.emplace(std::lround(x * 2), std::lround(y * 2)).second) continue;
      std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\"/>\n", x, y);
      out += buf;
    }
    out += "</g>\n";
  }
  double ty = y_of(r.threshold);
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"1.5\" "
                "stroke-dasharray=\"6 4\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#d62728\">threshold: %s updates</text>\n",
                left, ty, left + plot_w, ty, left + plot_w - 6, ty - 6, xml_escape(std::to_string(r.threshold)).c_str());
  out += buf;
  std::snprintf(buf, sizeof buf,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/><text x=\"%.1f\" y=\"%.1f\">trusted row</text>\n"
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d62728\"/><text x=\"%.1f\" y=\"%.1f\">flagged row</text>\n",
                left + 12, top + 16, left + 22, top + 20, left + 12, top + 34, left + 22, top + 38);
  out += buf;
  if (r.target) {
    // The target's rows: a ring around each (one per pixel), over both colours.
    out += "<g fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"1.2\">\n";
    std::set<std::pair<long, long>> drawn;
    for (const AuditRow& row : r.rows) {
      if (row.target_frequency == 0) continue;
      double x = x_of(row.frequency), y = y_of(row.input_updates);
      if (!drawn.emplace(std::lround(x * 2), std::lround(y * 2)).second) continue;
      std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>\n", x, y);
      out += buf;
    }
    out += "</g>\n";
    std::snprintf(buf, sizeof buf,
                  "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"1.2\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\">used by the target (%.2f%% of its tokens cannot be trusted)</text>\n",
                  left + 12, top + 52, left + 22, top + 56, 100.0 * r.target->flagged_share);
    out += buf;
  }
  if (r.stability) out += stability_svg(*r.stability, r.rows, height, width, left, right, x_span, max_upd);
  out += "</svg>\n";
  return out;
}

}  // namespace tokvec
