#include "text/text_check.h"

#include <cstdio>
#include <cstring>

#include "base/config.h"
#include "tokvec/status.h"
#include "text/text.h"

namespace tokvec {

TextTally& TextTally::operator+=(const TextTally& o) noexcept {
  bytes += o.bytes;
  invalid += o.invalid;
  nul += o.nul;
  control += o.control;
  nul_odd += o.nul_odd;
  return *this;
}

TextTally tally_text(std::string_view s, uint64_t offset) noexcept {
  TextTally t;
  t.bytes = s.size();
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Eight printable ASCII bytes at a time (no high bit, none below 0x20, no DEL): most of
    // any text, so the check costs little next to reading it.
    if (i + 8 <= n) {
      uint64_t x;
      std::memcpy(&x, p + i, 8);
      constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
      const uint64_t below_space = (x - 0x20 * kOnes) & ~x & kHigh;
      const uint64_t del = ((x ^ (0x7F * kOnes)) - kOnes) & ~(x ^ (0x7F * kOnes)) & kHigh;
      if (((x & kHigh) | below_space | del) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char b = p[i];
    if (b < 0x80) {
      if (b == 0) {
        ++t.nul;
        if ((offset + i) & 1) ++t.nul_odd;
      } else if ((b < 0x20 && !(b >= '\t' && b <= '\r')) || b == 0x7F) {
        ++t.control;
      }
      ++i;
      continue;
    }
    const Utf8Char c = decode_utf8(s, i);
    if (!c.valid) ++t.invalid;
    i += c.length;
  }
  return t;
}

namespace {

std::string percent(uint64_t part, uint64_t whole) {
  const double p = whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
  if (p > 0 && p < 0.01) return "under 0.01 %";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %%", p);
  return buf;
}

/// Bytes at the end of `s` that begin a UTF-8 sequence without finishing it (0 to 3).
size_t incomplete_tail(std::string_view s) noexcept {
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const auto b = static_cast<unsigned char>(s[s.size() - back]);
    if (b < 0x80) return 0;
    if (b >= 0xC0) {
      const size_t need = b >= 0xF0 ? 4 : (b >= 0xE0 ? 3 : 2);
      return need > back ? back : 0;
    }
  }
  return 0;
}

}  // namespace

void TextCheck::refuse(const std::string& what) const {
  if (!offers_allow_binary_) throw input_error(name_, "", what);
  throw input_error(name_, "", what + "; or pass " + setting_name("allow_binary") + " to train on its bytes as they are");
}

std::string TextCheck::problem(const TextTally& t, const std::string& where) const {
  if (t.bytes == 0 || static_cast<double>(t.bad()) <= kMaxBadShare * static_cast<double>(t.bytes)) return "";
  const std::string n = std::to_string(t.bad()) + " of " + where + " (" + percent(t.bad(), t.bytes) + ")";
  if (4 * t.nul >= t.bytes && (10 * t.nul_odd >= 9 * t.nul || 10 * t.nul_odd <= t.nul)) {
    const bool le = 2 * t.nul_odd > t.nul;
    const std::string enc = le ? "UTF-16LE" : "UTF-16BE";
    return "looks like " + enc + " without a byte-order mark, not UTF-8 (" + std::to_string(t.nul) + " of " + where +
           " are NUL, at every other byte): convert it with iconv -f " + enc + " -t UTF-8";
  }
  if (100 * (t.nul + t.control) > t.bytes) {
    return "looks like binary data, not text: " + n + " are not valid UTF-8 or are NUL (" + std::to_string(t.nul) + " NUL, " +
           std::to_string(t.control) + " other control bytes)";
  }
  return "looks like Latin-1 or another 8-bit encoding, not UTF-8: " + n +
         " are not valid UTF-8; convert it with iconv -f LATIN1 -t UTF-8 (or from its real encoding)";
}

void TextCheck::check_start(std::string_view start, bool whole) {
  start_checked_ = true;
  struct Mark {
    std::string_view bytes;
    const char* encoding;
    const char* shown;
  };
  // UTF-32LE's mark begins with UTF-16LE's: longest first.
  static const Mark marks[] = {{std::string_view("\xFF\xFE\0\0", 4), "UTF-32LE", "FF FE 00 00"},
                               {std::string_view("\0\0\xFE\xFF", 4), "UTF-32BE", "00 00 FE FF"},
                               {std::string_view("\xFF\xFE", 2), "UTF-16LE", "FF FE"},
                               {std::string_view("\xFE\xFF", 2), "UTF-16BE", "FE FF"}};
  for (const Mark& m : marks) {
    if (start.substr(0, m.bytes.size()) == m.bytes) {
      const bool utf32 = m.bytes.size() == 4;
      const std::string what = std::string("looks like ") + m.encoding + " text (byte-order mark " + m.shown +
                               "), not UTF-8: convert it with iconv -f " + (utf32 ? "UTF-32" : "UTF-16") + " -t UTF-8";
      if (!allow_binary_) refuse(what);
      warning_ = what;
      return;
    }
  }
  if (start.size() > kSampleBytes) start = start.substr(0, kSampleBytes);
  // A sample cut inside a character would count its first bytes as invalid.
  if (!whole) start.remove_suffix(incomplete_tail(start));
  const std::string what = problem(tally_text(start), (whole ? "its " : "the first ") + std::to_string(start.size()) + " bytes");
  if (what.empty()) return;
  if (!allow_binary_) refuse(what);
  warning_ = what;
}

void TextCheck::feed(std::string_view bytes) {
  if (!start_checked_) {
    start_.append(bytes.substr(0, std::min<size_t>(bytes.size(), kSampleBytes - start_.size())));
    if (start_.size() >= kSampleBytes) {
      check_start(start_, false);
      start_ = std::string();
    }
  }
  fed_ += bytes.size();
  std::string joined;
  if (!carry_.empty()) {
    joined = carry_;
    joined.append(bytes);
    bytes = joined;
  }
  const size_t tail = incomplete_tail(bytes);
  const uint64_t offset = fed_ - bytes.size();
  total_ += tally_text(bytes.substr(0, bytes.size() - tail), offset);
  carry_.assign(bytes.substr(bytes.size() - tail));
}

std::string TextCheck::finish() {
  if (!carry_.empty()) {
    total_ += tally_text(carry_, fed_ - carry_.size());  // a character cut by the end of the text
    carry_.clear();
  }
  if (!start_checked_) {
    check_start(start_, true);
    start_ = std::string();
  }
  if (!warning_.empty()) return warning_;
  const std::string what = problem(total_, "its " + std::to_string(total_.bytes) + " bytes");
  if (!what.empty()) {
    if (!allow_binary_) refuse(what);
    return what;
  }
  if (total_.bad() == 0) return "";
  return std::to_string(total_.bad()) + " of its " + std::to_string(total_.bytes) + " bytes (" + percent(total_.bad(), total_.bytes) +
         ") are not valid UTF-8 or are NUL (" + std::to_string(total_.invalid) + " invalid, " + std::to_string(total_.nul) +
         " NUL); they are trained on as they are (Latin-1 pieces? iconv -f LATIN1 -t UTF-8 converts a Latin-1 file)";
}

}  // namespace tokvec
