// The backend of a single-process run: the Trainer, built once, paused and resumed by the
// session.
#include <algorithm>
#include <optional>

#include "base/interrupt.h"
#include "run/backend.h"

namespace tokvec::detail {

namespace {

class LocalBackend final : public TrainingBackend {
 public:
  LocalBackend(const CorpusView& corpus, const TrainConfig& cfg, TrainingState& state, std::shared_ptr<const SubwordMap> subwords)
      : corpus_(corpus), cfg_(cfg), state_(state), subwords_(std::move(subwords)) {}

  StretchEnd run(const StretchGoal& goal) override {
    using Clock = CheckpointSchedule::Clock;
    TrainPause pause;
    pause.interrupt = &InterruptGuard::flag();
    pause.run_started = goal.run_started;
    pause.run_started_tokens = goal.run_started_tokens;
    pause.at_tokens = goal.report_at;
    if (goal.schedule != nullptr) {
      pause.at_tokens = std::min(pause.at_tokens, goal.schedule->next_tokens());
      pause.after_seconds = goal.schedule->seconds_left(Clock::now());
    }
    // Built at the first stretch and kept: a pause is a return from run(), not a rebuild of
    // the samplers, tables and thread state.
    if (!trainer_) trainer_.emplace(corpus_, cfg_, state_, subwords_);
    StretchEnd end;
    end.finished = trainer_->run(pause);
    if (end.finished) return end;
    if (InterruptGuard::requested()) end.signal = InterruptGuard::signal_number();
    if (goal.schedule != nullptr) end.due = goal.schedule->due(state_.tokens_done, Clock::now());
    end.checkpoint = goal.checkpoints && end.due.any();
    return end;
  }
  uint64_t tokens_done() const override { return state_.tokens_done; }
  uint64_t tokens_total() const override { return state_.tokens_total; }
  void with_state(const std::function<void(const TrainingState&)>& use) override { use(state_); }

 private:
  CorpusView corpus_;
  TrainConfig cfg_;
  TrainingState& state_;
  std::shared_ptr<const SubwordMap> subwords_;
  std::optional<Trainer> trainer_;
};

}  // namespace

std::unique_ptr<TrainingBackend> local_backend(const CorpusView& corpus, const TrainConfig& cfg, TrainingState& state,
                                               std::shared_ptr<const SubwordMap> subwords) {
  return std::make_unique<LocalBackend>(corpus, cfg, state, std::move(subwords));
}

}  // namespace tokvec::detail
