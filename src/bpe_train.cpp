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
//    a count that grows is pushed anew. So the heap always holds, for every live pair, an
//    entry >= its count, and a popped entry equal to its pair's count is the true maximum.
//    A merge whose result would repeat an existing token's content (possible when bytes
//    pair up in two orders) is skipped, so every token's content is unique.
// Counting is the only parallel step and it sums exact integers, so the model bytes are
// the same for any thread count.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include "bpe_detail.h"
#include "tokvec/bpe.h"
#include "tokvec/config.h"
#include "tokvec/io.h"
#include "tokvec/progress.h"
#include "tokvec/status.h"
#include "tokvec/text.h"

namespace tokvec {

using bpe_detail::PairMap;
using bpe_detail::StringTable;

void BpeTrainConfig::validate() const {
  if (inputs.empty()) throw usage_error("--input is required (one or more text files)");
  check_range("--vocab-size", static_cast<int64_t>(vocab_size), kBpeFixedAlphabet, kBpeMaxVocab);
  check_range("--min-frequency", static_cast<int64_t>(min_frequency), 1, int64_t{1} << 40);
  resolve_threads(threads);
  if (block_bytes < 4096) throw usage_error("block size must be >= 4096 bytes, got " + std::to_string(block_bytes));
}

namespace {

std::string describe_inputs(const std::vector<std::string>& inputs) {
  std::string s = inputs.front();
  if (inputs.size() > 1) s += " (and " + std::to_string(inputs.size() - 1) + " more)";
  return s;
}

/// Step 1: distinct pre-tokens and their counts over all inputs.
StringTable count_pretokens(const BpeTrainConfig& config, int threads) {
  uint64_t total_bytes = 0;
  for (const std::string& path : config.inputs) {
    check_readable_file(path);
    total_bytes += bpe_detail::BlockReader(path, config.block_bytes).file_size();
  }
  ProgressReporter progress("count", total_bytes, "B", config.quiet);
  uint64_t done_before = 0;
  tbb::enumerable_thread_specific<StringTable> tables([] { return StringTable(1 << 16); });
  tbb::task_arena arena(threads);
  for (const std::string& path : config.inputs) {
    bpe_detail::BlockReader reader(path, config.block_bytes);
    arena.execute([&] {
      tbb::parallel_pipeline(
          static_cast<size_t>(2 * threads),
          tbb::make_filter<void, std::shared_ptr<bpe_detail::TextBlock>>(
              tbb::filter_mode::serial_in_order,
              [&](tbb::flow_control& fc) -> std::shared_ptr<bpe_detail::TextBlock> {
                auto b = std::make_shared<bpe_detail::TextBlock>();
                if (!reader.next(*b)) {
                  fc.stop();
                  return nullptr;
                }
                progress.update(done_before + reader.bytes_read());
                return b;
              }) &
              tbb::make_filter<std::shared_ptr<bpe_detail::TextBlock>, void>(
                  tbb::filter_mode::parallel, [&](std::shared_ptr<bpe_detail::TextBlock> b) {
                    StringTable& table = tables.local();
                    // Line ends are spaces to the pre-tokenizer, which is all counting
                    // needs of them.
                    pretokenize(b->text, b->at_word_start, [&](std::string_view bytes, bool ws, size_t) {
                      bool inserted;
                      ++table.upsert(bytes, ws, bpe_detail::hash_pretoken(bytes, ws), inserted);
                    });
                    reader.recycle(std::move(b->text));
                  }));
    });
    done_before += reader.bytes_read();
  }
  // Sum the per-thread tables into the largest one.
  StringTable* base = nullptr;
  for (StringTable& t : tables) {
    if (base == nullptr || t.size() > base->size()) base = &t;
  }
  StringTable result;
  if (base == nullptr) return result;
  for (StringTable& t : tables) {
    if (&t == base) continue;
    t.for_each([&](std::string_view key, bool flag, uint64_t value) {
      bool inserted;
      base->upsert(key, flag, bpe_detail::hash_pretoken(key, flag), inserted) += value;
    });
    t.clear();
  }
  if (base->size() > 0) progress.finish(done_before, human_count(static_cast<double>(base->size())) + " distinct pre-tokens");
  std::swap(result, *base);
  return result;
}

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

/// Steps 2 and 3 on counted pre-tokens.
class MergeLearner {
 public:
  MergeLearner(const StringTable& pretokens, const BpeTrainConfig& config) : config_(config) {
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
      uint32_t idx = pair_index_.get(top.key);
      PairState& p = pairs_[idx];
      if (p.done) continue;
      const uint64_t actual = static_cast<uint64_t>(p.count);
      if (actual != top.count) {
        if (actual < top.count && actual >= config_.min_frequency) push(top.key, actual);
        continue;  // a stale (larger) entry; a grown count has its own entry already
      }
      if (actual < config_.min_frequency) break;  // the best pair is too rare: so are all
      const uint32_t left = static_cast<uint32_t>(top.key >> 32);
      const uint32_t right = static_cast<uint32_t>(top.key & 0xFFFFFFFFu);
      std::string content = content_key(left) + tok_bytes_[right];
      if (!contents_.insert(content).second) {  // refused: never considered again
        retire(p);
        continue;
      }
      apply_merge(idx, left, right);  // retires the pair too
      progress.update(next_id_ - first);
    }
    progress.finish(next_id_ - first, std::to_string(next_id_) + " tokens");
  }

