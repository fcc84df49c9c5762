// `tokvec train --subwords` end to end: the run folder, word vectors for unseen words,
// resume, and the settings it refuses.
#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokvec/checkpoint.h"
#include "tokvec/export.h"

namespace tokvec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;
using test::TempDir;

/// Stems with -s, -ing and -ed, in lines of 10 words; "walked" never appears.
std::string inflected_text() {
  const char* const stems[] = {"walk", "jump", "talk", "paint", "cook", "wash"};
  const char* const suffixes[] = {"", "s", "ing", "ed"};
  std::string text;
  unsigned x = 7;
  for (int line = 0; line < 300; ++line) {
    for (int k = 0; k < 10; ++k) {
      x = x * 1103515245u + 12345u;
      const unsigned stem = (x >> 8) % 6, suffix = (x >> 16) % 4;
      if (stem == 0 && suffix == 3) continue;
      text += std::string(stems[stem]) + suffixes[suffix] + " ";
    }
    text += "\n";
  }
  return text;
}

const char* kFast = " --dim 8 --threads 1 --quiet --bpe-vocab-size 290";

TEST(SubwordCli, TrainsAndComposesAnyWord) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), inflected_text());
  const std::string run = dir.file("run");
  auto r = run_cli("train --subwords --input " + dir.file("in.txt") + " --output " + run + kFast + " --subword-own-rows 50 --subword-compose sum");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"config.json", "corpus.tkc", "state.tkv", "train.log", "tokenizer.bpe"}) {
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  }
  const nlohmann::json cfg = nlohmann::json::parse(test::read_text(run + "/config.json"));
  EXPECT_EQ(cfg["mode"], "subwords");
  EXPECT_EQ(cfg["subword_compose"], "sum");
  EXPECT_EQ(cfg["subword_own_min_count"], 50);
  const TrainingState s = load_state(run + "/state.tkv");
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.vocab_size(), 23u + 290u);  // 23 words, then the 290 pieces
  EXPECT_NE(test::read_text(run + "/train.log").find("subwords: 23 words"), std::string::npos);

  // A word never seen gets its composition; a seen one the one it trained with.
  test::write_text(dir.file("list.txt"), "walked\nwalk\ntalks\n");
  r = run_cli("export " + run + " --output " + dir.file("w.vec") + " --words " + dir.file("list.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Embeddings e = read_vectors(dir.file("w.vec"));
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e.words[0], "walked");
  const tokvec::Run loaded = load_run(run);
  EXPECT_TRUE(loaded.is_subwords());
  const Embeddings again = run_word_vectors(loaded, {"walked", "walk", "talks"});
  EXPECT_EQ(again.data, e.data);
  r = run_cli("export " + run + " --output " + dir.file("c.vec") + " --corpus-words");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_vectors(dir.file("c.vec")).size(), 23u);
  r = run_cli("neighbors " + run + " walked -k 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

void expect_resumed_run_equals_an_uninterrupted_one(const std::string& flags) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), inflected_text());
  const std::string args = " --input " + dir.file("in.txt") + kFast + " --epochs 3 " + flags;
  auto r = run_cli("train --subwords --output " + dir.file("a") + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Checkpoints every 1000 tokens; the newest but one stands for a run stopped there.
  r = run_cli("train --subwords --output " + dir.file("b") + args + " --checkpoint-every 1000 --keep 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto checkpoints = list_checkpoints(dir.file("b"));
  ASSERT_EQ(checkpoints.size(), 2u);
  fs::remove(dir.file("b") + "/state.tkv");
  fs::remove(checkpoints[1].second);
  r = run_cli("train --resume " + dir.file("b") + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::read_text(dir.file("a") + "/state.tkv"), test::read_text(dir.file("b") + "/state.tkv"));
}

TEST(SubwordCli, ResumedRunEqualsAnUninterruptedOne) { expect_resumed_run_equals_an_uninterrupted_one("--subword-compose mean"); }

TEST(SubwordCli, ResumedOwnPlusMeanRunWithFilteredAncestorsEqualsAnUninterruptedOne) {
  expect_resumed_run_equals_an_uninterrupted_one("--subword-compose own-plus-mean --subword-ancestor-min-chars 2");
}

/// Trains a subword run of inflected_text() with `flags` into `run`; returns its config.json.
nlohmann::json train_inflected_run(const TempDir& dir, const std::string& run, const std::string& flags) {
  test::write_text(dir.file("in.txt"), inflected_text());
  auto r = run_cli("train --subwords --input " + dir.file("in.txt") + " --output " + run + kFast + " " + flags);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(test::read_text(run + "/config.json"));
}

/// `export RUN --words` of `words` (one per line), read back.
Embeddings exported_words(const TempDir& dir, const std::string& run, const std::string& words) {
  test::write_text(dir.file("list.txt"), words);
  auto r = run_cli("export " + run + " --output " + dir.file("w.vec") + " --words " + dir.file("list.txt"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return read_vectors(dir.file("w.vec"));
}

TEST(SubwordCli, OwnPlusMeanAndTheAncestorFilterAreKeptInTheRun) {
  TempDir dir;
  const std::string run = dir.file("run");
  const nlohmann::json cfg =
      train_inflected_run(dir, run, "--subword-compose own-plus-mean --subword-ancestor-min-chars 3 --subword-own-rows 50 "
                                    "--subword-piece-damping 0");
  EXPECT_EQ(cfg["subword_compose"], "own-plus-mean");
  EXPECT_EQ(cfg["subword_ancestor_min_chars"], 3);
  EXPECT_NE(test::read_text(run + "/train.log")
                .find("words composed of means of their pieces and the pieces' merge ancestors of at least 3 characters, "
                      "plus an own row added to the mean for words seen >= 50 times"),
            std::string::npos);
  // A seen word with an own row: its own row plus the mean of its pieces' rows.
  const tokvec::Run loaded = load_run(run);
  EXPECT_EQ(loaded.subwords.compose, SubwordCompose::own_plus_mean);
  EXPECT_EQ(loaded.subwords.ancestor_min_chars, 3u);
  const std::vector<uint32_t> rows = loaded.encode("walks");
  ASSERT_GE(rows.size(), 2u);
  ASSERT_LT(rows[0], loaded.subword_words);  // its own row
  const Embeddings e = run_word_vectors(loaded, {"walks"});
  const size_t dim = e.dim, n = rows.size() - 1;
  for (size_t j = 0; j < dim; ++j) {
    double mean = 0.0;
    for (size_t i = 1; i < rows.size(); ++i) mean += loaded.state.input.row(rows[i])[j];
    EXPECT_NEAR(e.row(0)[j], loaded.state.input.row(rows[0])[j] + mean / static_cast<double>(n), 1e-5) << j;
  }
}

TEST(SubwordCli, ResumedOwnPlusScaledRunEqualsAnUninterruptedOne) {
  expect_resumed_run_equals_an_uninterrupted_one("--subword-compose own-plus-scaled --subword-ancestor-min-chars 3");
}

TEST(SubwordCli, ResumedRunWithPieceOutputsEqualsAnUninterruptedOne) {
  expect_resumed_run_equals_an_uninterrupted_one("--subword-outputs pieces");
}

TEST(SubwordCli, PieceOutputsAreKeptInTheRunAndTrainThePiecesOutputRows) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), inflected_text());
  for (const char* outputs : {"words", "pieces"}) {
    const std::string run = dir.file(std::string("run-") + outputs);
    auto r = run_cli("train --subwords --input " + dir.file("in.txt") + " --output " + run + kFast + " --subword-outputs " +
                     outputs);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const nlohmann::json cfg = nlohmann::json::parse(test::read_text(run + "/config.json"));
    const bool pieces = std::string(outputs) == "pieces";
    // Per-word outputs write no key: the configs written before the option read the same.
    EXPECT_EQ(cfg.contains("subword_outputs"), pieces);
    if (pieces) {
      EXPECT_EQ(cfg["subword_outputs"], "pieces");
    }
    const tokvec::Run loaded = load_run(run);
    EXPECT_EQ(loaded.subwords.outputs, pieces ? SubwordOutputs::pieces : SubwordOutputs::words);
    EXPECT_EQ(test::read_text(run + "/train.log").find("output vectors composed of the same rows") != std::string::npos, pieces);
    // The pieces' output rows train only when the outputs are composed of them.
    uint64_t piece_updates = 0;
    for (size_t row = loaded.subword_words; row < loaded.state.vocab_size(); ++row) {
      piece_updates += loaded.state.output_positive_updates[row] + loaded.state.output_negative_updates[row];
    }
    EXPECT_EQ(piece_updates > 0, pieces) << outputs;
  }
}

