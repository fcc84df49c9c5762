// train --subwords: the composition options of the command line.
#pragma once

#include <cxxopts.hpp>

#include "tokvec/subword.h"
#include "tokvec/trainer.h"

namespace tokvec::cli {

/// The SubwordConfig that --subword-compose, --subword-ancestors, --subword-own-rows and
/// --subword-step give, after refusing what a subword run cannot combine with (--words,
/// --corpus, --lowercase, --kernel pair). Throws usage_error naming the flag.
SubwordConfig parse_subword_options(const cxxopts::ParseResult& r, bool words, Kernel kernel);

}  // namespace tokvec::cli
