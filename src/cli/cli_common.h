// Helpers shared by the subcommands of the tokvec command line.
#pragma once

#include <cxxopts.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokvec::cli {

/// Parses `argv` (argv[0] is the subcommand name). Unknown options, missing values and
/// stray positional arguments become tokvec usage errors. Returns nullopt after printing
/// the help text when --help was given.
std::optional<cxxopts::ParseResult> parse(cxxopts::Options& options, int argc, char** argv);

/// The candidate closest to `given` by edit distance when it is close enough to be a slip
/// (a third of its length, one to three edits), else "".
std::string closest(std::string_view given, const std::vector<std::string>& candidates);

/// The flag that sets a library setting: "--" and the field with '-' for '_' ("min_count":
/// "--min-count"). The library names a bad setting by its field (FieldError); the command
/// line shows it as the flag the user typed.
std::string flag_name(std::string_view field);

/// Throws usage_error(before + "--OPTION" + after) for the first of `options` given.
void refuse_given(const cxxopts::ParseResult& result, std::initializer_list<const char*> options, const std::string& before,
                  const std::string& after);

/// Throws a usage error unless the option was given.
void require(const cxxopts::ParseResult& result, const std::string& option);

}  // namespace tokvec::cli
