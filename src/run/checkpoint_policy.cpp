// The checkpoint policy of a training session: when checkpoints fall due.
#include <algorithm>

#include "tokvec/run.h"

namespace tokvec {

void CheckpointPolicy::validate() const {
  if (keep < 1 || keep > 1000) {
    throw FieldError(ErrorKind::usage, "keep", "must be in [1, 1000], got " + std::to_string(std::min<size_t>(keep, 1000000)));
  }
}

CheckpointSchedule::CheckpointSchedule(const CheckpointEvery& every, uint64_t tokens_done, Clock::time_point now) : every_(every) {
  written(Due{true, true}, tokens_done, now);
}

double CheckpointSchedule::seconds_left(Clock::time_point now) const {
  if (every_.seconds <= 0) return 0.0;
  return std::max(0.001, std::chrono::duration<double>(next_time_ - now).count());
}

CheckpointSchedule::Due CheckpointSchedule::due(uint64_t tokens_done, Clock::time_point now) const {
  Due d;
  d.tokens = tokens_done >= next_tokens_;
  d.time = every_.seconds > 0 && now >= next_time_;
  return d;
}

void CheckpointSchedule::written(Due due, uint64_t tokens_done, Clock::time_point now) {
  if (due.tokens) next_tokens_ = every_.tokens > 0 ? tokens_done + every_.tokens : UINT64_MAX;
  if (due.time) {
    next_time_ = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(every_.seconds));
  }
}

}  // namespace tokvec
