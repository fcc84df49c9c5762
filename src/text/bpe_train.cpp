// BPE training.
//
// 1. Count distinct pre-tokens (text.h) once, in parallel: a oneTBB pipeline reads the
//    files in blocks (serial), pre-tokenises and counts each block into a per-thread hash
//    table (parallel); the tables are summed at the end. English has ~50 times fewer
//    distinct pre-tokens than pre-tokens, so everything after this step works on the
//    distinct ones, weighted by their counts, and never reads the text again.
// 2. The alphabet: 256 bytes, the marker, and each multi-byte character seen at least
//    min_frequency times (most frequent first, as many as the vocabulary allows).
// 3. Merges. count(a, b) = sum over distinct pre-tokens w of count(w) * (occurrences of
//    the adjacent pair a b in w). Each step merges the pair of highest count (ties: the
//    smaller (left id, right id), so the result does not depend on any iteration order),
//    rewriting only the pre-tokens that hold it (a per-pair list of them, which may hold
//    stale entries) and updating the counts of the pairs around each rewrite. The best
//    pair comes from a max-heap with lazy invalidation: a count that drops leaves its old,
//    larger entry in the heap, which is re-pushed with the true count when it surfaces;
//    a new pair is pushed when created. So the heap always holds, for every live pair, an
//    entry >= its count, and a popped entry equal to its pair's count is the true maximum.
//    A merge whose result would repeat an existing token's content (possible when bytes
//    pair up in two orders) is skipped, so every token's content is unique.
// Counting is the only parallel step and it sums exact integers, so the model bytes are
// the same for any thread count; nothing after it depends on the order of the distinct
// pre-tokens (counts are sums, ties go by pair id).
//
// At scale. Text with no spaces (Chinese, Thai) has nearly as many distinct
// pre-tokens as pre-tokens (32-character chunks rarely repeat), and a corpus can hold
// millions of distinct words; memory then goes to per-pre-token and per-pair state, not
// to the text. What keeps it bounded (see MergeLearner, and CountTable in bpe_count.h):
//   - a pair whose count is below min_frequency when it appears can never be merged
//     (counts only fall after that), so it gets no state at all;
//   - pre-tokens are flat records, pair lists are slices of one array, compacted (stale
//     entries dropped) instead of grown; done pairs are purged from the table and heap;
//   - the count table takes 8 bytes a slot plus a 12-byte record header a key.
// The merges are exactly those of the definition above (tests/bpe_test.cpp checks them
// against a naive trainer on text with no spaces).
#include <algorithm>
#include <filesystem>
#include <cstring>
#include <memory>
#include <unordered_set>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include "bpe_detail.h"
#include "text/bpe_count.h"
#include "base/pipeline_slots.h"
#include "tokvec/bpe.h"
#include "base/config.h"
#include "base/io.h"
#include "base/progress.h"
#include "tokvec/status.h"
#include "base/thread_arena.h"
#include "text/text.h"

