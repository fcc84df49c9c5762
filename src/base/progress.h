// Progress reporting for long work (BPE training, encoding, SGNS training).
//
// On a terminal (stderr is a tty) a single line is redrawn in place about 4 times a
// second: done/total, rate, ETA and a caller-supplied detail (loss, learning rate). When
// stderr is a file or a pipe, a plain line is printed every `log_interval_s` seconds so
// logs stay short. `quiet` prints nothing. A ProgressSink, while one is installed, takes
// the lines instead of stderr (the Python module's way into a notebook or a logger).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tokvec {

/// Where progress lines and a session's own lines go instead of stderr. `write(line,
/// redraw)`: with `redraw` the line replaces the previous redrawn one (a progress bar),
/// else it is a whole line to keep. `interactive`: progress redrawn about 4 times a second,
/// as on a terminal; otherwise a whole line every log interval, as in a log file.
struct ProgressSink {
  std::function<void(std::string_view line, bool redraw)> write;
  bool interactive = false;
};

/// Installs a sink for the life of this object, process-wide (the lines of every thread go
/// to it); the previous one, if any, comes back after. Install it before the work starts:
/// a reporter chooses its output when constructed.
class ScopedProgressSink {
 public:
  explicit ScopedProgressSink(ProgressSink sink);
  ~ScopedProgressSink();
  ScopedProgressSink(const ScopedProgressSink&) = delete;
  ScopedProgressSink& operator=(const ScopedProgressSink&) = delete;

 private:
  std::shared_ptr<const ProgressSink> previous_;
};

/// Whether progress lines are redrawn in place: stderr is a terminal, or the installed sink
/// is interactive.
bool progress_is_interactive();
/// A whole line of progress output (a session's note, a warning): to the sink when one is
/// installed, else to stderr, first clearing a redrawn line on a terminal.
void write_progress_line(std::string_view line);

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
  std::shared_ptr<const ProgressSink> sink_;
  bool tty_;  ///< redraw in place (a terminal, or an interactive sink)
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
