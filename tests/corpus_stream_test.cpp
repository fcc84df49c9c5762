// Streaming corpus files and bounded memory: CorpusFileWriter and write_word_corpus give
// the same bytes as the in-memory writers, a mapped corpus drops the pages it has read,
// and training through the mapped corpus (which releases pages) is bit-identical.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "tokvec/corpus.h"
#include "base/io.h"
#include "sgns/sampler.h"
#include "run/sections.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"
#include "tokvec/vocab.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

/// Resident kB of this process's mappings that overlap [begin, end) (/proc/self/smaps
/// "Rss:"; madvise may have split one file mapping into several).
long resident_kb(const void* begin, const void* end) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  const auto b = reinterpret_cast<uintptr_t>(begin), e = reinterpret_cast<uintptr_t>(end);
  bool inside = false;
  long total = 0;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) {  // a mapping's first line
      inside = lo < e && b < hi;
      continue;
    }
    if (inside && line.rfind("Rss:", 0) == 0) total += std::stol(line.substr(4));
  }
  return total;
}

CorpusData sample_corpus() {
  CorpusData c;
  c.tokenizer_kind = tokvec::TokenizerKind::words;
  c.tokenizer_checksum = 77;
  c.source = "sample.txt";
  c.vocab = {"x", "y", "zz"};
  c.tokens = {0, 1, 2, 0, 0, 1, 2, 2, 0};
  c.line_ends = {3, 4, 9};
  c.recount();
  return c;
}

TEST(CorpusFileWriter, WritesTheBytesOfWriteCorpus) {
  TempDir dir;
  const CorpusData c = sample_corpus();
  write_corpus(dir.file("a.tkc"), c);
  {
    CorpusFileWriter w(dir.file("b.tkc"), c.tokenizer_kind, c.tokenizer_checksum, c.source, c.vocab, c.counts);
    w.end_line();  // an empty line at the start is no line
    w.append(std::span(c.tokens).subspan(0, 2));
    w.append(std::span(c.tokens).subspan(2, 1));
    w.end_line();
    w.end_line();  // nor an empty line in the middle
    w.append(std::span(c.tokens).subspan(3, 1));
    w.end_line();
    w.append(std::span(c.tokens).subspan(4));
    EXPECT_FALSE(fs::exists(dir.file("b.tkc")));  // nothing under the name before commit
    w.commit();                                   // ends the last line
  }
  EXPECT_EQ(test::read_text(dir.file("a.tkc")), test::read_text(dir.file("b.tkc")));
  TokenCorpus back = TokenCorpus::open(dir.file("b.tkc"));
  EXPECT_EQ(std::vector<uint64_t>(back.view().line_ends.begin(), back.view().line_ends.end()), c.line_ends);
}

TEST(CorpusFileWriter, RefusesIdsThatDoNotMatchTheCountsAndLeavesNoFile) {
  TempDir dir;
  const CorpusData c = sample_corpus();
  {
    CorpusFileWriter w(dir.file("c.tkc"), c.tokenizer_kind, c.tokenizer_checksum, c.source, c.vocab, c.counts);
    const std::vector<uint32_t> bad = {3};
    EXPECT_THROW(w.append(bad), Error);  // outside the vocabulary
  }
  {
    CorpusFileWriter w(dir.file("c.tkc"), c.tokenizer_kind, c.tokenizer_checksum, c.source, c.vocab, c.counts);
    std::vector<uint32_t> ids = c.tokens;
    std::swap(ids[0], ids[1]);
    ids[1] = 1;  // as many tokens, other counts
    w.append(ids);
    EXPECT_THROW(w.commit(), Error);
  }
  {
    CorpusFileWriter w(dir.file("c.tkc"), c.tokenizer_kind, c.tokenizer_checksum, c.source, c.vocab, c.counts);
    w.append(std::span(c.tokens).subspan(1));  // one token short
    EXPECT_THROW(w.commit(), Error);
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), {}), 0);
}

