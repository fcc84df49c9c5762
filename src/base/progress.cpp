#include "base/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <mutex>

namespace tokvec {

namespace {
std::mutex g_sink_mutex;
std::shared_ptr<const ProgressSink> g_sink;

std::shared_ptr<const ProgressSink> current_sink() {
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  return g_sink;
}
}  // namespace

ScopedProgressSink::ScopedProgressSink(ProgressSink sink) {
  auto next = std::make_shared<const ProgressSink>(std::move(sink));
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  previous_ = std::move(g_sink);
  g_sink = std::move(next);
}

ScopedProgressSink::~ScopedProgressSink() {
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  g_sink = std::move(previous_);
}

bool progress_is_interactive() {
  if (auto sink = current_sink()) return sink->interactive;
  return ::isatty(STDERR_FILENO) == 1;
}

void write_progress_line(std::string_view line) {
  if (auto sink = current_sink()) {
    sink->write(line, false);
    return;
  }
  // On a terminal the progress line may be on screen without a newline: clear it first.
  std::fprintf(stderr, "%s%.*s\n", ::isatty(STDERR_FILENO) == 1 ? "\r\033[K" : "", static_cast<int>(line.size()), line.data());
}

std::string human_count(double value) {
  const char* suffix[] = {"", " k", " M", " G", " T"};
  int i = 0;
  while (std::fabs(value) >= 1000.0 && i < 4) {
    value /= 1000.0;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f%s" : "%.2f%s", value, suffix[i]);
  return buf;
}

std::string human_amount(double value, std::string_view unit) {
  std::string count = human_count(value);
  // A unit symbol joins its prefix ("3.00 MB"); a word follows the count ("3.00 M tokens").
  const bool prefixed = !count.empty() && (count.back() < '0' || count.back() > '9');
  if (unit.size() <= 2 && prefixed) return count + std::string(unit);
  return count + " " + std::string(unit);
}

std::string human_duration(double seconds) {
  char buf[32];
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(seconds) / 3600, static_cast<int>(seconds) % 3600 / 60);
  }
  return buf;
}

ProgressReporter::ProgressReporter(std::string label, uint64_t total, std::string unit, bool quiet,
                                   double log_interval_s, uint64_t start_done)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      quiet_(quiet),
      sink_(current_sink()),
      tty_(sink_ ? sink_->interactive : ::isatty(STDERR_FILENO) == 1),
      interval_s_(tty_ ? 0.25 : log_interval_s),
      start_done_(start_done),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

double ProgressReporter::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressReporter::count_from(std::chrono::steady_clock::time_point started, uint64_t done_then) {
  start_ = started;
  start_done_ = done_then;
}

void ProgressReporter::update(uint64_t done, std::string_view detail) {
  if (quiet_) return;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_print_).count() < interval_s_) return;
  last_print_ = now;
  print(done, detail, false);
}

void ProgressReporter::finish(uint64_t done, std::string_view detail) {
  if (quiet_) return;
  print(done, detail, true);
}

void ProgressReporter::print(uint64_t done, std::string_view detail, bool final_line) {
  double elapsed = elapsed_seconds();
  const uint64_t done_here = done > start_done_ ? done - start_done_ : 0;
  double rate = elapsed > 0 ? static_cast<double>(done_here) / elapsed : 0.0;
  std::string line = label_ + ": ";
  if (total_ > 0 && !final_line) {
    char pct[16];
    std::snprintf(pct, sizeof pct, "%5.1f%%", 100.0 * static_cast<double>(done) / static_cast<double>(total_));
    line += pct;
    line += "  ";
  }
  line += human_amount(static_cast<double>(done), unit_) + "  " + human_amount(rate, unit_) + "/s";
  if (final_line) {
    line += "  in " + human_duration(elapsed);
  } else if (total_ > 0 && rate > 0) {
    line += "  ETA " + human_duration(static_cast<double>(total_ - std::min(done, total_)) / rate);
  }
  if (!detail.empty()) {
    line += "  ";
    line += detail;
  }
  if (sink_) {
    sink_->write(line, tty_ && !final_line);
    return;
  }
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace tokvec
