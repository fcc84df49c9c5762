// SIGINT/SIGTERM handling.
//
// Every command runs under exit_cleanly_on_signal: a signal removes the temporary files
// being written (RemoveOnSignal, which AtomicFileWriter uses), says on one line what was
// kept, and exits with 128 + the signal (130 for SIGINT, 143 for SIGTERM).
//
// Training replaces that for its loop with an InterruptGuard: the first signal asks the
// work to stop at the next safe point (the trainer then writes a checkpoint and returns); a
// second one restores the command's action, so a user pressing Ctrl-C twice still gets out
// at once, temporaries removed.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

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

/// For a command's whole run (main calls it): on SIGINT/SIGTERM remove the registered
/// temporary files, print "tokvec COMMAND: stopped by SIGINT; NOTE" on stderr and exit with
/// 128 + the signal. NOTE is what set_signal_note said last, by default "nothing was
/// written" (or, once a file was completed, that completed files were kept).
void exit_cleanly_on_signal(std::string_view command);

/// What the stop message says about the files kept, should a signal arrive from now on
/// (e.g. "run/ holds config.json only; resume with: tokvec train --resume run"). At most
/// about 900 bytes are kept. Empty: back to the default.
void set_signal_note(std::string_view note);

/// Counts a file completed under its real name (for the default note).
void note_file_completed() noexcept;

/// A temporary file that a signal stopping the process removes (exit_cleanly_on_signal).
/// Register before the file is created; destroy once it is renamed or removed. Up to 64
/// at a time are tracked (more are left to the next run's stale-temporary cleanup).
class RemoveOnSignal {
 public:
  explicit RemoveOnSignal(const std::string& path) noexcept;
  ~RemoveOnSignal();
  RemoveOnSignal(const RemoveOnSignal&) = delete;
  RemoveOnSignal& operator=(const RemoveOnSignal&) = delete;

 private:
  int slot_ = -1;
};

/// Test hook: when the environment variable TOKVEC_TEST_SIGNAL_AT is PHASE or PHASE:TERM,
/// raises SIGINT (or SIGTERM) at the call with that phase, so tests can stop a command at
/// a known point. Phases: "commit:NAME" just before the file NAME is renamed into place,
/// and those named where signal_point is called.
void signal_point(std::string_view phase);

}  // namespace tokvec
