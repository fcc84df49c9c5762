#include "sgns/trainer_cursor.h"

#include <algorithm>

#include "base/config.h"
#include "base/io.h"
#include "sgns/sampler.h"

namespace tokvec::sgns_cursor {

namespace {
/// Version 1 (before work sharing) had no range_end: the range was the shard's rest.
constexpr uint32_t kCursorVersion = 2;
}  // namespace

std::string encode_cursor(const std::vector<ThreadCursor>& cursors) {
  ByteWriter w;
  w.u32(kCursorVersion);
  w.u32(static_cast<uint32_t>(cursors.size()));
  for (const ThreadCursor& c : cursors) {
    w.u64(c.begin);
    w.u64(c.end);
    w.u64(c.pos);
    w.u64(c.range_end);
    w.u32(c.epoch);
    w.u64(c.rng);
  }
  return std::move(w.bytes());
}

std::vector<ThreadCursor> decode_cursor(const std::string& bytes, uint64_t token_count, uint32_t epochs,
                                        const std::string& path) {
  ByteReader r(bytes, path, "CURS");
  const uint32_t version = r.u32();
  if (version != 1 && version != kCursorVersion) r.fail("unknown cursor version");
  uint32_t n = r.u32();
  if (n == 0 || n > static_cast<uint32_t>(kMaxThreads)) r.fail("bad thread count");
  std::vector<ThreadCursor> cursors(n);
  for (ThreadCursor& c : cursors) {
    c.begin = r.u64();
    c.end = r.u64();
    c.pos = r.u64();
    c.range_end = version == 1 ? c.end : r.u64();
    c.epoch = r.u32();
    c.rng = r.u64();
    if (c.begin > c.end || c.end > token_count || c.pos > c.range_end || c.range_end > token_count ||
        c.epoch > epochs || (version == 1 && c.pos < c.begin)) {
      r.fail("thread position outside the corpus");
    }
  }
  r.expect_done();
  return cursors;
}

std::vector<ThreadCursor> make_shards(const CorpusView& corpus, int threads, uint64_t seed) {
  const uint64_t n = corpus.tokens.size();
  const uint64_t t = static_cast<uint64_t>(threads);
  std::vector<uint64_t> bounds(t + 1);
  bounds[0] = 0;
  bounds[t] = n;
  for (uint64_t k = 1; k < t; ++k) {
    uint64_t nominal = n * k / t;
    auto it = std::lower_bound(corpus.line_ends.begin(), corpus.line_ends.end(), nominal);
    uint64_t snapped = it == corpus.line_ends.end() ? n : *it;
    bounds[k] = (snapped - nominal <= n / t / 4 && snapped < n * (k + 1) / t) ? snapped : nominal;
    bounds[k] = std::max(bounds[k], bounds[k - 1]);
  }
  std::vector<ThreadCursor> cursors(t);
  for (uint64_t k = 0; k < t; ++k) {
    cursors[k].begin = cursors[k].pos = bounds[k];
    cursors[k].end = cursors[k].range_end = bounds[k + 1];
    // Thread streams live apart from the row-initialisation streams Rng(seed, row).
    cursors[k].rng = Rng(splitmix64(seed ^ 0x5EED7A1AB1E5ull), k).state();
  }
  return cursors;
}

}  // namespace tokvec::sgns_cursor
