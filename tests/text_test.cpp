#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "text/text.h"

namespace tokvec {
namespace {

struct Piece {
  std::string bytes;
  bool word_start;
  bool operator==(const Piece&) const = default;
};

void PrintTo(const Piece& p, std::ostream* os) { *os << (p.word_start ? "_" : "") << ::testing::PrintToString(p.bytes); }

std::vector<Piece> pieces(std::string_view line, bool at_word_start = true) {
  std::vector<Piece> out;
  pretokenize(line, at_word_start, [&](std::string_view b, bool ws, size_t) { out.push_back({std::string(b), ws}); });
  return out;
}

TEST(TextUtf8, DecodesValidAndRejectsMalformed) {
  EXPECT_EQ(decode_utf8("a", 0).code_point, 'a');
  Utf8Char e = decode_utf8("\xC3\xA9", 0);
  EXPECT_TRUE(e.valid);
  EXPECT_EQ(e.code_point, 0xE9u);
  EXPECT_EQ(e.length, 2u);
  Utf8Char emoji = decode_utf8("\xF0\x9F\x98\x80", 0);
  EXPECT_TRUE(emoji.valid);
  EXPECT_EQ(emoji.code_point, 0x1F600u);
  for (std::string bad : {"\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC3", "\xE6\x97", "\xFF"}) {
    Utf8Char c = decode_utf8(bad, 0);
    EXPECT_FALSE(c.valid) << bad.size();
    EXPECT_EQ(c.length, 1u);
  }
  std::string s;
  append_utf8(s, 0x1F600);
  EXPECT_EQ(s, "\xF0\x9F\x98\x80");
}

TEST(TextClasses, UnicodeCategories) {
  EXPECT_EQ(classify('a'), CharClass::letter);
  EXPECT_EQ(classify(0x65E5), CharClass::letter);  // 日
  EXPECT_EQ(classify(0x0301), CharClass::mark);    // combining acute
  EXPECT_EQ(classify(0x0663), CharClass::digit);   // Arabic-Indic three
  EXPECT_EQ(classify(0x3000), CharClass::space);   // ideographic space
  EXPECT_EQ(classify(0x00A0), CharClass::space);   // no-break space
  EXPECT_EQ(classify(0x0085), CharClass::space);   // NEL is White_Space
  EXPECT_EQ(classify(0x2581), CharClass::punct);   // a literal ▁ is a symbol
  EXPECT_EQ(classify(0), CharClass::single);
  EXPECT_EQ(classify(0x0090), CharClass::single);
}

TEST(TextPretokenize, ClassesMarkersAndSingles) {
  std::vector<Piece> expected = {{"Hello", true}, {",", false}, {"world", true}, {"42", false}, {"!?", false},
                                 {std::string(1, '\0'), true}, {"\xFF", false}, {"x", false}};
  EXPECT_EQ(pieces(std::string("Hello, world42!? \x00\xFFx", 20)), expected);
  // A combining mark continues the letter run; Unicode spaces separate.
  EXPECT_EQ(pieces("cafe\xCC\x81\xE3\x80\x80ok"), (std::vector<Piece>{{"cafe\xCC\x81", true}, {"ok", true}}));
  EXPECT_EQ(pieces("  a\tb  ", false), (std::vector<Piece>{{"a", true}, {"b", true}}));
  EXPECT_EQ(pieces("ab", false), (std::vector<Piece>{{"ab", false}}));
  EXPECT_TRUE(pieces(" \t ").empty());
}

TEST(TextPretokenize, ApostropheBetweenLettersStaysInTheWord) {
  EXPECT_EQ(pieces("don't it\xE2\x80\x99s 'q' l'"),
            (std::vector<Piece>{{"don't", true}, {"it\xE2\x80\x99s", true}, {"'", true}, {"q", false}, {"'", false},
                                {"l", true}, {"'", false}}));
}

TEST(TextPretokenize, LongRunsAreCutEveryMaxChars) {
  std::string run;
  for (int i = 0; i < 70; ++i) run += "\xE4\xB8\xAD";  // 中 x 70
  auto p = pieces(run);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].bytes.size(), 3 * kMaxPretokenChars);
  EXPECT_TRUE(p[0].word_start);
  EXPECT_FALSE(p[1].word_start);
  EXPECT_EQ(p[2].bytes.size(), 3 * (70 - 2 * kMaxPretokenChars));
}

TEST(TextNormalise, LineEndsAndWhitespace) {
  EXPECT_EQ(normalise("  a  b \r\nc\rd\n\ne"), "a b\nc\nd\n\ne\n");
  EXPECT_EQ(normalise(""), "");
  EXPECT_EQ(normalise("x\n"), "x\n");
  EXPECT_EQ(normalise("x\n  "), "x\n\n");
  EXPECT_EQ(normalise("a\xE3\x80\x80\xC2\xA0z"), "a z\n");
  EXPECT_EQ(normalise(std::string("a\0b", 3)), std::string("a\0b\n", 4));
}

}  // namespace
}  // namespace tokvec
