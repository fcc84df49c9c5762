#include <nlohmann/json.hpp>
#include <sstream>

#include <algorithm>
#include <cmath>
#include <random>

#include "analysis/knn.h"
#include "test_util.h"
#include "tokvec/audit.h"
#include "tokvec/simd.h"

namespace tokvec {
namespace {

/// Three rows, dim 2, whose initial value is (0.1, 0.1) for every row.
TrainingState hand_state() {
  TrainingState s;
  s.vocab = {"the", "a,\"b\"", std::string("\x01z\xff", 3)};
  s.frequencies = {1000, 40, 0};
  s.input = Matrix(3, 2);
  s.output = Matrix(3, 2);
  s.input.row(0)[0] = 3.1f;  // drift (3, 4) -> 5
  s.input.row(0)[1] = 4.1f;
  s.input.row(1)[0] = 0.1f;  // untouched: drift 0
  s.input.row(1)[1] = 0.1f;
  s.input.row(2)[0] = 0.1f;
  s.input.row(2)[1] = 0.1f;
  s.input_updates = {5000, 99, 0};
  s.output_positive_updates = {4000, 80, 0};
  s.output_negative_updates = {25000, 700, 3};
  return s;
}

void init_row(uint32_t, std::span<float> out) {
  for (float& v : out) v = 0.1f;
}

TEST(Audit, FlagsRowsBelowTheThresholdAndMeasuresDrift) {
  AuditConfig config;
  config.min_updates = 100;
  AuditReport r = audit(hand_state(), config, init_row);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_FALSE(r.rows[0].flagged);
  EXPECT_TRUE(r.rows[1].flagged);  // 99 < 100
  EXPECT_TRUE(r.rows[2].flagged);  // never occurs: zero updates
  EXPECT_EQ(r.flagged_count, 2u);
  EXPECT_EQ(r.flagged_tokens, 40u);
  EXPECT_EQ(r.corpus_tokens, 1040u);
  EXPECT_EQ(r.never_produced, 1u);
  EXPECT_NEAR(r.rows[0].drift, 5.0, 1e-5);
  EXPECT_NEAR(r.rows[0].norm, std::sqrt(3.1 * 3.1 + 4.1 * 4.1), 1e-5);
  EXPECT_NEAR(r.rows[1].drift, 0.0, 1e-9);
  EXPECT_EQ(r.rows[2].token, "\\x01z\\xFF");
  // Frequency buckets: 0 -> bucket 0, 40 -> [32, 63] = bucket 6, 1000 -> [512, 1023] = bucket 10.
  EXPECT_EQ(r.frequency_histogram.buckets[0], 1u);
  EXPECT_EQ(r.frequency_histogram.buckets[6], 1u);
  EXPECT_EQ(r.frequency_histogram.buckets[10], 1u);
  EXPECT_EQ(Histogram::bucket_label(6), "32-63");
  config.min_updates = 0;
  EXPECT_EQ(audit(hand_state(), config, init_row).flagged_count, 0u);
}

TEST(Audit, PrintableTokenEscapesOnlyWhatIsNotPrintable) {
  EXPECT_EQ(printable_token("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(printable_token("\xe2\x96\x81the"), "\xe2\x96\x81the");
  EXPECT_EQ(printable_token("a\\b"), "a\\\\b");
  EXPECT_EQ(printable_token(std::string("\0\n", 2)), "\\x00\\x0A");
  EXPECT_EQ(printable_token("\xc3"), "\\xC3");            // cut sequence
  EXPECT_EQ(printable_token("\xed\xa0\x80"), "\\xED\\xA0\\x80");  // surrogate
  EXPECT_EQ(printable_token("\xc0\xaf"), "\\xC0\\xAF");   // overlong
}

/// Splits one CSV record (RFC 4180 quoting).
std::vector<std::string> csv_record(std::istream& in) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  char c;
  while (in.get(c)) {
    if (quoted) {
      if (c == '"') {
        if (in.peek() == '"') {
          fields.back() += '"';
          in.get();
        } else {
          quoted = false;
        }
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      return fields;
    } else {
      fields.back() += c;
    }
  }
  return fields.size() == 1 && fields[0].empty() ? std::vector<std::string>{} : fields;
}

TEST(Audit, JsonAndCsvAgree) {
  AuditReport r = audit(hand_state(), AuditConfig{}, init_row);
  nlohmann::json j = nlohmann::json::parse(audit_json(r));
  EXPECT_EQ(j["threshold"], 100);
  EXPECT_EQ(j["flagged_count"], 2);
  EXPECT_EQ(j["vocab_size"], 3);
  std::istringstream csv(audit_csv(r));
  std::vector<std::string> header = csv_record(csv);
  ASSERT_EQ(header.size(), 9u);
  size_t n = 0;
  for (std::vector<std::string> rec = csv_record(csv); !rec.empty(); rec = csv_record(csv), ++n) {
    ASSERT_LT(n, j["rows"].size());
    const nlohmann::json& row = j["rows"][n];
    ASSERT_EQ(rec.size(), header.size());
    for (size_t k = 0; k < header.size(); ++k) {
      const nlohmann::json& value = row.at(header[k]);
      if (value.is_string()) {
        EXPECT_EQ(rec[k], value.get<std::string>()) << header[k];
      } else {
        EXPECT_EQ(rec[k], value.dump()) << header[k];
      }
    }
  }
  EXPECT_EQ(n, j["rows"].size());
}

TEST(Audit, SvgIsWellFormedXml) {
  if (std::system("python3 -c 'import xml.dom.minidom' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 absent";
  test::TempDir dir;
  AuditReport r = audit(hand_state(), AuditConfig{}, init_row);
  std::string svg = audit_svg(r);
  test::write_text(dir.file("a.svg"), svg);
  std::string check = "python3 -c \"import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); "
                      "assert d.documentElement.tagName == 'svg'; "
                      "assert len(d.getElementsByTagName('circle')) >= 3\" " + dir.file("a.svg");
  EXPECT_EQ(std::system(check.c_str()), 0) << svg.substr(0, 400);
  EXPECT_NE(svg.find("threshold: 100 updates"), std::string::npos);
  EXPECT_NE(svg.find("corpus frequency (log scale)"), std::string::npos);
}

TEST(Audit, TextListsFlaggedRowsThatOccurMostFrequentFirstAndCountsTheUnseen) {
  TrainingState s = hand_state();
  // A fourth row, flagged and more frequent than "a,\"b\"" but with more updates.
  s.vocab.push_back("often");
  s.frequencies.push_back(60);
  s.input = Matrix(4, 2);
  s.output = Matrix(4, 2);
  s.input_updates.push_back(98);
  s.output_positive_updates.push_back(1);
  s.output_negative_updates.push_back(1);
  AuditReport r = audit(s, AuditConfig{}, init_row);
  EXPECT_EQ(r.flagged_count, 3u);
  EXPECT_EQ(r.flagged_seen_count, 2u);
  std::string text = audit_text(r, 10);
  size_t often = text.find("often"), rare = text.find("a,\"b\"");
  ASSERT_NE(often, std::string::npos) << text;
  ASSERT_NE(rare, std::string::npos) << text;
  EXPECT_LT(often, rare) << text;  // most frequent first, not fewest updates first
  // The never-seen row is counted, not listed.
  EXPECT_EQ(text.find("\\x01z\\xFF"), std::string::npos) << text;
  EXPECT_NE(text.find("most frequent first (2 of 2)"), std::string::npos) << text;
  // The library names the outputs by their settings; the command line says --csv and --json.
  EXPECT_NE(text.find("never occur in the corpus (frequency 0, not listed; see csv or json): 1"), std::string::npos) << text;
  EXPECT_NE(text.find("flagged (input row < 100 updates): 3"), std::string::npos) << text;
  // --top cuts the list, not the count.
  text = audit_text(r, 1);
  EXPECT_NE(text.find("(1 of 2)"), std::string::npos) << text;
  EXPECT_EQ(text.find("a,\"b\""), std::string::npos) << text;
  // JSON and CSV stay complete.
  nlohmann::json j = nlohmann::json::parse(audit_json(r));
  EXPECT_EQ(j["rows"].size(), 4u);
  EXPECT_EQ(j["flagged_seen_count"], 2);
  EXPECT_EQ(j["never_produced"], 1);
  EXPECT_NE(audit_csv(r).find("\\x01z\\xFF"), std::string::npos);
}


// The blocked search against a plain loop: the same lists on every SIMD path and thread
// count (random vectors, so no ties), zero rows neither neighbours nor queries.
TEST(Audit, ExactKnnMatchesABruteForceSearch) {
  const size_t n = 150, dim = 13, k = 7;
  Matrix m(n + 3, dim);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (size_t i = 0; i < n + 3; ++i) {
    for (size_t d = 0; d < dim; ++d) m.row(i)[d] = (i == 20 || i == 77) ? 0.0f : normal(rng);
  }
  std::vector<uint32_t> rows;  // every row but the last three, out of id order
  for (uint32_t i = 0; i < n; ++i) rows.push_back((i * 37) % n);
  std::vector<uint32_t> expected(n * k, detail::kNoNeighbor);
  auto cosine = [&](uint32_t a, uint32_t b) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t d = 0; d < dim; ++d) ab += double(m.row(a)[d]) * m.row(b)[d], aa += double(m.row(a)[d]) * m.row(a)[d],
                                     bb += double(m.row(b)[d]) * m.row(b)[d];
    return ab / std::sqrt(aa * bb);
  };
  for (uint32_t i = 0; i < n; ++i) {
    if (rows[i] == 20 || rows[i] == 77) continue;
    std::vector<std::pair<double, uint32_t>> all;
    for (uint32_t j = 0; j < n; ++j) {
      if (j != i && rows[j] != 20 && rows[j] != 77) all.push_back({-cosine(rows[i], rows[j]), j});
    }
    std::sort(all.begin(), all.end());
    for (size_t r = 0; r < k; ++r) expected[i * k + r] = all[r].second;
  }
  for (simd::Path path : simd::runnable_paths()) {
    simd::ScopedPath forced(path);
    for (int threads : {1, 2}) {
      EXPECT_EQ(detail::exact_knn(m, rows, k, threads), expected) << simd::name(path) << " threads " << threads;
      // Chunks of 64 columns: most pairs are scored once and offered to both rows' lists.
      EXPECT_EQ(detail::exact_knn(m, rows, k, threads, 64), expected) << simd::name(path) << " threads " << threads;
    }
  }
  // Fewer candidates than k: the lists are cut short.
  std::vector<uint32_t> three = {0, 1, 2};
  std::vector<uint32_t> short_lists = detail::exact_knn(m, three, 5, 1);
  EXPECT_EQ(short_lists[2], detail::kNoNeighbor);
  EXPECT_NE(short_lists[1], detail::kNoNeighbor);
}

TEST(Audit, GeometryOfACone) {
  // Every trained row the same direction plus a little noise: anisotropy near 1.
  TrainingState s;
  const size_t n = 200, dim = 8;
  s.input = Matrix(n, dim);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  for (size_t i = 0; i < n; ++i) {
    s.vocab.push_back("t" + std::to_string(i));
    s.frequencies.push_back(i == 0 ? 0 : 5);  // row 0 never trained: left out
    for (size_t d = 0; d < dim; ++d) s.input.row(i)[d] = 1.0f + normal(rng);
  }
  Geometry g = measure_geometry(s, 10, 1);
  EXPECT_EQ(g.rows, n - 1);
  EXPECT_EQ(g.hubness_rows, n - 1);
  EXPECT_EQ(g.pairs, kGeometryPairs);
  EXPECT_GT(g.anisotropy, 0.99);
  EXPECT_LE(g.anisotropy, 1.0 + 1e-9);
  EXPECT_TRUE(std::isfinite(g.hubness));
  EXPECT_EQ(measure_geometry(s, 10, 2).hubness, g.hubness);  // the same sample, any thread count
}

}  // namespace
}  // namespace tokvec
