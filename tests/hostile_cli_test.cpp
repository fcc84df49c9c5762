// Runs and outputs in a hostile world: two commands writing one run folder, --force over
// its own inputs, an output that is an input, a set of files meeting a full disk, signals
// outside the training loop, and outputs that are symbolic links.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "test_util.h"
#include "tokvec/checkpoint.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::run_command;
using test::TempDir;

using test::q;

/// ~3,600 words over 12 types in lines of 12 words.
std::string text() { return test::cycled_words_text(300); }

const char* kFast = " --min-count 1 --dim 8 --window 2 --threads 1 --quiet";

/// `tokvec ARGS` with environment assignments before it (e.g. "TOKVEC_TEST_SIGNAL_AT=x").
test::CliResult run_env(const std::string& env, const std::string& args) {
  return run_command(env + " " + std::string(TOKVEC_CLI_PATH) + " " + args);
}

void expect_no_temp_files(const fs::path& folder) {
  for (const auto& e : fs::directory_iterator(folder)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "left behind: " << e.path();
  }
}

/// A process id no process has: a child's, after it has exited.
std::string dead_pid() {
  test::CliResult r = run_command("sh -c 'echo $$'");
  return r.output.substr(0, r.output.find('\n'));
}

class HostileCli : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_text(dir.file("in.txt"), text());
    ASSERT_EQ(run_cli("bpe-train --input " + q(dir.file("in.txt")) + " --vocab-size 260 --output " + q(dir.file("m.bpe")) + " --quiet").exit_code, 0);
    ASSERT_EQ(run_cli("encode --model " + q(dir.file("m.bpe")) + " --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("c.tkc")) + " --quiet").exit_code, 0);
    ASSERT_EQ(run_cli("train --words --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("run")) + kFast).exit_code, 0);
  }
  std::string run() const { return dir.file("run"); }
  TempDir dir;
};

TEST_F(HostileCli, RunFolderIsLockedWhileWritten) {
  const std::string state = test::read_text(run() + "/state.tkv");
  // The test holds the lock as a running `tokvec train` would.
  const int fd = ::open(run().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const std::string pid = "(pid " + std::to_string(::getpid()) + ")";
  for (const std::string& args : {"train --words --force --input " + q(dir.file("in.txt")) + " --output " + q(run()) + kFast,
                                  "train --resume " + q(run())}) {
    test::CliResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 4) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(run() + ": is in use by another tokvec process " + pid), std::string::npos) << r.output;
  }
  EXPECT_EQ(test::read_text(run() + "/state.tkv"), state);
  // A reader needs no lock; a file written into the run folder waits for the run.
  EXPECT_EQ(run_cli("export " + q(run()) + " --output " + q(dir.file("out.vec"))).exit_code, 0);
  test::CliResult in_run = run_cli("export " + q(run()) + " --output " + q(run() + "/in.vec"));
  EXPECT_EQ(in_run.exit_code, 4) << in_run.output;
  EXPECT_NE(in_run.output.find("is in use by another tokvec process " + pid), std::string::npos) << in_run.output;
  EXPECT_FALSE(fs::exists(run() + "/in.vec"));
  // An empty folder being filled by another train.
  fs::create_directory(dir.file("empty"));
  const int fd2 = ::open(dir.file("empty").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(::flock(fd2, LOCK_EX | LOCK_NB), 0);
  test::CliResult r = run_cli("train --words --input " + q(dir.file("in.txt")) + " --output " + q(dir.file("empty")) + kFast);
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_TRUE(fs::is_empty(dir.file("empty")));
  ::close(fd2);
  ::close(fd);
  // Released: the same commands run, and the lock adds no file to the folder.
  r = run_cli("train --words --force --input " + q(dir.file("in.txt")) + " --output " + q(run()) + kFast);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(run() + "/.lock"));
}

TEST_F(HostileCli, ForceReadsItsInputsBeforeReplacingTheRun) {
  ASSERT_EQ(run_cli("train --input " + q(dir.file("in.txt")) + " --bpe-vocab-size 260 --output " + q(dir.file("bpe")) + kFast).exit_code, 0);
  const std::string bpe = dir.file("bpe");
  const std::string corpus = test::read_text(bpe + "/corpus.tkc");
  // The run's own corpus and tokenizer, retrained into the same folder.
  test::CliResult r = run_cli("train --corpus " + q(bpe + "/corpus.tkc") + " --tokenizer " + q(bpe + "/tokenizer.bpe") + " --output " + q(bpe) +
                              " --force --dim 4 --window 2 --threads 1 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::read_text(bpe + "/corpus.tkc"), corpus);
  EXPECT_EQ(load_state(bpe + "/state.tkv").dim(), 4u);
  expect_no_temp_files(bpe);
  // A text input read twice (words mode) that --force would remove first: refused.
  const std::string state = test::read_text(run() + "/state.tkv");
  r = run_cli("train --words --force --input " + q(run() + "/train.log") + " --output " + q(run()) + kFast);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("a file of the run that --force replaces in " + run()), std::string::npos) << r.output;
  EXPECT_EQ(test::read_text(run() + "/state.tkv"), state);
}

TEST_F(HostileCli, AnOutputThatIsAnInputIsRefused) {
  const std::string in = dir.file("in.txt"), model = dir.file("m.bpe"), corpus = dir.file("c.tkc");
  const std::string state = test::read_text(run() + "/state.tkv");
  const std::string model_bytes = test::read_text(model), corpus_bytes = test::read_text(corpus);
  fs::create_hard_link(in, dir.file("hard.txt"));
  fs::create_symlink(corpus, dir.file("soft.tkc"));
  struct Case {
    std::string args, needle;
  };
  const Case cases[] = {
      {"export " + q(run()) + " --output " + q(run() + "/state.tkv"), "--output " + run() + "/state.tkv is the same file as the input"},
      {"export " + q(run() + "/state.tkv") + " --output " + q(dir.path().string() + "/./run/state.tkv"), "is the same file as the input"},
      {"export " + q(run()) + " --output " + q(run() + "/train.log"), "is one of the files of the run folder " + run()},
      {"export " + q(run()) + " --words " + q(in) + " --output " + q(dir.file("hard.txt")), "is the same file as the input " + in},
      {"audit " + q(run()) + " --csv " + q(run() + "/config.json"), "--csv " + run() + "/config.json is one of the files of the run folder"},
      {"encode --model " + q(model) + " --input " + q(in) + " --output " + q(dir.file("hard.txt")), "is the same file as the input " + in},
      {"encode --model " + q(model) + " --input " + q(in) + " --output " + q(model), "is the same file as the input " + model},
      {"bpe-train --input " + q(in) + " --vocab-size 260 --output " + q(in), "is the same file as the input " + in},
      {"decode --model " + q(model) + " --input " + q(corpus) + " --output " + q(dir.file("soft.tkc")), "is the same file as the input " + corpus},
      {"decode --model " + q(model) + " --ids --input " + q(in) + " --output " + q(in), "is the same file as the input"},
  };
  for (const Case& c : cases) {
    test::CliResult r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << c.args << "\n" << r.output;
  }
  EXPECT_EQ(test::read_text(run() + "/state.tkv"), state);
  EXPECT_EQ(test::read_text(in), text());
  EXPECT_EQ(test::read_text(model), model_bytes);
  EXPECT_EQ(test::read_text(corpus), corpus_bytes);
  EXPECT_TRUE(fs::is_symlink(dir.file("soft.tkc")));
  expect_no_temp_files(dir.path());
  expect_no_temp_files(run());
  // Other names in a run folder are fine.
  EXPECT_EQ(run_cli("export " + q(run()) + " --output " + q(run() + "/vectors.vec")).exit_code, 0);
}

TEST_F(HostileCli, FilesOfOneOutputAppearTogetherOrNotAtAll) {
  // A full disk on the vocabulary, after the matrix was written: neither is replaced.
  test::write_text(dir.file("x.npy"), "old matrix");
  test::write_text(dir.file("x.vocab.txt"), "old vocabulary");
  test::CliResult r = run_env("TOKVEC_TEST_FAIL_WRITE=x.vocab.txt", "export " + q(run()) + " --format npy --output " + q(dir.file("x.npy")));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("x.vocab.txt: write failed: No space left on device"), std::string::npos) << r.output;
  EXPECT_EQ(test::read_text(dir.file("x.npy")), "old matrix");
  EXPECT_EQ(test::read_text(dir.file("x.vocab.txt")), "old vocabulary");
  // The audit's files: a failing JSON (full disk, or a folder that is not there) leaves no CSV.
  r = run_env("TOKVEC_TEST_FAIL_WRITE=a.json", "audit " + q(run()) + " --top 0 --csv " + q(dir.file("a.csv")) + " --json " + q(dir.file("a.json")));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  r = run_cli("audit " + q(run()) + " --top 0 --csv " + q(dir.file("a.csv")) + " --json " + q(dir.file("no/such/a.json")));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("a.csv")));
  EXPECT_FALSE(fs::exists(dir.file("a.json")));
  expect_no_temp_files(dir.path());
  // Without a failure both appear.
  r = run_cli("audit " + q(run()) + " --top 0 --csv " + q(dir.file("a.csv")) + " --json " + q(dir.file("a.json")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir.file("a.csv")) && fs::exists(dir.file("a.json")));
}

