#pragma once
// Helpers shared by the export functions (export.cpp) and the vector file readers and
// writers (vector_files.cpp): places and tokens as error messages name them.
#include <cstdio>
#include <string>
#include <string_view>

#include "text/words.h"

namespace tokvec::export_detail {

inline bool is_ascii_space(char c) { return is_word_space(static_cast<unsigned char>(c)); }

inline std::string at_line(size_t line) { return "line " + std::to_string(line); }
inline std::string at_byte(size_t offset) { return "byte " + std::to_string(offset); }

/// A token as it is quoted in error messages (bytes < 0x20 shown as \xHH).
inline std::string quote_token(std::string_view token) {
  std::string out = "'";
  for (char c : token) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace tokvec::export_detail
