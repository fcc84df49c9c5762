// The UTF-8 check of training text (text_check.h): tallies, thresholds, and feeding in
// pieces cut anywhere.
#include "text/text_check.h"

#include <gtest/gtest.h>

#include <string>

#include "tokvec/status.h"

namespace tokvec {
namespace {

/// The message of the input error `f` throws ("" if none).
template <typename F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input) << e.what();
    return e.what();
  }
  return "";
}

TEST(TextCheck, TalliesInvalidBytesNulsAndControls) {
  static const char bytes[] = "ok caf\xC3\xA9 \xE9t\xE9 a\0b\x01\x7F\tz\n\xE2\x82";
  const TextTally t = tally_text(std::string_view(bytes, sizeof bytes - 1));
  EXPECT_EQ(t.bytes, sizeof bytes - 1);
  EXPECT_EQ(t.invalid, 4u);  // two lone E9, and E2 82 cut short (2 bytes)
  EXPECT_EQ(t.nul, 1u);
  EXPECT_EQ(t.control, 2u);  // 01 and DEL; tab and newline are text
  // The eight-byte fast path agrees with the byte loop on long ASCII stretches.
  std::string longer(1000, 'a');
  longer[516] = '\0';
  longer[801] = '\xFF';
  const TextTally l = tally_text(longer, 1);
  EXPECT_EQ(l.nul, 1u);
  EXPECT_EQ(l.nul_odd, 1u);  // at offset 1 + 516, odd
  EXPECT_EQ(l.invalid, 1u);
}

TEST(TextCheck, FeedingInPiecesCutAnywhereGivesTheSameCounts) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC caf\xE9 ";
  const TextTally whole = tally_text(text);
  for (size_t piece : {1u, 2u, 3u, 7u, 4096u}) {
    TextCheck check("t", /*allow_binary=*/true);
    for (size_t i = 0; i < text.size(); i += piece) check.feed(std::string_view(text).substr(i, piece));
    check.finish();
    EXPECT_EQ(check.total().invalid, whole.invalid) << piece;
    EXPECT_EQ(check.total().bytes, whole.bytes) << piece;
  }
  EXPECT_EQ(whole.invalid, 3000u);
}

TEST(TextCheck, RefusesWhatIsNotUtf8AndWarnsAboutAFewBadBytes) {
  std::string utf8;
  for (int i = 0; i < 4000; ++i) utf8 += "plain words and d\xC3\xA9j\xC3\xA0 vu\n";  // 112 KB
  // Clean UTF-8: no warning.
  {
    TextCheck c("clean.txt", false);
    c.feed(utf8);
    EXPECT_EQ(c.finish(), "");
  }
  // A BOM.
  EXPECT_NE(refusal([&] { TextCheck("u.txt", false).check_start(std::string("\xFE\xFF\0a", 4), true); })
                .find("u.txt: looks like UTF-16BE text (byte-order mark FE FF)"),
            std::string::npos);
  // 1 % is allowed with a warning, more is refused (at the start, or over the whole text).
  std::string few = utf8;
  for (size_t i = 0; i < few.size() / 200; ++i) few[i * 200 + 3] = '\xE9';  // 0.5 %
  {
    TextCheck c("few.txt", false);
    c.feed(few);
    const std::string w = c.finish();
    const uint64_t bad = tally_text(few).bad();
    EXPECT_GE(bad, few.size() / 200);
    EXPECT_NE(w.find(std::to_string(bad) + " of its " + std::to_string(few.size()) + " bytes"), std::string::npos) << w;
  }
  std::string many = utf8;
  for (size_t i = 0; i < many.size() / 50; ++i) many[i * 50 + 3] = '\xE9';  // 2 %
  EXPECT_NE(refusal([&] { TextCheck("many.txt", false).feed(many); }).find("many.txt: looks like Latin-1"), std::string::npos);
  // Bad bytes only after the first 64 KiB: refused at the end.
  std::string late = utf8 + many.substr(0, 40000) + std::string(5000, '\0');
  TextCheck c("late.txt", false);
  c.feed(late);
  EXPECT_NE(refusal([&] { c.finish(); }).find("late.txt: looks like binary data"), std::string::npos);
  // --allow-binary: the refusal becomes the warning.
  TextCheck allowed("many.txt", true);
  allowed.feed(many);
  EXPECT_NE(allowed.finish().find("looks like Latin-1"), std::string::npos);
}

}  // namespace
}  // namespace tokvec