TEST(SubwordCli, OwnPlusScaledIsKeptInTheRunAndComposesTheOwnRowPlusThePiecesOverRootN) {
  TempDir dir;
  const std::string run = dir.file("run");
  const nlohmann::json cfg =
      train_inflected_run(dir, run, "--subword-compose own-plus-scaled --subword-ancestor-min-chars 3 --subword-own-rows 50 "
                                    "--subword-piece-damping 0");
  EXPECT_EQ(cfg["subword_compose"], "own-plus-scaled");
  EXPECT_NE(test::read_text(run + "/train.log")
                .find("words composed of scaled sums (1/sqrt(n) for n rows) of their pieces and the pieces' merge ancestors "
                      "of at least 3 characters, plus an own row added to them for words seen >= 50 times"),
            std::string::npos);
  const tokvec::Run loaded = load_run(run);
  EXPECT_EQ(loaded.subwords.compose, SubwordCompose::own_plus_scaled);
  // A seen word with an own row: its own row plus the sum of its n other rows over √n.
  const std::vector<uint32_t> rows = loaded.encode("walks");
  ASSERT_GE(rows.size(), 3u);
  ASSERT_LT(rows[0], loaded.subword_words);  // its own row
  const Embeddings e = run_word_vectors(loaded, {"walks"});
  const double root = std::sqrt(static_cast<double>(rows.size() - 1));
  for (size_t j = 0; j < e.dim; ++j) {
    double sum = 0.0;
    for (size_t i = 1; i < rows.size(); ++i) sum += loaded.state.input.row(rows[i])[j];
    EXPECT_NEAR(e.row(0)[j], loaded.state.input.row(rows[0])[j] + sum / root, 1e-5) << j;
  }
  // An unseen word (no own row): the sum of its rows over √|R|, as export --words writes it.
  const std::vector<uint32_t> unseen = loaded.encode("talkings");
  ASSERT_GE(unseen.size(), 2u);
  ASSERT_GE(unseen[0], loaded.subword_words);
  const Embeddings u = run_word_vectors(loaded, {"talkings"});
  for (size_t j = 0; j < u.dim; ++j) {
    double sum = 0.0;
    for (uint32_t row : unseen) sum += loaded.state.input.row(row)[j];
    EXPECT_NEAR(u.row(0)[j], sum / std::sqrt(static_cast<double>(unseen.size())), 1e-5) << j;
  }
  const Embeddings exported = exported_words(dir, run, "walks\ntalkings\n");
  ASSERT_EQ(exported.size(), 2u);
  for (size_t j = 0; j < e.dim; ++j) {
    EXPECT_NEAR(exported.row(0)[j], e.row(0)[j], 1e-5) << j;
    EXPECT_NEAR(exported.row(1)[j], u.row(0)[j], 1e-5) << j;
  }
}

