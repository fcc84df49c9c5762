// Eval: a golden analogy and word-pair evaluation computed by hand, Spearman with ties,
// neighbours, and agreement with the gensim-based evaluator eval_vectors.py on a planted
// random vector set (found through $TOKVEC_EVAL_VECTORS_PY, by default in the shared data
// folder beside the checkout, ../shared/tools/; skipped when absent).
#include "tokvec/eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "export_fixtures.h"
#include "test_util.h"
#include "tokvec/simd.h"
#include "tokvec/status.h"

namespace tokvec {
namespace {

using test::make_embeddings;
using test::TempDir;
using test::write_text;

// Rows in frequency order. The question "man woman king ?" asks for the direction
// (-1, 1, 1, 0)/sqrt(3): "Woman" points exactly there (cosine 1) but is a case variant of a
// question word, so it is skipped; "queen" (cosine 3/sqrt(9.27) = 0.985) wins; "prince" has
// cosine 1/sqrt(3.03) = 0.574. "girl" is row 7, outside --restrict 7.
Embeddings golden() {
  return make_embeddings({"man", "woman", "king", "Woman", "queen", "prince", "boy", "girl"},
                         {{1, 0, 0, 0},
                          {0, 1, 0, 0},
                          {0, 0, 1, 0},
                          {-1, 1, 1, 0},
                          {-1, 1, 1, 0.3f},
                          {0, 0, 1, 0.1f},
                          {0, 0, 0, 1},
                          {0, 0, 0, -1}});
}

constexpr const char* kGoldenQuestions =
    ": family\n"
    "man woman king queen\n"     // correct
    "man woman king prince\n"    // answered queen: incorrect
    "man woman king emperor\n"   // OOV
    "man woman boy girl\n"       // girl is outside the 7 searched rows: OOV
    "man woman king\n"           // not 4 words: skipped, not counted
    "\n"
    ": gram-case\n"
    "MAN Woman KING Queen\r\n";  // case-insensitive: correct

TEST(Eval, GoldenAnalogies) {
  TempDir dir;
  write_text(dir.file("q.txt"), kGoldenQuestions);
  for (simd::Path path : simd::runnable_paths()) {
  SCOPED_TRACE(std::string("SIMD path ") + simd::name(path));
  simd::ScopedPath scoped(path);
  for (int threads : {1, 2}) {
    AnalogyResult r = evaluate_analogies(golden(), dir.file("q.txt"), 7, threads);
    ASSERT_EQ(r.sections.size(), 2u);
    EXPECT_EQ(r.sections[0].name, "family");
    EXPECT_EQ(r.sections[1].name, "gram-case");
    EXPECT_TRUE(r.sections[1].syntactic());
    EXPECT_EQ(r.questions, 5u);
    EXPECT_EQ(r.answered, 3u);
    EXPECT_EQ(r.correct, 2u);
    EXPECT_EQ(r.sections[0].oov, 2u);
    EXPECT_EQ(r.semantic_correct, 1u);
    EXPECT_EQ(r.semantic_answered, 2u);
    EXPECT_EQ(r.syntactic_correct, 1u);
    EXPECT_EQ(r.syntactic_answered, 1u);
    EXPECT_NEAR(r.accuracy(), 200.0 / 3.0, 1e-9);
    EXPECT_NEAR(r.coverage(), 60.0, 1e-9);
  }
  }
  // With every row searched, "man woman boy girl" is answered too: the query is
  // (-1, 1, 0, 1)/sqrt(3); "queen" (cosine 2.3/sqrt(9.27) = 0.755) beats "Woman" (2/3) and
  // "girl" (-0.577), so it is wrong: 2 correct of 4.
  AnalogyResult all = evaluate_analogies(golden(), dir.file("q.txt"), 100, 1);
  EXPECT_EQ(all.answered, 4u);
  EXPECT_EQ(all.correct, 2u);
}

/// Every SIMD path's scoring kernel ranks as the portable one does: planted analogies
/// (v_i = w_i + offset + noise, so "w_i v_i w_j v_j" is right when the noise allows: 191 of
/// the 600 are), dim 37, 700 rows (more than one 512-column tile), 600 questions; the same
/// ones right on every path. The paths' scores differ by a few float roundings, far below
/// the gaps between candidates.
TEST(Eval, EverySimdPathAnswersLikeTheScalarPath) {
  TempDir dir;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  const uint32_t dim = 37, n = 350;
  std::vector<float> offset(dim);
  for (float& x : offset) x = uni(rng);
  std::vector<std::string> words;
  std::vector<std::vector<float>> rows;
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<float> w(dim), v(dim);
    for (uint32_t d = 0; d < dim; ++d) {
      w[d] = uni(rng);
      v[d] = w[d] + offset[d] + 1.6f * uni(rng);
    }
    words.push_back("w" + std::to_string(i));
    rows.push_back(w);
    words.push_back("v" + std::to_string(i));
    rows.push_back(v);
  }
  const Embeddings e = make_embeddings(words, rows);
  std::string q = ": things\n";
  std::uniform_int_distribution<uint32_t> pick(0, n - 1);
  for (int k = 0; k < 600; ++k) {
    const std::string i = std::to_string(pick(rng)), j = std::to_string(pick(rng));
    q += "w" + i + " v" + i + " w" + j + " v" + j + "\n";
  }
  write_text(dir.file("q.txt"), q);
  AnalogyResult reference;
  {
    simd::ScopedPath scalar(simd::Path::scalar);
    reference = evaluate_analogies(e, dir.file("q.txt"), 2 * n, 2);
  }
  EXPECT_EQ(reference.answered, 600u);
  EXPECT_GT(reference.correct, 100u);
  EXPECT_LT(reference.correct, 500u);
  for (simd::Path path : simd::runnable_paths()) {
    simd::ScopedPath scoped(path);
    AnalogyResult r = evaluate_analogies(e, dir.file("q.txt"), 2 * n, 2);
    EXPECT_EQ(r.answered, reference.answered) << simd::name(path);
    EXPECT_EQ(r.correct, reference.correct) << simd::name(path);
  }
}

TEST(Eval, QuestionBeforeASectionIsAnError) {
  TempDir dir;
  write_text(dir.file("q.txt"), "man woman king queen\n");
  try {
    evaluate_analogies(golden(), dir.file("q.txt"), 10);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
  }
}

TEST(Eval, SpearmanUsesAverageRanks) {
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8, 1e-12);  // 1 - 6*2/(4*15)
  EXPECT_NEAR(spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / std::sqrt(22.5), 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3}, {3, 2, 1}), -1.0, 1e-12);
  EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(spearman({1}, {1})));
}