TEST(SectionStreamWriter, EmptyLastSectionReadsBackLikeSectionWriter) {
  TempDir dir;
  SectionWriter a(dir.file("a.bin"), "TESTFILE", 3);
  a.add("ONE ", "abc");
  a.add("TWO ", "");
  a.commit();
  SectionStreamWriter b(dir.file("b.bin"), "TESTFILE", 3, 2);
  const size_t one = b.begin("ONE ", 3);
  const size_t two = b.begin("TWO ");  // the declared length lets it begin at once
  b.write(one, "ab", 2);
  b.write(one, "c", 1);
  b.end(one);
  b.end(two);
  b.commit();
  EXPECT_EQ(test::read_text(dir.file("a.bin")), test::read_text(dir.file("b.bin")));
  SectionReader r(dir.file("b.bin"), "TESTFILE", 3, 3);
  EXPECT_EQ(r.section("ONE "), "abc");
  EXPECT_EQ(r.section("TWO "), "");
}

TEST(SectionStreamWriter, DeclaredLengthIsEnforced) {
  TempDir dir;
  SectionStreamWriter w(dir.file("x.bin"), "TESTFILE", 1, 1);
  const size_t s = w.begin("ONE ", 2);
  w.write(s, "a", 1);
  EXPECT_THROW(w.end(s), Error);
  EXPECT_THROW(w.write(s, "bc", 2), Error);
}

std::string zipf_like_text(int lines) {
  std::string text;
  Rng rng(3, 1);
  for (int l = 0; l < lines; ++l) {
    for (int k = 0; k < 9; ++k) {
      // Rank r with probability ~ 1/r over 300 words: many rare words to drop.
      const uint64_t r = 1 + rng.below(300) * rng.below(300) / 300;
      text += "w" + std::to_string(r) + (k % 4 == 3 ? "\t" : " ");
    }
    text += l % 7 == 0 ? "\r\n\n" : "\n";
  }
  return text;
}

TEST(WriteWordCorpus, StreamsTheSameFileAsBuildWordCorpus) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), zipf_like_text(3000));
  for (size_t block : {size_t{64}, size_t{1000}, size_t{1} << 20}) {
    fs::remove(dir.file("b.tkc"));
    WordVocabConfig wc;
    wc.min_count = 4;
    wc.block_bytes = block;
    wc.threads = 2;
    write_corpus(dir.file("a.tkc"), build_word_corpus(dir.file("in.txt"), wc));
    bool called = false;
    WordCorpusInfo info = write_word_corpus(dir.file("in.txt"), wc, dir.file("b.tkc"), [&](const WordCorpusInfo& i) {
      called = true;
      EXPECT_FALSE(fs::exists(dir.file("b.tkc")));  // called before the file is written
      EXPECT_GT(i.distinct_words, i.vocab_size);    // rare words were dropped
    });
    EXPECT_TRUE(called);
    EXPECT_EQ(test::read_text(dir.file("a.tkc")), test::read_text(dir.file("b.tkc"))) << block;
    TokenCorpus c = TokenCorpus::open(dir.file("b.tkc"));
    EXPECT_EQ(info.token_count, c.view().tokens.size());
    EXPECT_EQ(info.line_count, c.view().line_ends.size());
    EXPECT_EQ(info.tokenizer_checksum, c.tokenizer_checksum());
  }
}

// The counting pass keeps the token ids while they fit keep_ids_bytes, so the text is read
// once; past the budget (from the start, or midway) it is read again. The file is the same.
TEST(WriteWordCorpus, ReadsTheTextOnceWhenItsIdsFitAndTwiceOtherwise) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), zipf_like_text(3000));
  for (size_t block : {size_t{64}, size_t{1000}, size_t{1} << 20}) {
    std::string reference;
    for (uint64_t budget : {uint64_t{256} << 20, uint64_t{0}, uint64_t{2000}}) {
      WordVocabConfig wc;
      wc.min_count = 4;
      wc.block_bytes = block;
      wc.threads = 2;
      wc.keep_ids_bytes = budget;
      const std::string out = dir.file("c" + std::to_string(budget) + ".tkc");
      const WordCorpusInfo info = write_word_corpus(dir.file("in.txt"), wc, out, {});
      EXPECT_EQ(info.passes, budget == (uint64_t{256} << 20) ? 1 : 2) << block << " " << budget;
      if (reference.empty()) reference = test::read_text(out);
      EXPECT_EQ(test::read_text(out), reference) << block << " " << budget;
      // In memory too.
      const TokenCorpus mapped = TokenCorpus::open(out);
      const std::span<const uint32_t> ids = mapped.view().tokens;
      EXPECT_EQ(build_word_corpus(dir.file("in.txt"), wc).tokens, std::vector<uint32_t>(ids.begin(), ids.end())) << block;
    }
  }
}