TEST(SubwordCli, ResumedRunWithPieceDampingEqualsAnUninterruptedOne) {
  expect_resumed_run_equals_an_uninterrupted_one("--subword-compose own-plus-scaled --subword-piece-damping 20");
}

TEST(SubwordCli, PieceDampingIsKeptInTheRunAndWeighsTheOtherRowsByTheWordsCount) {
  TempDir dir;
  const std::string run = dir.file("run");
  const nlohmann::json cfg = train_inflected_run(dir, run, "--subword-compose own-plus-scaled --subword-piece-damping 20 --subword-own-rows 50");
  EXPECT_EQ(cfg["subword_piece_damping_count"], 20);
  EXPECT_NE(test::read_text(run + "/train.log").find("the other rows weighed down by sqrt(20 / (20 + count))"), std::string::npos);
  const tokvec::Run loaded = load_run(run);
  EXPECT_EQ(loaded.subwords.piece_damping_count, 20u);
  // walks (seen about 110 times): its own row plus √(20 / (20 + count)) times its n other
  // rows over √n, in training and in export alike.
  const std::vector<uint32_t> rows = loaded.encode("walks");
  ASSERT_GE(rows.size(), 3u);
  ASSERT_LT(rows[0], loaded.subword_words);
  const double count = static_cast<double>(loaded.state.frequencies[rows[0]]);
  ASSERT_GE(count, 50.0);
  const double rest = std::sqrt(20.0 / (20.0 + count)) / std::sqrt(static_cast<double>(rows.size() - 1));
  const Embeddings e = exported_words(dir, run, "walks\n");
  ASSERT_EQ(e.size(), 1u);
  for (size_t j = 0; j < e.dim; ++j) {
    double sum = 0.0;
    for (size_t i = 1; i < rows.size(); ++i) sum += loaded.state.input.row(rows[i])[j];
    EXPECT_NEAR(e.row(0)[j], loaded.state.input.row(rows[0])[j] + rest * sum, 1e-5) << j;
  }
}