  uint32_t vocab_size() const noexcept { return next_id_; }
  std::vector<uint32_t> take_chars() { return std::move(chars_); }
  std::vector<BpeMerge> take_merges() { return std::move(merges_); }

 private:
  struct PairState {
    int64_t count;
    uint64_t list_begin;   ///< the pre-tokens that held the pair: lists_[begin, begin + length)
    uint32_t list_length;  ///< 0 once the pair is done
    bool done;             ///< merged, refused, or below min_frequency: never merged
  };

  std::string content_key(uint32_t id) const { return (tok_marker_[id] ? '\1' : '\0') + tok_bytes_[id]; }

  void choose_alphabet(const StringTable& pretokens) {
    std::unordered_map<uint32_t, uint64_t> counts;
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
    for (auto [cp, n] : counts) {
      if (n >= config_.min_frequency) ranked.emplace_back(n, cp);
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
    for (uint32_t cp : chars_) {
      char_ids_.emplace(cp, static_cast<uint32_t>(tok_bytes_.size()));
      std::string s;
      append_utf8(s, cp);
      tok_bytes_.push_back(std::move(s));
      tok_marker_.push_back(0);
      contents_.insert(content_key(static_cast<uint32_t>(tok_bytes_.size() - 1)));
    }
    next_id_ = static_cast<uint32_t>(tok_bytes_.size());
  }

  void build_words(const StringTable& pretokens) {
    word_begin_.reserve(pretokens.size());
    pretokens.for_each([&](std::string_view bytes, bool word_start, uint64_t count) {
      const size_t begin = symbols_.size();
      if (word_start) symbols_.push_back(kBpeMarkerId);
      for (size_t i = 0; i < bytes.size();) {
        Utf8Char c = decode_utf8(bytes, i);
        auto it = (c.valid && c.code_point >= 0x80) ? char_ids_.find(c.code_point) : char_ids_.end();
        if (it != char_ids_.end()) {
          symbols_.push_back(it->second);
        } else {
          for (uint32_t k = 0; k < c.length; ++k) symbols_.push_back(static_cast<unsigned char>(bytes[i + k]));
        }
        i += c.length;
      }
      if (symbols_.size() - begin < 2) {  // no pair: nothing to learn from it
        symbols_.resize(begin);
        return;
      }
      word_begin_.push_back(begin);
      word_length_.push_back(static_cast<uint32_t>(symbols_.size() - begin));
      word_count_.push_back(count);
    });
  }

  /// The state of a pair, made only for a pair seen at least min_frequency times.
  PairState& new_pair(uint64_t key, uint64_t count) {
    const uint32_t idx = static_cast<uint32_t>(pairs_.size());
    if (pair_index_.insert(key, idx) != idx) throw internal_error("bpe-train: a pair was given a state twice");
    pairs_.push_back({static_cast<int64_t>(count), 0, 0, false});
    pair_keys_.push_back(key);
    return pairs_.back();
  }

  void init_pairs() {
    // Pass 1: the exact count of every adjacent pair of base symbols, in a scratch map.
    {
      PairMap first_index(1 << 16);
      std::vector<uint64_t> keys, counts;
      for (uint32_t w = 0; w < word_begin_.size(); ++w) {
        const uint32_t* s = symbols_.data() + word_begin_[w];
        for (uint32_t i = 0; i + 1 < word_length_[w]; ++i) {
          const uint64_t key = bpe_detail::pair_key(s[i], s[i + 1]);
          const uint32_t j = first_index.insert(key, static_cast<uint32_t>(keys.size()));
          if (j == keys.size()) {
            keys.push_back(key);
            counts.push_back(0);
          }
          counts[j] += word_count_[w];
        }
      }
      // A pair's count never grows after the step that creates it (see the top of this
      // file), so a pair of base symbols seen fewer than min_frequency times can never be
      // merged: it gets no state at all. In text with no spaces most pairs are such.
      for (size_t j = 0; j < keys.size(); ++j) {
        if (counts[j] >= config_.min_frequency) new_pair(keys[j], counts[j]);
      }
    }
    // Pass 2: for each pair, the pre-tokens that hold it, as one slice of lists_ (counting
    // sort: lengths, then offsets, then fill). Words are visited in order, so a slice is
    // ascending and holds each pre-token once.
    std::vector<uint32_t> last(pairs_.size(), UINT32_MAX);
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 1) {
        uint64_t offset = 0;
        for (PairState& p : pairs_) {
          p.list_begin = offset;
          offset += p.list_length;
          p.list_length = 0;  // refilled by pass 1 as a cursor
        }
        lists_.resize(offset);
        live_entries_ = offset;
        std::fill(last.begin(), last.end(), UINT32_MAX);
      }
      for (uint32_t w = 0; w < word_begin_.size(); ++w) {
        const uint32_t* s = symbols_.data() + word_begin_[w];
        for (uint32_t i = 0; i + 1 < word_length_[w]; ++i) {
          const uint32_t idx = pair_index_.get(bpe_detail::pair_key(s[i], s[i + 1]));
          if (idx == PairMap::kAbsent || last[idx] == w) continue;
          last[idx] = w;
          PairState& p = pairs_[idx];
          if (pass == 1) lists_[p.list_begin + p.list_length] = w;
          ++p.list_length;
        }
      }
    }
    heap_.reserve(pairs_.size());
    for (size_t idx = 0; idx < pairs_.size(); ++idx) {
      heap_.push_back({static_cast<uint64_t>(pairs_[idx].count), pair_keys_[idx]});
    }
    std::make_heap(heap_.begin(), heap_.end(), HeapLess());
  }

