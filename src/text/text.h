// Text handling for the tokenizer: UTF-8 decoding, character classes, pre-tokenisation
// and the documented whitespace normalisation.
//
// Lines. '\n', "\r\n" and a lone '\r' each end a line. Bytes after the last line end form
// a last line. Inside a line, a run of whitespace (ASCII space, tab, VT, FF and every
// Unicode White_Space character) is one separator; leading and trailing whitespace is
// dropped. That is the whole normalisation: decode(encode(x)) == normalise(x), where
// normalise() ends every line with '\n'. Nothing else changes: no case folding, no NFC
// (a tokenizer that rewrites text cannot give it back byte for byte).
//
// Pre-tokens. A line is cut into runs of one class: letters (L*), digits (N*),
// punctuation and symbols (P*, S* and the other printable classes). A combining mark (M*)
// or a format character (Cf, e.g. ZWJ, soft hyphen) continues the run before it, so
// "é" written as e + U+0301 stays one letter run. An apostrophe (U+0027 or U+2019)
// between two letters also stays in the letter run, so contractions and elisions ("don't",
// "it's", "l'homme") are one pre-token: they are frequent enough in English and French
// that splitting them costs about 1% more tokens. A control character (NUL included) and
// each byte that is not valid UTF-8 is a pre-token of its own. A pre-token that starts a
// line or follows whitespace carries the word-start flag (the tokenizer's marker, shown
// as U+2581). BPE merges never cross a pre-token boundary.
//
// Bounded runs. A run longer than kMaxPretokenChars characters (text with no spaces:
// Chinese, Thai, a 100 MB line of digits) is cut into chunks of kMaxPretokenChars
// characters counted from the start of the run; only the first chunk can carry the
// word-start flag. The cut depends only on the run itself, so a file read in blocks gives
// the same pre-tokens whatever the block size or thread count, and the work and memory per
// pre-token stay bounded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace tokvec {

/// Longest pre-token, in characters (see "Bounded runs" above). 32 characters hold any
/// ordinary word of any language; a longer run is cut so that counting, merging and the
/// encoder's per-pre-token work stay O(kMaxPretokenChars).
inline constexpr size_t kMaxPretokenChars = 32;

/// The class of a character for pre-tokenisation.
enum class CharClass : uint8_t {
  letter,  ///< L*
  digit,   ///< N*
  punct,   ///< P*, S*, Co, Cn: punctuation and symbols
  space,   ///< White_Space (and '\r', '\n' if they reach the pre-tokenizer)
  mark,    ///< M*, Cf: continues the run before it (starts a letter run at a run start)
  single,  ///< a control character or an invalid UTF-8 byte: always alone
};

/// One decoded character.
struct Utf8Char {
  uint32_t code_point;  ///< the byte value when !valid
  uint32_t length;      ///< bytes consumed, 1..4 (1 for an invalid byte)
  bool valid;
};

/// Decodes the character that starts at s[pos] (pos < s.size()). A byte that does not
/// start a well-formed sequence (stray continuation byte, truncated sequence, overlong
/// form, surrogate, above U+10FFFF) is returned alone as invalid, so decoding resumes at
/// the next byte and any byte string has exactly one decomposition.
Utf8Char decode_utf8(std::string_view s, size_t pos) noexcept;

/// `bytes` as valid UTF-8, for JSON (which holds only Unicode text) and messages: each
/// byte that is not part of a well-formed character (decode_utf8) becomes the four
/// characters \xNN (backslash, x, two hex digits); valid text is returned unchanged.
std::string escape_invalid_utf8(std::string_view bytes);
/// Whether every byte of `bytes` is part of a well-formed UTF-8 character.
bool is_valid_utf8(std::string_view bytes) noexcept;

/// A path (or any bytes) in JSON, losslessly: `json[key]` holds the text (escaped as
/// above when not valid UTF-8), and then `json[key + "_hex"]` the bytes in hex.
/// path_from_json reads it back (the hex when present); "" when the key is absent or null.
void path_to_json(nlohmann::json& json, const std::string& key, const std::string& path);
std::string path_from_json(const nlohmann::json& json, const std::string& key);

/// Appends the UTF-8 bytes of a valid code point.
void append_utf8(std::string& out, uint32_t code_point);

/// The class of a valid code point. ASCII is answered from a table; the rest asks utf8proc.
CharClass classify(uint32_t code_point) noexcept;

/// Whether a valid code point is printable as itself in a display piece (not a control,
/// format, separator, unassigned, private-use or whitespace character).
bool is_printable(uint32_t code_point) noexcept;

