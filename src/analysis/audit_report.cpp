// The audit's text, CSV and JSON reports: formatting only, over an AuditReport.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <span>
#include <nlohmann/json.hpp>
#include <utility>

#include "analysis/audit_detail.h"
#include "base/config.h"
#include "text/text.h"
#include "tokvec/audit.h"

namespace tokvec {

using audit_detail::csv_field;
using audit_detail::percent;

namespace {

/// The shortest decimal that reads back as the same double (nlohmann's formatting), so the
/// CSV and the JSON carry identical numbers.
std::string number(double v) { return nlohmann::json(v).dump(); }

/// The flagged rows the text report lists: those with a nonzero `frequency` (the corpus's or
/// the target's), most frequent first (a frequent token that is still under-trained is the
/// surprise worth seeing), then fewest updates, then by id; all of them, for the caller to
/// count and cut. Rows that never occur (unused byte pieces, a tokenizer trained on other
/// text) are only counted: they have no vector to trust and nothing to fix.
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
  // The report keeps at least 20 of each list (for JSON); stdout shows --top of them.
  const std::span<const WordCount> unknown(t.top_unknown.data(), std::min<size_t>(t.top_unknown.size(), top));
  if (!unknown.empty()) {
    std::snprintf(buf, sizeof buf, "target words with no row, most frequent first (%zu of %llu):\n", unknown.size(),
                  static_cast<unsigned long long>(t.unknown_words));
    out += buf;
    for (const WordCount& w : unknown) {
      std::snprintf(buf, sizeof buf, "  %-24s %10llu\n", w.word.c_str(), static_cast<unsigned long long>(w.count));
      out += buf;
    }
  }
  const std::span<const TargetWord> words(t.top_words.data(), std::min<size_t>(t.top_words.size(), top));
  if (!words.empty()) {
    out += "target words whose weakest piece is flagged, most frequent first:\n";
    std::snprintf(buf, sizeof buf, "  %-24s %10s  %-16s %10s %7s\n", "word", "target", "weakest piece", "in_upd", "pieces");
    out += buf;
    for (const TargetWord& w : words) {
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
    std::snprintf(buf, sizeof buf, "flagged rows that never occur in the corpus (frequency 0, not listed; see %s or %s): %llu\n",
                  setting_name("csv").c_str(), setting_name("json").c_str(), static_cast<unsigned long long>(flagged_unseen));
    out += buf;
  }
  out += geometry_text(r.geometry);
  if (r.target) out += target_text(r, top);
  if (r.stability) out += stability_text(*r.stability);
  out += audit_words_text(r, top);
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
  audit_words_json(r, j);
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace tokvec
