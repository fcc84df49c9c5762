// SIGINT/SIGTERM handling for long work: the first signal asks the work to stop at the
// next safe point (the trainer then writes a checkpoint and returns); a second one
// restores the default action, so a user pressing Ctrl-C twice still gets out at once.
#pragma once

#include <atomic>

namespace tokvec {

/// Installs the handlers for its lifetime and restores the previous ones on destruction.
/// One at a time per process.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  /// Whether a signal arrived (cheap enough to poll per segment).
  static bool requested() noexcept;
  /// The flag itself, for TrainPause::interrupt. A lock-free atomic, so the signal handler
  /// may set it.
  static const std::atomic<bool>& flag() noexcept;
  /// The signal that arrived (SIGINT, SIGTERM), or 0.
  static int signal_number() noexcept;
  /// For tests: behave as if `signal` had arrived.
  static void simulate(int signal) noexcept;
};

}  // namespace tokvec
