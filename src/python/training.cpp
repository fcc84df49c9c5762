// tokvec._tokvec's train and resume: a TrainingSession driven from Python.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <csignal>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/config.h"
#include "base/io.h"
#include "base/progress.h"
#include "python/bindings.h"
#include "tokvec/bpe.h"
#include "tokvec/run.h"
#include "tokvec/status.h"
#include "tokvec/trainer.h"

namespace tokvec_py {

namespace {

/// One session at a time per process (the library's signal guard is process-wide).
std::mutex g_session_mutex;

/// The library's progress lines to a Python callable `write(line, redraw)` (None: stderr, as
/// the command prints them). The callable is called with the GIL taken, from whichever
/// thread reports; an exception it raises is reported as unraisable and the work goes on.
std::optional<tokvec::ProgressSink> python_sink(const py::object& write, bool redraw) {
  if (write.is_none()) return std::nullopt;
  tokvec::ProgressSink sink;
  sink.interactive = redraw;
  // A borrowed handle: the caller keeps `write` alive past the session, and the sink may
  // be destroyed without the GIL.
  sink.write = [h = py::handle(write)](std::string_view line, bool redraw_line) {
    py::gil_scoped_acquire gil;
    try {
      h(to_str(line), redraw_line);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("tokvec progress callback");
    }
  };
  return sink;
}

/// Runs a session with the GIL released, naming a bad setting as the Python argument.
template <class F>
py::dict run_session(F f, const py::object& on_progress, bool redraw) {
  tokvec::SessionResult r;
  std::optional<tokvec::ProgressSink> sink = python_sink(on_progress, redraw);
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(g_session_mutex);
    std::optional<tokvec::ScopedProgressSink> installed;
    if (sink) installed.emplace(std::move(*sink));
    try {
      r = f();
    } catch (const tokvec::VocabularyTooLarge& e) {  // the run's own tokenizer: no min_frequency argument
      throw tokvec::Error(e.kind(), e.message("bpe_vocab_size", std::nullopt));
    } catch (const tokvec::RunFolderNotEmpty& e) {
      throw tokvec::Error(e.kind(), "output " + e.dir() + " is not empty; pass force=True to replace its run, or tokvec.resume(\"" +
                                        e.dir() + "\") to continue it (nothing was changed)");
    } catch (const tokvec::FieldError& e) {
      throw e.with_field_name(e.field());
    }
  }
  py::dict d;
  d["outcome"] = r.outcome == tokvec::SessionResult::Outcome::finished           ? "finished"
                 : r.outcome == tokvec::SessionResult::Outcome::already_finished ? "already_finished"
                                                                                 : "stopped";
  d["signal"] = r.signal == SIGTERM ? "SIGTERM" : "SIGINT";
  d["checkpoint"] = r.checkpoint;
  d["state_path"] = r.state_path;
  return d;
}

tokvec::SessionOptions session_options(const std::string& checkpoint_every, int64_t keep, bool progress, bool allow_binary) {
  tokvec::SessionOptions o;
  o.checkpoints.every = tokvec::CheckpointEvery::parse(checkpoint_every);
  tokvec::check_range("keep", keep, int64_t{1}, int64_t{1000});
  o.checkpoints.keep = static_cast<size_t>(keep);
  o.checkpoints.validate();
  o.quiet = !progress;
  o.allow_binary = allow_binary;
  return o;
}

py::dict train_run(const std::string& input, const std::string& output, bool words, std::optional<int64_t> bpe_vocab_size,
                   const std::optional<std::string>& tokenizer, const std::optional<std::string>& corpus, bool lowercase, int64_t dim,
                   int64_t window, int64_t negative, double sample, int64_t min_count, int64_t epochs, int64_t threads, double lr,
                   int64_t seed, const std::string& kernel, const std::string& checkpoint_every, int64_t keep, bool progress, bool force,
                   bool allow_binary, const py::object& on_progress, bool redraw, bool subwords,
                   const std::optional<std::string>& subword_compose, std::optional<bool> subword_ancestors,
                   std::optional<int64_t> subword_own_rows, const std::optional<std::string>& subword_step,
                   std::optional<int64_t> subword_ancestor_min_chars, const std::optional<std::string>& subword_outputs,
                   std::optional<int64_t> subword_piece_damping) {
  namespace fs = std::filesystem;
  const tokvec::SessionOptions options = session_options(checkpoint_every, keep, progress, allow_binary);
  // The ranges of TrainConfig::validate, named as the Python arguments are, before the
  // values are narrowed.
  tokvec::check_range("dim", dim, int64_t{1}, int64_t{4096});
  tokvec::check_range("window", window, int64_t{1}, int64_t{100});
  tokvec::check_range("negative", negative, int64_t{1}, int64_t{100});
  tokvec::check_range("min_count", min_count, int64_t{1}, int64_t{1} << 32);
  tokvec::check_range("epochs", epochs, int64_t{1}, int64_t{1000});
  tokvec::check_range("threads", threads, int64_t{0}, int64_t{tokvec::kMaxThreads});
  if (seed < 0) throw tokvec::usage_error("seed must be >= 0, got " + std::to_string(seed));
  tokvec::RunConfig run;
  tokvec::TrainConfig& cfg = run.train;
  cfg.dim = static_cast<uint32_t>(dim);
  cfg.window = static_cast<uint32_t>(window);
  cfg.negative = static_cast<uint32_t>(negative);
  cfg.sample = sample;
  cfg.min_count = static_cast<uint64_t>(min_count);
  cfg.epochs = static_cast<uint32_t>(epochs);
  cfg.threads = static_cast<int>(threads);
  cfg.lr = lr;
  cfg.seed = static_cast<uint64_t>(seed);
  cfg.kernel = tokvec::kernel_from_name(kernel);
  cfg.quiet = !progress;
  cfg.validate();
  if (words && (tokenizer || bpe_vocab_size)) throw tokvec::usage_error("words=True cannot be combined with tokenizer or bpe_vocab_size");
  if (lowercase && !words) throw tokvec::usage_error("lowercase applies to words=True runs (a BPE tokenizer keeps the text's case)");
  if (tokenizer && bpe_vocab_size) throw tokvec::usage_error("give tokenizer or bpe_vocab_size, not both");
  if (corpus && (words || bpe_vocab_size)) throw tokvec::usage_error("corpus trains on an encoded corpus: words and bpe_vocab_size do not apply");
  if (corpus && !input.empty()) throw tokvec::usage_error("give input or corpus, not both");
  if (!corpus && input.empty()) throw tokvec::usage_error("input is required (or corpus)");
  if (subwords && (words || corpus)) throw tokvec::usage_error("subwords=True trains on text with a BPE tokenizer: words and corpus do not apply");
  if (subwords && cfg.kernel != tokvec::Kernel::hogbatch) throw tokvec::usage_error("kernel 'pair' is not available with subwords=True (use hogbatch)");
  if (!subwords && (subword_compose || subword_ancestors || subword_own_rows || subword_step || subword_ancestor_min_chars ||
                    subword_outputs || subword_piece_damping)) {
    throw tokvec::usage_error("subword_compose, subword_ancestors, subword_ancestor_min_chars, subword_own_rows, subword_step, "
                              "subword_outputs and subword_piece_damping apply to subwords=True runs");
  }
  run.subwords.step = tokvec::kSubwordDefaultStep;
  run.subwords.compose = tokvec::kSubwordDefaultCompose;
  run.subwords.ancestor_min_chars = tokvec::kSubwordDefaultAncestorMinChars;
  run.subwords.piece_damping_count = tokvec::kSubwordDefaultPieceDamping;
  if (subword_step) {
    const auto st = tokvec::parse_subword_step(*subword_step);
    if (!st) throw tokvec::usage_error("subword_step must be 'gradient' or 'unit', got '" + *subword_step + "'");
    run.subwords.step = *st;
  }
  if (subword_compose) {
    const auto c = tokvec::parse_subword_compose(*subword_compose);
    if (!c) throw tokvec::usage_error("subword_compose must be 'sum', 'mean', 'own-plus-mean' or 'own-plus-scaled', got '" + *subword_compose + "'");
    run.subwords.compose = *c;
  }
  if (subword_ancestors) run.subwords.ancestors = *subword_ancestors;
  if (!run.subwords.ancestors) run.subwords.ancestor_min_chars = 0;  // the default filter: nothing to filter
  if (subword_ancestor_min_chars) {
    if (*subword_ancestor_min_chars < 0 || *subword_ancestor_min_chars > UINT32_MAX) {
      throw tokvec::usage_error("subword_ancestor_min_chars must be >= 0, got " + std::to_string(*subword_ancestor_min_chars));
    }
    if (*subword_ancestor_min_chars > 1 && !run.subwords.ancestors) {
      throw tokvec::usage_error("subword_ancestor_min_chars applies with subword_ancestors=True");
    }
    run.subwords.ancestor_min_chars = static_cast<uint32_t>(*subword_ancestor_min_chars);
  }
  if (subword_outputs) {
    const auto o = tokvec::parse_subword_outputs(*subword_outputs);
    if (!o) throw tokvec::usage_error("subword_outputs must be 'words' or 'pieces', got '" + *subword_outputs + "'");
    run.subwords.outputs = *o;
  }
  if (subword_own_rows) {
    if (*subword_own_rows < 0) throw tokvec::usage_error("subword_own_rows must be >= 0, got " + std::to_string(*subword_own_rows));
    run.subwords.own_min_count = static_cast<uint64_t>(*subword_own_rows);
  }
  if (subword_piece_damping) {
    if (*subword_piece_damping < 0) {
      throw tokvec::usage_error("subword_piece_damping must be >= 0, got " + std::to_string(*subword_piece_damping));
    }
    if (*subword_piece_damping > 0 && !tokvec::weighs_own_row_apart(run.subwords.compose)) {
      throw tokvec::usage_error("subword_piece_damping applies with subword_compose 'own-plus-mean' or 'own-plus-scaled'");
    }
    run.subwords.piece_damping_count = static_cast<uint64_t>(*subword_piece_damping);
  }
  if (!tokvec::weighs_own_row_apart(run.subwords.compose)) {
    run.subwords.piece_damping_count = 0;  // the default damping: nothing to damp under the sum or the mean
  }
  run.mode = corpus ? tokvec::RunMode::corpus
                    : (words ? tokvec::RunMode::words : (subwords ? tokvec::RunMode::subwords : tokvec::RunMode::bpe));
  run.lowercase = lowercase;
  const int64_t vocab = bpe_vocab_size.value_or(tokvec::BpeTrainConfig{}.vocab_size);
  tokvec::check_range("bpe_vocab_size", vocab, int64_t{tokvec::kBpeFixedAlphabet}, int64_t{tokvec::kBpeMaxVocab});
  run.bpe_vocab = static_cast<uint32_t>(vocab);
  // Absolute paths in config.json, so that resume works from any folder (as the CLI).
  auto absolute = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
  return run_session([&] {
    if (!input.empty()) {
      run.input = tokvec::is_stdin_path(input) ? input : absolute(input);
      tokvec::check_readable_input(run.input);
    }
    if (corpus) {
      run.corpus_path = absolute(*corpus);
      tokvec::check_readable_file(run.corpus_path);
    }
    if (tokenizer) {
      run.tokenizer_path = absolute(*tokenizer);
      tokvec::check_readable_file(run.tokenizer_path);
    }
    return tokvec::TrainingSession::start(run, output, force, options);
  }, on_progress, redraw);
}

py::dict resume_run(const std::string& dir, const std::string& checkpoint_every, int64_t keep, bool progress, const py::object& on_progress,
                    bool redraw) {
  const tokvec::SessionOptions options = session_options(checkpoint_every, keep, progress, false);
  return run_session([&] { return tokvec::TrainingSession::resume(dir, options); }, on_progress, redraw);
}

}  // namespace

