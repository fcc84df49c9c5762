// Helpers shared by the subcommands of the tokvec command line.
#pragma once

#include <cxxopts.hpp>
#include <optional>
#include <string>

namespace tokvec::cli {

/// Parses `argv` (argv[0] is the subcommand name). Unknown options, missing values and
/// stray positional arguments become tokvec usage errors. Returns nullopt after printing
/// the help text when --help was given.
std::optional<cxxopts::ParseResult> parse(cxxopts::Options& options, int argc, char** argv);

/// Throws a usage error unless the option was given.
void require(const cxxopts::ParseResult& result, const std::string& option);

}  // namespace tokvec::cli
