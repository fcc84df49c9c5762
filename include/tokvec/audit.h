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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/checkpoint.h"

namespace tokvec {

struct AuditConfig {
  uint64_t min_updates = 100;  ///< input rows with fewer updates are flagged, [0, 2^63]
  uint64_t top = 20;           ///< rows listed in the text report (0 = none)
  void validate() const;
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
};

/// Counts of values in power-of-two buckets: bucket 0 holds 0, bucket b >= 1 holds
/// [2^(b-1), 2^b).
struct Histogram {
  std::vector<uint64_t> buckets;
  void add(uint64_t value);
  /// "0", "1", "2-3", "4-7", ...
  static std::string bucket_label(size_t bucket);
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

AuditReport audit(const TrainingState& state, const AuditConfig& config, const InitialRowFn& initial_row);

/// A token as printable UTF-8: control characters, backslash, DEL and invalid UTF-8 bytes
/// become \xNN (backslash as \\); everything else is kept.
std::string printable_token(std::string_view token);

/// Summary, histograms and the `top` flagged rows that occur in the corpus (most frequent
/// first), then the count of flagged rows that never occur, as text.
std::string audit_text(const AuditReport& report, uint64_t top);
/// CSV with a header line: id,token,frequency,input_updates,output_positive_updates,
/// output_negative_updates,norm,drift,flagged (RFC 4180 quoting).
std::string audit_csv(const AuditReport& report);
/// JSON object: threshold, flagged_count, vocab_size, corpus_tokens, flagged_tokens,
/// never_produced, flagged_seen_count, histograms, rows[] (every row) with the CSV's keys.
std::string audit_json(const AuditReport& report);
/// A log-log scatter plot of corpus frequency against input-row updates, the threshold
/// drawn, flagged rows in red; a standalone SVG document.
std::string audit_svg(const AuditReport& report);

}  // namespace tokvec
