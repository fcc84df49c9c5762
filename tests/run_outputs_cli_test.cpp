// What a run folder holds after --force and --resume, what `train` says on screen and in
// train.log, and how export/neighbors/eval/audit treat an unfinished run.
#include <filesystem>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/export.h"
#include "base/io.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

/// About `lines` x 12 words over a vocabulary of `types` words ("a0".."a39" with prefix "a").
std::string text_of(const std::string& prefix, int lines, int types, unsigned seed) {
  std::mt19937 rng(seed);
  std::string text;
  for (int line = 0; line < lines; ++line) {
    for (int k = 0; k < 12; ++k) text += prefix + std::to_string(rng() % static_cast<unsigned>(types)) + (k < 11 ? " " : "\n");
  }
  return text;
}

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

const char* kFast = " --dim 8 --threads 1 --quiet";

/// A finished words run of `text` in dir/full, trained with `settings` (checkpoint options
/// among them) and keeping every checkpoint; its checkpoints, oldest first (at least two).
std::vector<std::pair<uint64_t, std::string>> checkpointed_run(const TempDir& dir, const std::string& text, const std::string& settings) {
  test::write_text(dir.file("in.txt"), text);
  const test::CliResult r =
      run_cli("train --words --input " + dir.file("in.txt") + " --output " + dir.file("full") + kFast + settings + " --keep 100");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto checkpoints = list_checkpoints(dir.file("full"));
  EXPECT_GE(checkpoints.size(), 2u);
  return checkpoints;
}

/// Runs a shell command line; `output` is its stdout only, its stderr goes to `err_file`.
test::CliResult stdout_of(const std::string& command, const std::string& err_file) {
  // The group's own redirection wins over the 2>&1 run_command adds after it.
  return test::run_command("{ " + command + " 2>" + err_file + "; }");
}

// A --force run trains its own tokenizer: it never reuses the one the old run left in the
// folder (which has another size and another text's checksum).
TEST(RunOutputsCli, ForceTrainsANewTokenizer) {
  TempDir dir;
  test::write_text(dir.file("a.txt"), text_of("alpha", 400, 40, 1));
  test::write_text(dir.file("b.txt"), text_of("beta", 400, 40, 2));
  const std::string run = dir.file("run");
  auto first = run_cli("train --input " + dir.file("a.txt") + " --output " + run + " --bpe-vocab-size 285" + kFast);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const uint64_t old_checksum = load_state(run + "/state.tkv").tokenizer_checksum;
  auto second = run_cli("train --input " + dir.file("b.txt") + " --output " + run + " --bpe-vocab-size 270 --force" + kFast);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  TrainingState s = load_state(run + "/state.tkv");
  EXPECT_EQ(s.vocab_size(), 270u);
  EXPECT_NE(s.tokenizer_checksum, old_checksum);
  EXPECT_EQ(BpeModel::load(run + "/tokenizer.bpe").checksum(), s.tokenizer_checksum);
  nlohmann::json cfg = nlohmann::json::parse(test::read_text(run + "/config.json"));
  EXPECT_EQ(cfg["bpe_vocab_size"], 270);
  EXPECT_EQ(cfg["tokenizer_checksum"], hex64(s.tokenizer_checksum));
  const std::string log = test::read_text(run + "/train.log");
  EXPECT_EQ(log.find("trained earlier"), std::string::npos) << log;
  // The same tokenizer a fresh folder gets from b.txt.
  auto fresh = run_cli("train --input " + dir.file("b.txt") + " --output " + dir.file("fresh") + " --bpe-vocab-size 270" + kFast);
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_EQ(load_state(dir.file("fresh") + "/state.tkv").tokenizer_checksum, s.tokenizer_checksum);
}

