#include "cli_common.h"

#include <cstdio>

#include "tokvec/status.h"

namespace tokvec::cli {

std::optional<cxxopts::ParseResult> parse(cxxopts::Options& options, int argc, char** argv) {
  options.add_options()("h,help", "Show this help");
  try {
    cxxopts::ParseResult result = options.parse(argc, argv);
    if (result.count("help") > 0) {
      std::fputs(options.help().c_str(), stdout);
      return std::nullopt;
    }
    if (!result.unmatched().empty()) {
      throw usage_error("unexpected argument '" + result.unmatched().front() + "' (see --help)");
    }
    return result;
  } catch (const cxxopts::exceptions::exception& e) {
    throw usage_error(std::string(e.what()) + " (see --help)");
  }
}

void require(const cxxopts::ParseResult& result, const std::string& option) {
  if (result.count(option) == 0) throw usage_error("--" + option + " is required (see --help)");
}

}  // namespace tokvec::cli