TEST_F(HostileCli, SignalsOutsideTrainingRemoveTemporariesAndSaySo) {
  struct Case {
    std::string env, args, file, message;
    int code;
  };
  const std::string in = q(dir.file("in.txt")), model = q(dir.file("m.bpe"));
  const Case cases[] = {
      {"TOKVEC_TEST_SIGNAL_AT=commit:c2.tkc", "encode --model " + model + " --input " + in + " --output " + q(dir.file("c2.tkc")),
       "c2.tkc", "tokvec encode: stopped by SIGINT; nothing was written", 130},
      {"TOKVEC_TEST_SIGNAL_AT=commit:m2.bpe:TERM", "bpe-train --input " + in + " --vocab-size 260 --quiet --output " + q(dir.file("m2.bpe")),
       "m2.bpe", "tokvec bpe-train: stopped by SIGTERM; nothing was written", 143},
      {"TOKVEC_TEST_SIGNAL_AT=commit:x.vec", "export " + q(run()) + " --output " + q(dir.file("x.vec")), "x.vec",
       "tokvec export: stopped by SIGINT; nothing was written", 130},
      {"TOKVEC_TEST_SIGNAL_AT=commit:t.txt", "decode --model " + model + " --input " + q(dir.file("c.tkc")) + " --output " + q(dir.file("t.txt")),
       "t.txt", "tokvec decode: stopped by SIGINT; nothing was written", 130},
  };
  for (const Case& c : cases) {
    test::CliResult r = run_env(c.env, c.args);
    EXPECT_EQ(r.exit_code, c.code) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(dir.file(c.file))) << c.args;
  }
  expect_no_temp_files(dir.path());

  // A BPE run stopped while encoding its corpus: config.json is there, so it resumes.
  const std::string bpe = dir.file("bpe");
  test::CliResult r = run_env("TOKVEC_TEST_SIGNAL_AT=train:encoding",
                              "train --input " + in + " --bpe-vocab-size 260 --output " + q(bpe) + kFast);
  EXPECT_EQ(r.exit_code, 130) << r.output;
  EXPECT_NE(r.output.find("tokvec train: stopped by SIGINT; " + bpe + " holds config.json and no corpus yet; resume with: tokvec train --resume " + bpe),
            std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(bpe + "/config.json"));
  expect_no_temp_files(bpe);
  r = run_cli("train --resume " + q(bpe));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(load_state(bpe + "/state.tkv").finished());
  // A words run stopped by SIGTERM as its corpus is renamed into place.
  const std::string words = dir.file("words");
  r = run_env("TOKVEC_TEST_SIGNAL_AT=commit:corpus.tkc:TERM", "train --words --input " + in + " --output " + q(words) + kFast);
  EXPECT_EQ(r.exit_code, 143) << r.output;
  EXPECT_NE(r.output.find("tokvec train: stopped by SIGTERM; " + words + " holds config.json and no complete corpus yet"), std::string::npos)
      << r.output;
  expect_no_temp_files(words);
  r = run_cli("train --resume " + q(words));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(load_state(words + "/state.tkv").finished());
}

