#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <optional>

#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"
#include "base/io.h"
#include "run/sections.h"
#include "tokvec/status.h"

namespace tokvec {
namespace {

using test::TempDir;

CorpusData small_corpus() {
  CorpusData c;
  c.tokenizer_kind = tokvec::TokenizerKind::words;
  c.tokenizer_checksum = 0x1234;
  c.source = "inline";
  c.vocab = {"the", "cat", "sat"};
  c.tokens = {0, 1, 2, 0, 1};
  c.line_ends = {3, 5};
  c.recount();
  return c;
}

// Before: a mapped file cut short under tokvec ended it with SIGBUS ("Bus error", status
// 135) and no word on which file.
TEST(MappedFileDeathTest, FileCutShortWhileMappedIsAnInputErrorNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  test::TempDir dir;
  const std::string path = dir.file("cut.txt");
  test::write_text(path, std::string(3 * 4096, 'x'));
  EXPECT_EXIT(
      {
        MappedFile f(path);
        if (::truncate(path.c_str(), 100) != 0) std::exit(9);
        volatile char c = f.view()[2 * 4096 + 5];
        (void)c;
        std::exit(0);
      },
      ::testing::ExitedWithCode(3), "tokvec: error: .*cut.txt: changed size while being read");
  // A fault outside any mapping still ends the process as before. (Under AddressSanitizer
  // "before" is its own handler, which reports the signal as an error of the run.)
#ifndef __SANITIZE_ADDRESS__
  EXPECT_EXIT({ MappedFile f(path); std::raise(SIGBUS); }, ::testing::KilledBySignal(SIGBUS), "");
#endif
}

TEST(AtomicFileWriter, CommitMakesFileVisible) {
  TempDir dir;
  std::string path = dir.file("out.bin");
  {
    AtomicFileWriter w(path);
    w.write("hello");
    EXPECT_FALSE(std::filesystem::exists(path));
    w.commit();
  }
  EXPECT_EQ(test::read_text(path), "hello");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(AtomicFileWriter, FailureKeepsOldFileAndLeavesNoTemp) {
  TempDir dir;
  std::string path = dir.file("out.bin");
  test::write_text(path, "old");
  try {
    AtomicFileWriter w(path, /*fail_after_bytes=*/3);
    w.write("ab");
    w.write("cd");  // passes 3 bytes: injected ENOSPC
    FAIL() << "expected an injected failure";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("out.bin"), std::string::npos);
  }
  EXPECT_EQ(test::read_text(path), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(AtomicFileWriter, MissingFolderIsAClearError) {
  TempDir dir;
  try {
    AtomicFileWriter w(dir.file("no/such/folder/x"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
}

TEST(AtomicFileWriter, ReadOnlyFolderIsAClearError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores folder permissions";
  TempDir dir;
  std::filesystem::create_directory(dir.file("ro"));
  ::chmod(dir.file("ro").c_str(), 0555);
  EXPECT_THROW(AtomicFileWriter(dir.file("ro/x")), Error);
}

TEST(AtomicFileWriter, WritesThroughASymbolicLink) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("real"));
  test::write_text(dir.file("real/f.txt"), "old");
  std::filesystem::create_symlink("real/f.txt", dir.file("link.txt"));
  std::filesystem::create_symlink(dir.file("real/new.txt"), dir.file("dangling.txt"));
  EXPECT_EQ(resolve_output_target(dir.file("link.txt")), dir.file("real/f.txt"));
  write_file_atomically(dir.file("link.txt"), "new");
  write_file_atomically(dir.file("dangling.txt"), "made");
  EXPECT_TRUE(std::filesystem::is_symlink(dir.file("link.txt")));
  EXPECT_TRUE(std::filesystem::is_symlink(dir.file("dangling.txt")));
  EXPECT_EQ(test::read_text(dir.file("real/f.txt")), "new");
  EXPECT_EQ(test::read_text(dir.file("real/new.txt")), "made");
  std::filesystem::create_symlink("loop2", dir.file("loop1"));
  std::filesystem::create_symlink("loop1", dir.file("loop2"));
  EXPECT_THROW(AtomicFileWriter(dir.file("loop1")), Error);
}

TEST(AtomicFileSet, AFailureReplacesNoFileOfTheSet) {
  TempDir dir;
  test::write_text(dir.file("a"), "old a");
  test::write_text(dir.file("b"), "old b");
  // The second file fails while written, then (as a disk filling up shows it) at its last flush.
  try {
    AtomicFileSet set;
    set.add(dir.file("a")).write("new a");
    set.add(dir.file("b"), /*fail_after_bytes=*/2).write("new b");
    FAIL() << "expected an injected failure";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
  }
  ::setenv("TOKVEC_TEST_FAIL_WRITE", "b", 1);
  try {
    AtomicFileSet set;
    set.add(dir.file("a")).write("new a");
    set.add(dir.file("b")).write("new b");
    set.commit();
    FAIL() << "expected an injected failure";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
  ::unsetenv("TOKVEC_TEST_FAIL_WRITE");
  EXPECT_EQ(test::read_text(dir.file("a")), "old a");
  EXPECT_EQ(test::read_text(dir.file("b")), "old b");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 2);
  AtomicFileSet set;
  set.add(dir.file("a")).write("new a");
  set.add(dir.file("b")).write("new b");
  set.commit();
  EXPECT_EQ(test::read_text(dir.file("a")), "new a");
  EXPECT_EQ(test::read_text(dir.file("b")), "new b");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 2);
}

TEST(AtomicFileSet, OneFileTwiceIsRefused) {
  TempDir dir;
  AtomicFileSet set;
  set.add(dir.file("a"));
  EXPECT_THROW(set.add(dir.path().string() + "/./a"), Error);
}

TEST(OutputSafety, AnInputOrARunFileIsNoOutput) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), "x");
  std::filesystem::create_hard_link(dir.file("in.txt"), dir.file("hard.txt"));
  EXPECT_THROW(check_output_is_safe("--output", dir.file("hard.txt"), {dir.file("in.txt")}), Error);
  EXPECT_NO_THROW(check_output_is_safe("--output", dir.file("other.txt"), {dir.file("in.txt")}));
  EXPECT_NO_THROW(check_output_is_safe("--output", "-", {"-"}));
  std::filesystem::create_directory(dir.file("run"));
  test::write_text(dir.file("run/config.json"), "{}");
  EXPECT_THROW(check_output_is_safe("--output", dir.file("run/checkpoint-000003.tkv"), {}), Error);
  EXPECT_THROW(check_output_is_safe("--output", dir.file("run/corpus.tkc"), {}), Error);
  EXPECT_NO_THROW(check_output_is_safe("--output", dir.file("run/vectors.vec"), {}));
  EXPECT_NO_THROW(check_output_is_safe("--output", dir.file("corpus.tkc"), {}));  // no run there
}

TEST(FolderLock, ASecondHolderIsRefusedWithThePid) {
  TempDir dir;
  std::optional<FolderLock> first(std::in_place, dir.path().string());
  try {
    FolderLock second(dir.path().string());
    FAIL() << "two locks on one folder";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("(pid " + std::to_string(::getpid()) + ")"), std::string::npos) << e.what();
  }
  first.reset();
  EXPECT_NO_THROW(FolderLock again(dir.path().string()));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Sections, RoundTripAndTagLookup) {
  TempDir dir;
  std::string path = dir.file("f.bin");
  SectionWriter w(path, "TESTFILE", 3);
  w.add("AAAA", "first");
  std::vector<uint32_t> ids = {1, 2, 3};
  w.add_view("BBBB", std::as_bytes(std::span<const uint32_t>(ids)));
  w.commit();
  SectionReader r(path, "TESTFILE", 1, 3);
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.section("AAAA"), "first");
  auto arr = r.array<uint32_t>("BBBB");
  ASSERT_EQ(arr.size(), 3u);
  EXPECT_EQ(arr[2], 3u);
  EXPECT_FALSE(r.has("CCCC"));
  EXPECT_THROW(r.section("CCCC"), Error);
  EXPECT_THROW(SectionReader(path, "OTHERMAG", 1, 3), Error);
  EXPECT_THROW(SectionReader(path, "TESTFILE", 4, 5), Error);
}

