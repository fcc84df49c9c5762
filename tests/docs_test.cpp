// The documents a user reads: the README stays a short guide with the two set-up commands
// that CI runs, and neither it nor docs/ carries project history (issue numbers, dates,
// load averages) or points into a folder outside the repository.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "test_util.h"

namespace fs = std::filesystem;
namespace test = tokvec::test;

namespace {

std::string repo_root() { return fs::path(TOKVEC_CORPORA_DIR).parent_path().string(); }

/// README.md and every Markdown file under docs/.
std::vector<fs::path> user_documents() {
  std::vector<fs::path> files{fs::path(repo_root()) / "README.md"};
  const fs::path docs = fs::path(repo_root()) / "docs";
  if (fs::is_directory(docs)) {
    for (const auto& e : fs::directory_iterator(docs)) {
      if (e.is_regular_file() && e.path().extension() == ".md") files.push_back(e.path());
    }
  }
  return files;
}

/// The 1-based line of byte offset `at` in `text`.
size_t line_of(const std::string& text, size_t at) {
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

}  // namespace

TEST(Docs, ReadmeIsAShortGuideWithTheTwoSetUpCommandsCiRuns) {
  const std::string readme = test::read_text(repo_root() + "/README.md");
  EXPECT_LE(std::count(readme.begin(), readme.end(), '\n'), 320) << "README.md is the short user guide; reference goes to docs/";
  const size_t setup = readme.find("## Set-up");
  ASSERT_NE(setup, std::string::npos);
  const std::string section = readme.substr(setup, readme.find("\n## ", setup + 1) - setup);
  EXPECT_NE(section.find("tools/demo.sh"), std::string::npos) << section;
  EXPECT_NE(section.find("tools/test.sh"), std::string::npos) << section;
  // The test command of the README is the one CI runs.
  EXPECT_NE(test::read_text(repo_root() + "/.ci/run").find("tools/test.sh"), std::string::npos);
  EXPECT_TRUE(fs::is_regular_file(repo_root() + "/docs/errors.md"));
}

TEST(Docs, NoHistoryAndNoPathOutsideTheRepository) {
  // Issue numbers, dates and load averages belong to the project's history, not to a
  // user's reference; a path into ../shared/ works only in this project's checkout (a
  // document may name ../shared as the default of a variable, without a path under it).
  const std::regex history(R"([Ii]ssue #?[0-9]|(^|[ (])#[0-9]+\b|\b20[0-9]{2}-[01][0-9]\b|load average|\.\./shared/)");
  for (const fs::path& file : user_documents()) {
    const std::string text = test::read_text(file.string());
    for (auto it = std::sregex_iterator(text.begin(), text.end(), history); it != std::sregex_iterator(); ++it) {
      ADD_FAILURE() << file.string() << ":" << line_of(text, static_cast<size_t>(it->position())) << ": '"
                    << it->str() << "'";
    }
  }
}
