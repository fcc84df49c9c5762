// A run adapted from another (train --init-from): the source run it starts from, and the
// initial state built from the source's matrices and the new text's corpus.
#include <algorithm>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/config.h"
#include "base/io.h"
#include "run/session_detail.h"
#include "tokvec/bpe.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"

namespace tokvec::detail {

namespace fs = std::filesystem;

AdaptSource load_adapt_source(const std::string& init_from) {
  const RunTarget target = resolve_run_target(init_from);
  RunState rs = load_run_state(target);
  AdaptSource src;
  src.path = rs.path;
  src.dir = target.dir;
  if (!rs.note.empty() || !rs.state.finished()) {
    throw input_error(rs.path, "", "is not a finished run: " + setting_name("init_from") +
                                       " starts from a finished run's state.tkv (finish it with: " + resume_command(target.dir) + ")");
  }
  src.state = std::move(rs.state);
  if (src.state.tokenizer_kind == TokenizerKind::bpe) {
    src.tokenizer_file = (fs::path(target.dir) / "tokenizer.bpe").string();
    std::error_code ec;
    if (!fs::exists(src.tokenizer_file, ec)) {
      throw input_error(src.tokenizer_file, "", "is missing: " + setting_name("init_from") + " needs the source run's tokenizer (its rows are that tokenizer's)");
    }
    const BpeModel model = BpeModel::load(src.tokenizer_file);
    if (model.checksum() != src.state.tokenizer_checksum) {
      throw input_error(src.tokenizer_file, "", "is not the tokenizer " + src.path + " was trained with (checksum " + hex64(model.checksum()) +
                                                    ", the state records " + hex64(src.state.tokenizer_checksum) + ")");
    }
  }
  // Words runs record whether they lowercased in the settings the state keeps.
  bool subwords = false;
  try {
    const nlohmann::json j = nlohmann::json::parse(src.state.config_json);
    if (j.is_object() && j.contains("lowercase") && j.at("lowercase").is_boolean()) src.lowercase = j.at("lowercase").get<bool>();
    subwords = j.is_object() && j.contains("mode") && j.at("mode") == "subwords";
  } catch (const nlohmann::json::exception&) {
    // Settings that do not parse record nothing about lowercasing: the default (off).
  }
  // A subword run's rows are words and pieces composed together: adapting one would need the
  // composition rebuilt over the new text's words, which --init-from does not do.
  if (subwords) {
    throw input_error(rs.path, "", "is a " + setting_name("subwords") + " run: " + setting_name("init_from") + " starts from a words or BPE run");
  }
  return src;
}

void apply_adapt_source(RunConfig& run, const AdaptSource& src) {
  run.mode = src.state.tokenizer_kind == TokenizerKind::words ? RunMode::words : RunMode::bpe;
  run.tokenizer_path = src.tokenizer_file;
  run.lowercase = src.lowercase;
  run.bpe_vocab = 0;
  if (run.train.dim == 0) run.train.dim = src.state.dim();
  if (run.train.dim != src.state.dim()) {
    throw FieldError(ErrorKind::usage, "dim", std::to_string(run.train.dim) + " does not match the dimension " +
                                                  std::to_string(src.state.dim()) + " of the run it starts from (" + src.path +
                                                  "); leave it out to keep the source's");
  }
}

TrainingState adapted_state(const AdaptSource& src, const CorpusView& corpus, const std::vector<std::string>& vocab,
                            TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum, const TrainConfig& cfg) {
  const TrainingState& from = src.state;
  const size_t n0 = from.vocab_size();
  // The corpus was built with the source's tokenizer (BPE) or with its vocabulary first
  // (words): anything else is a bug, or a source changed under a resumed run.
  bool same = tokenizer_kind == from.tokenizer_kind && vocab.size() >= n0 && cfg.dim == from.dim() &&
              (tokenizer_kind != TokenizerKind::bpe || tokenizer_checksum == from.tokenizer_checksum);
  for (size_t i = 0; same && i < n0; ++i) same = vocab[i] == from.vocab[i];
  if (!same) {
    throw input_error(src.path, "", "does not hold the rows of this run's corpus (its tokenizer, vocabulary or dimension differs): "
                                    "was the source run trained again?");
  }
  // A fresh learning-rate schedule over this corpus, its frequencies, zeroed output rows.
  TrainingState s = initial_state(corpus, vocab, tokenizer_kind, tokenizer_checksum, cfg);
  const size_t dim = from.dim();
  for (size_t r = 0; r < n0; ++r) {
    std::memcpy(s.input.row(r), from.input.row(r), dim * sizeof(float));
    std::memcpy(s.output.row(r), from.output.row(r), dim * sizeof(float));
  }
  // New rows (words mode): word2vec's start, input uniform in [-0.5/dim, 0.5/dim) and
  // output zero, from the source's seed so that the audit's drift is measured from the
  // value each row started with.
  for (size_t r = n0; r < vocab.size(); ++r) initial_input_row(from.seed, static_cast<uint32_t>(r), {s.input.row(r), dim});
  s.seed = from.seed;
  PretrainCounts p;
  p.source_rows = static_cast<uint32_t>(n0);
  p.tokens = from.tokens_done + (from.pretrain ? from.pretrain->tokens : 0);
  const size_t n = vocab.size();
  p.frequencies.assign(n, 0);
  p.input_updates.assign(n, 0);
  p.output_positive_updates.assign(n, 0);
  p.output_negative_updates.assign(n, 0);
  for (size_t r = 0; r < n0; ++r) {
    p.frequencies[r] = from.frequencies[r] + (from.pretrain ? from.pretrain->frequencies[r] : 0);
    p.input_updates[r] = from.input_updates[r];  // the source's totals over its phases
    p.output_positive_updates[r] = from.output_positive_updates[r];
    p.output_negative_updates[r] = from.output_negative_updates[r];
  }
  // This run adds its updates to the totals.
  s.input_updates = p.input_updates;
  s.output_positive_updates = p.output_positive_updates;
  s.output_negative_updates = p.output_negative_updates;
  s.pretrain = std::move(p);
  return s;
}

}  // namespace tokvec::detail