TEST(Eval, GoldenPairs) {
  TempDir dir;
  // Model cosines: man/woman 0, man/queen -1/sqrt(3.09), king/prince 0.995, king/boy 0.
  // Gold ranks (1 3 4 2), model ranks (2.5 1 4 2.5): rho = 1.5 / sqrt(5 * 4.5).
  write_text(dir.file("p.tsv"),
             "# a comment\n"
             "man\twoman\t1\n"
             "Man\tQUEEN\t3\r\n"
             "king\tprince\t4\n"
             "king\tboy\t 2 \n"
             "king\tdragon\t5\n"    // OOV: counted, not used
             "no tabs here\n"       // skipped
             "king\tboy\tmany\n");  // not a number: skipped
  PairsResult r = evaluate_pairs(golden(), dir.file("p.tsv"));
  EXPECT_EQ(r.pairs, 5u);
  EXPECT_EQ(r.used, 4u);
  EXPECT_NEAR(r.oov_pct(), 20.0, 1e-9);
  EXPECT_NEAR(r.spearman, 1.5 / std::sqrt(22.5), 1e-9);
}

TEST(Eval, EvaluationWordsInFileOrder) {
  TempDir dir;
  write_text(dir.file("q.txt"), kGoldenQuestions);
  write_text(dir.file("p.tsv"), "# x\nking\tdragon\t5\nbad\n");
  EXPECT_EQ(evaluation_words(dir.file("q.txt"), {dir.file("p.tsv")}),
            (std::vector<std::string>{"man", "woman", "king", "queen", "prince", "emperor", "boy", "girl", "MAN", "Woman", "KING",
                                      "Queen", "dragon"}));
}

TEST(Eval, NearestByCosineSkipsTheWordItself) {
  Embeddings e = golden();
  std::vector<float> unit = unit_rows(e);
  std::vector<Neighbor> nn = nearest(e, unit, e.row(2), 2, 2, "king");
  ASSERT_EQ(nn.size(), 2u);
  EXPECT_EQ(nn[0].word, "prince");
  EXPECT_NEAR(nn[0].cosine, 1 / std::sqrt(1.01), 1e-6);
  EXPECT_EQ(nn[1].word, "Woman");
}

TEST(Eval, CaseInsensitiveIndexKeepsTheFirstVariant) {
  WordIndex index(golden(), 8);
  EXPECT_EQ(index.find("WOMAN"), 1);
  EXPECT_EQ(index.find("woman"), 1);
  EXPECT_EQ(index.find("dragon"), -1);
  EXPECT_EQ(WordIndex::upper("naïve"), "NAÏVE");
  EXPECT_EQ(WordIndex::upper("\xff" "a"), "\xff" "A");  // not UTF-8: bytes kept
}

/// $TOKVEC_EVAL_VECTORS_PY, else ../shared/tools/eval_vectors.py beside the checkout, else "".
std::string eval_vectors_py() {
  if (const char* env = std::getenv("TOKVEC_EVAL_VECTORS_PY")) return env;
  std::filesystem::path p =
      (std::filesystem::path(TOKVEC_TEST_DATA_DIR) / ".." / ".." / ".." / "shared" / "tools" / "eval_vectors.py").lexically_normal();
  std::error_code ec;
  return std::filesystem::exists(p, ec) ? p.string() : "";
}

