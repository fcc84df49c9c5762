// The audit's SVG plot: formatting only, over an AuditReport.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

#include "analysis/audit_detail.h"
#include "tokvec/audit.h"

namespace tokvec {

using audit_detail::percent;

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

  const double total_height = height + (r.stability ? kStabilityPanel : 0.0) + (r.words ? kWordsPanel : 0.0);
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
  if (r.words) out += audit_words_svg_panel(r, height + (r.stability ? kStabilityPanel : 0.0), width, left, right);
  out += "</svg>\n";
  return out;
}

}  // namespace tokvec