namespace tokvec {

using bpe_detail::PairMap;
using bpe_detail::CountTable;
using bpe_detail::count_pretokens;

void BpeTrainConfig::validate() const {
  if (inputs.empty()) throw FieldError(ErrorKind::usage, "input", "is required (one or more text files)");
  check_field_range("vocab_size", static_cast<int64_t>(vocab_size), kBpeFixedAlphabet, kBpeMaxVocab);
  check_field_range("min_frequency", static_cast<int64_t>(min_frequency), 1, int64_t{1} << 40);
  resolve_threads(threads);
  if (block_bytes < 4096) throw usage_error("block size must be >= 4096 bytes, got " + std::to_string(block_bytes));
}

namespace {

std::string describe_inputs(const std::vector<std::string>& inputs) {
  std::string s = input_name(inputs.front());
  if (inputs.size() > 1) s += " (and " + std::to_string(inputs.size() - 1) + " more)";
  return s;
}

__extension__ typedef unsigned __int128 U128;  // GCC and Clang; the extension marker keeps -Wpedantic quiet

struct HeapEntry {
  uint64_t count;
  uint64_t key;  ///< pair_key(left, right)
};
/// Max-heap order: higher count first, then the smaller pair key.
struct HeapLess {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const noexcept {
    return a.count < b.count || (a.count == b.count && a.key > b.key);
  }
};

/// The pairs that can still be merged, by key: open addressing, linear probing, load at
/// most 3/4. The capacity is any size, not a power of two (a key's home slot is the top
/// 64 bits of (Fibonacci hash * capacity)), so a table sized for n pairs takes 4/3 n
/// slots, not up to 8/3 n. A slot holds what the merge loop's hot
/// path needs (the count and whether the pair is done), so taking an occurrence away costs
/// one cache miss; the rest of a pair's state is in the learner's arrays, at `index`.
/// No deletion: a pair that can no longer be merged is marked done.
class PairTable {
 public:
  struct Slot {
    uint64_t key;  ///< pair_key(left, right); kEmptyKey marks a free slot
    int64_t count;
    uint32_t index;
    uint32_t done;  ///< merged, refused, or below min_frequency: never merged
  };
  static constexpr uint64_t kEmptyKey = UINT64_MAX;  // never a pair: ids are < 2^32 - 1

  explicit PairTable(size_t expected = 0) { reset(expected); }

  Slot* find(uint64_t key) noexcept {
    for (size_t i = home(key);; i = next(i)) {
      Slot& s = slots_[i];
      if (s.key == key) return &s;
      if (s.key == kEmptyKey) return nullptr;
    }
  }
  /// Adds a key that is not in the table. The reference lasts until the next insert.
  Slot& insert(uint64_t key, int64_t count, uint32_t index) {
    if (4 * (size_ + 1) > 3 * slots_.size()) grow();
    size_t i = home(key);
    while (slots_[i].key != kEmptyKey) {
      if (slots_[i].key == key) throw internal_error("bpe-train: a pair was given a state twice");
      i = next(i);
    }
    slots_[i] = {key, count, index, 0};
    ++size_;
    return slots_[i];
  }
  void prefetch(uint64_t key) const noexcept { __builtin_prefetch(&slots_[home(key)]); }
  /// Whether n more keys fit without growing.
  bool has_room(size_t n) const noexcept { return 4 * (size_ + n) <= 3 * slots_.size(); }
  size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(Slot); }

