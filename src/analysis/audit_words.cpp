// The audit of a subword run's words: each word's vector is composed of rows (its own, its
// pieces', their merge ancestors'), so a word is as trustworthy as its least-updated row.
// Its parts: the selection (add_word_rows), the text, JSON and CSV reports, the SVG panel.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "analysis/audit_detail.h"
#include "tokvec/audit.h"
#include "tokvec/status.h"

namespace tokvec {

using audit_detail::csv_field;
using audit_detail::percent;

void add_word_rows(AuditReport& report, const std::vector<std::string>& words, std::span<const uint64_t> counts,
                   const std::function<std::vector<uint32_t>(std::string_view)>& rows_of) {
  if (counts.size() != words.size()) throw internal_error("audit: the words and their counts differ in size");
  AuditWords aw;
  aw.words.reserve(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    AuditWord w;
    w.id = static_cast<uint32_t>(i);
    w.word = printable_token(words[i]);
    w.frequency = counts[i];
    w.rows = rows_of(words[i]);
    if (w.rows.empty()) throw internal_error("audit: the word " + w.word + " is composed of no row");
    w.weakest = w.rows[0];
    for (uint32_t r : w.rows) {
      if (r >= report.rows.size()) throw internal_error("audit: row " + std::to_string(r) + " of " + w.word + " outside the state");
      // The fewest updates; on a tie the lower id, so the choice does not depend on the order.
      const uint64_t u = report.rows[r].input_updates, best = report.rows[w.weakest].input_updates;
      if (u < best || (u == best && r < w.weakest)) w.weakest = r;
    }
    w.weakest_updates = report.rows[w.weakest].input_updates;
    w.flagged = w.weakest_updates < report.threshold;
    aw.tokens += w.frequency;
    if (w.flagged) {
      ++aw.flagged;
      aw.flagged_tokens += w.frequency;
    }
    aw.words.push_back(std::move(w));
  }
  report.words = std::move(aw);
}

std::string audit_words_text(const AuditReport& r, uint64_t top) {
  if (!r.words) return "";
  const AuditWords& aw = *r.words;
  char buf[512];
  std::string out;
  std::snprintf(buf, sizeof buf,
                "words (each composed of rows; a word is as trustworthy as its least-updated row): %llu, with a flagged row: "
                "%llu = %.2f%% of the words, %.3f%% of their occurrences\n",
                static_cast<unsigned long long>(aw.words.size()), static_cast<unsigned long long>(aw.flagged),
                percent(aw.flagged, aw.words.size()), percent(aw.flagged_tokens, aw.tokens));
  out += buf;
  std::vector<const AuditWord*> list;
  for (const AuditWord& w : aw.words) {
    if (w.flagged) list.push_back(&w);
  }
  std::sort(list.begin(), list.end(), [](const AuditWord* a, const AuditWord* b) {
    return a->frequency != b->frequency ? a->frequency > b->frequency : a->id < b->id;
  });
  if (list.size() > top) list.resize(top);
  if (list.empty()) return out;
  out += "most frequent words whose weakest row is flagged:\n";
  std::snprintf(buf, sizeof buf, "  %-24s %10s  %-16s %10s  %s\n", "word", "frequency", "weakest row", "in_upd", "rows");
  out += buf;
  for (const AuditWord* w : list) {
    std::string rows;
    for (uint32_t row : w->rows) rows += (rows.empty() ? "" : " ") + r.rows[row].token;
    std::snprintf(buf, sizeof buf, "  %-24s %10llu  %-16s %10llu  ", w->word.c_str(), static_cast<unsigned long long>(w->frequency),
                  r.rows[w->weakest].token.c_str(), static_cast<unsigned long long>(w->weakest_updates));
    out += buf + rows + "\n";
  }
  return out;
}

std::string audit_words_csv(const AuditReport& r) {
  std::string out = "id,word,frequency,rows,row_ids,weakest_row,weakest_row_id,weakest_row_updates,flagged\n";
  if (!r.words) return out;
  for (const AuditWord& w : r.words->words) {
    std::string rows, ids;
    for (uint32_t row : w.rows) {
      rows += (rows.empty() ? "" : " ") + r.rows[row].token;
      ids += (ids.empty() ? "" : " ") + std::to_string(row);
    }
    out += std::to_string(w.id) + "," + csv_field(w.word) + "," + std::to_string(w.frequency) + "," + csv_field(rows) + "," + ids + "," +
           csv_field(r.rows[w.weakest].token) + "," + std::to_string(w.weakest) + "," + std::to_string(w.weakest_updates) + "," +
           (w.flagged ? "true" : "false") + "\n";
  }
  return out;
}

void audit_words_json(const AuditReport& r, nlohmann::ordered_json& j) {
  if (!r.words) return;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const AuditWord& w : r.words->words) {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array(), ids = nlohmann::ordered_json::array();
    for (uint32_t row : w.rows) {
      rows.push_back(r.rows[row].token);
      ids.push_back(row);
    }
    list.push_back({{"id", w.id},
                    {"word", w.word},
                    {"frequency", w.frequency},
                    {"rows", std::move(rows)},
                    {"row_ids", std::move(ids)},
                    {"weakest_row", r.rows[w.weakest].token},
                    {"weakest_row_id", w.weakest},
                    {"weakest_row_updates", w.weakest_updates},
                    {"flagged", w.flagged}});
  }
  j["words"] = {{"count", r.words->words.size()},
                {"flagged", r.words->flagged},
                {"tokens", r.words->tokens},
                {"flagged_tokens", r.words->flagged_tokens},
                {"list", std::move(list)}};
}