TEST_F(HostileCli, StaleTemporariesOfDeadProcessesAreRemoved) {
  const std::string pid = dead_pid();
  ASSERT_FALSE(pid.empty());
  // What a run killed (SIGKILL) while encoding leaves: a folder holding one temporary.
  const std::string left = dir.file("left");
  fs::create_directory(left);
  test::write_text(left + "/corpus.tkc.tmp." + pid, "half");
  test::CliResult r = run_cli("train --words --input " + q(dir.file("in.txt")) + " --output " + q(left) + kFast);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  expect_no_temp_files(left);
  // Beside a single output: the dead process's temporary goes, a live one's stays.
  const std::string live = dir.file("m3.bpe.tmp." + std::to_string(::getpid()));
  test::write_text(dir.file("m3.bpe.tmp." + pid), "half");
  test::write_text(live, "in use");
  r = run_cli("bpe-train --input " + q(dir.file("in.txt")) + " --vocab-size 260 --quiet --output " + q(dir.file("m3.bpe")));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("m3.bpe.tmp." + pid)));
  EXPECT_TRUE(fs::exists(live));
}

TEST_F(HostileCli, AnOutputThatIsASymbolicLinkIsWrittenWhereItPoints) {
  fs::create_directory(dir.file("target"));
  test::write_text(dir.file("target/real.vec"), "old");
  fs::create_symlink("target/real.vec", dir.file("link.vec"));     // relative, to an existing file
  fs::create_symlink(dir.file("target/new.vec"), dir.file("dangling.vec"));  // to a file not yet there
  fs::create_symlink("link.vec", dir.file("chain.vec"));           // a link to a link
  for (const char* link : {"link.vec", "dangling.vec", "chain.vec"}) {
    test::CliResult r = run_cli("export " + q(run()) + " --output " + q(dir.file(link)));
    EXPECT_EQ(r.exit_code, 0) << link << "\n" << r.output;
    EXPECT_TRUE(fs::is_symlink(dir.file(link))) << link;
  }
  EXPECT_EQ(test::read_text(dir.file("target/real.vec")).substr(0, 5), "12 8\n");
  EXPECT_EQ(test::read_text(dir.file("target/new.vec")).substr(0, 5), "12 8\n");
  // The npy pair and the audit's set go through links too.
  fs::create_symlink("target/m.npy", dir.file("m.npy"));
  EXPECT_EQ(run_cli("export " + q(run()) + " --format npy --output " + q(dir.file("m.npy"))).exit_code, 0);
  EXPECT_TRUE(fs::is_symlink(dir.file("m.npy")));
  EXPECT_TRUE(fs::is_regular_file(dir.file("target/m.npy")));
  expect_no_temp_files(dir.path());
  expect_no_temp_files(dir.file("target"));
  // A link to a pipe (here stdout, which the test reads through one) is still refused, and
  // stays what it is.
  const bool was_link = fs::is_symlink("/dev/stdout");
  test::CliResult r = run_cli("export " + q(run()) + " --output /dev/stdout");
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("/dev/stdout: is a device, pipe or socket, not a regular file"), std::string::npos) << r.output;
  EXPECT_EQ(fs::is_symlink("/dev/stdout"), was_link);
}

}  // namespace
}  // namespace tokvec
