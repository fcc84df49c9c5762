// Shared pieces of the per-command configurations.
//
// Each command has one Config struct (BpeTrainConfig, TrainConfig, ...) holding its
// defaults and one validate() with explicit ranges; the CLI reads its defaults from that
// struct so `--help` and the code never disagree. This header holds what they share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tokvec/status.h"

namespace tokvec {

/// Upper bound on --threads: more threads than this is taken as a typo.
inline constexpr int kMaxThreads = 1024;

/// The number of threads to use: `requested` if > 0, else the machine's hardware threads.
int resolve_threads(int requested);

/// Throws a usage error "--name must be in [lo, hi], got v" when v is outside the range.
void check_range(std::string_view option, double value, double lo, double hi);
void check_range(std::string_view option, int64_t value, int64_t lo, int64_t hi);
/// The same for a library setting: a FieldError (usage) "FIELD must be in [lo, hi], got v"
/// naming the field, which a front end shows under its own name for it.
void check_field_range(std::string_view field, double value, double lo, double hi);
void check_field_range(std::string_view field, int64_t value, int64_t lo, int64_t hi);

}  // namespace tokvec