/// Flips one byte anywhere in the file: every position must be caught as corrupt.
TEST(Sections, EveryFlippedByteIsDetected) {
  TempDir dir;
  std::string path = dir.file("f.bin");
  SectionWriter w(path, "TESTFILE", 1);
  w.add("AAAA", std::string(100, 'x'));
  w.add("BBBB", std::string(10, 'y'));
  w.commit();
  std::string original = test::read_text(path);
  SectionReader(path, "TESTFILE", 1, 1);  // intact: no throw
  for (size_t i = 0; i < original.size(); ++i) {
    std::string damaged = original;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x20);
    test::write_text(path, damaged);
    bool padding = false;
    try {
      SectionReader r(path, "TESTFILE", 1, 1);
      // Only alignment padding between sections is not covered by a checksum, and it is
      // never read, so a flip there changes nothing the reader returns.
      padding = r.section("AAAA") == std::string(100, 'x') && r.section("BBBB") == std::string(10, 'y');
    } catch (const Error& e) {
      EXPECT_TRUE(e.kind() == ErrorKind::corrupt) << e.what();
      continue;
    }
    EXPECT_TRUE(padding) << "flip at byte " << i << " went unnoticed";
  }
}

TEST(Sections, TruncationNamesTheSection) {
  TempDir dir;
  std::string path = dir.file("f.bin");
  SectionWriter w(path, "TESTFILE", 1);
  w.add("AAAA", "a");
  w.add("BBBB", std::string(1000, 'b'));
  w.commit();
  std::string original = test::read_text(path);
  test::write_text(path, original.substr(0, original.size() - 10));
  try {
    SectionReader r(path, "TESTFILE", 1, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("section BBBB"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  test::write_text(path, original.substr(0, 5));
  EXPECT_THROW(SectionReader(path, "TESTFILE", 1, 1), Error);
}

TEST(Corpus, RoundTrip) {
  TempDir dir;
  std::string path = dir.file("c.tkc");
  CorpusData c = small_corpus();
  write_corpus(path, c);
  TokenCorpus t = TokenCorpus::open(path);
  EXPECT_EQ(t.vocab(), c.vocab);
  EXPECT_EQ(t.tokenizer_kind(), tokvec::TokenizerKind::words);
  EXPECT_EQ(t.tokenizer_checksum(), 0x1234u);
  CorpusView v = t.view();
  EXPECT_EQ(std::vector<uint32_t>(v.tokens.begin(), v.tokens.end()), c.tokens);
  EXPECT_EQ(std::vector<uint64_t>(v.line_ends.begin(), v.line_ends.end()), c.line_ends);
  EXPECT_EQ(std::vector<uint64_t>(v.counts.begin(), v.counts.end()), (std::vector<uint64_t>{2, 2, 1}));
}

TEST(Corpus, RefusesToWriteInvalidIds) {
  TempDir dir;
  CorpusData c = small_corpus();
  c.tokens.push_back(7);
  c.line_ends.back() = c.tokens.size();
  EXPECT_THROW(write_corpus(dir.file("c.tkc"), c), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.tkc")));
}

TEST(Corpus, NotACorpusIsRefused) {
  TempDir dir;
  test::write_text(dir.file("x"), "hello world, this is text");
  try {
    TokenCorpus::open(dir.file("x"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    EXPECT_NE(std::string(e.what()).find("looks like plain text, not a tokvec token corpus"), std::string::npos) << e.what();
  }
  EXPECT_THROW(TokenCorpus::open(dir.file("missing")), Error);
}

TEST(Checkpoint, StateRoundTripIsExact) {
  TempDir dir;
  TrainingState s;
  s.config_json = R"({"dim":3})";
  s.tokenizer_kind = tokvec::TokenizerKind::words;
  s.tokenizer_checksum = 99;
  s.vocab = {"a", "b"};
  s.frequencies = {5, 3};
  s.input = Matrix(2, 3);
  s.output = Matrix(2, 3);
  s.input.row(1)[2] = 0.25f;
  s.output.row(0)[0] = -1.5f;
  s.input_updates = {1, 2};
  s.output_positive_updates = {3, 4};
  s.output_negative_updates = {5, 6};
  s.seed = 7;
  s.tokens_done = 10;
  s.tokens_total = 10;
  s.epochs_done = 1;
  s.loss_sum = 2.5;
  s.loss_count = 4;
  save_state(dir.file("s.tkv"), s);
  TrainingState t = load_state(dir.file("s.tkv"));
  EXPECT_EQ(t.vocab, s.vocab);
  EXPECT_EQ(t.dim(), 3u);
  EXPECT_EQ(t.input.row(1)[2], 0.25f);
  EXPECT_EQ(t.output.row(0)[0], -1.5f);
  EXPECT_EQ(t.output_negative_updates, s.output_negative_updates);
  EXPECT_EQ(t.loss_sum, 2.5);
  EXPECT_TRUE(t.finished());
  EXPECT_EQ(t.config_json, s.config_json);
}

}  // namespace
}  // namespace tokvec
