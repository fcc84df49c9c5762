#include "base/config.h"

#include <sstream>
#include <thread>

namespace tokvec {

namespace {
FrontEndNames& front_end_names() {
  static FrontEndNames names;
  return names;
}
}  // namespace

void set_front_end_names(FrontEndNames names) { front_end_names() = std::move(names); }

std::string setting_name(std::string_view field) {
  const FrontEndNames& n = front_end_names();
  return n.setting ? n.setting(field) : std::string(field);
}

std::string resume_command(std::string_view dir) {
  const FrontEndNames& n = front_end_names();
  return n.resume ? n.resume(dir) : "TrainingSession::resume(\"" + std::string(dir) + "\")";
}

int resolve_threads(int requested) {
  if (requested < 0 || requested > kMaxThreads) {
    throw FieldError(ErrorKind::usage, "threads",
                     "must be in [0, " + std::to_string(kMaxThreads) + "] (0 = all cores), got " + std::to_string(requested));
  }
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

void check_range(std::string_view option, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi)) {  // also refuses NaN
    std::ostringstream msg;
    msg << option << " must be in [" << lo << ", " << hi << "], got " << value;
    throw usage_error(msg.str());
  }
}

void check_range(std::string_view option, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    throw usage_error(std::string(option) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "], got " + std::to_string(value));
  }
}

void check_field_range(std::string_view field, double value, double lo, double hi) {
  try {
    check_range(field, value, lo, hi);
  } catch (const Error& e) {
    throw FieldError(ErrorKind::usage, std::string(field), std::string(e.what()).substr(field.size() + 1));
  }
}

void check_field_range(std::string_view field, int64_t value, int64_t lo, int64_t hi) {
  try {
    check_range(field, value, lo, hi);
  } catch (const Error& e) {
    throw FieldError(ErrorKind::usage, std::string(field), std::string(e.what()).substr(field.size() + 1));
  }
}

}  // namespace tokvec
