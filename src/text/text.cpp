#include "text/text.h"

#include <nlohmann/json.hpp>

#include <utf8proc.h>

namespace tokvec {

Utf8Char decode_utf8(std::string_view s, size_t pos) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
  const size_t avail = s.size() - pos;
  const uint32_t b0 = p[0];
  Utf8Char invalid{b0, 1, false};
  if (b0 < 0x80) return {b0, 1, true};
  // Well-formed sequences (Unicode table 3-7): the second byte's range depends on the
  // lead byte, which rules out overlong forms, surrogates and code points above U+10FFFF.
  uint32_t length, lo = 0x80, hi = 0xBF, cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) { length = 2; cp = b0 & 0x1F; }
  else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3; cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4; cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return invalid;
  }
  if (avail < length) return invalid;
  if (p[1] < lo || p[1] > hi) return invalid;
  cp = (cp << 6) | (p[1] & 0x3F);
  for (uint32_t k = 2; k < length; ++k) {
    if ((p[k] & 0xC0) != 0x80) return invalid;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  return {cp, length, true};
}

bool is_valid_utf8(std::string_view bytes) noexcept {
  for (size_t i = 0; i < bytes.size();) {
    const Utf8Char c = decode_utf8(bytes, i);
    if (!c.valid) return false;
    i += c.length;
  }
  return true;
}

std::string escape_invalid_utf8(std::string_view bytes) {
  if (is_valid_utf8(bytes)) return std::string(bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() + 16);
  for (size_t i = 0; i < bytes.size();) {
    const Utf8Char c = decode_utf8(bytes, i);
    if (c.valid) {
      out.append(bytes.substr(i, c.length));
    } else {
      const auto b = static_cast<unsigned char>(bytes[i]);
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
    i += c.length;
  }
  return out;
}

void path_to_json(nlohmann::json& json, const std::string& key, const std::string& path) {
  json[key] = escape_invalid_utf8(path);
  if (is_valid_utf8(path)) return;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : path) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  json[key + "_hex"] = hex;
}

std::string path_from_json(const nlohmann::json& json, const std::string& key) {
  if (!json.is_object()) return {};
  auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  const auto hex = json.find(key + "_hex");
  if (hex != json.end() && hex->is_string()) {
    const std::string& h = hex->get_ref<const std::string&>();
    std::string out;
    bool ok = h.size() % 2 == 0;
    for (size_t i = 0; ok && i < h.size(); i += 2) {
      const int hi = digit(h[i]), lo = digit(h[i + 1]);
      ok = hi >= 0 && lo >= 0;
      out += static_cast<char>(hi * 16 + lo);
    }
    if (ok) return out;
  }
  const auto it = json.find(key);
  return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool needs_lowercase(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (u >= 'A' && u <= 'Z')) return true;
  }
  return false;
}

void lowercase_utf8(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x80) {
      out.push_back(u >= 'A' && u <= 'Z' ? static_cast<char>(u + 32) : static_cast<char>(u));
      ++i;
      continue;
    }
    const Utf8Char c = decode_utf8(s, i);
    if (c.valid) {
      append_utf8(out, static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c.code_point))));
    } else {
      out.push_back(s[i]);  // an invalid byte stays as it is
    }
    i += c.length;
  }
}

std::string lowercase_utf8(std::string_view s) {
  std::string out;
  lowercase_utf8(s, out);
  return out;
}

bool is_white_space(uint32_t cp) noexcept {
  // The Unicode White_Space property (PropList.txt); utf8proc exposes categories, not this
  // property, and Zs alone misses the tab..CR controls and U+0085.
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
  switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

CharClass classify(uint32_t cp) noexcept {
  if (cp < 0x80) return detail::kAsciiClass[cp];
  if (is_white_space(cp)) return CharClass::space;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      return CharClass::letter;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
      return CharClass::mark;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return CharClass::digit;
    case UTF8PROC_CATEGORY_CC:
      return CharClass::single;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
      return CharClass::space;  // all are White_Space already; kept for safety
    default:  // P*, S*, Co (private use), Cn (unassigned: e.g. emoji newer than utf8proc)
      return CharClass::punct;
  }
}

bool is_printable(uint32_t cp) noexcept {
  if (cp < 0x80) return cp > 0x20 && cp != 0x7F;
  if (is_white_space(cp)) return false;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
      return false;
    default:
      return true;
  }
}

std::string normalise(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 1);
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    // One line: up to '\n', "\r\n", '\r' or the end of the text.
    bool pending_space = false;
    bool line_empty = true;
    while (i < n && text[i] != '\n' && text[i] != '\r') {
      Utf8Char c = decode_utf8(text, i);
      bool space = c.valid && is_white_space(c.code_point);
      if (space) {
        pending_space = true;
      } else {
        if (pending_space && !line_empty) out.push_back(' ');
        pending_space = false;
        line_empty = false;
        out.append(text.substr(i, c.length));
      }
      i += c.length;
    }
    if (i < n) {
      if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
      ++i;
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace tokvec
