// The library names a bad setting by its field (FieldError) and asks the front end how to
// spell the settings and the resume command its messages point to; the command line shows
// its flags, so its messages are the flags the user typed.
#include <string>

#include <gtest/gtest.h>

#include "base/config.h"
#include "distributed/distributed.h"
#include "test_util.h"
#include "tokvec/audit.h"
#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/eval.h"
#include "tokvec/export.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"

namespace tokvec {
namespace {

using test::run_cli;
using test::TempDir;

/// The FieldError `f` throws (a failure when it throws none or another error).
template <class F>
FieldError field_error_of(F f) {
  try {
    f();
  } catch (const FieldError& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a FieldError: " << e.what();
    return FieldError(ErrorKind::internal, "", "");
  }
  ADD_FAILURE() << "no error";
  return FieldError(ErrorKind::internal, "", "");
}

void expect_field(const FieldError& e, const std::string& field, const std::string& what) {
  EXPECT_EQ(e.kind(), ErrorKind::usage);
  EXPECT_EQ(e.field(), field);
  EXPECT_EQ(std::string(e.what()), what);
}

TEST(SettingNames, LibraryChecksNameTheFieldNotAFlag) {
  AuditConfig audit;
  audit.k = 0;
  expect_field(field_error_of([&] { audit.validate(); }), "k", "k must be in [1, 1000], got 0");
  BpeTrainConfig bpe;
  expect_field(field_error_of([&] { bpe.validate(); }), "input", "input is required (one or more text files)");
  bpe.inputs = {"a.txt"};
  bpe.min_frequency = 0;
  expect_field(field_error_of([&] { bpe.validate(); }), "min_frequency", "min_frequency must be in [1, 1099511627776], got 0");
  EvalConfig eval;
  eval.restrict = 0;
  expect_field(field_error_of([&] { eval.validate(); }), "restrict", "restrict must be in [1, 2147483648], got 0");
  SyncOptions sync;
  sync.rows = 0;
  expect_field(field_error_of([&] { sync.validate(); }), "sync_rows", "sync_rows must be in [1, 4294967296], got 0");
  expect_field(field_error_of([] { resolve_threads(-1); }), "threads", "threads must be in [0, 1024] (0 = all cores), got -1");
  EXPECT_EQ(field_error_of([] { CheckpointEvery::parse("10x"); }).field(), "checkpoint_every");
  EXPECT_EQ(field_error_of([] { parse_vector_format("csv"); }).field(), "format");
  EXPECT_EQ(field_error_of([] { parse_token_order("random"); }).field(), "order");
}

TEST(SettingNames, HintsInMessagesUseTheFrontEndsNames) {
  TrainConfig cfg;
  cfg.window = 5;
  auto message = [&] {
    try {
      cfg.validate(3, 2, "c.tkc");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // A program using the library: the settings' own names.
  EXPECT_NE(message().find("no context window fits (lower window)"), std::string::npos) << message();
  EXPECT_EQ(resume_command("/r"), "TrainingSession::resume(\"/r\")");
  set_front_end_names({[](std::string_view f) { return "--" + std::string(f); }, [](std::string_view d) { return "go " + std::string(d); }});
  EXPECT_NE(message().find("no context window fits (lower --window)"), std::string::npos) << message();
  EXPECT_EQ(setting_name("min_count"), "--min_count");
  EXPECT_EQ(resume_command("/r"), "go /r");
  set_front_end_names({});
  EXPECT_EQ(setting_name("min_count"), "min_count");
}

TEST(SettingNamesCli, TheCommandLineShowsItsFlags) {
  TempDir dir;
  const std::string binary = dir.file("binary.txt");
  test::write_text(binary, std::string("\x00\x01\x02\x03\xff\xfe", 6) + std::string(200, '\x01'));
  struct Case {
    std::string args;
    std::string message;
  };
  const Case cases[] = {
      {"audit " + dir.file("run") + " --k 0", "tokvec audit: error: --k must be in [1, 1000], got 0"},
      {"neighbors " + dir.file("v.vec") + " -k 0 w", "tokvec neighbors: error: -k must be in [1, 100000], got 0"},
      {"eval " + dir.file("v.vec") + " --analogies " + dir.file("a.txt") + " --restrict 0", "tokvec eval: error: --restrict must be in [1, 2147483648], got 0"},
      {"train --input x --output " + dir.file("o") + " --checkpoint-every 10x", "tokvec train: error: --checkpoint-every '10x': "},
      {"export " + dir.file("run") + " --format csv --output " + dir.file("o.vec"),
       "tokvec export: error: --format must be word2vec-text, word2vec-binary or npy, got 'csv'"},
      {"train --input " + binary + " --output " + dir.file("o2") + " --bpe-vocab-size 7", "tokvec train: error: --bpe-vocab-size must be in ["},
      {"bpe-train --input " + binary + " --output " + dir.file("m.bpe") + " --quiet", "; or pass --allow-binary to train on its bytes as they are"},
  };
  for (const Case& c : cases) {
    const test::CliResult r = run_cli(c.args);
    EXPECT_EQ(r.exit_code == 2 || r.exit_code == 3, true) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
}

}  // namespace
}  // namespace tokvec