void bind_training(py::module_& m) {
  m.def("train", &train_run, py::arg("input"), py::arg("output"), py::arg("words"), py::arg("bpe_vocab_size"), py::arg("tokenizer"),
        py::arg("corpus"), py::arg("lowercase"), py::arg("dim"), py::arg("window"), py::arg("negative"), py::arg("sample"),
        py::arg("min_count"), py::arg("epochs"), py::arg("threads"), py::arg("lr"), py::arg("seed"), py::arg("kernel"),
        py::arg("checkpoint_every"), py::arg("keep"), py::arg("progress"), py::arg("force"), py::arg("allow_binary"),
        py::arg("on_progress"), py::arg("redraw"), py::arg("subwords") = false, py::arg("subword_compose") = py::none(),
        py::arg("subword_ancestors") = py::none(), py::arg("subword_own_rows") = py::none(),
        py::arg("subword_step") = py::none(), py::arg("subword_ancestor_min_chars") = py::none(),
        py::arg("subword_outputs") = py::none(), py::arg("subword_piece_damping") = py::none());
  m.def("resume", &resume_run, py::arg("path"), py::arg("checkpoint_every"), py::arg("keep"), py::arg("progress"), py::arg("on_progress"),
        py::arg("redraw"));
}

}  // namespace tokvec_py
