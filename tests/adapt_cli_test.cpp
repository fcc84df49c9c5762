// train --init-from end to end: a words run adapted to a text that uses part of its
// vocabulary and new words, a BPE run adapted with its tokenizer, exact resume of an
// adapted run, and the requests it refuses.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokvec/checkpoint.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

/// About 30,000 tokens of w0..w99 in lines of 20, deterministic.
std::string source_text() {
  std::mt19937 rng(11);
  std::string text;
  for (int line = 0; line < 1500; ++line) {
    for (int k = 0; k < 20; ++k) text += "w" + std::to_string(rng() % 100) + (k < 19 ? " " : "\n");
  }
  return text;
}

/// The domain: only w0..w29, ten new words d0..d9 (frequent), and "once" a single time.
std::string domain_text() {
  std::mt19937 rng(12);
  std::string text = "once w1 w2\n";
  for (int line = 0; line < 500; ++line) {
    for (int k = 0; k < 20; ++k) {
      const unsigned x = static_cast<unsigned>(rng() % 40);
      text += (x < 30 ? "w" + std::to_string(x) : "d" + std::to_string(x - 30)) + (k < 19 ? " " : "\n");
    }
  }
  return text;
}

const char* kSettings = " --dim 16 --window 3 --negative 3 --sample 0 --quiet --threads 1";

bool same_row(const Matrix& a, size_t ra, const Matrix& b, size_t rb) {
  return std::memcmp(a.row(ra), b.row(rb), a.cols() * sizeof(float)) == 0;
}

/// Every file of a folder and its bytes.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files[e.path().filename().string()] = test::read_text(e.path().string());
  return files;
}

void expect_same_state(const TrainingState& a, const TrainingState& b) {
  EXPECT_EQ(a.vocab, b.vocab);
  EXPECT_EQ(a.tokens_done, b.tokens_done);
  EXPECT_EQ(a.loss_sum, b.loss_sum);
  EXPECT_EQ(a.input_updates, b.input_updates);
  EXPECT_EQ(a.output_positive_updates, b.output_positive_updates);
  EXPECT_EQ(a.output_negative_updates, b.output_negative_updates);
  ASSERT_TRUE(a.pretrain && b.pretrain);
  EXPECT_EQ(a.pretrain->input_updates, b.pretrain->input_updates);
  EXPECT_EQ(a.pretrain->frequencies, b.pretrain->frequencies);
  ASSERT_EQ(a.input.storage().size(), b.input.storage().size());
  EXPECT_EQ(std::memcmp(a.input.storage().data(), b.input.storage().data(), a.input.storage().size_bytes()), 0) << "input vectors differ";
  EXPECT_EQ(std::memcmp(a.output.storage().data(), b.output.storage().data(), a.output.storage().size_bytes()), 0)
      << "output vectors differ";
}