// --force clears what the old run made (exports, plots, a folder of them, checkpoints) but
// keeps the files this command reads; a folder that holds no run loses none of its files.
TEST(RunOutputsCli, ForceRemovesTheOldRunsOutputsButNotItsInputs) {
  TempDir dir;
  const std::string run = dir.file("run");
  fs::create_directory(run);
  test::write_text(run + "/in.txt", text_of("w", 300, 30, 3));
  auto first = run_cli("train --words --input " + run + "/in.txt --output " + dir.file("other") + kFast);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  // The old run: a finished run, then what its user made of it.
  for (const auto& entry : fs::directory_iterator(dir.file("other"))) fs::copy_file(entry.path(), run / entry.path().filename());
  test::write_text(run + "/checkpoint-000007.tkv", "old checkpoint");
  ASSERT_EQ(run_cli("export " + run + " -o " + run + "/tokens.vec").exit_code, 0);
  ASSERT_EQ(run_cli("audit " + run + " --top 0 --svg " + run + "/audit.svg").exit_code, 0);
  fs::create_directory(run + "/plots");
  test::write_text(run + "/plots/loss.svg", "<svg/>");
  auto forced = run_cli("train --words --input " + run + "/in.txt --output " + run + " --force" + kFast);
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_EQ(names_in(run), (std::set<std::string>{"config.json", "corpus.tkc", "in.txt", "state.tkv", "train.log"}));

  // Not a run folder: --force writes the run beside the files already there.
  const std::string notes = dir.file("notes");
  fs::create_directory(notes);
  test::write_text(notes + "/README.txt", "mine");
  auto beside = run_cli("train --words --input " + run + "/in.txt --output " + notes + " --force" + kFast);
  ASSERT_EQ(beside.exit_code, 0) << beside.output;
  EXPECT_EQ(test::read_text(notes + "/README.txt"), "mine");
}

// On screen one line sums up the under-trained rows; train.log keeps the lines written as
// training goes.
TEST(RunOutputsCli, UndertrainedLinesGoToTheLogAndOneToTheScreen) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), text_of("w", 300, 30, 4));
  const std::string run = dir.file("run");
  auto r = run_cli("train --words --input " + dir.file("in.txt") + " --output " + run + " --dim 8 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("of training:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("at the end:"), std::string::npos) << r.output;
  const std::string log = test::read_text(run + "/train.log");
  size_t lines = 0;
  for (size_t at = log.find("% of training:"); at != std::string::npos; at = log.find("% of training:", at + 1)) ++lines;
  EXPECT_GE(lines, 5u) << log;
  EXPECT_NE(log.find("at the end:"), std::string::npos) << log;
}

// After a resume the closing lines agree on the run's token count (the progress line counts
// the whole run) and say how much of it this session trained.
TEST(RunOutputsCli, ResumedRunReportsTheWholeRunsTokens) {
  TempDir dir;
  const auto checkpoints = checkpointed_run(dir, text_of("w", 500, 40, 5), " --epochs 2 --checkpoint-every 4000");
  ASSERT_FALSE(HasFailure());
  const std::string full = dir.file("full");
  const TrainingState stopped = load_state(checkpoints[0].second);
  const std::string part = dir.file("part");
  test::copy_stopped_at(full, checkpoints[0].second, part);
  auto resumed = run_cli("train --resume " + part);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const TrainingState done = load_state(part + "/state.tkv");
  const std::string expected = "trained " + std::to_string(done.tokens_done) + " tokens (" +
                               std::to_string(done.tokens_done - stopped.tokens_done) + " of them since the resume) in ";
  EXPECT_NE(resumed.output.find(expected), std::string::npos) << resumed.output;
  EXPECT_NE(test::read_text(part + "/train.log").find(expected), std::string::npos);
}

/// A finished BPE run of 280 tokens in dir/run.
std::string bpe_run(const TempDir& dir) {
  test::write_text(dir.file("in.txt"), text_of("w", 500, 60, 6));
  const std::string run = dir.file("run");
  auto r = run_cli("train --input " + dir.file("in.txt") + " --output " + run + " --bpe-vocab-size 280" + kFast);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return run;
}

/// Each word's vector in a word2vec text file, by word.
std::map<std::string, std::vector<float>> by_word(const Embeddings& e) {
  std::map<std::string, std::vector<float>> m;
  for (size_t i = 0; i < e.size(); ++i) m[e.words[i]] = std::vector<float>(e.row(i), e.row(i) + e.dim);
  return m;
}

