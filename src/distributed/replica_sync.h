// The maths of keeping P replicas of a model together (distributed.h describes the modes),
// without any transport: each replica packs what it contributes, something outside sums
// the packed buffers element-wise over the replicas (MPI's allreduce or reduce, or a test's
// loop over fake replicas), and each replica applies the sum. Nothing here calls MPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "tokvec/matrix.h"

namespace tokvec {

/// How the replicas combine: parsed and printed only at the edges (the CLI, the job's
/// encoding), typed everywhere else.
enum class SyncMode : uint8_t { adaptive, average, sum, hybrid };
/// "adaptive", "average", "sum" or "hybrid".
std::string_view sync_mode_name(SyncMode mode) noexcept;
/// The mode sync_mode_name gives `name`; nullopt for anything else.
std::optional<SyncMode> parse_sync_mode(std::string_view name) noexcept;

/// How one row's replicas combine.
enum class SyncRule : uint8_t { average, sum, adaptive };
/// The rule of `row` in `mode`; hybrid averages rows [0, hybrid_rows) and sums the others.
SyncRule sync_rule(SyncMode mode, size_t row, size_t hybrid_rows) noexcept;

/// Mode adaptive's factor for a row: 1 / max(1, ‖D‖² / q) with D the summed deltas
/// (`d` values) and q the summed squared norms of the replicas' deltas; 1 when q is 0.
float adaptive_gain(const float* summed, size_t d, float norms) noexcept;
/// Σ v[c]², summed in order (the order is part of the result: replicas must agree bitwise).
float squared_norm(const float* v, size_t d) noexcept;

/// One replica's side of the synchronisation of its two matrices (input and output).
/// The replica keeps `b`, the rows every replica agreed on at the previous sync (every mode
/// but average), and the snapshot of the rows it packed.
///
/// A live sync of rows [0, r) while the workers train on:
///   pack_rows(r) -> sum over replicas into receive(r) -> apply_rows(r)
/// The combination with the workers stopped, matrix by matrix (0 input, 1 output):
///   pack_all(m) -> sum onto one replica's receive_all(m) -> finish_all(m) there ->
///   copy that matrix to every replica -> adopt_all(m) everywhere
class ReplicaSync {
 public:
  /// `rows` is H, the rows synced at every sync (hybrid's averaged rows); `replicas` is P.
  ReplicaSync(Matrix& in, Matrix& out, SyncMode mode, uint64_t rows, int replicas);

  /// Snapshots rows [0, r) of both matrices and returns this replica's contribution:
  /// per row the delta s − b (sum, adaptive) or s (average), input rows then output rows
  /// (`cols` floats each), then, in mode adaptive, each row's ‖s − b‖² in the same order.
  std::span<const float> pack_rows(size_t r);
  /// Where the element-wise sum of every replica's pack_rows(r) goes (the same size).
  std::span<float> receive(size_t r);
  /// With n the agreed row (the mean, b + D, or b + gain·D), x += n − s: what the workers
  /// did since the snapshot stays on top of the agreed value; b = n.
  void apply_rows(size_t r);

  /// Matrix `m` (0 input, 1 output), every row with its padding: x − b per row (x in
  /// mode average), then in mode adaptive one ‖x − b‖² per row.
  std::span<const float> pack_all(int m);
  /// Where the sum of every replica's pack_all(m) goes on the replica that finishes.
  std::span<float> receive_all(int m);
  /// On one replica: matrix m becomes the agreed matrix (then copied to every replica).
  void finish_all(int m);
  /// On every replica once matrix m holds the agreed values: b = x.
  void adopt_all(int m);

  Matrix& matrix(int m) noexcept { return m == 0 ? in_ : out_; }
  SyncMode mode() const noexcept { return mode_; }
  /// Values one pack_rows(r) contributes.
  size_t row_values(size_t r) const noexcept;

  uint64_t syncs = 0, full_syncs = 0, payload_bytes = 0;

 private:
  SyncRule rule_of(size_t row) const noexcept { return sync_rule(mode_, row, hybrid_rows_); }
  Matrix& base(int m) noexcept { return m == 0 ? base_in_ : base_out_; }
  void ensure(size_t n);

  Matrix& in_;
  Matrix& out_;
  SyncMode mode_;
  size_t hybrid_rows_;         ///< hybrid: rows [0, H) averaged, the rest summed; else 0
  float inv_replicas_;         ///< 1 / P
  Matrix base_in_, base_out_;  ///< b (every mode but average)
  std::vector<float> snap_, send_, recv_;
};

}  // namespace tokvec
