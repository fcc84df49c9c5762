#include "train_subword_options.h"

#include <string>

#include "tokvec/status.h"

namespace tokvec::cli {

SubwordConfig parse_subword_options(const cxxopts::ParseResult& r, bool words, Kernel kernel) {
  if (words) throw usage_error("give --words or --subwords, not both");
  if (r.count("corpus") > 0) throw usage_error("--subwords trains on text (--input): --corpus does not apply");
  if (r.count("lowercase") > 0) throw usage_error("--lowercase applies to --words runs, not --subwords");
  if (kernel != Kernel::hogbatch) throw usage_error("--kernel pair is not available with --subwords (use hogbatch)");
  SubwordConfig sub;
  const std::string compose = r["subword-compose"].as<std::string>();
  const auto c = parse_subword_compose(compose);
  if (!c) throw usage_error("--subword-compose must be sum, mean, own-plus-mean or own-plus-scaled, got '" + compose + "'");
  sub.compose = *c;
  const std::string anc = r["subword-ancestors"].as<std::string>();
  if (anc != "yes" && anc != "no") throw usage_error("--subword-ancestors must be yes or no, got '" + anc + "'");
  sub.ancestors = anc == "yes";
  sub.own_min_count = r["subword-own-rows"].as<uint64_t>();
  sub.ancestor_min_chars = r["subword-ancestor-min-chars"].as<uint32_t>();
  if (!sub.ancestors) {
    // The default filter has nothing to filter without ancestors; a filter given is an error.
    if (r.count("subword-ancestor-min-chars") > 0 && sub.ancestor_min_chars > 1) {
      throw usage_error("--subword-ancestor-min-chars applies with --subword-ancestors yes");
    }
    sub.ancestor_min_chars = 0;
  }
  const std::string step = r["subword-step"].as<std::string>();
  const auto st = parse_subword_step(step);
  if (!st) throw usage_error("--subword-step must be gradient or unit, got '" + step + "'");
  sub.step = *st;
  const std::string outputs = r["subword-outputs"].as<std::string>();
  const auto o = parse_subword_outputs(outputs);
  if (!o) throw usage_error("--subword-outputs must be words or pieces, got '" + outputs + "'");
  sub.outputs = *o;
  sub.piece_damping_count = r["subword-piece-damping"].as<uint64_t>();
  if (!weighs_own_row_apart(sub.compose)) {
    // The default damping has no own-row split to damp under the sum or the mean; a damping
    // given is an error.
    if (r.count("subword-piece-damping") > 0 && sub.piece_damping_count > 0) {
      throw usage_error("--subword-piece-damping applies with --subword-compose own-plus-mean or own-plus-scaled");
    }
    sub.piece_damping_count = 0;
  }
  return sub;
}

}  // namespace tokvec::cli
