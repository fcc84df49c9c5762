// A oneTBB arena with exactly the number of threads asked for.
//
// oneTBB caps its worker threads at the core count minus one, and an arena that asks for
// more gets fewer and prints "TBB Warning: The number of workers is currently limited to
// ..." on stderr. `--threads` above the core count is the user's choice, and OpenMP honours
// it for training, so the pipeline stages honour it too: the arena raises oneTBB's global
// limit (tbb::global_control) to its size for as long as it lives.
#pragma once

#include <cstddef>
#include <optional>

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

namespace tokvec {

class ThreadArena {
 public:
  /// `threads` >= 1 (callers pass resolve_threads()).
  explicit ThreadArena(int threads) {
    if (static_cast<size_t>(threads) >
        tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism)) {
      limit_.emplace(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
    }
    arena_.initialize(threads);
  }
  tbb::task_arena& arena() noexcept { return arena_; }

 private:
  std::optional<tbb::global_control> limit_;  ///< constructed before the arena starts its workers
  tbb::task_arena arena_;
};

}  // namespace tokvec
