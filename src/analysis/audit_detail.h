// Internal to the audit's sources (selection, reports, plot).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tokvec/audit.h"

namespace tokvec::audit_detail {

inline double percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

/// A CSV field (RFC 4180): quoted, with its quotes doubled, when it holds a comma, a quote
/// or a line end; as it is otherwise. The rows CSV and the words CSV share it.
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace tokvec::audit_detail

namespace tokvec {
// The words of a subword run (audit_words.cpp), for the reports and the plot.
std::string audit_words_text(const AuditReport& report, uint64_t top);
void audit_words_json(const AuditReport& report, nlohmann::ordered_json& j);
inline constexpr double kWordsPanel = 420;
std::string audit_words_svg_panel(const AuditReport& report, double y0, double width, double left, double right);
}  // namespace tokvec