 private:
  size_t home(uint64_t key) const noexcept {
    return static_cast<size_t>((static_cast<U128>(key * 0x9E3779B97F4A7C15ull) * slots_.size()) >> 64);
  }
  size_t next(size_t i) const noexcept { return i + 1 == slots_.size() ? 0 : i + 1; }
  void reset(size_t expected) {
    slots_.assign(std::max<size_t>(16, expected + expected / 3 + 1), Slot{kEmptyKey, 0, 0, 0});
    size_ = 0;
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    reset(old.size() * 3 / 2);  // 3/4 of the new size is 3/2 times 3/4 of the old
    for (const Slot& s : old) {
      if (s.key == kEmptyKey) continue;
      size_t i = home(s.key);
      while (slots_[i].key != kEmptyKey) i = next(i);
      slots_[i] = s;
      ++size_;
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

/// Steps 2 and 3 on counted pre-tokens.
///
/// Memory layout (what makes text with no spaces cheap). Each distinct pre-token ("word")
/// is one record in words_: [length, count low 32 bits, count high 32 bits, symbols...],
/// and is named by the offset of its record, so one cache miss reaches all of it. Each
/// pair that can still be merged has a slice of lists_: the words that held it when the
/// slice was made (entries go stale when a later merge takes the pair out of a word; a
/// stale entry is skipped when met). Slices are never extended: a pair's occurrences all
/// appear in the one merge that creates the pair (below), so its slice is written once.
///
/// Why counts only fall. A merge (a, b) -> t removes occurrences of pairs of older tokens
/// and creates occurrences of pairs that hold t, which did not exist before. So a pair's
/// count is at its largest right after the merge that creates it (for pairs of base
/// symbols: at the start), and a pair below min_frequency then can never be merged: it
/// gets no state, no slice and no heap entry. In text without spaces (CJK), where most
/// pairs of characters and most new pairs occur once, this is most pairs.
class MergeLearner {
 public:
  MergeLearner(const CountTable& pretokens, const BpeTrainConfig& config) : config_(config) {
    choose_alphabet(pretokens);
    build_words(pretokens);
    init_pairs();
  }

  /// Learns merges until the vocabulary is full or no pair is frequent enough.
  void learn() {
    const uint32_t target = config_.vocab_size;
    ProgressReporter progress("merge", target - std::min<uint32_t>(target, next_id_), "merges", config_.quiet);
    const uint32_t first = next_id_;
    while (next_id_ < target && !heap_.empty()) {
      std::pop_heap(heap_.begin(), heap_.end(), HeapLess());
      HeapEntry top = heap_.back();
      heap_.pop_back();
      PairTable::Slot* p = table_.find(top.key);
      if (p == nullptr || p->done) continue;  // a pair without a slot is done
      const uint64_t actual = static_cast<uint64_t>(p->count);
      if (actual != top.count) {
        if (actual < top.count && actual >= config_.min_frequency) push(top.key, actual);
        continue;  // a stale (larger) entry
      }
      const uint32_t left = static_cast<uint32_t>(top.key >> 32);
      const uint32_t right = static_cast<uint32_t>(top.key & 0xFFFFFFFFu);
      std::string content = content_key(left) + tok_bytes_[right];
      if (!contents_.insert(content).second) {  // refused: never considered again
        retire(*p);
        continue;
      }
      apply_merge(*p, left, right);
      progress.update(next_id_ - first);
    }
    progress.finish(next_id_ - first, std::to_string(next_id_) + " tokens");
  }

  uint32_t vocab_size() const noexcept { return next_id_; }
  std::vector<uint32_t> take_chars() { return std::move(chars_); }
  std::vector<BpeMerge> take_merges() { return std::move(merges_); }

 private:
  static constexpr uint32_t kHeader = 3;        ///< length, count low, count high
  static constexpr uint32_t kMaxCodePoint = 0x10FFFF;

  std::string content_key(uint32_t id) const { return (tok_marker_[id] ? '\1' : '\0') + tok_bytes_[id]; }

  void choose_alphabet(const CountTable& pretokens) {
    std::vector<uint64_t> counts(kMaxCodePoint + 1, 0);  // 8.5 MiB: cheaper than hashing every character
    pretokens.for_each([&](std::string_view bytes, bool, uint64_t count) {
      for (size_t i = 0; i < bytes.size();) {
        if (static_cast<unsigned char>(bytes[i]) < 0x80) {
          ++i;
          continue;
        }
        Utf8Char c = decode_utf8(bytes, i);
        if (c.valid) counts[c.code_point] += count;
        i += c.length;
      }
    });
    std::vector<std::pair<uint64_t, uint32_t>> ranked;  // (count, code point)
    for (uint32_t cp = 0x80; cp <= kMaxCodePoint; ++cp) {
      if (counts[cp] >= config_.min_frequency) ranked.emplace_back(counts[cp], cp);
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    ranked.resize(std::min<size_t>(ranked.size(), config_.vocab_size - kBpeFixedAlphabet));
    for (auto& r : ranked) chars_.push_back(r.second);
    std::sort(chars_.begin(), chars_.end());
    for (uint32_t b = 0; b < kBpeByteSymbols; ++b) {
      tok_bytes_.emplace_back(1, static_cast<char>(b));
      tok_marker_.push_back(0);
    }
    tok_bytes_.emplace_back();
    tok_marker_.push_back(1);
    contents_.insert(content_key(kBpeMarkerId));
    char_ids_.assign(chars_.empty() ? 0 : chars_.back() + 1, 0);  // 0: not a symbol (ids >= 257)
    for (uint32_t cp : chars_) {
      char_ids_[cp] = static_cast<uint32_t>(tok_bytes_.size());
      std::string s;
      append_utf8(s, cp);
      tok_bytes_.push_back(std::move(s));
      tok_marker_.push_back(0);
      contents_.insert(content_key(static_cast<uint32_t>(tok_bytes_.size() - 1)));
    }
    next_id_ = static_cast<uint32_t>(tok_bytes_.size());
  }

  void build_words(const CountTable& pretokens) {
    // An upper bound (a symbol per byte, a marker, a header); pages never written are
    // never resident, so the slack costs address space only, and no growth copies.
    uint64_t bound = 0;
    pretokens.for_each([&](std::string_view bytes, bool, uint64_t) { bound += bytes.size() + 1 + kHeader; });
    words_.reserve(bound);
    pretokens.for_each([&](std::string_view bytes, bool word_start, uint64_t count) {
      const size_t begin = words_.size();
      words_.insert(words_.end(), {0, static_cast<uint32_t>(count), static_cast<uint32_t>(count >> 32)});
      if (word_start) words_.push_back(kBpeMarkerId);
      for (size_t i = 0; i < bytes.size();) {
        const unsigned char b = static_cast<unsigned char>(bytes[i]);
        if (b < 0x80) {
          words_.push_back(b);
          ++i;
          continue;
        }
        Utf8Char c = decode_utf8(bytes, i);
        const uint32_t id = (c.valid && c.code_point < char_ids_.size()) ? char_ids_[c.code_point] : 0;
        if (id != 0) {
          words_.push_back(id);
        } else {
          for (uint32_t k = 0; k < c.length; ++k) words_.push_back(static_cast<unsigned char>(bytes[i + k]));
        }
        i += c.length;
      }
      const size_t n = words_.size() - begin - kHeader;
      if (n < 2) {  // no pair: nothing to learn from it
        words_.resize(begin);
        return;
      }
      words_[begin] = static_cast<uint32_t>(n);
    });
    // Words are named by a 32-bit offset: 16 GiB of symbols, far beyond the memory of
    // the machines this runs on.
    if (words_.size() > UINT32_MAX) {
      throw input_error(describe_inputs(config_.inputs), "",
                        "too many distinct pre-tokens to train on (over 2^32 symbols in all)");
    }
  }

  /// A state for a pair seen at least min_frequency times.
  PairTable::Slot& new_pair(uint64_t key, uint64_t count) {
    const uint32_t index = static_cast<uint32_t>(info_.size());
    info_.push_back({key, 0, 0});
    ++live_pairs_;
    return table_.insert(key, static_cast<int64_t>(count), index);
  }

  /// f(offset, symbols, length) for every word, in order (before any merge).
  template <typename F>
  void for_each_word(F&& f) const {
    for (size_t o = 0; o < words_.size(); o += kHeader + words_[o]) f(static_cast<uint32_t>(o), words_.data() + o + kHeader, words_[o]);
  }

  void init_pairs() {
    // Pass 1: the exact count of every adjacent pair of base symbols, in a scratch map.
    std::vector<uint64_t> keys;
    {
      PairMap first_index(1 << 16);
      std::vector<uint64_t> counts;
      for_each_word([&](uint32_t o, const uint32_t* s, uint32_t n) {
        const uint64_t wc = word_count(o);
        for (uint32_t i = 0; i + 1 < n; ++i) {
          const uint64_t key = bpe_detail::pair_key(s[i], s[i + 1]);
          const uint32_t j = first_index.insert(key, static_cast<uint32_t>(counts.size()));
          if (j == counts.size()) {
            keys.push_back(key);
            counts.push_back(0);
          }
          counts[j] += wc;
        }
      });
      size_t live = 0;
      for (uint64_t c : counts) live += c >= config_.min_frequency;
      table_ = PairTable(live);
      heap_.reserve(live);
      for (size_t j = 0; j < keys.size(); ++j) {
        if (counts[j] < config_.min_frequency) continue;  // never mergeable (see above)
        new_pair(keys[j], counts[j]);
        heap_.push_back({counts[j], keys[j]});
      }
    }
    std::make_heap(heap_.begin(), heap_.end(), HeapLess());
    // Pass 2: each pair's slice (counting sort: lengths, then offsets, then fill). Words
    // are visited in order, so a slice holds each word once, in ascending order.
    std::vector<uint32_t> last(info_.size(), UINT32_MAX);
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 1) {
        uint64_t offset = 0;
        for (PairInfo& info : info_) {
          info.list_begin = offset;
          offset += info.list_length;
          info.list_length = 0;  // refilled below, as a cursor
        }
        lists_.reserve(offset + offset / 4);  // room for the first new slices
        lists_.resize(offset);
        live_entries_ = offset;
        std::fill(last.begin(), last.end(), UINT32_MAX);
      }
      for_each_word([&](uint32_t o, const uint32_t* s, uint32_t n) {
        for (uint32_t i = 0; i + 1 < n; ++i) {
          const PairTable::Slot* p = table_.find(bpe_detail::pair_key(s[i], s[i + 1]));
          if (p == nullptr || last[p->index] == o) continue;
          last[p->index] = o;
          PairInfo& info = info_[p->index];
          if (pass == 1) lists_[info.list_begin + info.list_length] = o;
          ++info.list_length;
        }
      });
    }
  }

  uint64_t word_count(uint32_t o) const noexcept { return words_[o + 1] | (uint64_t{words_[o + 2]} << 32); }

  void push(uint64_t key, uint64_t count) {
    heap_.push_back({count, key});
    std::push_heap(heap_.begin(), heap_.end(), HeapLess());
  }

  /// A pair that will never be merged: its slice is garbage from now on.
  void retire(PairTable::Slot& p) {
    p.done = 1;
    live_entries_ -= info_[p.index].list_length;
    info_[p.index].list_length = 0;
    --live_pairs_;
  }

  /// An occurrence of the pair `key` in a word of count wc went away. A pair with no
  /// slot was below min_frequency when created and stays so: nothing to do.
  void drop(uint64_t key, int64_t wc) {
    PairTable::Slot* p = table_.find(key);
    if (p == nullptr) return;  // below min_frequency from the start, or purged as done
    p->count -= wc;
    if (!p->done && p->count < static_cast<int64_t>(config_.min_frequency)) retire(*p);
  }

  /// Applies the buffered drops. The slots are looked up a few entries ahead of use so
  /// the cache misses overlap; the order of the drops does not matter (they are sums,
  /// and a pair retires once below min_frequency whatever the order).
  void flush_drops() {
    constexpr size_t kAhead = 8;
    const size_t n = drops_.size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) table_.prefetch(drops_[i + kAhead].first);
      drop(drops_[i].first, drops_[i].second);
    }
    drops_.clear();
  }

