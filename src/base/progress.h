// Progress reporting for long work (BPE training, encoding, SGNS training).
//
// On a terminal (stderr is a tty) a single line is redrawn in place about 4 times a
// second: done/total, rate, ETA and a caller-supplied detail (loss, learning rate). When
// stderr is a file or a pipe, a plain line is printed every `log_interval_s` seconds so
// logs stay short. `quiet` prints nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace tokvec {

class ProgressReporter {
 public:
  /// `start_done` is what was already done before this reporter started (work resumed
  /// after a pause): rates and ETAs count only the work done since.
  ProgressReporter(std::string label, uint64_t total, std::string unit, bool quiet, double log_interval_s = 15.0,
                   uint64_t start_done = 0);
  /// Reports `done` units. Cheap when no line is due; call from one thread only.
  void update(uint64_t done, std::string_view detail = {});
  /// Prints the closing line (elapsed time, mean rate, detail).
  void finish(uint64_t done, std::string_view detail = {});
  double elapsed_seconds() const;
  /// For work done in stretches (training paused for checkpoints and resumed in a new
  /// reporter): count the rate, the ETA and the closing line's time from `started`, when
  /// `done_then` units were done, instead of from this reporter's construction.
  void count_from(std::chrono::steady_clock::time_point started, uint64_t done_then);

 private:
  void print(uint64_t done, std::string_view detail, bool final_line);
  std::string label_;
  uint64_t total_;
  std::string unit_;
  bool quiet_;
  bool tty_;
  double interval_s_;
  uint64_t start_done_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

/// "12.3 k", "4.56 M": a count with an SI suffix.
std::string human_count(double value);
/// A count and its unit: "3.00 MB", "512 B" for a unit symbol (up to two characters),
/// "4.56 M tokens" for a word.
std::string human_amount(double value, std::string_view unit);
/// "1m23s", "2h05m", "12.3s".
std::string human_duration(double seconds);

}  // namespace tokvec
