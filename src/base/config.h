// Shared pieces of the per-command configurations.
//
// Each command has one Config struct (BpeTrainConfig, TrainConfig, ...) holding its
// defaults and one validate() with explicit ranges; the CLI reads its defaults from that
// struct so `--help` and the code never disagree. This header holds what they share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tokvec/status.h"

namespace tokvec {

/// Upper bound on --threads: more threads than this is taken as a typo.
inline constexpr int kMaxThreads = 1024;

/// The number of threads to use: `requested` if > 0, else the machine's hardware threads.
int resolve_threads(int requested);

/// How the front end in use names what the library's messages point its user to: a setting,
/// by its field ("min_count"), and the way to resume the run in a folder. The CLI installs
/// its flags ("--min-count", "tokvec train --resume DIR"), the Python module its argument
/// names and tokvec.resume; a program using the library gets the fields and
/// TrainingSession::resume. Install once, before any work.
struct FrontEndNames {
  std::function<std::string(std::string_view field)> setting;
  std::function<std::string(std::string_view dir)> resume;
};
void set_front_end_names(FrontEndNames names);
/// The front end's name for the setting `field`.
std::string setting_name(std::string_view field);
/// The front end's way to resume the run in `dir`.
std::string resume_command(std::string_view dir);

/// Throws a usage error "NAME must be in [lo, hi], got v" when v is outside the range
/// (for a front end's own options; the library's settings use check_field_range).
void check_range(std::string_view option, double value, double lo, double hi);
void check_range(std::string_view option, int64_t value, int64_t lo, int64_t hi);
/// The same for a library setting: a FieldError (usage) "FIELD must be in [lo, hi], got v"
/// naming the field, which a front end shows under its own name for it.
void check_field_range(std::string_view field, double value, double lo, double hi);
void check_field_range(std::string_view field, int64_t value, int64_t lo, int64_t hi);

}  // namespace tokvec