  /// An occurrence of (a, b), one of them the new token `id`, appeared in word w. New
  /// pairs are gathered in a scratch table indexed by the other token (a dense array
  /// over the vocabulary, cleared by stamp), and get a slot only at the end of the merge,
  /// once their count is known.
  void gain(uint32_t a, uint32_t b, uint32_t id, int64_t wc, uint32_t w, uint32_t stamp) {
    const bool right_side = (a == id);  // (id, b); else (a, id). (id, id) counts as (id, b).
    const uint32_t other = right_side ? b : a;
    std::vector<uint32_t>& slot = right_side ? new_right_ : new_left_;
    std::vector<uint32_t>& slot_stamp = right_side ? new_right_stamp_ : new_left_stamp_;
    uint32_t j;
    if (slot_stamp[other] != stamp) {
      slot_stamp[other] = stamp;
      j = slot[other] = static_cast<uint32_t>(fresh_.size());
      fresh_.push_back({bpe_detail::pair_key(a, b), 0, UINT32_MAX, 0, 0});
    } else {
      j = slot[other];
    }
    Fresh& f = fresh_[j];
    f.count += static_cast<uint64_t>(wc);
    if (f.last_word != w) {
      f.last_word = w;
      ++f.words;
      fresh_words_.push_back({j, w});
    }
  }