// Planted analogies: v_i = w_i + offset + noise, so "w_i v_i w_j ?" is v_j when the noise
// allows; about half the questions are right, so selection details matter. Some words are
// case variants of others, some rows fall outside --restrict, some questions hold unknown
// words, and the pair scores are noisy cosines.
TEST(Eval, AgreesWithEvalVectorsPy) {
  std::string py = test::python_with_gensim();
  std::string script = eval_vectors_py();
  if (py.empty() || script.empty()) GTEST_SKIP() << "python3-gensim or ../shared/tools/eval_vectors.py is missing";
  TempDir dir;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  const uint32_t dim = 24, n = 150;
  std::vector<float> offset(dim);
  for (float& x : offset) x = uni(rng);
  Embeddings e;
  e.dim = dim;
  std::vector<std::vector<float>> w(n), v(n);
  for (uint32_t i = 0; i < n; ++i) {
    w[i].resize(dim);
    v[i].resize(dim);
    for (uint32_t d = 0; d < dim; ++d) {
      w[i][d] = uni(rng);
      v[i][d] = w[i][d] + offset[d] + 0.9f * uni(rng);
    }
  }
  std::map<std::string, size_t> row_of;
  auto add = [&](const std::string& word, const std::vector<float>& row) {
    row_of[word] = e.words.size();
    e.words.push_back(word);
    e.data.insert(e.data.end(), row.begin(), row.end());
  };
  auto name = [](char prefix, uint32_t i) { return std::string(1, prefix).append(std::to_string(i)); };
  for (uint32_t i = 0; i < n; ++i) {
    add(name('w', i), w[i]);
    add(name('v', i), v[i]);
    if (i % 17 == 0) {  // case variants, later (less frequent), slightly off
      std::vector<float> r = v[i];
      r[0] += 0.2f;
      add(name('V', i), r);
      add(name('W', i), r);
    }
  }
  write_word2vec_text(dir.file("v.txt"), e);
  std::string q = ": capital-things\n";
  std::uniform_int_distribution<uint32_t> pick(0, n - 1);
  for (int k = 0; k < 400; ++k) {
    if (k == 200) q += ": gram1-forms\n";
    uint32_t i = pick(rng), j = pick(rng);
    if (i == j) continue;
    std::string vj = k % 31 == 0 ? std::string("unknownword") : name('v', j);
    q += name(k % 3 ? 'w' : 'W', i) + " " + name('v', i) + " " + name('w', j) + " " + vj + "\n";
  }
  write_text(dir.file("q.txt"), q);
  std::string pairs = "# w1\tw2\tscore\n";
  std::vector<float> unit = unit_rows(e);
  for (int k = 0; k < 120; ++k) {
    std::string wa = name(k % 5 ? 'w' : 'v', pick(rng)), wb = name('v', pick(rng));
    double cos = 0;  // the gold score: the true cosine plus noise, rounded (ties happen)
    for (uint32_t d = 0; d < dim; ++d) cos += static_cast<double>(unit[row_of[wa] * dim + d]) * unit[row_of[wb] * dim + d];
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f", 5.0 + 5.0 * cos + 1.5 * uni(rng));
    pairs += wa + "\t" + (k % 7 ? wb : "nope") + "\t" + buf + "\n";
  }
  write_text(dir.file("p.tsv"), pairs);

  const std::string restrict = "200";
  int status = -1;
  std::string ref = test::shell_output(py + " " + script + " " + dir.file("v.txt") + " --analogies " + dir.file("q.txt") + " --pairs " +
                                           dir.file("p.tsv") + " --restrict " + restrict + " 2>&1",
                                       &status);
  ASSERT_EQ(status, 0) << ref;
  test::CliResult mine = test::run_cli("eval " + dir.file("v.txt") + " --analogies " + dir.file("q.txt") + " --pairs " + dir.file("p.tsv") +
                                       " --restrict " + restrict + " --json");
  ASSERT_EQ(mine.exit_code, 0) << mine.output;
  nlohmann::json a = nlohmann::json::parse(ref), b = nlohmann::json::parse(mine.output);
  EXPECT_GT(a["analogy_total"].get<double>(), 10.0) << ref;  // the plant works: not a trivial 0
  EXPECT_LT(a["analogy_total"].get<double>(), 90.0) << ref;
  for (const char* key : {"analogy_total", "analogy_semantic", "analogy_syntactic"}) {
    EXPECT_NEAR(a[key].get<double>(), b[key].get<double>(), 0.5) << key << "\n" << ref << "\n" << mine.output;
  }
  EXPECT_EQ(a["analogy_semantic_n"], b["analogy_semantic_n"]);
  EXPECT_EQ(a["analogy_syntactic_n"], b["analogy_syntactic_n"]);
  EXPECT_NEAR(a["pairs:p.tsv"]["spearman"].get<double>(), b["pairs:p.tsv"]["spearman"].get<double>(), 0.005) << ref << "\n" << mine.output;
  EXPECT_NEAR(a["pairs:p.tsv"]["oov_pct"].get<double>(), b["pairs:p.tsv"]["oov_pct"].get<double>(), 0.05);
}

}  // namespace
}  // namespace tokvec
