// The audit: which rows of a trained model can be trusted.
//
// Subword tokenisation removes out-of-vocabulary failures but not gradient sparsity: a
// token seen fewer than about 100 times gets too few updates to settle, and its row stays
// close to its random initialisation. The audit lists, for every row, its corpus frequency,
// the updates its input row and its output row (as positive target / as negative sample)
// received, the input row's L2 norm and its drift from the initial value, and flags the
// rows whose input row received fewer updates than a threshold.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/checkpoint.h"
#include "tokvec/vocab.h"  // WordCount

namespace tokvec {

struct AuditConfig {
  uint64_t min_updates = 100;  ///< input rows with fewer updates are flagged, [0, 2^63]
  uint64_t top = 20;           ///< rows listed in the text report (0 = none)
  uint32_t k = 10;             ///< neighbours for hubness and stability, [1, 1000]
  int threads = 0;             ///< for the neighbour searches, 0 = all cores
  void validate() const;
};

// ---- Geometry ----------------------------------------------------------------------------
//
// Measured on the trained rows (frequency > 0, nonzero vector): anisotropy is the mean
// cosine of kGeometryPairs random pairs of distinct rows (a fixed seeded sample: the same
// figure on every call); hubness is the skewness of the k-occurrence distribution (how
// often each row is among the k nearest neighbours of the others) over a fixed seeded
// sample of at most kHubnessRows rows, neighbours searched within the sample.
inline constexpr uint64_t kGeometryPairs = 100'000;
inline constexpr uint64_t kHubnessRows = 10'000;

struct Geometry {
  uint64_t rows = 0;           ///< trained rows with a nonzero vector
  uint64_t pairs = 0;          ///< random pairs averaged (0 with fewer than 2 rows)
  double anisotropy = 0.0;     ///< mean cosine of those pairs
  uint32_t k = 10;
  uint64_t hubness_rows = 0;   ///< rows in the hubness sample
  double hubness = 0.0;        ///< skewness of the k-occurrence counts (0 when undefined)
  uint64_t max_occurrence = 0; ///< the largest k-occurrence in the sample
  std::string top_hub;         ///< the row with it (printable form)
};
Geometry measure_geometry(const TrainingState& state, uint32_t k, int threads);

// ---- Stability ---------------------------------------------------------------------------
//
// Two runs with the same settings and another seed: for each trained row, the share of its
// k nearest neighbours (cosine, among all trained rows) that both runs agree on. Rows are
// binned by the updates their input row received in the audited run (powers of two, as
// Histogram); bins of fewer than kStabilityMinBinRows rows are shown but not used. The
// plateau is the highest median overlap of a bin: what the best-trained rows reach, which
// k, the dimension and the epochs bound (one epoch of gut100m stays under 0.5 even for its
// most frequent words). The derived threshold is the lower edge of the first bin whose
// median reaches `level` x plateau: where a row's neighbours are half as reproducible as
// the model allows.
inline constexpr double kStabilityLevel = 0.5;
inline constexpr uint64_t kStabilityMinBinRows = 10;

struct StabilityBin {
  uint64_t lo = 0, hi = 0;  ///< updates in [lo, hi]
  uint64_t rows = 0;
  double median = 0.0;
  double mean = 0.0;
};

struct Stability {
  std::string other;            ///< how the other run was named
  uint32_t k = 10;
  double level = kStabilityLevel;     ///< share of the plateau
  double plateau = 0.0;               ///< the highest median overlap of a bin
  double needed = 0.0;                ///< level x plateau: the median a bin must reach
  std::optional<uint64_t> threshold;  ///< nullopt when no bin is usable or the plateau is 0
  uint64_t rows_compared = 0;
  std::vector<double> per_row;  ///< by id; NaN for a row not compared
  std::vector<StabilityBin> bins;
};
/// Throws an input error naming `other_name` when the runs do not share a vocabulary
/// (same tokens in the same order).
Stability measure_stability(const TrainingState& state, const TrainingState& other, const std::string& other_name,
                            uint32_t k, double level, int threads);

// ---- A target text -----------------------------------------------------------------------

/// A word of the target text whose vector rests on an under-trained row: in a words run a
/// flagged row (piece = the word itself), in a BPE run the weakest of its pieces.
struct TargetWord {
  std::string word;     ///< printable form
  uint64_t count = 0;   ///< occurrences in the target
  std::string piece;    ///< the weakest piece (printable form)
  uint32_t piece_id = 0;
  uint64_t piece_updates = 0;
  uint64_t pieces = 1;
};

/// A text tokenised as the run trains: BPE runs encode it with the run's tokenizer, words
/// runs split it into words (the --words rule, lowercased in a --lowercase run).
struct TargetCounts {
  std::string path;
  std::vector<uint64_t> frequency;  ///< per row: occurrences in the target
  uint64_t tokens = 0;              ///< all tokens of the target, unknown words included
  uint64_t unknown_tokens = 0;      ///< words runs: words with no row
  std::vector<WordCount> unknown;   ///< those words, most frequent first
  std::vector<WordCount> words;     ///< BPE runs: the target's words (pre-token rule), most frequent first
  std::string warning;              ///< the UTF-8 check's warning ("" when clean)
};

struct Run;  // tokvec/export.h

/// Reads and tokenises the target text at `path` for `run`. The text must be UTF-8 (the
/// check training runs: an input error naming the file otherwise), hold a token (input
/// error when empty) and fit read_file's limit (256 MiB).
TargetCounts count_target(const Run& run, const std::string& path);

struct TargetSummary {
  std::string path;
  uint64_t tokens = 0;
  uint64_t flagged_tokens = 0;      ///< on flagged rows or with no row
  uint64_t flagged_row_tokens = 0;  ///< on flagged rows
  uint64_t unknown_tokens = 0;      ///< with no row (words runs)
  uint64_t unknown_words = 0;       ///< distinct words with no row
  uint64_t rows_used = 0;           ///< rows that occur in the target
  uint64_t flagged_rows_used = 0;
  double flagged_share = 0.0;       ///< flagged_tokens / tokens
  std::vector<WordCount> top_unknown;  ///< the most frequent words with no row (top)
  std::vector<TargetWord> top_words;   ///< the most frequent under-trained words (top)
};

struct AuditRow {
  uint32_t id = 0;
  std::string token;  ///< printable form (see printable_token)
  uint64_t frequency = 0;
  uint64_t input_updates = 0;
  uint64_t output_positive_updates = 0;
  uint64_t output_negative_updates = 0;
  double norm = 0.0;   ///< ||input row||
  double drift = 0.0;  ///< ||input row - its initial value||
  bool flagged = false;
  uint64_t target_frequency = 0;  ///< occurrences in the target text (with a target)
  double stability = 0.0;         ///< neighbour overlap with the other run (with --stability; NaN: not compared)
  /// A run adapted from another (AuditReport::adapted): the earlier phases' share.
  /// input_updates is the total; this run's own updates are input_updates minus these.
  uint64_t pretrain_frequency = 0;
  uint64_t pretrain_input_updates = 0;
  uint64_t adapt_input_updates() const noexcept { return input_updates - pretrain_input_updates; }
};

/// Counts of values in power-of-two buckets: bucket 0 holds 0, bucket b >= 1 holds
/// [2^(b-1), 2^b).
struct Histogram {
  std::vector<uint64_t> buckets;
  void add(uint64_t value);
  /// "0", "1", "2-3", "4-7", ...
  static std::string bucket_label(size_t bucket);
};

/// A word of a subword run: the rows its vector is composed of (train --subwords: its own
/// row, its pieces', their merge ancestors') and the least-updated of them.
struct AuditWord {
  uint32_t id = 0;
  std::string word;  ///< printable form
  uint64_t frequency = 0;
  std::vector<uint32_t> rows;
  uint32_t weakest = 0;  ///< the row with the fewest input updates (the lower id on a tie)
  uint64_t weakest_updates = 0;
  bool flagged = false;  ///< weakest_updates < the threshold
};

struct AuditWords {
  std::vector<AuditWord> words;  ///< by word id (the corpus vocabulary)
  uint64_t flagged = 0;
  uint64_t tokens = 0;          ///< sum of the words' frequencies
  uint64_t flagged_tokens = 0;  ///< of the flagged words
};

struct AuditReport {
  uint64_t threshold = 0;
  uint64_t vocab_size = 0;
  uint64_t corpus_tokens = 0;   ///< sum of frequencies
  uint64_t flagged_count = 0;
  uint64_t flagged_tokens = 0;  ///< corpus occurrences of flagged rows
  uint64_t never_produced = 0;  ///< tokenizer entries with frequency 0 in this corpus
  uint64_t flagged_seen_count = 0;  ///< flagged rows that occur in the corpus (frequency > 0)
  Histogram frequency_histogram;
  Histogram update_histogram;   ///< of input_updates
  std::vector<AuditRow> rows;   ///< by id
  Geometry geometry;
  std::optional<TargetSummary> target;
  std::optional<Stability> stability;  ///< per_row moved into the rows
  std::optional<AuditWords> words;     ///< a subword run's words (add_word_rows)
  /// A run adapted from another (train --init-from): the rows' pretraining and adaptation
  /// updates are reported side by side.
  bool adapted = false;
  uint64_t source_rows = 0;      ///< adapted: rows from the source run; the others are new
  uint64_t pretrain_tokens = 0;  ///< adapted: corpus tokens of the earlier phases
  uint64_t pretrain_input_updates = 0;  ///< adapted: sum over rows
  uint64_t adapt_input_updates = 0;     ///< adapted: sum over rows
};

/// How much of the model is under-trained: what the audit summarises and what training logs
/// as it goes.
struct UpdateCoverage {
  uint64_t rows = 0;            ///< vocabulary size
  uint64_t tokens = 0;          ///< corpus tokens (sum of frequencies)
  uint64_t flagged_rows = 0;    ///< input rows with fewer updates than the threshold
  uint64_t flagged_tokens = 0;  ///< corpus occurrences of those rows
  /// "N of V input rows below T updates (x% of the vocabulary, y% of corpus tokens)"
  std::string describe(uint64_t threshold) const;
};
UpdateCoverage update_coverage(const TrainingState& state, uint64_t min_updates);

/// Writes the initial value of input row `row` into `out` (dim floats): the trainer's
/// initialisation, recomputed from the seed so nothing extra has to be stored.
using InitialRowFn = std::function<void(uint32_t row, std::span<float> out)>;

/// The audit; `stability`, when given, is reported beside it (its threshold is not applied:
/// set config.min_updates to it for that). The geometry is always measured.
AuditReport audit(const TrainingState& state, const AuditConfig& config, const InitialRowFn& initial_row,
                  std::optional<Stability> stability = std::nullopt);

/// Adds a target text to a report: per-row target frequencies, the shares, the most
/// frequent under-trained tokens and words (`top` of each). `encode_word` gives a BPE run's
/// pieces of a word (empty for words runs).
void add_target(AuditReport& report, const TargetCounts& counts, uint64_t top,
                const std::function<std::vector<uint32_t>(std::string_view)>& encode_word);

/// Adds a subword run's words to a report (after audit(), whose threshold it applies):
/// `words` the corpus vocabulary with its `counts`, `rows_of` a word's rows.
void add_word_rows(AuditReport& report, const std::vector<std::string>& words, std::span<const uint64_t> counts,
                   const std::function<std::vector<uint32_t>(std::string_view)>& rows_of);
/// CSV with a header line: id,word,frequency,rows (tokens, space-separated),row_ids,
/// weakest_row,weakest_row_id,weakest_row_updates,flagged; only the header without words.
std::string audit_words_csv(const AuditReport& report);

/// A token as printable UTF-8: control characters, backslash, DEL and invalid UTF-8 bytes
/// become \xNN (backslash as \\); everything else is kept.
std::string printable_token(std::string_view token);

/// Summary, histograms and the `top` flagged rows that occur in the corpus (most frequent
/// first), then the count of flagged rows that never occur, as text.
std::string audit_text(const AuditReport& report, uint64_t top);
/// CSV with a header line: id,token,frequency,input_updates,output_positive_updates,
/// output_negative_updates,norm,drift,flagged (RFC 4180 quoting); an adapted run adds
/// pretrain_frequency,pretrain_input_updates,adapt_input_updates.
std::string audit_csv(const AuditReport& report);
/// JSON object: threshold, flagged_count, vocab_size, corpus_tokens, flagged_tokens,
/// never_produced, flagged_seen_count, histograms, rows[] (every row) with the CSV's keys;
/// an adapted run adds "adaptation" (source_rows, new_rows, pretrain_tokens,
/// pretrain_input_updates, adapt_input_updates); a subword run's report adds "words"
/// (count, flagged, tokens, flagged_tokens, list[] with the words CSV's keys, rows and
/// row_ids as arrays).
std::string audit_json(const AuditReport& report);
/// A log-log scatter plot of corpus frequency against input-row updates, the threshold
/// drawn, flagged rows in red; a standalone SVG document. A subword run's report adds a
/// panel of its words: frequency against the updates of the word's weakest row.
std::string audit_svg(const AuditReport& report);

}  // namespace tokvec