  /// Rewrites every word holding (left, right) and updates the pair counts. Within a
  /// word, occurrences are merged left to right (so "a a a" gives "aa a"); the pairs
  /// that overlap a merged occurrence lose the word's count and the pairs around each
  /// new token gain it. Pairs away from the merges are unchanged and not touched.
  void apply_merge(PairTable::Slot& merged, uint32_t left, uint32_t right) {
    const uint32_t id = next_id_++;
    const uint32_t stamp = static_cast<uint32_t>(merges_.size());
    merges_.push_back({left, right});
    tok_bytes_.push_back(tok_bytes_[left] + tok_bytes_[right]);
    tok_marker_.push_back(tok_marker_[left]);
    if (new_right_.size() <= id) {
      const size_t n = std::max<size_t>(config_.vocab_size, id + 1);
      new_right_.resize(n);
      new_left_.resize(n);
      new_right_stamp_.resize(n, UINT32_MAX);
      new_left_stamp_.resize(n, UINT32_MAX);
    }
    fresh_.clear();
    fresh_words_.clear();
    const uint64_t begin = info_[merged.index].list_begin;
    const uint64_t end = begin + info_[merged.index].list_length;
    retire(merged);
    constexpr uint64_t kAhead = 8;  // words prefetched ahead: each is a cache miss
    for (uint64_t e = begin; e < end; ++e) {
      if (e + kAhead < end) {
        const uint32_t* ahead = words_.data() + lists_[e + kAhead];
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 16);
      }
      const uint32_t w = lists_[e];
      uint32_t* s = words_.data() + w + kHeader;
      const uint32_t n = words_[w];
      uint32_t first = 0;
      while (first + 1 < n && !(s[first] == left && s[first + 1] == right)) ++first;
      if (first + 1 >= n) continue;  // stale entry: merged away by an earlier merge
      const int64_t wc = static_cast<int64_t>(word_count(w));
      old_.assign(s, s + n);
      affected_.assign(n, 0);
      produced_.assign(n, 0);
      uint32_t j = first;
      for (uint32_t i = first; i < n;) {
        if (i + 1 < n && old_[i] == left && old_[i + 1] == right) {
          if (i > 0) affected_[i - 1] = 1;
          affected_[i] = 1;
          if (i + 2 < n) affected_[i + 1] = 1;
          produced_[j] = 1;
          s[j++] = id;
          i += 2;
        } else {
          s[j++] = old_[i++];
        }
      }
      words_[w] = j;
      const uint32_t from = first > 0 ? first - 1 : 0;
      for (uint32_t k = from; k + 1 < n; ++k) {
        if (affected_[k]) drops_.push_back({bpe_detail::pair_key(old_[k], old_[k + 1]), wc});
      }
      for (uint32_t k = from; k + 1 < j; ++k) {
        if (produced_[k] || produced_[k + 1]) gain(s[k], s[k + 1], id, wc, w, stamp);
      }
      if (drops_.size() >= 4096) flush_drops();
    }
    flush_drops();
    // The new pairs: every one holds `id`, which exists only from this merge on, so their
    // counts are final maxima now. Those below min_frequency are forgotten.
    uint64_t need = 0;
    size_t new_pairs = 0;
    for (Fresh& f : fresh_) {
      if (f.count < config_.min_frequency) continue;
      f.list_begin = need;  // relative to the base below
      need += f.words;
      f.words = 0;  // now a fill cursor
      ++new_pairs;
    }
    if (!table_.has_room(new_pairs)) purge_pairs(new_pairs);
    reserve_lists(need);
    const uint64_t base = lists_.size();
    lists_.resize(base + need);
    for (const auto& [j, w] : fresh_words_) {
      Fresh& f = fresh_[j];
      if (f.count >= config_.min_frequency) lists_[base + f.list_begin + f.words++] = w;
    }
    for (const Fresh& f : fresh_) {
      if (f.count < config_.min_frequency) continue;
      const uint32_t index = new_pair(f.key, f.count).index;
      info_[index].list_begin = base + f.list_begin;
      info_[index].list_length = f.words;
      live_entries_ += f.words;
      push(f.key, f.count);
    }
  }