namespace detail {
constexpr std::array<CharClass, 128> make_ascii_classes() {
  std::array<CharClass, 128> t{};
  for (int c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) t[c] = CharClass::letter;
    else if (c >= '0' && c <= '9') t[c] = CharClass::digit;
    else if (c == ' ' || (c >= '\t' && c <= '\r')) t[c] = CharClass::space;  // \t \n \v \f \r
    else if (c < 0x20 || c == 0x7F) t[c] = CharClass::single;
    else t[c] = CharClass::punct;
  }
  return t;
}
inline constexpr std::array<CharClass, 128> kAsciiClass = make_ascii_classes();

/// Class and length of the character at s[pos] (invalid bytes are `single`).
inline CharClass char_at(std::string_view s, size_t pos, uint32_t& length) noexcept {
  unsigned char b = static_cast<unsigned char>(s[pos]);
  if (b < 0x80) {
    length = 1;
    return kAsciiClass[b];
  }
  Utf8Char c = decode_utf8(s, pos);
  length = c.length;
  return c.valid ? classify(c.code_point) : CharClass::single;
}
}  // namespace detail

/// Calls f(std::string_view bytes, bool word_start, size_t offset) for each pre-token of
/// `line`, in order. `line` should hold no line end ('\r' and '\n' are treated as spaces).
/// `at_word_start` says whether the start of `line` follows a line start or whitespace
/// (true for a whole line; a block cut mid-line passes what the cut point had).
template <typename F>
void pretokenize(std::string_view line, bool at_word_start, F&& f) {
  const size_t n = line.size();
  size_t i = 0;
  bool word_start = at_word_start;
  while (i < n) {
    uint32_t len;
    CharClass cls = detail::char_at(line, i, len);
    if (cls == CharClass::space) {
      word_start = true;
      i += len;
      continue;
    }
    const size_t start = i;
    i += len;
    if (cls != CharClass::single) {
      if (cls == CharClass::mark) cls = CharClass::letter;
      size_t chars = 1;
      while (i < n && chars < kMaxPretokenChars) {
        unsigned char b = static_cast<unsigned char>(line[i]);
        if (b < 0x80) {  // ASCII fast path: no decoding
          if (detail::kAsciiClass[b] != cls) {
            // An apostrophe between two letters stays in the word: don't, it's, l'homme.
            if (b != '\'' || cls != CharClass::letter || i + 1 >= n) break;
            uint32_t len2;
            if (detail::char_at(line, i + 1, len2) != CharClass::letter) break;
          }
          ++i;
        } else if (cls == CharClass::letter && b == 0xE2 && i + 3 < n && static_cast<unsigned char>(line[i + 1]) == 0x80 &&
                   static_cast<unsigned char>(line[i + 2]) == 0x99) {
          uint32_t len2;  // U+2019, the typographic apostrophe, likewise
          if (detail::char_at(line, i + 3, len2) != CharClass::letter) break;
          i += 3;
        } else {
          uint32_t len2;
          CharClass c2 = detail::char_at(line, i, len2);
          if (c2 != cls && c2 != CharClass::mark) break;
          i += len2;
        }
        ++chars;
      }
    }
    f(line.substr(start, i - start), word_start, start);
    word_start = false;
  }
}

/// The documented normalisation of a whole text (see the top of this file): every line
/// with its whitespace runs collapsed to one ' ', no leading or trailing whitespace, and
/// ending in '\n'. Written independently of pretokenize() so tests can check one with the
/// other.
std::string normalise(std::string_view text);

/// Lower case for `train --words --lowercase`: each character through Unicode's simple
/// lowercase mapping (utf8proc_tolower, one character to one, so "İ" becomes "i"); invalid
/// UTF-8 bytes are kept as they are. Writes into `out` (cleared first).
void lowercase_utf8(std::string_view s, std::string& out);
std::string lowercase_utf8(std::string_view s);
/// False when lowercase_utf8 would return `s` unchanged for certain (ASCII without A-Z).
bool needs_lowercase(std::string_view s) noexcept;

/// Whether `c` is Unicode White_Space (the separators of normalise() and pretokenize()).
bool is_white_space(uint32_t code_point) noexcept;

/// Calls f(line) for each line of `text` ('\n', "\r\n", '\r' end a line; a last line
/// without an end counts), as `tokvec encode` reads its input.
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // A plain loop: find_first_of calls memchr on its set for every byte.
    size_t j = i;
    while (j < n && text[j] != '\n' && text[j] != '\r') ++j;
    if (j == n) {
      f(text.substr(i));
      return;
    }
    f(text.substr(i, j - i));
    i = j + ((text[j] == '\r' && j + 1 < n && text[j + 1] == '\n') ? 2 : 1);
  }
}

}  // namespace tokvec