// A BPE run's token export is in id order: row i of the matrix is token i, the id encode
// prints, so np.load(x.npy)[ids] gives each token's vector. --order frequency gives the
// word2vec order.
TEST(RunOutputsCli, BpeTokenExportRowsAreTokenIds) {
  TempDir dir;
  const std::string run = bpe_run(dir);
  auto npy = run_cli("export " + run + " --output " + dir.file("t.npy"));
  ASSERT_EQ(npy.exit_code, 0) << npy.output;
  EXPECT_NE(npy.output.find("id order: row i is token i"), std::string::npos) << npy.output;
  auto vec = run_cli("export " + run + " --output " + dir.file("t.vec"));
  ASSERT_EQ(vec.exit_code, 0) << vec.output;
  const auto text = by_word(read_word2vec_text(dir.file("t.vec")));
  const Embeddings rows = read_npy(dir.file("t.npy"));
  const TrainingState s = load_state(run + "/state.tkv");
  ASSERT_EQ(rows.size(), s.vocab.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows.words[i], s.vocab[i]) << "vocabulary line " << i + 1;
    EXPECT_EQ(std::vector<float>(rows.row(i), rows.row(i) + rows.dim), text.at(s.vocab[i])) << "row " << i;
  }
  // The ids encode prints index the matrix, as numpy reads it.
  auto ids = stdout_of("printf 'w17 w42\\n' | " + std::string(TOKVEC_CLI_PATH) + " encode --model " + run + "/tokenizer.bpe --print ids",
                       "/dev/null");
  auto pieces = stdout_of("printf 'w17 w42\\n' | " + std::string(TOKVEC_CLI_PATH) + " encode --model " + run +
                              "/tokenizer.bpe --print pieces",
                          "/dev/null");
  ASSERT_EQ(ids.exit_code, 0) << ids.output;
  std::istringstream id_in(ids.output), piece_in(pieces.output);
  size_t id = 0;
  std::string piece;
  size_t checked = 0;
  while (id_in >> id && piece_in >> piece) {
    ASSERT_LT(id, rows.size());
    EXPECT_EQ(std::vector<float>(rows.row(id), rows.row(id) + rows.dim), text.at(piece)) << piece;
    ++checked;
  }
  EXPECT_GE(checked, 2u) << ids.output << pieces.output;
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0) {
    // numpy itself: m[ids] against the word2vec text vectors of the pieces.
    const std::string py = "import numpy as np, sys\n"
                           "m = np.load(sys.argv[1]); ids = [int(x) for x in sys.argv[3].split()]\n"
                           "vec = {l.split(' ')[0]: [float(x) for x in l.split(' ')[1:]] for l in open(sys.argv[2], encoding='utf-8').read().splitlines()[1:]}\n"
                           "pieces = sys.argv[4].split()\n"
                           "print('same' if all(np.array_equal(m[ids][k], np.array(vec[p], dtype=np.float32)) for k, p in enumerate(pieces)) else 'differ')\n";
    test::write_text(dir.file("check.py"), py);
    auto r = test::run_command("/usr/bin/python3 " + dir.file("check.py") + " " + dir.file("t.npy") + " " + dir.file("t.vec") + " '" +
                               ids.output + "' '" + pieces.output + "'");
    EXPECT_EQ(r.output, "same\n") << r.output;
  }
  // --order frequency: the most frequent token first.
  auto freq = run_cli("export " + run + " --order frequency --output " + dir.file("f.npy"));
  ASSERT_EQ(freq.exit_code, 0) << freq.output;
  EXPECT_NE(freq.output.find("frequency order"), std::string::npos) << freq.output;
  const Embeddings f = read_npy(dir.file("f.npy"));
  EXPECT_EQ(f.words, token_embeddings(s, MatrixChoice::input, TokenOrder::frequency).words);
  EXPECT_NE(f.words, rows.words);
  // --order applies to token rows only, and id order cannot skip rows.
  EXPECT_EQ(run_cli("export " + run + " --order id --corpus-words -o " + dir.file("w.vec")).exit_code, 2);
  EXPECT_EQ(run_cli("export " + run + " --order id --skip-flagged -o " + dir.file("w.vec")).exit_code, 2);
  EXPECT_EQ(run_cli("export " + run + " --order size -o " + dir.file("w.vec")).exit_code, 2);
  EXPECT_FALSE(fs::exists(dir.file("w.vec")));
}