  /// Room for `need` more entries in lists_ (whose capacity is what memory it takes).
  /// When full, it is compacted: the slices of done pairs go, and so do stale entries
  /// (words that no longer hold the pair; about half the entries in text with no spaces).
  /// If that frees less than a quarter, it grows by a quarter. Either way the work is
  /// amortised O(1) per entry written, and the capacity stays within about 1.7 times the
  /// entries in use.
  void reserve_lists(uint64_t need) {
    if (lists_.size() + need <= lists_.capacity()) return;
    const uint64_t before = lists_.size();
    compact_lists();
    if (lists_.size() + need > lists_.capacity() || 4 * (before - lists_.size()) < before) {
      lists_.reserve(std::max<uint64_t>(lists_.capacity(), (lists_.size() + need) * 5 / 4));
    }
  }

  /// Whether word w still holds the pair `key`.
  bool holds(uint32_t w, uint64_t key) const noexcept {
    const uint32_t left = static_cast<uint32_t>(key >> 32), right = static_cast<uint32_t>(key);
    const uint32_t* s = words_.data() + w + kHeader;
    for (uint32_t i = 0, n = words_[w]; i + 1 < n; ++i) {
      if (s[i] == left && s[i + 1] == right) return true;
    }
    return false;
  }

  /// Rewrites lists_ with only the words that still hold their pair, in place: slices lie
  /// in lists_ in pair-index order, so writing each one down never overwrites one not
  /// yet read.
  void compact_lists() {
    constexpr uint64_t kAhead = 8;
    uint64_t to = 0;
    for (PairInfo& info : info_) {
      const uint64_t begin = info.list_begin, end = begin + info.list_length;
      info.list_begin = to;
      for (uint64_t e = begin; e < end; ++e) {
        if (e + kAhead < end) __builtin_prefetch(words_.data() + lists_[e + kAhead]);
        if (holds(lists_[e], info.key)) lists_[to++] = lists_[e];
      }
      info.list_length = static_cast<uint32_t>(to - info.list_begin);
    }
    lists_.resize(to);
    live_entries_ = to;
  }

