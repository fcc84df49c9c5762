// Is this text UTF-8? The check every reader of training text runs, so that UTF-16, a
// Latin-1 file or binary data is refused with what it looks like, instead of training into
// vectors of byte pieces or failing much later at export.
//
// What counts as a bad byte: a byte outside a well-formed UTF-8 sequence (decode_utf8), or
// a NUL (valid UTF-8, but never in text). Rules, in order:
//   1. The text starts with a UTF-32 or UTF-16 byte-order mark (FF FE 00 00, 00 00 FE FF,
//      FF FE, FE FF): refused, with the iconv command that converts it.
//   2. More than kMaxBadShare (1 %) of the bytes are bad, in the first kSampleBytes
//      (64 KiB) — checked as soon as they are read, before any real work — or over the whole
//      text (counted as it is read, checked at its end): refused, saying what it looks like
//      (UTF-16 without a mark: NULs at every other byte; binary: NULs or control bytes;
//      otherwise an 8-bit encoding such as Latin-1).
//   3. Fewer bad bytes than that, but some: a warning with their count (Latin-1 pieces in
//      mostly UTF-8 text); the bad bytes become byte pieces (BPE) or stay inside their words.
// `allow_binary` (`--allow-binary`) turns refusals 1 and 2 into the warning of 3.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tokvec {

/// Counts of the bytes of a stretch of text that make it look like something else.
struct TextTally {
  uint64_t bytes = 0;
  uint64_t invalid = 0;   ///< bytes outside well-formed UTF-8 sequences
  uint64_t nul = 0;       ///< NUL bytes
  uint64_t control = 0;   ///< C0 controls other than \t \n \v \f \r (and NUL), and DEL
  uint64_t nul_odd = 0;   ///< NUL bytes at odd offsets (UTF-16LE puts ASCII's zero byte there)
  uint64_t bad() const noexcept { return invalid + nul; }
  TextTally& operator+=(const TextTally& o) noexcept;
};

/// Tallies `bytes`, a stretch made of whole UTF-8 sequences (a sequence cut at its end
/// counts as invalid). `offset` is the stretch's offset in the text (for nul_odd).
TextTally tally_text(std::string_view bytes, uint64_t offset = 0) noexcept;

/// The check, fed in order as the text is read (or with tallies of whole stretches).
class TextCheck {
 public:
  static constexpr uint64_t kSampleBytes = 64 * 1024;
  static constexpr double kMaxBadShare = 0.01;

  /// `name` is how messages name the text (a path, or "<stdin>"). Refusals suggest the
  /// allow_binary setting only where the caller has one (`offers_allow_binary`).
  TextCheck(std::string name, bool allow_binary, bool offers_allow_binary = true)
      : name_(std::move(name)), allow_binary_(allow_binary), offers_allow_binary_(offers_allow_binary) {}

  /// Checks the first bytes of the text (rules 1 and 2 on up to kSampleBytes; `whole` says
  /// they are the whole text) and throws an input error naming the text when they fail.
  void check_start(std::string_view start, bool whole);
  /// Feeds the next bytes in order: the first kSampleBytes go to check_start once they are
  /// in; a sequence cut between two calls is joined. Serial use only.
  void feed(std::string_view bytes);
  /// Adds the tally of a stretch read elsewhere (parallel readers tally whole stretches).
  void add(const TextTally& t) noexcept { total_ += t; }
  /// At the end of the text: throws if the whole text fails rule 2; otherwise returns the
  /// warning of rule 3 ("" when every byte was fine).
  std::string finish();
  const TextTally& total() const noexcept { return total_; }
  const std::string& name() const noexcept { return name_; }

 private:
  /// What a tally that breaks rule 2 looks like ("" when it does not), `where` being "the
  /// first N bytes" or "the N bytes".
  std::string problem(const TextTally& t, const std::string& where) const;
  [[noreturn]] void refuse(const std::string& what) const;
  std::string name_;
  bool allow_binary_;
  bool offers_allow_binary_;
  bool start_checked_ = false;
  std::string start_;   ///< the first bytes, until kSampleBytes are in
  std::string carry_;   ///< an incomplete sequence at the end of the last feed
  uint64_t fed_ = 0;
  TextTally total_;
  std::string warning_;  ///< a start refusal that allow_binary turned into a warning
};

}  // namespace tokvec