std::string audit_words_svg_panel(const AuditReport& r, double y0, double width, double left, double right) {
  if (!r.words) return "";
  const double top = y0 + 40, plot_w = width - left - right, plot_h = kWordsPanel - 110;
  uint64_t max_freq = 1, max_upd = std::max<uint64_t>(r.threshold, 1);
  for (const AuditWord& w : r.words->words) {
    max_freq = std::max(max_freq, w.frequency);
    max_upd = std::max(max_upd, w.weakest_updates);
  }
  auto decades = [](uint64_t v) { return std::max(1.0, std::ceil(std::log10(1.0 + static_cast<double>(v)))); };
  const double x_span = decades(max_freq), y_span = decades(max_upd);
  auto x_of = [&](uint64_t v) { return left + plot_w * std::log10(1.0 + static_cast<double>(v)) / x_span; };
  auto y_of = [&](uint64_t v) { return top + plot_h * (1.0 - std::log10(1.0 + static_cast<double>(v)) / y_span); };
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.0f\" y=\"%.1f\" font-size=\"15\" text-anchor=\"middle\">words: %llu, %llu whose weakest row is "
                "flagged (%.2f%% of their occurrences)</text>\n",
                width / 2, y0 + 22, static_cast<unsigned long long>(r.words->words.size()),
                static_cast<unsigned long long>(r.words->flagged), percent(r.words->flagged_tokens, r.words->tokens));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333333\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">word frequency in the corpus (log scale)</text>\n"
                "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 20 %.1f)\">updates of its weakest "
                "row (log scale)</text>\n",
                left, top, plot_w, plot_h, left + plot_w / 2, top + plot_h + 40, top + plot_h / 2, top + plot_h / 2);
  out += buf;
  out += "<g fill=\"#333333\">\n";
  for (int d = -1; d <= static_cast<int>(x_span); ++d) {
    const uint64_t v = d < 0 ? 0 : static_cast<uint64_t>(std::llround(std::pow(10.0, d)));
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%llu</text>\n", x_of(v), top + plot_h + 18,
                  static_cast<unsigned long long>(v));
    out += buf;
  }
  for (int d = -1; d <= static_cast<int>(y_span); ++d) {
    const uint64_t v = d < 0 ? 0 : static_cast<uint64_t>(std::llround(std::pow(10.0, d)));
    std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%llu</text>\n", left - 8, y_of(v) + 4,
                  static_cast<unsigned long long>(v));
    out += buf;
  }
  out += "</g>\n";
  // One circle per pixel and colour, as the rows' plot.
  for (bool flagged : {false, true}) {
    std::snprintf(buf, sizeof buf, "<g fill=\"%s\" fill-opacity=\"%s\">\n", flagged ? "#d62728" : "#1f77b4", flagged ? "0.8" : "0.45");
    out += buf;
    std::set<std::pair<long, long>> drawn;
    for (const AuditWord& w : r.words->words) {
      if (w.flagged != flagged) continue;
      const double x = x_of(w.frequency), y = y_of(w.weakest_updates);
      if (!drawn.emplace(std::lround(x * 2), std::lround(y * 2)).second) continue;
      std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\"/>\n", x, y);
      out += buf;
    }
    out += "</g>\n";
  }
  const double ty = y_of(r.threshold);
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"1.5\" "
                "stroke-dasharray=\"6 4\"/>\n",
                left, ty, left + plot_w, ty);
  out += buf;
  return out;
}

}  // namespace tokvec