  /// Rebuilds the pair table, the per-pair arrays and the heap with only the pairs not
  /// done, in index order (so slices stay in index order), when the table would grow:
  /// done pairs would otherwise keep their slot, their heap entries and 24 bytes each
  /// for the whole run. A pair with no slot is treated as done everywhere, which it is.
  /// Everything is sized for half again the live pairs (the table is then 1/2 full), so
  /// purges come after the live pairs grow by half: amortised O(1) per pair. The old
  /// table is freed before the new one is made, and info_ is filtered in place, so a
  /// purge does not need two copies of everything at once.
  void purge_pairs(size_t new_pairs) {
    std::vector<int64_t> counts;
    counts.reserve(live_pairs_);
    size_t kept = 0;
    for (const PairInfo& info : info_) {
      const PairTable::Slot* p = table_.find(info.key);
      if (p->done) continue;
      counts.push_back(p->count);
      info_[kept++] = info;
    }
    info_.resize(kept);
    const size_t room = (kept + new_pairs) * 3 / 2;
    table_ = PairTable();
    std::vector<HeapEntry>().swap(heap_);
    table_ = PairTable(room);
    heap_.reserve(room);
    if (info_.capacity() < room) info_.reserve(room);
    for (size_t i = 0; i < kept; ++i) {
      table_.insert(info_[i].key, counts[i], static_cast<uint32_t>(i));
      heap_.push_back({static_cast<uint64_t>(counts[i]), info_[i].key});
    }
    std::make_heap(heap_.begin(), heap_.end(), HeapLess());
  }