TEST(SubwordCli, NewRunsDefaultToOwnPlusScaledWithTheThreeCharacterAncestorFilterAndPieceDamping) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), inflected_text());
  auto r = run_cli("train --subwords --input " + dir.file("in.txt") + " --output " + dir.file("a") + kFast);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json cfg = nlohmann::json::parse(test::read_text(dir.file("a") + "/config.json"));
  EXPECT_EQ(cfg["subword_compose"], "own-plus-scaled");
  EXPECT_EQ(cfg["subword_ancestor_min_chars"], 3);
  EXPECT_EQ(cfg["subword_step"], "unit");
  EXPECT_EQ(cfg["subword_piece_damping_count"], 1);
  // The same run as the settings given in full.
  r = run_cli("train --subwords --input " + dir.file("in.txt") + " --output " + dir.file("b") + kFast +
              " --subword-compose own-plus-scaled --subword-ancestor-min-chars 3 --subword-step unit --subword-piece-damping 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(test::read_text(dir.file("a") + "/state.tkv"), test::read_text(dir.file("b") + "/state.tkv"));
  // Without ancestors the default filter has nothing to filter: accepted, and not recorded.
  r = run_cli("train --subwords --input " + dir.file("in.txt") + " --output " + dir.file("c") + kFast + " --subword-ancestors no");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  cfg = nlohmann::json::parse(test::read_text(dir.file("c") + "/config.json"));
  EXPECT_EQ(cfg["subword_ancestors"], false);
  EXPECT_FALSE(cfg.contains("subword_ancestor_min_chars"));
  // Under the sum the default damping has no own-row split to damp: accepted, not recorded.
  r = run_cli("train --subwords --input " + dir.file("in.txt") + " --output " + dir.file("d") + kFast + " --subword-compose sum");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(nlohmann::json::parse(test::read_text(dir.file("d") + "/config.json")).contains("subword_piece_damping_count"));
}

TEST(SubwordCli, RefusesSettingsThatDoNotApply) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), inflected_text());
  const std::string in = " --input " + dir.file("in.txt") + " --output " + dir.file("r") + " --quiet";
  struct Case {
    std::string args, message;
  } cases[] = {
      {"--subwords --words", "give --words or --subwords, not both"},
      {"--subwords --kernel pair", "--kernel pair is not available with --subwords"},
      {"--subwords --subword-compose max", "--subword-compose must be sum, mean, own-plus-mean or own-plus-scaled, got 'max'"},
      {"--subwords --subword-ancestors no --subword-ancestor-min-chars 3",
       "--subword-ancestor-min-chars applies with --subword-ancestors yes"},
      {"--subword-ancestor-min-chars 3", "--subword-ancestor-min-chars applies to --subwords runs"},
      {"--subwords --subword-ancestors maybe", "--subword-ancestors must be yes or no"},
      {"--subword-own-rows 5", "--subword-own-rows applies to --subwords runs"},
      {"--subwords --subword-outputs rows", "--subword-outputs must be words or pieces, got 'rows'"},
      {"--subword-outputs pieces", "--subword-outputs applies to --subwords runs"},
      {"--subword-piece-damping 5", "--subword-piece-damping applies to --subwords runs"},
      {"--subwords --subword-piece-damping -1", "--subword-piece-damping expects an integer from 0 to"},
      {"--subwords --subword-compose sum --subword-piece-damping 5",
       "--subword-piece-damping applies with --subword-compose own-plus-mean or own-plus-scaled"},
  };
  for (const Case& c : cases) {
    auto r = run_cli("train " + c.args + in);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find("tokvec train: error: " + c.message), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("r"))) << c.args;
  }
}

TEST(SubwordCli, AdaptingASubwordRunIsRefused) {
  TempDir dir;
  test::write_text(dir.file("in.txt"), inflected_text());
  const std::string src = dir.file("src");
  ASSERT_EQ(run_cli("train --subwords --input " + dir.file("in.txt") + " --output " + src + kFast).exit_code, 0);
  auto r = run_cli("train --init-from " + src + " --input " + dir.file("in.txt") + " --output " + dir.file("a") + " --quiet");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("tokvec train: error: " + (fs::path(src) / "state.tkv").string() +
                          ": is a --subwords run: --init-from starts from a words or BPE run"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir.file("a")));
  r = run_cli("train --init-from " + src + " --subwords --input " + dir.file("in.txt") + " --output " + dir.file("a") + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--subwords cannot be given with it"), std::string::npos) << r.output;
}