TEST(WriteWordCorpus, ACallbackThatThrowsLeavesNoFile) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), zipf_like_text(50));
  WordVocabConfig wc;
  wc.min_count = 1;
  EXPECT_THROW(write_word_corpus(dir.file("in.txt"), wc, dir.file("b.tkc"),
                                 [](const WordCorpusInfo&) { throw usage_error("stop"); }),
               Error);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), {}), 1);
}

/// A corpus of `n` tokens over 40 ids in lines of 50, written to `path`.
CorpusData long_corpus(uint64_t n) {
  CorpusData c;
  c.tokenizer_kind = tokvec::TokenizerKind::words;
  for (int i = 0; i < 40; ++i) c.vocab.push_back("t" + std::to_string(i));
  Rng rng(9, 0);
  c.tokens.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    c.tokens[i] = static_cast<uint32_t>(rng.below(40));
    if ((i + 1) % 50 == 0 || i + 1 == n) c.line_ends.push_back(i + 1);
  }
  c.recount();
  return c;
}

TEST(MappedCorpus, OpeningAndReadingReleaseThePagesRead) {
  TempDir dir;
  const uint64_t n = uint64_t{6} << 20;  // 24 MB of ids
  {
    CorpusData c = long_corpus(n);
    write_corpus(dir.file("c.tkc"), c);
  }
  TokenCorpus c = TokenCorpus::open(dir.file("c.tkc"));
  const CorpusView v = c.view();
  ASSERT_TRUE(v.mapped);
  // Open checked every checksum, id and count, chunk by chunk, releasing as it went.
  EXPECT_LT(resident_kb(v.tokens.data(), v.tokens.data() + n), 8 * 1024);
  // A reader that reports its progress keeps only the last few MB resident.
  uint64_t sum = 0, released = 0;
  for (uint64_t p = 0; p < n; p += 4096) {
    const uint64_t end = std::min(n, p + 4096);
    for (uint64_t i = p; i < end; ++i) sum += v.tokens[i];
    released = v.done_with(released, end);
  }
  EXPECT_GT(released, n - CorpusView::kReleaseTokens - 4096);
  EXPECT_LT(resident_kb(v.tokens.data(), v.tokens.data() + n), 8 * 1024);
  // Released pages read back the same.
  uint64_t again = 0;
  for (uint64_t i = 0; i < n; ++i) again += v.tokens[i];
  EXPECT_EQ(sum, again);
  // Read without releasing, the pages stay: the measure sees them (the bounds above are
  // not vacuous).
  EXPECT_GT(resident_kb(v.tokens.data(), v.tokens.data() + n), 20 * 1024);
  // An in-memory corpus is never released.
  CorpusData mem = long_corpus(1000);
  EXPECT_EQ(mem.view().done_with(0, 1000), 0u);
}

TEST(MappedCorpus, TrainingThroughTheMapIsBitIdenticalToTrainingFromMemory) {
  TempDir dir;
  const CorpusData mem = long_corpus(uint64_t{5} << 19);  // 2.5 M tokens: pages are released
  write_corpus(dir.file("c.tkc"), mem);
  const TokenCorpus mapped = TokenCorpus::open(dir.file("c.tkc"));
  TrainConfig cfg;
  cfg.dim = 4;
  cfg.window = 2;
  cfg.negative = 1;
  cfg.sample = 1e-3;
  cfg.epochs = 2;  // the second epoch reads released pages back
  cfg.threads = 1;
  cfg.quiet = true;
  TrainingState a = initial_state(mem.view(), mem.vocab, tokvec::TokenizerKind::words, 0, cfg);
  train(mem.view(), cfg, a);
  TrainingState b = initial_state(mapped.view(), mapped.vocab(), tokvec::TokenizerKind::words, 0, cfg);
  train(mapped.view(), cfg, b);
  ASSERT_EQ(a.input.storage().size(), b.input.storage().size());
  EXPECT_EQ(std::memcmp(a.input.storage().data(), b.input.storage().data(), a.input.storage().size_bytes()), 0);
  EXPECT_EQ(std::memcmp(a.output.storage().data(), b.output.storage().data(), a.output.storage().size_bytes()), 0);
  EXPECT_EQ(a.input_updates, b.input_updates);
}

}  // namespace
}  // namespace tokvec