  void push(uint64_t key, uint64_t count) {
    heap_.push_back({count, key});
    std::push_heap(heap_.begin(), heap_.end(), HeapLess());
  }

  /// A pair that will never be merged: its list of pre-tokens is garbage from now on.
  void retire(PairState& p) {
    p.done = true;
    live_entries_ -= p.list_length;
    p.list_length = 0;
  }

  /// An occurrence of (a, b) in a pre-token of count wc went away. A pair with no state
  /// was below min_frequency when created and stays so: nothing to do.
  void drop(uint32_t a, uint32_t b, int64_t wc) {
    const uint32_t idx = pair_index_.get(bpe_detail::pair_key(a, b));
    if (idx == PairMap::kAbsent) return;
    PairState& p = pairs_[idx];
    p.count -= wc;
    if (!p.done && p.count < static_cast<int64_t>(config_.min_frequency)) retire(p);
  }

  /// An occurrence of (a, b), one of them the new token `id`, appeared in pre-token w.
  /// New pairs are gathered in a scratch table indexed by the other token (a dense array
  /// over the vocabulary, cleared by stamp), and get a state only at the end of the merge,
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
      fresh_.push_back({bpe_detail::pair_key(a, b), 0, UINT32_MAX, 0});
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

  /// Rewrites every pre-token holding (left, right) and updates the pair counts. Within a
  /// pre-token, occurrences are merged left to right (so "a a a" gives "aa a"); the pairs
  /// that overlap a merged occurrence lose the pre-token's count and the pairs around
  /// each new token gain it. Pairs away from the merges are unchanged and not touched.
  void apply_merge(uint32_t idx, uint32_t left, uint32_t right) {
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
    const uint64_t list_begin = pairs_[idx].list_begin;
    const uint32_t list_length = pairs_[idx].list_length;
    retire(pairs_[idx]);
    for (uint64_t e = list_begin; e < list_begin + list_length; ++e) {
      const uint32_t w = lists_[e];
      uint32_t* s = symbols_.data() + word_begin_[w];
      const uint32_t n = word_length_[w];
      uint32_t first = 0;
      while (first + 1 < n && !(s[first] == left && s[first + 1] == right)) ++first;
      if (first + 1 >= n) continue;  // stale entry: merged away by an earlier merge
      const int64_t wc = static_cast<int64_t>(word_count_[w]);
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
      word_length_[w] = j;
      for (uint32_t k = first > 0 ? first - 1 : 0; k + 1 < n; ++k) {
        if (affected_[k]) drop(old_[k], old_[k + 1], wc);
      }
      for (uint32_t k = first > 0 ? first - 1 : 0; k + 1 < j; ++k) {
        if (produced_[k] || produced_[k + 1]) gain(s[k], s[k + 1], id, wc, w, stamp);
      }
    }
    // The new pairs: every one involves `id`, which exists only from this merge on, so
    // their counts are final maxima now. Those below min_frequency are forgotten.
    uint64_t need = 0;
    for (Fresh& f : fresh_) {
      if (f.count < config_.min_frequency) continue;
      f.list_begin = need;  // relative to the end of lists_ until compaction is decided
      need += f.words;
      f.words = 0;  // now a fill cursor
    }
    if (lists_.size() + need > 2 * (live_entries_ + need) + (uint64_t{1} << 20)) compact_lists();
    const uint64_t base = lists_.size();
    lists_.resize(base + need);
    for (const auto& [j, w] : fresh_words_) {
      Fresh& f = fresh_[j];
      if (f.count >= config_.min_frequency) lists_[base + f.list_begin + f.words++] = w;
    }
    for (const Fresh& f : fresh_) {
      if (f.count < config_.min_frequency) continue;
      PairState& p = new_pair(f.key, f.count);
      p.list_begin = base + f.list_begin;
      p.list_length = f.words;
      live_entries_ += f.words;
      push(f.key, f.count);
    }
  }