TEST(SubwordCli, AuditGivesEachWordsRowsAndItsExactWeakestCount) {
  // Window 1 never shrinks, sample 0 and min-count 1 keep every word: a position is the
  // context of each neighbour on its line, and every pair updates each of its rows once.
  TempDir dir;
  const std::string text = inflected_text();
  test::write_text(dir.file("in.txt"), text);
  const std::string run = dir.file("run");
  auto r = run_cli("train --subwords --input " + dir.file("in.txt") + " --output " + run +
                   " --dim 8 --threads 1 --quiet --bpe-vocab-size 290 --window 1 --sample 0 --min-count 1 --subword-own-rows 40");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("audit " + run + " --min-updates 220 --json " + dir.file("a.json") + " --words-csv " + dir.file("w.csv") +
              " --svg " + dir.file("a.svg") + " --top 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(test::read_text(dir.file("a.json")));
  const nlohmann::json& words = j["words"]["list"];
  ASSERT_EQ(words.size(), 23u);
  std::map<std::string, std::vector<uint32_t>> rows_of;
  for (const auto& w : words) rows_of[w["word"].get<std::string>()] = w["row_ids"].get<std::vector<uint32_t>>();
  // The expected input updates of every row, counted from the text.
  std::map<uint32_t, uint64_t> expected;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::vector<std::string> ws;
    for (std::string w; in >> w;) ws.push_back(w);
    for (size_t p = 0; p < ws.size(); ++p) {
      const uint64_t neighbours = (p > 0 ? 1 : 0) + (p + 1 < ws.size() ? 1 : 0);
      for (uint32_t row : rows_of.at(ws[p])) expected[row] += neighbours;
    }
  }
  uint64_t flagged = 0;
  for (const auto& w : words) {
    const std::vector<uint32_t> ids = w["row_ids"].get<std::vector<uint32_t>>();
    ASSERT_FALSE(ids.empty());
    uint64_t fewest = UINT64_MAX;
    uint32_t weakest = 0;
    for (uint32_t id : ids) {
      EXPECT_EQ(j["rows"][id]["input_updates"].get<uint64_t>(), expected[id]) << "row " << id;
      if (expected[id] < fewest) fewest = expected[id], weakest = id;
    }
    EXPECT_EQ(w["weakest_row_updates"].get<uint64_t>(), fewest) << w["word"];
    EXPECT_EQ(w["weakest_row_id"].get<uint32_t>(), weakest) << w["word"];
    EXPECT_EQ(w["flagged"].get<bool>(), fewest < 220) << w["word"];
    flagged += fewest < 220;
    // Frequent words have their own row (first: the words' rows come before the pieces').
    if (w["frequency"].get<uint64_t>() >= 40) {
      EXPECT_EQ(ids[0], w["id"].get<uint32_t>()) << w["word"];
    }
  }
  EXPECT_GT(flagged, 0u);
  EXPECT_LT(flagged, 23u);
  EXPECT_EQ(j["words"]["flagged"].get<uint64_t>(), flagged);
  // The same words in the CSV, the table and the plot.
  const std::string csv = test::read_text(dir.file("w.csv"));
  EXPECT_EQ(csv.rfind("id,word,frequency,rows,row_ids,weakest_row,weakest_row_id,weakest_row_updates,flagged\n", 0), 0u) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 24);
  const auto& w0 = words[0];
  std::string ids0;
  for (uint32_t id : w0["row_ids"].get<std::vector<uint32_t>>()) ids0 += (ids0.empty() ? "" : " ") + std::to_string(id);
  EXPECT_NE(csv.find("\n0," + w0["word"].get<std::string>() + "," + std::to_string(w0["frequency"].get<uint64_t>()) + ","),
            std::string::npos) << csv;
  EXPECT_NE(csv.find("," + ids0 + "," + w0["weakest_row"].get<std::string>() + "," + std::to_string(w0["weakest_row_id"].get<uint32_t>()) +
                     "," + std::to_string(w0["weakest_row_updates"].get<uint64_t>()) + ","),
            std::string::npos) << csv;
  EXPECT_NE(r.output.find("words (each composed of rows; a word is as trustworthy as its least-updated row): 23, with a flagged row: " +
                          std::to_string(flagged)),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find("most frequent words whose weakest row is flagged:"), std::string::npos) << r.output;
  EXPECT_NE(test::read_text(dir.file("a.svg")).find("words: 23, " + std::to_string(flagged) + " whose weakest row is flagged"),
            std::string::npos);
  // --words-csv needs a subword run.
  const std::string words_run = dir.file("wr");
  ASSERT_EQ(run_cli("train --words --input " + dir.file("in.txt") + " --output " + words_run + " --dim 8 --threads 1 --quiet").exit_code, 0);
  r = run_cli("audit " + words_run + " --words-csv " + dir.file("x.csv"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("tokvec audit: error: --words-csv lists the words of a --subwords run"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("x.csv")));
}

}  // namespace
}  // namespace tokvec
