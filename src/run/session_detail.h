// Internal pieces of the training session: the run's log and building its corpus.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "base/progress.h"
#include "tokvec/bpe.h"
#include "tokvec/corpus.h"
#include "tokvec/run.h"

namespace tokvec::detail {

/// The run's log: kept in memory, echoed to stderr unless quiet, and written to
/// RUN_DIR/train.log at every checkpoint and at the end (a resumed run appends).
class RunLog {
 public:
  explicit RunLog(bool quiet) : quiet_(quiet), start_(std::chrono::steady_clock::now()) {}
  void line(const std::string& text) {
    note(text);
    if (!quiet_) write_progress_line(text);
  }
  /// A warning: logged, and printed even when quiet (quiet hides progress, not warnings).
  void warn(const std::string& text) {
    note(text);
    write_progress_line(text);
  }
  /// A line for the log file only: an error (which the front end prints itself), or detail
  /// that would fill the screen while training.
  void note(const std::string& text) {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[%8.2fs] ", seconds());
    lines_ += stamp + text + "\n";
  }
  void keep_previous(const std::string& text) { lines_ = text + lines_; }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  const std::string& text() const { return lines_; }

 private:
  bool quiet_;
  std::chrono::steady_clock::time_point start_;
  std::string lines_;
};

/// Where a run keeps a copy of text read from "-" or a pipe while it needs it (the
/// tokenizer or word count, then the encoding, read it twice); removed once corpus.tkc is
/// written.
inline constexpr const char* kSpoolName = "input.spool";

/// A RunConfig with what this session knows of its text but does not save.
struct CorpusPlan {
  RunConfig config;
  /// The file the text is read from: `config.input`, or the run's copy of a stream.
  std::string read_path;
  bool allow_binary = false;
  bool text_checked = false;  ///< the text was checked already (while it was copied)
  bool quiet = false;
  /// Words runs adapted from another: the source's vocabulary, which keeps the first ids.
  const std::vector<std::string>* base_vocab = nullptr;
  const std::string& text_path() const { return read_path.empty() ? config.input : read_path; }
};

/// The token corpus of a run: RUN_DIR/corpus.tkc, memory-mapped. Training reads the ids
/// through the map and releases the pages it has read (CorpusView::done_with), so memory
/// does not grow with the corpus's length.
struct RunCorpus {
  std::optional<TokenCorpus> mapped;
  std::optional<BpeModel> model;

  CorpusView view() const { return mapped->view(); }
  const std::vector<std::string>& vocab() const { return mapped->vocab(); }
  TokenizerKind kind() const { return mapped->tokenizer_kind(); }
  uint64_t checksum() const { return mapped->tokenizer_checksum(); }
};

/// Called once the corpus's size and tokenizer are known, before anything is written into
/// the run folder: (tokens, vocabulary size, tokenizer kind, tokenizer checksum). It
/// validates the settings against the corpus and, on a new run, writes config.json; if it
/// throws, the folder is unchanged.
using BeforeWrite = std::function<void(uint64_t, size_t, TokenizerKind, uint64_t)>;

/// Builds the run's tokenizer and corpus as the plan says and writes them into `dir`
/// (tokenizer.bpe for BPE runs, then corpus.tkc), then maps the corpus. Words mode streams
/// the ids into corpus.tkc as they are encoded (write_word_corpus), so the text's ids are
/// never all in memory; BPE mode streams the ids into corpus.tkc's temporary file; a corpus
/// run copies the given file. On a resume (`resuming`) `dir` may hold the tokenizer this
/// run trained earlier, which is used again; a new run (forced included) never reads the
/// folder's old tokenizer.
RunCorpus build_corpus(const CorpusPlan& plan, const std::string& dir, RunLog& log, const BeforeWrite& before_write, bool resuming);

// ---- Runs adapted from another (train --init-from) ---------------------------------------

/// The finished run an adapted run starts from.
struct AdaptSource {
  std::string path;            ///< its state file
  std::string dir;             ///< its folder
  std::string tokenizer_file;  ///< BPE: its tokenizer.bpe (checked against the state); words: ""
  bool lowercase = false;      ///< words: the source lowercased its text
  TrainingState state;
};

/// Loads the run `init_from` (a run folder or a state file) names: a finished state, and
/// for BPE its tokenizer.bpe with the state's checksum; input/io errors naming the file.
AdaptSource load_adapt_source(const std::string& init_from);
/// Takes the mode, tokenizer and lowercasing of the source into `run`; dim 0 becomes the
/// source's, another dim than the source's is a FieldError on "dim" (usage).
void apply_adapt_source(RunConfig& run, const AdaptSource& src);
/// The adapted run's first state: a fresh schedule over `corpus` (built with the source's
/// tokenizer, or in words mode with its vocabulary first), the source's rows, new rows as
/// a new run's (input uniform from the source's seed, output zero), the source's counts as
/// the pretraining phase's and as the start of the totals.
TrainingState adapted_state(const AdaptSource& src, const CorpusView& corpus, const std::vector<std::string>& vocab,
                            TokenizerKind tokenizer_kind, uint64_t tokenizer_checksum, const TrainConfig& cfg);

}  // namespace tokvec::detail