TEST(AdaptCli, WordsRunKeepsItsRowsAddsNewWordsAndLeavesAbsentRowsAlone) {
  TempDir dir;
  test::write_text(dir.file("src.txt"), source_text());
  test::write_text(dir.file("domain.txt"), domain_text());
  const std::string src = dir.file("src"), out = dir.file("adapted");
  auto r = run_cli("train --words --min-count 1 --input " + dir.file("src.txt") + " --output " + src + kSettings);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto before = snapshot(src);
  r = run_cli("train --init-from " + src + " --input " + dir.file("domain.txt") + " --output " + out + " --min-count 2" + kSettings);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(snapshot(src), before) << "the source run's folder changed";

  const TrainingState s = load_state(src + "/state.tkv");
  const TrainingState a = load_state(out + "/state.tkv");
  ASSERT_TRUE(a.finished());
  ASSERT_TRUE(a.pretrain.has_value());
  EXPECT_FALSE(s.pretrain.has_value());
  EXPECT_EQ(a.dim(), 16u);
  EXPECT_EQ(a.seed, s.seed);
  // The source's rows first, then the ten new words; "once" is under --min-count.
  const size_t n0 = s.vocab_size();
  ASSERT_EQ(a.pretrain->source_rows, n0);
  ASSERT_EQ(a.vocab_size(), n0 + 10);
  for (size_t i = 0; i < n0; ++i) ASSERT_EQ(a.vocab[i], s.vocab[i]);
  for (size_t i = n0; i < a.vocab_size(); ++i) EXPECT_EQ(a.vocab[i][0], 'd') << a.vocab[i];
  EXPECT_EQ(std::find(a.vocab.begin(), a.vocab.end(), "once"), a.vocab.end());
  EXPECT_EQ(a.pretrain->tokens, s.tokens_done);
  uint64_t domain_rows = 0;
  for (size_t i = 0; i < n0; ++i) {
    SCOPED_TRACE(a.vocab[i]);
    const int w = std::stoi(a.vocab[i].substr(1));
    // Pretraining counts kept apart; the totals add this run's updates.
    EXPECT_EQ(a.pretrain->input_updates[i], s.input_updates[i]);
    EXPECT_EQ(a.pretrain->output_positive_updates[i], s.output_positive_updates[i]);
    EXPECT_EQ(a.pretrain->frequencies[i], s.frequencies[i]);
    if (w < 30) {
      ++domain_rows;
      EXPECT_GT(a.frequencies[i], 0u);
      EXPECT_GT(a.input_updates[i], s.input_updates[i]);
      EXPECT_FALSE(same_row(a.input, i, s.input, i)) << "a row of the domain did not move";
    } else {
      // Absent from the domain: never a context (input) or a target or a negative (output).
      EXPECT_EQ(a.frequencies[i], 0u);
      EXPECT_EQ(a.input_updates[i], s.input_updates[i]);
      EXPECT_EQ(a.output_negative_updates[i], s.output_negative_updates[i]);
      EXPECT_TRUE(same_row(a.input, i, s.input, i)) << "an input row absent from the domain changed";
      EXPECT_TRUE(same_row(a.output, i, s.output, i)) << "an output row absent from the domain changed";
    }
  }
  EXPECT_EQ(domain_rows, 30u);
  for (size_t i = n0; i < a.vocab_size(); ++i) {
    EXPECT_EQ(a.pretrain->input_updates[i], 0u);
    EXPECT_EQ(a.pretrain->frequencies[i], 0u);
    EXPECT_GT(a.input_updates[i], 0u);
  }
  // Exports in frequency order count every phase, not only the adaptation text's.
  r = run_cli("export " + out + " --output " + dir.file("a.vec"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<uint32_t> order(a.vocab_size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    return a.frequencies[x] + a.pretrain->frequencies[x] > a.frequencies[y] + a.pretrain->frequencies[y];
  });
  const std::string vec = test::read_text(dir.file("a.vec"));
  size_t at = vec.find('\n') + 1;
  for (size_t i = 0; i < a.vocab_size(); ++i) {
    ASSERT_EQ(vec.substr(at, vec.find(' ', at) - at), a.vocab[order[i]]) << "row " << i;
    at = vec.find('\n', at) + 1;
  }
  // A run from scratch still writes format version 1 (what older tokvec reads); an adapted
  // one version 2.
  EXPECT_EQ(describe_state(src + "/state.tkv")[0], "training state, format version 1");
  EXPECT_EQ(describe_state(out + "/state.tkv")[0], "training state, format version 2");
  const std::string config = test::read_text(out + "/config.json");
  EXPECT_NE(config.find("\"init_from\": " + nlohmann::json(src).dump()), std::string::npos) << config;
  EXPECT_NE(config.find("\"mode\": \"words\""), std::string::npos) << config;
  EXPECT_NE(test::read_text(out + "/train.log").find("starting from " + src + "/state.tkv"), std::string::npos);

  // The audit shows both phases side by side, in every format.
  r = run_cli("audit " + out + " --json " + dir.file("a.json") + " --csv " + dir.file("a.csv") + " --min-updates 1000000000");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("adapted run: " + std::to_string(n0) + " rows from the source run"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pre_upd  adapt_upd"), std::string::npos) << r.output;
  const nlohmann::json j = nlohmann::json::parse(test::read_text(dir.file("a.json")));
  EXPECT_EQ(j.at("adaptation").at("source_rows"), n0);
  EXPECT_EQ(j.at("adaptation").at("new_rows"), 10);
  uint64_t pre = 0, adapt = 0;
  for (size_t i = 0; i < a.vocab_size(); ++i) {
    const auto& row = j.at("rows").at(i);
    EXPECT_EQ(row.at("pretrain_input_updates").get<uint64_t>(), a.pretrain->input_updates[i]);
    EXPECT_EQ(row.at("adapt_input_updates").get<uint64_t>(), a.input_updates[i] - a.pretrain->input_updates[i]);
    EXPECT_EQ(row.at("input_updates").get<uint64_t>(), a.input_updates[i]);
    pre += a.pretrain->input_updates[i];
    adapt += a.input_updates[i] - a.pretrain->input_updates[i];
  }
  EXPECT_EQ(j.at("adaptation").at("pretrain_input_updates").get<uint64_t>(), pre);
  EXPECT_EQ(j.at("adaptation").at("adapt_input_updates").get<uint64_t>(), adapt);
  const std::string csv = test::read_text(dir.file("a.csv"));
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "id,token,frequency,input_updates,output_positive_updates,output_negative_updates,norm,drift,flagged,pretrain_frequency,"
            "pretrain_input_updates,adapt_input_updates");
  // A run from scratch keeps its columns.
  r = run_cli("audit " + src + " --csv " + dir.file("s.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string scsv = test::read_text(dir.file("s.csv"));
  EXPECT_EQ(scsv.substr(0, scsv.find('\n')),
            "id,token,frequency,input_updates,output_positive_updates,output_negative_updates,norm,drift,flagged");
}

TEST(AdaptCli, ResumeOfAnAdaptedRunIsBitIdenticalWithOneThread) {
  TempDir dir;
  test::write_text(dir.file("src.txt"), source_text());
  test::write_text(dir.file("domain.txt"), domain_text());
  const std::string src = dir.file("src"), full = dir.file("full");
  auto r = run_cli("train --words --min-count 1 --input " + dir.file("src.txt") + " --output " + src + kSettings);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("train --init-from " + src + " --input " + dir.file("domain.txt") + " --output " + full + kSettings +
              " --epochs 3 --checkpoint-every 5000 --keep 100");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto checkpoints = list_checkpoints(full);
  ASSERT_GE(checkpoints.size(), 3u);
  const TrainingState whole = load_state(full + "/state.tkv");
  {
    // Stopped at a checkpoint in the middle.
    const std::string part = dir.file("part");
    fs::create_directory(part);
    for (const char* name : {"config.json", "corpus.tkc"}) fs::copy_file(fs::path(full) / name, fs::path(part) / name);
    const auto& mid = checkpoints[checkpoints.size() / 2].second;
    fs::copy_file(mid, fs::path(part) / fs::path(mid).filename());
    EXPECT_TRUE(load_state(mid).pretrain.has_value()) << "a checkpoint of an adapted run keeps the pretraining counts";
    auto resumed = run_cli("train --resume " + part + " --quiet");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    expect_same_state(whole, load_state(part + "/state.tkv"));
  }
  {
    // Stopped before its first checkpoint and before its corpus: it starts over from the source.
    const std::string early = dir.file("early");
    fs::create_directory(early);
    fs::copy_file(fs::path(full) / "config.json", fs::path(early) / "config.json");
    auto resumed = run_cli("train --resume " + early);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_NE(resumed.output.find("starting over"), std::string::npos) << resumed.output;
    expect_same_state(whole, load_state(early + "/state.tkv"));
  }
}

TEST(AdaptCli, BpeRunKeepsItsTokenizer) {
  TempDir dir;
  test::write_text(dir.file("src.txt"), source_text());
  test::write_text(dir.file("domain.txt"), domain_text());
  const std::string src = dir.file("src"), out = dir.file("adapted");
  auto r = run_cli("train --bpe-vocab-size 300 --input " + dir.file("src.txt") + " --output " + src + kSettings);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("train --init-from " + src + "/state.tkv --input " + dir.file("domain.txt") + " --output " + out + kSettings);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::read_text(out + "/tokenizer.bpe"), test::read_text(src + "/tokenizer.bpe"));
  const TrainingState s = load_state(src + "/state.tkv");
  const TrainingState a = load_state(out + "/state.tkv");
  EXPECT_EQ(a.vocab, s.vocab);
  EXPECT_EQ(a.tokenizer_checksum, s.tokenizer_checksum);
  ASSERT_TRUE(a.pretrain.has_value());
  EXPECT_EQ(a.pretrain->source_rows, s.vocab_size());
  EXPECT_EQ(a.pretrain->input_updates, s.input_updates);
  // Queries of the adapted run use the same tokenizer.
  r = run_cli("vectors " + out + " w1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(AdaptCli, RefusesWhatCannotBeAdapted) {
  TempDir dir;
  test::write_text(dir.file("src.txt"), source_text());
  test::write_text(dir.file("domain.txt"), domain_text());
  const std::string src = dir.file("src"), domain = dir.file("domain.txt");
  auto r = run_cli("train --words --min-count 1 --input " + dir.file("src.txt") + " --output " + src + kSettings + " --checkpoint-every 5000");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto before = snapshot(src);

  r = run_cli("train --init-from " + src + " --input " + domain + " --output " + dir.file("o1") + " --dim 32 --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("tokvec train: error: --dim 32 does not match the dimension 16 of the run it starts from (" + src +
                          "/state.tkv)"),
            std::string::npos)
      << r.output;
  r = run_cli("train --init-from " + src + " --input " + domain + " --output " + dir.file("o2") + " --words --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--init-from keeps the tokenizer (and lowercasing) of the run it starts from; --words cannot be given"),
            std::string::npos)
      << r.output;
  r = run_cli("train --init-from " + dir.file("nothing") + " --input " + domain + " --output " + dir.file("o3") + " --quiet");
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find(dir.file("nothing")), std::string::npos) << r.output;
  r = run_cli("train --init-from " + src + " --input " + domain + " --output " + src + " --force --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is the folder of the run it starts from"), std::string::npos) << r.output;
  // A run that is not finished (a checkpoint but no state.tkv).
  const std::string unfinished = dir.file("unfinished");
  fs::create_directory(unfinished);
  for (const char* name : {"config.json", "corpus.tkc"}) fs::copy_file(fs::path(src) / name, fs::path(unfinished) / name);
  const auto checkpoints = list_checkpoints(src);
  ASSERT_FALSE(checkpoints.empty());
  fs::copy_file(checkpoints.front().second, fs::path(unfinished) / fs::path(checkpoints.front().second).filename());
  r = run_cli("train --init-from " + unfinished + " --input " + domain + " --output " + dir.file("o4") + " --quiet");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("is not a finished run"), std::string::npos) << r.output;
  for (const char* o : {"o1", "o2", "o3", "o4"}) EXPECT_FALSE(fs::exists(dir.file(o))) << o;
  EXPECT_EQ(snapshot(src), before) << "the source run's folder changed";
}

}  // namespace
}  // namespace tokvec