  /// Drops the lists of merged and retired pairs from lists_, in place: slices lie in
  /// lists_ in pair-index order, so moving each live slice down never overwrites one
  /// not yet moved. Called when garbage is over half of lists_: amortised O(1) per entry.
  void compact_lists() {
    uint64_t to = 0;
    for (PairState& p : pairs_) {
      if (p.list_length == 0) continue;
      std::copy(lists_.begin() + static_cast<ptrdiff_t>(p.list_begin),
                lists_.begin() + static_cast<ptrdiff_t>(p.list_begin + p.list_length),
                lists_.begin() + static_cast<ptrdiff_t>(to));
      p.list_begin = to;
      to += p.list_length;
    }
    lists_.resize(to);
  }

  const BpeTrainConfig& config_;
  std::vector<uint32_t> chars_;
  std::unordered_map<uint32_t, uint32_t> char_ids_;
  std::vector<std::string> tok_bytes_;
  std::vector<uint8_t> tok_marker_;
  std::unordered_set<std::string> contents_;
  uint32_t next_id_ = 0;
  std::vector<BpeMerge> merges_;

  // The distinct pre-tokens ("words"), each a slice of symbols_, with its count.
  std::vector<uint32_t> symbols_;
  std::vector<size_t> word_begin_;
  std::vector<uint32_t> word_length_;
  std::vector<uint64_t> word_count_;

  // The pairs that can still be merged (count >= min_frequency when created).
  PairMap pair_index_{1 << 16};
  std::vector<PairState> pairs_;
  std::vector<uint64_t> pair_keys_;  ///< per pair index: pair_key(left, right)
  std::vector<uint32_t> lists_;      ///< the pre-token lists of all pairs, one slice each
  uint64_t live_entries_ = 0;        ///< entries of lists_ in slices of pairs not done
  std::vector<HeapEntry> heap_;

  // Scratch of apply_merge.
  struct Fresh {
    uint64_t key;
    uint64_t count;
    uint32_t last_word;
    uint32_t words;  ///< distinct pre-tokens holding it; then a fill cursor
    uint64_t list_begin = 0;
  };
  std::vector<Fresh> fresh_;
  std::vector<std::pair<uint32_t, uint32_t>> fresh_words_;  ///< (index in fresh_, word)
  std::vector<uint32_t> new_right_, new_left_, new_right_stamp_, new_left_stamp_;
  std::vector<uint32_t> old_;
  std::vector<uint8_t> affected_, produced_;
};

}  // namespace

BpeModel train_bpe(const BpeTrainConfig& config) {
  config.validate();
  const int threads = resolve_threads(config.threads);
  StringTable pretokens = count_pretokens(config, threads);
  if (pretokens.size() == 0) {
    throw input_error(describe_inputs(config.inputs), "", "no text to train on: the input is empty or holds only whitespace");
  }
  MergeLearner learner(pretokens, config);
  pretokens = StringTable();
  learner.learn();
  if (learner.vocab_size() < config.vocab_size) {
    throw input_error(describe_inputs(config.inputs), "",
                      "the text supports a vocabulary of at most " + std::to_string(learner.vocab_size()) +
                          " tokens with --min-frequency " + std::to_string(config.min_frequency) + " (asked for " +
                          std::to_string(config.vocab_size) + "): lower --vocab-size or --min-frequency");
  }
  return BpeModel::from_parts(learner.take_chars(), learner.take_merges());
}

}  // namespace tokvec