  const BpeTrainConfig& config_;
  std::vector<uint32_t> chars_;
  std::vector<uint32_t> char_ids_;  ///< code point -> symbol id, 0 when not a symbol
  std::vector<std::string> tok_bytes_;
  std::vector<uint8_t> tok_marker_;
  std::unordered_set<std::string> contents_;
  uint32_t next_id_ = 0;
  std::vector<BpeMerge> merges_;

  std::vector<uint32_t> words_;  ///< word records (see the class comment)

  // The pairs that can still be merged.
  PairTable table_;
  struct PairInfo {
    uint64_t key;
    uint64_t list_begin;   ///< its slice is lists_[list_begin, list_begin + list_length)
    uint32_t list_length;  ///< 0 once the pair is done
  };
  std::vector<PairInfo> info_;  ///< per pair index
  size_t live_pairs_ = 0;       ///< pairs not done
  std::vector<uint32_t> lists_;        ///< word offsets, one slice per pair
  uint64_t live_entries_ = 0;          ///< entries of lists_ in slices of pairs not done
  std::vector<HeapEntry> heap_;

  // Scratch of apply_merge.
  struct Fresh {
    uint64_t key;
    uint64_t count;
    uint32_t last_word;
    uint32_t words;  ///< distinct words holding it; then a fill cursor
    uint64_t list_begin;
  };
  std::vector<Fresh> fresh_;
  std::vector<std::pair<uint32_t, uint32_t>> fresh_words_;  ///< (index in fresh_, word)
  std::vector<std::pair<uint64_t, int64_t>> drops_;         ///< (pair key, word count)
  std::vector<uint32_t> new_right_, new_left_, new_right_stamp_, new_left_stamp_;
  std::vector<uint32_t> old_;
  std::vector<uint8_t> affected_, produced_;
};

}  // namespace

namespace {

std::string too_large_message(const std::string& inputs, uint32_t supported, uint32_t asked, uint64_t min_frequency,
                              std::string_view vocab_size_name, std::optional<std::string_view> min_frequency_name) {
  const std::string count = std::to_string(min_frequency);
  return input_error(inputs, "",
                     "the text supports a vocabulary of at most " + std::to_string(supported) + " tokens with " +
                         (min_frequency_name ? std::string(*min_frequency_name) + " " + count : "a minimum pair count of " + count) +
                         " (asked for " + std::to_string(asked) + "): lower " + std::string(vocab_size_name) +
                         (min_frequency_name ? " or " + std::string(*min_frequency_name) : std::string(" or give more text")))
      .what();
}

}  // namespace

VocabularyTooLarge::VocabularyTooLarge(std::string inputs, uint32_t supported, uint32_t asked, uint64_t min_frequency)
    : Error(ErrorKind::input, too_large_message(inputs, supported, asked, min_frequency, "vocab_size", "min_frequency")),
      inputs_(std::move(inputs)),
      supported_(supported),
      asked_(asked),
      min_frequency_(min_frequency) {}

std::string VocabularyTooLarge::message(std::string_view vocab_size_name, std::optional<std::string_view> min_frequency_name) const {
  return too_large_message(inputs_, supported_, asked_, min_frequency_, vocab_size_name, min_frequency_name);
}

BpeModel train_bpe(const BpeTrainConfig& config) {
  config.validate();
  const int threads = resolve_threads(config.threads);
  CountTable pretokens = count_pretokens(config, threads);
  if (pretokens.size() == 0) {
    throw input_error(describe_inputs(config.inputs), "", "no text to train on: the input is empty or holds only whitespace");
  }
  MergeLearner learner(pretokens, config);
  pretokens = CountTable();
  learner.learn();
  if (learner.vocab_size() < config.vocab_size) {
    throw VocabularyTooLarge(describe_inputs(config.inputs), learner.vocab_size(), config.vocab_size, config.min_frequency);
  }
  return BpeModel::from_parts(learner.take_chars(), learner.take_merges());
}

}  // namespace tokvec
