// The replicas' synchronisation maths (replica_sync.h); the MPI transport is in
// src/distributed/mpi/.
//
// The row loops below are plain element-wise loops, which the compiler vectorises; the
// squared norms are sums in a fixed order, kept scalar on purpose: every replica must
// compute the same bits, and a reordered (SIMD) sum would change them.
#include "distributed/replica_sync.h"

#include <algorithm>
#include <cstring>

namespace tokvec {

std::string_view sync_mode_name(SyncMode mode) noexcept {
  switch (mode) {
    case SyncMode::adaptive: return "adaptive";
    case SyncMode::average: return "average";
    case SyncMode::sum: return "sum";
    case SyncMode::hybrid: return "hybrid";
  }
  return "adaptive";
}

std::optional<SyncMode> parse_sync_mode(std::string_view name) noexcept {
  for (SyncMode m : {SyncMode::adaptive, SyncMode::average, SyncMode::sum, SyncMode::hybrid}) {
    if (name == sync_mode_name(m)) return m;
  }
  return std::nullopt;
}

SyncRule sync_rule(SyncMode mode, size_t row, size_t hybrid_rows) noexcept {
  switch (mode) {
    case SyncMode::sum: return SyncRule::sum;
    case SyncMode::adaptive: return SyncRule::adaptive;
    case SyncMode::hybrid: return row < hybrid_rows ? SyncRule::average : SyncRule::sum;
    case SyncMode::average: break;
  }
  return SyncRule::average;
}

float squared_norm(const float* v, size_t d) noexcept {
  float total = 0.0f;
  for (size_t c = 0; c < d; ++c) total += v[c] * v[c];
  return total;
}

// ρ = ‖D‖² / q is 1 for orthogonal deltas (ranks moved the row in unrelated directions, or
// only one rank moved it) and P for equal ones (every rank made the same move): the row
// takes b + D / max(1, ρ), the sum when the ranks' progress adds up, the mean when it repeats.
float adaptive_gain(const float* summed, size_t d, float norms) noexcept {
  if (!(norms > 0.0f)) return 1.0f;
  return 1.0f / std::max(1.0f, squared_norm(summed, d) / norms);
}

ReplicaSync::ReplicaSync(Matrix& in, Matrix& out, SyncMode mode, uint64_t rows, int replicas)
    : in_(in), out_(out), mode_(mode),
      hybrid_rows_(mode == SyncMode::hybrid ? static_cast<size_t>(std::min<uint64_t>(rows, in.rows())) : 0),
      inv_replicas_(1.0f / static_cast<float>(replicas)) {
  if (mode_ != SyncMode::average) {
    base_in_ = in;
    base_out_ = out;
  }
}

size_t ReplicaSync::row_values(size_t r) const noexcept {
  return 2 * r * in_.cols() + (mode_ == SyncMode::adaptive ? 2 * r : 0);
}

void ReplicaSync::ensure(size_t n) {
  if (send_.size() < n) {
    send_.resize(n);
    recv_.resize(n);
  }
}

std::span<const float> ReplicaSync::pack_rows(size_t r) {
  const size_t d = in_.cols();
  const size_t values = 2 * r * d;
  const size_t n = row_values(r);
  if (snap_.size() < values) snap_.resize(values);
  ensure(n);
  size_t k = 0;
  for (int m = 0; m < 2; ++m) {
    for (size_t row = 0; row < r; ++row, k += d) std::memcpy(&snap_[k], matrix(m).row(row), d * sizeof(float));
  }
  k = 0;
  size_t norm_at = values;
  for (int m = 0; m < 2; ++m) {
    for (size_t row = 0; row < r; ++row) {
      const SyncRule rule = rule_of(row);
      const float* b = rule != SyncRule::average ? base(m).row(row) : nullptr;
      const size_t first = k;
      for (size_t c = 0; c < d; ++c, ++k) send_[k] = b != nullptr ? snap_[k] - b[c] : snap_[k];
      if (rule == SyncRule::adaptive) send_[norm_at++] = squared_norm(&send_[first], d);
    }
  }
  return {send_.data(), n};
}

std::span<float> ReplicaSync::receive(size_t r) {
  const size_t n = row_values(r);
  ensure(n);
  return {recv_.data(), n};
}

void ReplicaSync::apply_rows(size_t r) {
  const size_t d = in_.cols();
  const size_t values = 2 * r * d;
  size_t k = 0;
  size_t norm_at = values;
  for (int m = 0; m < 2; ++m) {
    for (size_t row = 0; row < r; ++row, k += d) {
      const SyncRule rule = rule_of(row);
      const float gain = rule == SyncRule::adaptive ? adaptive_gain(&recv_[k], d, recv_[norm_at++]) : 1.0f;
      float* b = rule != SyncRule::average ? base(m).row(row) : nullptr;
      const float* reduced = &recv_[k];
      const float* snap = &snap_[k];
      float* x = matrix(m).row(row);
      if (rule == SyncRule::average) {
        for (size_t c = 0; c < d; ++c) x[c] += reduced[c] * inv_replicas_ - snap[c];
      } else {
        for (size_t c = 0; c < d; ++c) {
          const float agreed = b[c] + gain * reduced[c];
          x[c] += agreed - snap[c];
          b[c] = agreed;
        }
      }
    }
  }
  ++syncs;
  if (r == in_.rows()) ++full_syncs;
  payload_bytes += row_values(r) * sizeof(float);
}

std::span<const float> ReplicaSync::pack_all(int m) {
  Matrix& x = matrix(m);
  const size_t stride = x.stride();
  const size_t rows = x.rows();
  const size_t values = x.storage().size();
  const size_t n = values + (mode_ == SyncMode::adaptive ? rows : 0);
  ensure(n);
  for (size_t row = 0; row < rows; ++row) {
    const float* xr = x.row(row);
    float* out = &send_[row * stride];
    const SyncRule rule = rule_of(row);
    if (rule != SyncRule::average) {
      const float* b = base(m).row(row);
      for (size_t c = 0; c < stride; ++c) out[c] = xr[c] - b[c];
      if (rule == SyncRule::adaptive) send_[values + row] = squared_norm(out, stride);
    } else {
      std::copy(xr, xr + stride, out);
    }
  }
  return {send_.data(), n};
}

std::span<float> ReplicaSync::receive_all(int m) {
  const Matrix& x = matrix(m);
  const size_t n = x.storage().size() + (mode_ == SyncMode::adaptive ? x.rows() : 0);
  ensure(n);
  return {recv_.data(), n};
}

void ReplicaSync::finish_all(int m) {
  Matrix& x = matrix(m);
  const size_t stride = x.stride();
  const size_t values = x.storage().size();
  for (size_t row = 0; row < x.rows(); ++row) {
    const SyncRule rule = rule_of(row);
    const float* in = &recv_[row * stride];
    const float gain = rule == SyncRule::adaptive ? adaptive_gain(in, stride, recv_[values + row]) : 1.0f;
    float* xr = x.row(row);
    if (rule == SyncRule::average) {
      for (size_t c = 0; c < stride; ++c) xr[c] = in[c] * inv_replicas_;
    } else {
      const float* b = base(m).row(row);
      for (size_t c = 0; c < stride; ++c) xr[c] = b[c] + gain * in[c];
    }
  }
}

void ReplicaSync::adopt_all(int m) {
  if (mode_ == SyncMode::average) return;
  std::span<const float> x = matrix(m).storage();
  std::copy(x.begin(), x.end(), base(m).storage().begin());
}

}  // namespace tokvec
