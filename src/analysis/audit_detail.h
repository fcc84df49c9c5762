// Internal to the audit's sources (selection, reports, plot).
#pragma once

#include <cstdint>

namespace tokvec::audit_detail {

inline double percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace tokvec::audit_detail