// Without --format the output's name says the format; a --format that contradicts it is a
// usage error and writes nothing.
TEST(RunOutputsCli, ExportFormatFollowsTheFileName) {
  TempDir dir;
  const std::string run = bpe_run(dir);
  for (const char* name : {"g.npy", "g.bin", "g.vec", "g.txt", "G.NPY"}) {
    auto r = run_cli(std::string("export ") + run + " -o " + dir.file(name));
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.output;
  }
  EXPECT_EQ(test::read_text(dir.file("g.npy")).substr(0, 6), "\x93NUMPY");
  EXPECT_TRUE(fs::exists(dir.file("g.vocab.txt")));
  EXPECT_EQ(test::read_text(dir.file("G.NPY")).substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(read_word2vec_binary(dir.file("g.bin")).data, read_npy(dir.file("g.npy")).data);
  EXPECT_EQ(read_word2vec_text(dir.file("g.vec")).data, read_npy(dir.file("g.npy")).data);
  EXPECT_EQ(test::read_text(dir.file("g.txt")), test::read_text(dir.file("g.vec")));
  // Other names: word2vec text, or what --format says.
  ASSERT_EQ(run_cli("export " + run + " -o " + dir.file("g.data")).exit_code, 0);
  EXPECT_EQ(test::read_text(dir.file("g.data")), test::read_text(dir.file("g.vec")));
  ASSERT_EQ(run_cli("export " + run + " --format npy -o " + dir.file("h.data")).exit_code, 0);
  EXPECT_EQ(test::read_text(dir.file("h.data")).substr(0, 6), "\x93NUMPY");
  auto contra = run_cli("export " + run + " --format npy -o " + dir.file("x.vec"));
  EXPECT_EQ(contra.exit_code, 2) << contra.output;
  EXPECT_NE(contra.output.find("tokvec export: error: --format npy contradicts the name --output " + dir.file("x.vec")),
            std::string::npos)
      << contra.output;
  EXPECT_EQ(run_cli("export " + run + " --format word2vec-text -o " + dir.file("x.bin")).exit_code, 2);
  EXPECT_FALSE(fs::exists(dir.file("x.vec")));
  EXPECT_FALSE(fs::exists(dir.file("x.bin")));
}

// -o - writes the word2vec formats to stdout; npy (two files) is refused.
TEST(RunOutputsCli, ExportToStdout) {
  TempDir dir;
  const std::string run = bpe_run(dir);
  ASSERT_EQ(run_cli("export " + run + " -o " + dir.file("t.vec")).exit_code, 0);
  ASSERT_EQ(run_cli("export " + run + " -o " + dir.file("t.bin")).exit_code, 0);
  auto text = stdout_of(std::string(TOKVEC_CLI_PATH) + " export " + run + " -o - > " + dir.file("s.vec"), dir.file("err.txt"));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(test::read_text(dir.file("err.txt")).find("to stdout"), std::string::npos) << test::read_text(dir.file("err.txt"));
  EXPECT_EQ(test::read_text(dir.file("s.vec")), test::read_text(dir.file("t.vec")));
  auto binary = stdout_of(std::string(TOKVEC_CLI_PATH) + " export " + run + " --format word2vec-binary -o - | cat > " + dir.file("s.bin"),
                          "/dev/null");
  ASSERT_EQ(binary.exit_code, 0) << binary.output;
  EXPECT_EQ(test::read_text(dir.file("s.bin")), test::read_text(dir.file("t.bin")));
  auto npy = run_cli("export " + run + " --format npy -o -");
  EXPECT_EQ(npy.exit_code, 2) << npy.output;
  EXPECT_NE(npy.output.find("cannot go to stdout"), std::string::npos) << npy.output;
  EXPECT_FALSE(fs::exists("-"));
}

// `vectors` prints a word2vec text line for each word given or read from stdin; `neighbors`
// with no word reads its queries from stdin.
TEST(RunOutputsCli, VectorsAndNeighborsReadWordsFromStdin) {
  TempDir dir;
  const std::string run = bpe_run(dir);
  test::write_text(dir.file("words.txt"), "w17\nw42 unseenword\n");
  test::write_text(dir.file("list.txt"), "w17\nw42\nunseenword\n");
  ASSERT_EQ(run_cli("export " + run + " --words " + dir.file("list.txt") + " -o " + dir.file("w.vec")).exit_code, 0);
  const std::string exported = test::read_text(dir.file("w.vec"));
  const std::string records = exported.substr(exported.find('\n') + 1);  // without the "N D" header
  const std::string cli = TOKVEC_CLI_PATH;
  auto piped = stdout_of(cli + " vectors " + run + " < " + dir.file("words.txt"), "/dev/null");
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  EXPECT_EQ(piped.output, records);
  auto args = stdout_of(cli + " vectors " + run + " w17 w42 unseenword", "/dev/null");
  EXPECT_EQ(args.output, records);

  // A words run has no vector for an unknown word: reported, exit 3, the others printed.
  ASSERT_EQ(run_cli("train --words --input " + dir.file("in.txt") + " --output " + dir.file("wrun") + kFast).exit_code, 0);
  auto unknown = test::run_command("printf 'w17 nosuchword\\n' | " + cli + " vectors " + dir.file("wrun"));
  EXPECT_EQ(unknown.exit_code, 3) << unknown.output;
  EXPECT_EQ(unknown.output.rfind("w17 ", 0), 0u) << unknown.output;
  EXPECT_NE(unknown.output.find("nosuchword: not in the vocabulary"), std::string::npos) << unknown.output;

  // One query at a time: a BPE run searches its corpus words and the words asked for.
  auto asked = stdout_of(cli + " neighbors " + run + " w17 -k 3 2>/dev/null; " + cli + " neighbors " + run + " unseenword -k 3",
                         "/dev/null");
  ASSERT_EQ(asked.exit_code, 0) << asked.output;
  auto read = stdout_of("printf 'w17\\nunseenword\\n' | " + cli + " neighbors " + run + " -k 3", "/dev/null");
  ASSERT_EQ(read.exit_code, 0) << read.output;
  EXPECT_EQ(read.output, asked.output);
  EXPECT_NE(read.output.find("unseenword\n  "), std::string::npos) << read.output;
}

// A run stopped before its end (checkpoints, no state.tkv) is read from its newest valid
// checkpoint, with a note naming it and the resume command; a run with no checkpoint yet
// and a folder that holds no run are refused, each saying which it is.
TEST(RunOutputsCli, UnfinishedRunIsReadFromItsNewestCheckpoint) {
  TempDir dir;
  const auto checkpoints = checkpointed_run(dir, text_of("w", 500, 40, 7), " --min-count 1 --checkpoint-every 2000");
  ASSERT_FALSE(HasFailure());
  const std::string full = dir.file("full");
  const std::string part = dir.file("part");
  test::copy_stopped_at(full, checkpoints[0].second, part);
  fs::copy_file(checkpoints[1].second, fs::path(part) / fs::path(checkpoints[1].second).filename());
  const std::string newest = fs::path(checkpoints[1].second).filename().string();
  const std::string note = part + " is unfinished (no state.tkv): using its newest checkpoint " + newest;
  const std::string resume = "tokvec train --resume " + part;

  auto exported = run_cli("export " + part + " -o " + dir.file("p.vec"));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_NE(exported.output.find("tokvec export: note: " + note), std::string::npos) << exported.output;
  EXPECT_NE(exported.output.find(resume), std::string::npos) << exported.output;
  EXPECT_EQ(read_word2vec_text(dir.file("p.vec")).data, token_embeddings(load_state(checkpoints[1].second)).data);
  auto audited = run_cli("audit " + part + " --top 0");
  EXPECT_EQ(audited.exit_code, 0) << audited.output;
  EXPECT_NE(audited.output.find("tokvec audit: note: " + note), std::string::npos) << audited.output;
  auto near = run_cli("neighbors " + part + " w3 -k 2");
  EXPECT_EQ(near.exit_code, 0) << near.output;
  EXPECT_NE(near.output.find("tokvec neighbors: note: " + note), std::string::npos) << near.output;
  test::write_text(dir.file("pairs.tsv"), "w1\tw2\t1.0\nw3\tw4\t2.0\nw5\tw6\t3.0\n");
  auto evaluated = run_cli("eval " + part + " --pairs " + dir.file("pairs.tsv"));
  EXPECT_EQ(evaluated.exit_code, 0) << evaluated.output;
  EXPECT_NE(evaluated.output.find("tokvec eval: note: " + note), std::string::npos) << evaluated.output;
  // The newest checkpoint damaged: the one before it, and the note says why.
  test::write_text(part + "/" + newest, "damaged");
  auto older = run_cli("export " + part + " -o " + dir.file("q.vec"));
  ASSERT_EQ(older.exit_code, 0) << older.output;
  EXPECT_NE(older.output.find("using its newest checkpoint " + fs::path(checkpoints[0].second).filename().string()), std::string::npos)
      << older.output;
  EXPECT_NE(older.output.find(newest), std::string::npos) << older.output;

  // Killed before its first checkpoint: nothing trained to read.
  const std::string early = dir.file("early");
  fs::create_directory(early);
  fs::copy_file(fs::path(full) / "config.json", fs::path(early) / "config.json");
  for (const std::string& cmd : {"export " + early + " -o " + dir.file("e.vec"), "audit " + early}) {
    auto e = run_cli(cmd);
    EXPECT_EQ(e.exit_code, 3) << e.output;
    EXPECT_NE(e.output.find(early + ": is an unfinished run with no checkpoint yet"), std::string::npos) << e.output;
    EXPECT_NE(e.output.find("tokvec train --resume " + early), std::string::npos) << e.output;
  }
  EXPECT_FALSE(fs::exists(dir.file("e.vec")));
  fs::create_directory(dir.file("empty"));
  auto none = run_cli("audit " + dir.file("empty"));
  EXPECT_EQ(none.exit_code, 3) << none.output;
  EXPECT_NE(none.output.find("is not a tokvec run folder (no state.tkv in it)"), std::string::npos) << none.output;
}

}  // namespace
}  // namespace tokvec
