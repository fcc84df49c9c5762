#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"
#include "tokvec/bpe.h"
#include "tokvec/status.h"
#include "text/text.h"

namespace tokvec {
namespace {

using test::TempDir;

std::string fixture(const std::string& name) { return std::string(TOKVEC_TEST_DATA_DIR) + "/" + name; }

/// Deterministic mixed text: English-like words, punctuation, digits, accents, CJK and
/// Thai runs with no spaces, odd whitespace and line ends.
std::string sample_text(size_t words, uint32_t seed) {
  static const char* kWords[] = {"the", "of", "and", "tokenizer", "merges", "pairs", "café", "naïve", "Zürich",
                                 "東京都", "日本語のテキスト", "ภาษาไทยไม่มีช่องว่าง", "42", "3.14", "don't", "—", "«quoted»",
                                 "e\xCC\x81t\xC3\xA9", "emoji😀", "▁literal", "a"};
  static const char* kSeps[] = {" ", " ", " ", " ", "  ", "\t", ", ", ". ", "\n", "\r\n", "\xE3\x80\x80"};
  static const char* kSyllables[] = {"ka", "to", "ri", "mu", "sen", "pla", "dro", "qui", "ël", "ßa", "ну", "да", "ко", "ли"};
  std::mt19937 rng(seed);
  std::string out;
  for (size_t i = 0; i < words; ++i) {
    if (rng() % 2 == 0) {
      out += kWords[rng() % std::size(kWords)];
    } else {  // a made-up word of 1-4 syllables: many distinct words to merge
      for (size_t k = 0, n = 1 + rng() % 4; k < n; ++k) out += kSyllables[rng() % std::size(kSyllables)];
    }
    out += kSeps[rng() % std::size(kSeps)];
  }
  return out;
}

BpeModel train_on(const std::string& path, uint32_t vocab, int threads, uint64_t min_frequency = 2, size_t block = 4 << 20) {
  BpeTrainConfig c;
  c.inputs = {path};
  c.vocab_size = vocab;
  c.threads = threads;
  c.min_frequency = min_frequency;
  c.quiet = true;
  c.block_bytes = block;
  return train_bpe(c);
}

std::string decode_corpus(const BpeModel& m, const CorpusData& c) {
  std::string out;
  uint64_t begin = 0;
  for (uint64_t end : c.line_ends) {
    out += m.decode(std::span<const uint32_t>(c.tokens).subspan(begin, end - begin));
    out += '\n';
    begin = end;
  }
  return out;
}

TEST(BpeGolden, Abracadabra) {
  // Hand-checked: pair counts over ▁abracadabra x3, ▁cabra, ▁dabra; ties go to the
  // smaller (left id, right id).
  BpeModel m = train_on(fixture("abracadabra.txt"), 262, 1);
  std::vector<BpeMerge> expected = {{'a', 'b'}, {'r', 'a'}, {257, 258}, {'d', 259}, {'a', 260}};
  EXPECT_EQ(std::vector<BpeMerge>(m.merges().begin(), m.merges().end()), expected);
  EXPECT_EQ(m.piece(259), "abra");
  EXPECT_EQ(m.piece(261), "adabra");
  std::vector<uint32_t> ids;
  m.encode_line("abracadabra", ids);
  std::vector<std::string> got;
  for (uint32_t id : ids) got.emplace_back(m.piece(id));
  EXPECT_EQ(got, (std::vector<std::string>{"▁", "abra", "c", "adabra"}));
  EXPECT_EQ(m.piece(kBpeMarkerId), "▁");
  EXPECT_EQ(m.piece(0xFF), "<0xFF>");
  EXPECT_EQ(m.piece(' '), "<0x20>");
  // The file is byte-for-byte what this version writes for that model.
  EXPECT_EQ(m.serialize().substr(0, 40), "tokvec-bpe 1\nvocab 262 chars 0 merges 5\n");
}

TEST(BpeGolden, EncodeWordAndDecode) {
  BpeModel m = train_on(fixture("abracadabra.txt"), 262, 1);
  std::vector<uint32_t> w = m.encode_word("dabra");
  EXPECT_EQ(m.decode(w), "dabra");
  EXPECT_TRUE(m.starts_word(w.front()));
  EXPECT_THROW(m.decode(std::vector<uint32_t>{262}), Error);
}

TEST(BpeModelFile, SaveLoadRoundTrip) {
  TempDir dir;
  test::write_text(dir.file("t.txt"), sample_text(3000, 1));
  BpeModel m = train_on(dir.file("t.txt"), 600, 2);
  m.save(dir.file("m.bpe"));
  BpeModel back = BpeModel::load(dir.file("m.bpe"));
  EXPECT_EQ(back.checksum(), m.checksum());
  EXPECT_EQ(back.serialize(), m.serialize());
  EXPECT_EQ(back.vocab_size(), 600u);
}

TEST(BpeModelFile, CorruptionIsReportedWithLine) {
  TempDir dir;
  test::write_text(dir.file("t.txt"), sample_text(3000, 2));
  BpeModel m = train_on(dir.file("t.txt"), 500, 1);
  std::string good = m.serialize();
  auto expect_corrupt = [&](const std::string& bytes, const std::string& needle) {
    test::write_text(dir.file("bad.bpe"), bytes);
    try {
      BpeModel::load(dir.file("bad.bpe"));
      ADD_FAILURE() << "loaded a corrupt model; expected " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::corrupt) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.bpe"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_corrupt(good.substr(0, good.size() / 2), "truncated");
  expect_corrupt(good.substr(0, good.size() - 1), "line");
  expect_corrupt("hello\n", "bad.bpe: looks like plain text, not a tokvec BPE model");
  expect_corrupt(std::string("\x01\x02\xff\xfe binary", 11), "line 1: not a tokvec BPE model");
  expect_corrupt("", "line 1");
  expect_corrupt("tokvec-bpe 2\n", "line 1");
  // An altered merge id: the line with it is named.
  size_t at = good.find("merge ");
  size_t line = static_cast<size_t>(std::count(good.begin(), good.begin() + static_cast<long>(at), '\n')) + 1;
  std::string altered = good;
  altered[at + 6] = altered[at + 6] == '1' ? '2' : '1';
  expect_corrupt(altered, "line " + std::to_string(line));
  // An altered piece only: caught by the comparison with the ids.
  std::string piece_altered = good;
  size_t eol = piece_altered.find('\n', at);
  piece_altered.insert(eol, "x");
  expect_corrupt(piece_altered, "line " + std::to_string(line));
  // Altered checksum.
  std::string sum = good;
  sum[sum.size() - 2] = sum[sum.size() - 2] == '0' ? '1' : '0';
  expect_corrupt(sum, "checksum");
}

TEST(BpeDeterminism, SameModelBytesForAnyThreadCountAndBlockSize) {
  TempDir dir;
  test::write_text(dir.file("t.txt"), sample_text(60000, 3));
  std::string one = train_on(dir.file("t.txt"), 1500, 1).serialize();
  EXPECT_EQ(train_on(dir.file("t.txt"), 1500, 2).serialize(), one);
  EXPECT_EQ(train_on(dir.file("t.txt"), 1500, 4).serialize(), one);
  EXPECT_EQ(train_on(dir.file("t.txt"), 1500, 4, 2, 4096).serialize(), one);
}

TEST(BpeRoundTrip, RandomUnicodeAndRandomBytes) {
  TempDir dir;
  test::write_text(dir.file("t.txt"), sample_text(20000, 4));
  BpeModel m = train_on(dir.file("t.txt"), 1000, 2);
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::string text;
    int len = static_cast<int>(rng() % 200);
    for (int i = 0; i < len; ++i) {
      if (round % 2 == 0) {
        text.push_back(static_cast<char>(rng() & 0xFF));  // random bytes
      } else {
        uint32_t cp;  // random scalar values, biased to small ones and spaces
        switch (rng() % 4) {
          case 0: cp = static_cast<uint32_t>(0x20 + rng() % 0x60); break;
          case 1: cp = " \t\n\r"[rng() % 4]; break;
          case 2: cp = static_cast<uint32_t>(rng() % 0x3000); break;
          default: cp = static_cast<uint32_t>(rng() % 0x110000); break;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
        append_utf8(text, cp);
      }
    }
    test::write_text(dir.file("r.txt"), text);
    if (normalise(text).find_first_not_of('\n') == std::string::npos) continue;  // refused as empty
    EncodeOptions any_bytes;
    any_bytes.threads = 2;
    any_bytes.allow_binary = true;  // random bytes are not UTF-8: the check would refuse them
    CorpusData c = encode_file(m, dir.file("r.txt"), any_bytes);
    ASSERT_EQ(decode_corpus(m, c), normalise(text)) << "round " << round;
  }
}

TEST(BpeEncode, FileMatchesLinesAndIsIndependentOfBlocksAndThreads) {
  TempDir dir;
  std::string text = sample_text(40000, 6);
  test::write_text(dir.file("t.txt"), text);
  BpeModel m = train_on(dir.file("t.txt"), 800, 2);
  EncodeOptions big;
  big.threads = 1;
  CorpusData a = encode_file(m, dir.file("t.txt"), big);
  EncodeOptions small;
  small.threads = 4;
  small.block_bytes = 4096;
  CorpusData b = encode_file(m, dir.file("t.txt"), small);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.line_ends, b.line_ends);
  EXPECT_EQ(a.tokenizer_checksum, m.checksum());
  EXPECT_EQ(a.tokenizer_kind, tokvec::TokenizerKind::bpe);
  EXPECT_EQ(a.vocab.size(), m.vocab_size());
  EXPECT_EQ(decode_corpus(m, a), normalise(text));
  // The stateless encode_line agrees with the cached file encoder.
  std::vector<uint32_t> ids;
  std::string norm = normalise(text);
  for (size_t i = 0, k = 0; i < norm.size(); ++k) {
    size_t j = norm.find('\n', i);
    m.encode_line(std::string_view(norm).substr(i, j - i), ids);
    ASSERT_EQ(ids.size(), a.line_ends[k]) << "line " << k;
    i = j + 1;
  }
  EXPECT_EQ(ids, a.tokens);
}

TEST(BpeEncode, ManyThreadsAtOnceGiveTheSameIds) {
  TempDir dir;
  std::string text = sample_text(5000, 7);
  test::write_text(dir.file("t.txt"), text);
  BpeModel m = train_on(dir.file("t.txt"), 700, 2);
  std::vector<uint32_t> expected;
  m.encode_line(text, expected);
  std::vector<std::vector<uint32_t>> got(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      BpeEncoder enc(m);
      for (int rep = 0; rep < 3; ++rep) {
        got[t].clear();
        if (t % 2 == 0) enc.encode_line(text, got[t]);
        else m.encode_line(text, got[t]);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& g : got) EXPECT_EQ(g, expected);
}

TEST(BpeOddInput, LongLineNoSpacesCrlfNulNoFinalNewline) {
  TempDir dir;
  // ~3 MB on one line with no ASCII space at all (CJK and Thai), then CRLF lines, NULs,
  // invalid bytes, a very long word and no final newline.
  std::string text;
  std::mt19937 rng(8);
  const char* chunks[] = {"日本語の", "テキスト", "ภาษาไทย", "中文没有空格", "，", "。", "\xE3\x80\x80"};
  while (text.size() < (3u << 20)) text += chunks[rng() % std::size(chunks)];
  text += "\r\nline two\r\n\r\n";
  text += std::string("nul\0byte \xFF\xFE bad \xE6\x97 cut", 22);
  text += "\n" + std::string(5000, 'w') + " end";
  test::write_text(dir.file("odd.txt"), text);
  BpeModel m = train_on(dir.file("odd.txt"), 2000, 2, 2, 1 << 16);
  EncodeOptions o;
  o.threads = 2;
  o.block_bytes = 1 << 16;
  CorpusData c = encode_file(m, dir.file("odd.txt"), o);
  EXPECT_EQ(c.line_ends.size(), 5u);
  EXPECT_EQ(decode_corpus(m, c), normalise(text));
  EncodeOptions o2 = o;
  o2.block_bytes = 5000;
  CorpusData c2 = encode_file(m, dir.file("odd.txt"), o2);
  EXPECT_EQ(c2.tokens, c.tokens);
  EXPECT_EQ(train_on(dir.file("odd.txt"), 2000, 1, 2, 4096).serialize(), m.serialize());
}

/// Encoding straight into the corpus file (CorpusFileWriter without counts) writes the
/// very bytes that encoding in memory and write_corpus write: blank lines, a blank line at
/// the end, CRLF and lone CR line ends, trailing spaces after the last newline, lines cut
/// by small blocks, one and several threads.
TEST(BpeEncode, StreamedCorpusFileIsTheInMemoryOneByteForByte) {
  TempDir dir;
  std::string text = sample_text(30000, 9);
  text += "\n\n\nafter three blank lines\r\ncrlf line\r\rlone cr\r\n\n";
  text += sample_text(5000, 10);
  const std::vector<std::string> endings = {"", "\n", "\n\n", "\n   ", "\r\n", "  "};
  BpeModel m;
  for (size_t k = 0; k < endings.size(); ++k) {
    const std::string name = "t" + std::to_string(k) + ".txt";
    test::write_text(dir.file(name), text + endings[k]);
    if (k == 0) m = train_on(dir.file(name), 700, 2);
    for (int threads : {1, 3}) {
      EncodeOptions o;
      o.threads = threads;
      o.block_bytes = 4096;
      CorpusData c = encode_file(m, dir.file(name), o);
      write_corpus(dir.file("memory.tkc"), c);
      CorpusFileWriter writer(dir.file("streamed.tkc"), TokenizerKind::bpe, m.checksum(), dir.file(name), corpus_vocab(m));
      EXPECT_EQ(encode_file(m, dir.file(name), o, writer), c.tokens.size());
      EXPECT_EQ(writer.lines_written(), c.line_ends.size());
      writer.commit();
      EXPECT_EQ(test::read_text(dir.file("streamed.tkc")), test::read_text(dir.file("memory.tkc"))) << name << " " << threads;
    }
  }
  // An empty text is refused and leaves no file.
  test::write_text(dir.file("blank.txt"), "  \n\n ");
  {
    CorpusFileWriter writer(dir.file("none.tkc"), TokenizerKind::bpe, m.checksum(), dir.file("blank.txt"), corpus_vocab(m));
    EXPECT_THROW(encode_file(m, dir.file("blank.txt"), EncodeOptions{}, writer), Error);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("none.tkc")));
}

TEST(BpeOddInput, LiteralMarkerCharacterRoundTrips) {
  TempDir dir;
  std::string text = "▁ ▁▁x a▁b\n";
  for (int i = 0; i < 50; ++i) text += "word ▁ ▁word\n";
  test::write_text(dir.file("t.txt"), text);
  BpeModel m = train_on(dir.file("t.txt"), 260, 1);
  CorpusData c = encode_file(m, dir.file("t.txt"), 1);
  EXPECT_EQ(decode_corpus(m, c), normalise(text));
  for (uint32_t id = 0; id < m.vocab_size(); ++id) {
    if (m.token_bytes(id).find("▁") != std::string_view::npos) {
      EXPECT_NE(m.piece(id).find("<U+2581>"), std::string_view::npos);
    }
  }
}

TEST(BpeTrain, RefusesWhatTheCorpusCannotSupply) {
  TempDir dir;
  test::write_text(dir.file("t.txt"), "ab ab ab\n");
  try {
    train_on(dir.file("t.txt"), 5000, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_NE(std::string(e.what()).find("at most 259"), std::string::npos) << e.what();
  }
  // The library names the settings by their fields; a front end words them with message().
  try {
    train_on(dir.file("t.txt"), 5000, 1);
    FAIL();
  } catch (const VocabularyTooLarge& e) {
    const std::string file = dir.file("t.txt");
    EXPECT_EQ(std::string(e.what()),
              file + ": the text supports a vocabulary of at most 259 tokens with min_frequency 2 (asked for 5000): lower vocab_size or "
                     "min_frequency");
    EXPECT_EQ(e.message("--bpe-vocab-size", std::nullopt),
              file + ": the text supports a vocabulary of at most 259 tokens with a minimum pair count of 2 (asked for 5000): lower "
                     "--bpe-vocab-size or give more text");
    EXPECT_EQ(e.supported(), 259u);
  }
  // min_frequency: "ab" occurs 3 times; with 4 no pair qualifies.
  EXPECT_THROW(train_on(dir.file("t.txt"), 258, 1, 4), Error);
  EXPECT_EQ(train_on(dir.file("t.txt"), 259, 1, 3).vocab_size(), 259u);
  test::write_text(dir.file("empty.txt"), " \n\t\r\n");
  EXPECT_THROW(train_on(dir.file("empty.txt"), 300, 1), Error);
}

/// Chinese-like text with no spaces: a lexicon of 2-4 character "words" over a
/// few hundred CJK characters, drawn skewed, with commas, line ends, and one long run with
/// no punctuation at all (cut into 32-character pre-tokens).
std::string no_space_text(size_t chars, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> alphabet(300);
  for (auto& c : alphabet) append_utf8(c, static_cast<uint32_t>(0x4E00 + rng() % 3000));
  auto pick_char = [&] { return alphabet[rng() % (1 + rng() % alphabet.size())]; };  // skewed
  std::vector<std::string> lexicon(200);
  for (auto& w : lexicon) {
    for (size_t k = 0, n = 2 + rng() % 3; k < n; ++k) w += pick_char();
  }
  std::string out;
  for (size_t n = 0, since_comma = 0; n < chars; ++n) {
    out += rng() % 5 < 3 ? lexicon[rng() % (1 + rng() % lexicon.size())] : pick_char();
    const bool long_run = n > chars / 2 && n < chars / 2 + 300;
    if (!long_run && ++since_comma > 6 + rng() % 12) {
      out += rng() % 8 == 0 ? "。\n" : "，";
      since_comma = 0;
    }
  }
  return out;
}

/// The training as specified (bpe_train.cpp), the slow obvious way: recount every pair
/// after every merge. Returns the alphabet's code points and the merges.
std::pair<std::vector<uint32_t>, std::vector<BpeMerge>> naive_bpe(const std::string& text, uint32_t vocab, uint64_t min_frequency) {
  std::map<std::pair<std::string, bool>, uint64_t> pretokens;
  const std::string norm = normalise(text);
  for (size_t i = 0; i < norm.size();) {
    const size_t j = norm.find('\n', i);
    pretokenize(std::string_view(norm).substr(i, j - i), true,
                [&](std::string_view b, bool ws, size_t) { ++pretokens[{std::string(b), ws}]; });
    i = j + 1;
  }
  std::map<uint32_t, uint64_t> char_counts;
  for (const auto& [key, count] : pretokens) {
    for (size_t i = 0; i < key.first.size();) {
      Utf8Char c = decode_utf8(key.first, i);
      if (c.valid && c.code_point >= 0x80) char_counts[c.code_point] += count;
      i += c.length;
    }
  }
  std::vector<std::pair<uint64_t, uint32_t>> ranked;
  for (auto [cp, n] : char_counts) {
    if (n >= min_frequency) ranked.emplace_back(n, cp);
  }
  std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  ranked.resize(std::min<size_t>(ranked.size(), vocab - kBpeFixedAlphabet));
  std::vector<uint32_t> chars;
  for (auto& r : ranked) chars.push_back(r.second);
  std::sort(chars.begin(), chars.end());
  std::vector<std::string> bytes;  // per token: marker flag ('\1' or '\0') then its bytes
  for (uint32_t b = 0; b < 256; ++b) bytes.push_back(std::string(1, '\0') + static_cast<char>(b));
  bytes.push_back(std::string(1, '\1'));
  std::map<uint32_t, uint32_t> char_id;
  for (uint32_t cp : chars) {
    char_id[cp] = static_cast<uint32_t>(bytes.size());
    std::string s(1, '\0');
    append_utf8(s, cp);
    bytes.push_back(s);
  }
  std::vector<std::pair<std::vector<uint32_t>, uint64_t>> words;
  for (const auto& [key, count] : pretokens) {
    std::vector<uint32_t> w;
    if (key.second) w.push_back(kBpeMarkerId);
    for (size_t i = 0; i < key.first.size();) {
      Utf8Char c = decode_utf8(key.first, i);
      if (c.valid && char_id.count(c.code_point)) w.push_back(char_id[c.code_point]);
      else for (uint32_t k = 0; k < c.length; ++k) w.push_back(static_cast<unsigned char>(key.first[i + k]));
      i += c.length;
    }
    words.emplace_back(std::move(w), count);
  }
  std::set<std::string> contents(bytes.begin(), bytes.end());
  std::set<std::pair<uint32_t, uint32_t>> refused;
  std::vector<BpeMerge> merges;
  while (bytes.size() < vocab) {
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> counts;
    for (const auto& [w, count] : words) {
      for (size_t i = 0; i + 1 < w.size(); ++i) counts[{w[i], w[i + 1]}] += count;
    }
    std::pair<uint32_t, uint32_t> best{};
    uint64_t best_count = 0;
    for (const auto& [pair, count] : counts) {  // map order: ties go to the smaller pair
      if (count > best_count && !refused.count(pair)) best = pair, best_count = count;
    }
    if (best_count < min_frequency || best_count == 0) break;
    const std::string content = bytes[best.first] + bytes[best.second].substr(1);
    if (!contents.insert(content).second) {
      refused.insert(best);
      continue;
    }
    const uint32_t id = static_cast<uint32_t>(bytes.size());
    bytes.push_back(content);
    merges.push_back({best.first, best.second});
    for (auto& [w, count] : words) {
      std::vector<uint32_t> out;
      for (size_t i = 0; i < w.size();) {
        if (i + 1 < w.size() && w[i] == best.first && w[i + 1] == best.second) out.push_back(id), i += 2;
        else out.push_back(w[i++]);
      }
      w = std::move(out);
    }
  }
  return {chars, merges};
}

TEST(BpeNoSpaces, SameMergesAsTheNaiveDefinitionRoundTripAndDeterminism) {
  // The trainer keeps no state for pairs below --min-frequency, compacts its pre-token
  // lists and purges done pairs; none of that may change a merge. Text with no
  // spaces is the case those paths are for; each runs several times here. Training to
  // the largest vocabulary the text supports takes every pair down to min_frequency.
  TempDir dir;
  const std::string text = no_space_text(4000, 11);
  test::write_text(dir.file("zh.txt"), text);
  for (uint64_t min_frequency : {1, 2, 3}) {
    SCOPED_TRACE("min_frequency " + std::to_string(min_frequency));
    const uint32_t vocab = min_frequency == 1 ? 1000 : kBpeMaxVocab;  // 1: every pair merges
    auto [chars, merges] = naive_bpe(text, vocab, min_frequency);
    const uint32_t size = static_cast<uint32_t>(kBpeFixedAlphabet + chars.size() + merges.size());
    ASSERT_GT(merges.size(), 300u) << "the test text is too small";
    BpeModel m = train_on(dir.file("zh.txt"), size, 2, min_frequency);
    EXPECT_EQ(std::vector<uint32_t>(m.chars().begin(), m.chars().end()), chars);
    EXPECT_EQ(std::vector<BpeMerge>(m.merges().begin(), m.merges().end()), merges);
    if (vocab > size) {
      EXPECT_THROW(train_on(dir.file("zh.txt"), size + 1, 2, min_frequency), Error);
    }
  }
  BpeModel m = train_on(dir.file("zh.txt"), 900, 1);
  EXPECT_EQ(train_on(dir.file("zh.txt"), 900, 4, 2, 4096).serialize(), m.serialize());
  EncodeOptions o;
  o.threads = 2;
  o.block_bytes = 4096;
  CorpusData c = encode_file(m, dir.file("zh.txt"), o);
  EXPECT_EQ(decode_corpus(m, c), normalise(text));
  // The merges found the lexicon's words: fewer tokens than characters (3 bytes each).
  EXPECT_LT(c.tokens.size(), text.size() / 3 * 3 / 4);
}

TEST(BpeTrain, ConfigValidation) {
  BpeTrainConfig c;
  c.inputs = {"x"};
  c.vocab_size = 256;
  EXPECT_THROW(c.validate(), Error);
  c.vocab_size = kBpeMaxVocab + 1;
  EXPECT_THROW(c.validate(), Error);
  c.vocab_size = 300;
  c.min_frequency = 0;
  EXPECT_THROW(c.validate(), Error);
  c.min_frequency = 2;
  c.validate();
  c.inputs.clear();
  EXPECT_THROW(c.validate(), Error);
}

TEST(Bpe, FileThatChangesSizeWhileReadIsAnInputErrorNamingIt) {
  TempDir dir;
  const std::string path = dir.file("t.txt");
  const std::string text = sample_text(3000, 7);
  test::write_text(path, text);
  const BpeModel m = train_on(path, 300, 1);
  for (const std::string& now : {text.substr(0, 10), text.substr(0, text.size() / 2), text + text}) {
    for (bool training : {false, true}) {
      test::write_text(path, text);
      // Both read each input once, taking its size when they open it: cut or grow the
      // file right after that.
      test::ChangeAfterSizeTaken change(now, 1);
      try {
        if (training) {
          (void)train_on(path, 300, 2, 2, 4096);
        } else {
          EncodeOptions eo;
          eo.block_bytes = 4096;
          (void)encode_file(m, path, eo);
        }
        ADD_FAILURE() << "no error, " << (training ? "train_bpe" : "encode_file") << ", file now " << now.size() << " bytes";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::input);
        EXPECT_NE(std::string(e.what()).find(path + ": changed size while being read"), std::string::npos) << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace tokvec
