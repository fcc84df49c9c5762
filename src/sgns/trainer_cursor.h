// The trainer's cursor: where each thread stands in the corpus (its shard, the range it is
// working through, its epoch and RNG), as TrainingState::cursor stores it, and the first
// shards of a run. Internal to src/sgns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokvec/corpus.h"

namespace tokvec::sgns_cursor {

/// Where one thread stands: its own shard [begin, end), which it starts every epoch with;
/// the range it is working through in this epoch, [pos, range_end) (its shard's rest, or a
/// part of another thread's taken over when its own ran out; pos is always a segment
/// start); its epoch and its RNG. Together with TrainingState's progress, loss and counts
/// this is everything needed to continue exactly (checkpoints store it in
/// TrainingState::cursor).
struct ThreadCursor {
  uint64_t begin = 0, end = 0, pos = 0, range_end = 0;
  uint32_t epoch = 0;
  uint64_t rng = 0;
};

std::string encode_cursor(const std::vector<ThreadCursor>& cursors);
/// `path` names the state or checkpoint file in errors.
std::vector<ThreadCursor> decode_cursor(const std::string& bytes, uint64_t token_count, uint32_t epochs,
                                        const std::string& path = "training state");
/// One contiguous shard per thread. A nominal boundary k·N/T moves forward to the next
/// line end when that is less than a quarter shard away, so most shards start on a line.
std::vector<ThreadCursor> make_shards(const CorpusView& corpus, int threads, uint64_t seed);

}  // namespace tokvec::sgns_cursor
