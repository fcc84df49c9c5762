// `tokvec audit --target` and `--stability` end to end: real runs, the shares checked
// against counts made here from the text itself.
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "test_util.h"

namespace tokvec {
namespace {

using test::q;
using test::run_cli;
using test::TempDir;

/// Words w0..w39 with counts from 400 down to 10 (w_i: 400 / (i + 1), at least 10), in
/// lines of 8 cycling through the multiset, so that some rows pass 100 updates and some do
/// not.
std::string zipf_text() {
  std::vector<std::string> bag;
  for (int i = 0; i < 40; ++i) {
    int n = std::max(10, 400 / (i + 1));
    for (int c = 0; c < n; ++c) bag.push_back("w" + std::to_string(i));
  }
  std::string t;
  // A fixed shuffle (a multiplicative walk over the bag), so words mix.
  const size_t n = bag.size();
  size_t step = 7919 % n == 0 ? 1 : 7919;
  for (size_t k = 0; k < n; ++k) {
    t += bag[(k * step) % n];
    t += (k % 8 == 7) ? "\n" : " ";
  }
  return t + "\n";
}

std::map<std::string, uint64_t> whitespace_counts(const std::string& text) {
  std::map<std::string, uint64_t> counts;
  std::istringstream in(text);
  std::string w;
  while (in >> w) ++counts[w];
  return counts;
}

TEST(AuditTargetCli, WordsSharesMatchAnIndependentCount) {
  TempDir dir;
  test::write_text(dir.file("train.txt"), zipf_text());
  auto r = run_cli("train --input " + q(dir.file("train.txt")) + " --output " + q(dir.file("run")) +
                   " --words --min-count 1 --dim 8 --window 2 --threads 1 --sample 0 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Frequent, rare and unknown words, with repeats.
  const std::string target = "w0 w0 w1 w39 w39 w39 w38\nnovel w2 novel unseen w35\n\n  w0 w36 w37 other\n";
  test::write_text(dir.file("target.txt"), target);
  r = run_cli("audit " + q(dir.file("run")) + " --min-updates 300 --target " + q(dir.file("target.txt")) + " --json " +
              q(dir.file("a.json")) + " --csv " + q(dir.file("a.csv")) + " --svg " + q(dir.file("a.svg")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(test::read_text(dir.file("a.json")));
  std::map<std::string, bool> flagged;
  for (const auto& row : j["rows"]) flagged[row["token"].get<std::string>()] = row["flagged"].get<bool>();
  uint64_t tokens = 0, unknown = 0, on_flagged = 0;
  const std::map<std::string, uint64_t> counts = whitespace_counts(target);
  for (const auto& [word, n] : counts) {
    tokens += n;
    auto it = flagged.find(word);
    if (it == flagged.end()) unknown += n;
    else if (it->second) on_flagged += n;
  }
  ASSERT_GT(on_flagged, 0u);                // the planted rare words are flagged at 300
  ASSERT_LT(on_flagged + unknown, tokens);  // and the frequent ones are not
  const nlohmann::json& t = j["target"];
  EXPECT_EQ(t["tokens"], tokens);
  EXPECT_EQ(t["unknown_tokens"], unknown);
  EXPECT_EQ(t["unknown_words"], 3);  // novel, unseen, other
  EXPECT_EQ(t["flagged_tokens"], on_flagged + unknown);
  EXPECT_EQ(t["flagged_row_tokens"], on_flagged);
  EXPECT_DOUBLE_EQ(t["flagged_share"].get<double>(), static_cast<double>(on_flagged + unknown) / static_cast<double>(tokens));
  EXPECT_EQ(t["top_unknown"][0]["word"], "novel");
  EXPECT_EQ(t["top_unknown"][0]["count"], 2);
  for (const auto& row : j["rows"]) {
    auto it = counts.find(row["token"].get<std::string>());
    EXPECT_EQ(row["target_frequency"].get<uint64_t>(), it == counts.end() ? 0 : it->second) << row["token"];
  }
  const std::string csv = test::read_text(dir.file("a.csv"));
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "id,token,frequency,input_updates,output_positive_updates,output_negative_updates,norm,drift,flagged,target_frequency");
  EXPECT_NE(test::read_text(dir.file("a.svg")).find("used by the target"), std::string::npos);
  EXPECT_NE(r.output.find("target words with no row"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("novel"), std::string::npos) << r.output;
  // --top limits every list on stdout, the unknown words too; the JSON keeps them all.
  r = run_cli("audit " + q(dir.file("run")) + " --min-updates 300 --top 1 --target " + q(dir.file("target.txt")) + " --json " +
              q(dir.file("top1.json")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("target words with no row, most frequent first (1 of 3)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("novel"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("unseen"), std::string::npos) << r.output;
  EXPECT_EQ(nlohmann::json::parse(test::read_text(dir.file("top1.json")))["target"]["top_unknown"].size(), 3u);
  // Without --target the files keep their old columns.
  r = run_cli("audit " + q(dir.file("run")) + " --csv " + q(dir.file("b.csv")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string plain = test::read_text(dir.file("b.csv"));
  EXPECT_EQ(plain.substr(0, plain.find('\n')), "id,token,frequency,input_updates,output_positive_updates,output_negative_updates,norm,drift,flagged");
}

TEST(AuditTargetCli, BpeSharesMatchTheEncodedTarget) {
  TempDir dir;
  test::write_text(dir.file("train.txt"), zipf_text() + "the cat sat on the mat\nthe dog sat on the log\n");
  auto r = run_cli("train --input " + q(dir.file("train.txt")) + " --output " + q(dir.file("run")) +
                   " --bpe-vocab-size 290 --dim 8 --window 2 --threads 1 --sample 0 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string target = "w0 w1 w39 zebra\nthe cat ate the w38 log\n";
  test::write_text(dir.file("target.txt"), target);
  // The ids the tokenizer gives the target, counted here.
  r = run_cli("encode --model " + q(dir.file("run/tokenizer.bpe")) + " --input " + q(dir.file("target.txt")) + " --print ids");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<uint64_t, uint64_t> ids;
  uint64_t tokens = 0;
  {
    std::istringstream in(r.output);
    uint64_t id;
    while (in >> id) ++ids[id], ++tokens;
  }
  ASSERT_GT(tokens, 0u);
  r = run_cli("audit " + q(dir.file("run")) + " --min-updates 200 --target " + q(dir.file("target.txt")) + " --json " +
              q(dir.file("a.json")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(test::read_text(dir.file("a.json")));
  uint64_t on_flagged = 0;
  for (const auto& row : j["rows"]) {
    const uint64_t id = row["id"].get<uint64_t>();
    const uint64_t n = ids.count(id) ? ids[id] : 0;
    EXPECT_EQ(row["target_frequency"].get<uint64_t>(), n) << id;
    if (row["flagged"].get<bool>()) on_flagged += n;
  }
  const nlohmann::json& t = j["target"];
  EXPECT_EQ(t["tokens"], tokens);
  EXPECT_EQ(t["unknown_tokens"], 0);  // a BPE run has a row for every piece
  EXPECT_EQ(t["flagged_tokens"], on_flagged);
  EXPECT_DOUBLE_EQ(t["flagged_share"].get<double>(), static_cast<double>(on_flagged) / static_cast<double>(tokens));
  // "zebra" is made of pieces the training text never produced: its weakest piece is flagged.
  bool zebra = false;
  for (const auto& w : t["top_words"]) zebra = zebra || w["word"] == "zebra";
  EXPECT_TRUE(zebra) << t.dump();
}

TEST(AuditTargetCli, BadTargetFileIsRefusedNamingIt) {
  TempDir dir;
  test::write_text(dir.file("train.txt"), zipf_text());
  auto r = run_cli("train --input " + q(dir.file("train.txt")) + " --output " + q(dir.file("run")) +
                   " --words --min-count 1 --dim 8 --threads 1 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto audit = [&](const std::string& target) {
    return run_cli("audit " + q(dir.file("run")) + " --target " + q(target) + " --json " + q(dir.file("a.json")));
  };
  r = audit(dir.file("missing.txt"));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("tokvec audit: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing.txt"), std::string::npos) << r.output;
  test::write_text(dir.file("empty.txt"), " \n\n");
  r = audit(dir.file("empty.txt"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("empty.txt"), std::string::npos) << r.output;
  std::string latin1;
  for (int i = 0; i < 200; ++i) latin1 += "caf\xE9 na\xEFve ";
  test::write_text(dir.file("latin1.txt"), latin1);
  r = audit(dir.file("latin1.txt"));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("latin1.txt"), std::string::npos) << r.output;
  // audit has no --allow-binary: the refusal does not suggest it.
  EXPECT_EQ(r.output.find("allow-binary"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.json")));  // nothing half-written
}

// ---- Stability -------------------------------------------------------------------------

/// Planted neighbourhoods: 8 groups of 6 frequent words (g<G>f<i>) whose lines hold only
/// their own group, so each frequent word's 5 nearest neighbours are its group mates in any
/// run; 24 rare words (r<i>, 3 occurrences each) dropped into random lines.
std::string planted_text() {
  std::string t;
  uint64_t x = 12345;
  auto next = [&] { return x = x * 6364136223846793005ULL + 1442695040888963407ULL, x >> 33; };
  int rare_left[24];
  for (int& n : rare_left) n = 3;
  for (int line = 0; line < 1600; ++line) {
    const int g = static_cast<int>(next() % 8);
    for (int w = 0; w < 10; ++w) {
      t += "g" + std::to_string(g) + "f" + std::to_string(next() % 6) + " ";
      if (line % 20 == 0 && w == 5) {
        int r = (line / 20) % 24;
        if (rare_left[r]-- > 0) t += "r" + std::to_string(r) + " ";
      }
    }
    t += "\n";
  }
  return t;
}

TEST(AuditStabilityCli, IdenticalRunsAreFullyStableAndRareRowsAreNot) {
  TempDir dir;
  test::write_text(dir.file("train.txt"), planted_text());
  const std::string settings = " --words --min-count 1 --dim 16 --window 3 --epochs 3 --threads 1 --sample 0 --quiet";
  for (const char* seed : {"1", "2"}) {
    auto r = run_cli("train --input " + q(dir.file("train.txt")) + " --output " + q(dir.file(std::string("s") + seed)) +
                     " --seed " + seed + settings);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  // A run against itself: every list agrees.
  auto r = run_cli("audit " + q(dir.file("s1")) + " --stability " + q(dir.file("s1")) + " --k 5 --json " + q(dir.file("same.json")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(test::read_text(dir.file("same.json")));
  EXPECT_EQ(j["stability"]["k"], 5);
  EXPECT_EQ(j["stability"]["rows_compared"], j["vocab_size"]);
  for (const auto& row : j["rows"]) EXPECT_EQ(row["stability"].get<double>(), 1.0) << row["token"];
  // Two seeds: the planted groups agree, the rare words do not.
  r = run_cli("audit " + q(dir.file("s1")) + " --stability " + q(dir.file("s2")) + " --k 5 --min-updates auto --json " +
              q(dir.file("two.json")) + " --csv " + q(dir.file("two.csv")) + " --svg " + q(dir.file("two.svg")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  j = nlohmann::json::parse(test::read_text(dir.file("two.json")));
  double frequent = 0, rare = 0;
  int nf = 0, nr = 0;
  for (const auto& row : j["rows"]) {
    const std::string token = row["token"];
    (token[0] == 'g' ? frequent : rare) += row["stability"].get<double>();
    ++(token[0] == 'g' ? nf : nr);
  }
  ASSERT_EQ(nf, 48);
  ASSERT_EQ(nr, 24);
  frequent /= nf;
  rare /= nr;
  EXPECT_GT(frequent, 0.8) << r.output;
  EXPECT_LT(rare, frequent - 0.3) << r.output;
  // --min-updates auto took the derived threshold.
  ASSERT_TRUE(j["stability"]["threshold"].is_number()) << j["stability"].dump();
  EXPECT_EQ(j["threshold"], j["stability"]["threshold"]);
  EXPECT_NE(r.output.find("derived threshold: "), std::string::npos) << r.output;
  const std::string csv = test::read_text(dir.file("two.csv"));
  EXPECT_NE(csv.substr(0, csv.find('\n')).find(",stability"), std::string::npos);
  EXPECT_NE(test::read_text(dir.file("two.svg")).find("derived threshold"), std::string::npos);
}

TEST(AuditStabilityCli, IncompatibleRunsAndAutoWithoutStabilityAreRefused) {
  TempDir dir;
  test::write_text(dir.file("a.txt"), test::cycled_words_text(200, 12));
  test::write_text(dir.file("b.txt"), test::cycled_words_text(200, 14));
  for (const char* name : {"a", "b"}) {
    auto r = run_cli("train --input " + q(dir.file(std::string(name) + ".txt")) + " --output " + q(dir.file(std::string("run_") + name)) +
                     " --words --min-count 1 --dim 8 --threads 1 --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  auto r = run_cli("audit " + q(dir.file("run_a")) + " --stability " + q(dir.file("run_b")));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("tokvec audit: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("run_b"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("same vocabulary"), std::string::npos) << r.output;
  r = run_cli("audit " + q(dir.file("run_a")) + " --min-updates auto");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--stability"), std::string::npos) << r.output;
  r = run_cli("audit " + q(dir.file("run_a")) + " --min-updates lots");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_cli("audit " + q(dir.file("run_a")) + " --stability " + q(dir.file("nothing")));
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("nothing"), std::string::npos) << r.output;
}

TEST(AuditGeometryCli, EveryAuditReportsAnisotropyAndHubness) {
  TempDir dir;
  test::write_text(dir.file("train.txt"), planted_text());
  auto r = run_cli("train --input " + q(dir.file("train.txt")) + " --output " + q(dir.file("run")) +
                   " --words --min-count 1 --dim 16 --window 3 --threads 1 --sample 0 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("audit " + q(dir.file("run")) + " --json " + q(dir.file("a.json")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json g = nlohmann::json::parse(test::read_text(dir.file("a.json")))["geometry"];
  EXPECT_EQ(g["rows"], 72);
  EXPECT_EQ(g["pairs"], 100000);
  EXPECT_EQ(g["k"], 10);
  EXPECT_EQ(g["hubness_rows"], 72);
  EXPECT_GT(g["anisotropy"].get<double>(), -1.0);
  EXPECT_LT(g["anisotropy"].get<double>(), 1.0);
  EXPECT_TRUE(std::isfinite(g["hubness"].get<double>()));
  EXPECT_GE(g["max_occurrence"].get<uint64_t>(), 10u);  // someone is above the mean of k
  EXPECT_NE(r.output.find("anisotropy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hubness"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tokvec
