#include "tokvec/vocab.h"

#include <xxhash.h>

#include <algorithm>
#include <numeric>
#include <string_view>

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "tokvec/config.h"
#include "tokvec/io.h"
#include "tokvec/status.h"

namespace tokvec {

namespace {

constexpr bool is_space(unsigned char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }
constexpr bool is_line_end(unsigned char c) noexcept { return c == '\n' || c == '\r'; }

/// Open-addressing map from a word (a view into the mapped file) to a dense id. Linear
/// probing on a power-of-two table of (hash, id + 1); grows at 1/2 load.
class WordMap {
 public:
  WordMap() { table_.assign(1024, Slot{}); }

  /// The id of `word`, inserting it with the next id if it is new.
  uint32_t find_or_insert(std::string_view word) {
    uint64_t h = XXH3_64bits(word.data(), word.size());
    size_t mask = table_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = table_[i];
      if (s.id_plus_one == 0) {
        uint32_t id = static_cast<uint32_t>(words_.size());
        s = {h, id + 1};
        words_.push_back(word);
        if (2 * words_.size() > table_.size()) grow();
        return id;
      }
      if (s.hash == h && words_[s.id_plus_one - 1] == word) return s.id_plus_one - 1;
    }
  }
  const std::vector<std::string_view>& words() const noexcept { return words_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t id_plus_one = 0;
  };
  void grow() {
    std::vector<Slot> old = std::move(table_);
    table_.assign(old.size() * 2, Slot{});
    size_t mask = table_.size() - 1;
    for (const Slot& s : old) {
      if (s.id_plus_one == 0) continue;
      size_t i = s.hash & mask;
      while (table_[i].id_plus_one != 0) i = (i + 1) & mask;
      table_[i] = s;
    }
  }
  std::vector<Slot> table_;
  std::vector<std::string_view> words_;
};

/// One block of the file after the counting pass.
struct Block {
  size_t begin = 0, end = 0;          // byte range; both on word boundaries
  std::vector<std::string_view> words;  // local vocabulary
  std::vector<uint64_t> counts;         // per local id
  std::vector<uint32_t> ids;            // the block's tokens as local ids
  std::vector<uint64_t> line_breaks;    // local token index at each line end
  std::vector<uint32_t> remap;          // local id -> final id, or kDropped
  uint64_t kept = 0;                    // tokens left after min_count
};

constexpr uint32_t kDropped = UINT32_MAX;

void count_block(std::string_view text, Block& block) {
  WordMap map;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = block.begin;
  const size_t end = block.end;
  while (i < end) {
    unsigned char c = p[i];
    if (is_space(c)) {
      if (is_line_end(c) && (block.line_breaks.empty() || block.line_breaks.back() != block.ids.size())) {
        block.line_breaks.push_back(block.ids.size());
      }
      ++i;
      continue;
    }
    size_t start = i;
    while (i < end && !is_space(p[i])) ++i;
    uint32_t id = map.find_or_insert(text.substr(start, i - start));
    if (id == block.counts.size()) block.counts.push_back(0);
    ++block.counts[id];
    block.ids.push_back(id);
  }
  block.words = map.words();
}

}  // namespace

uint64_t word_vocab_checksum(const std::vector<std::string>& vocab) {
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  for (const std::string& w : vocab) {
    uint64_t n = w.size();
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(n >> (8 * i));
    XXH3_64bits_update(state, le, 8);
    XXH3_64bits_update(state, w.data(), w.size());
  }
  uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return h;
}

CorpusData build_word_corpus(const std::string& path, const WordVocabConfig& config) {
  check_readable_file(path);
  MappedFile file(path);
  std::string_view text = file.view();
  const int threads = resolve_threads(config.threads);
  const size_t block_bytes = std::max<size_t>(config.block_bytes, 64);

  // Blocks end on a whitespace byte (or the end of the file), so no word spans two blocks.
  std::vector<Block> blocks;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = std::min(text.size(), begin + block_bytes);
    while (end < text.size() && !is_space(static_cast<unsigned char>(text[end]))) ++end;
    Block b;
    b.begin = begin;
    b.end = end;
    blocks.push_back(std::move(b));
    begin = end;
  }

  tbb::task_arena arena(threads);
  // Pass 1 (parallel): tokenize and count each block with a block-local map.
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, blocks.size(), [&](size_t i) { count_block(text, blocks[i]); });
  });

  // Merge the block vocabularies (sequential; ~distinct words per block, small).
  WordMap global;
  std::vector<uint64_t> counts;
  for (Block& b : blocks) {
    b.remap.resize(b.words.size());
    for (size_t l = 0; l < b.words.size(); ++l) {
      uint32_t g = global.find_or_insert(b.words[l]);
      if (g == counts.size()) counts.push_back(0);
      counts[g] += b.counts[l];
      b.remap[l] = g;
    }
    b.words = {};
    b.counts = {};
  }
  if (counts.empty()) throw input_error(path, "", "the text holds no word (empty or only whitespace)");

  // Order: count descending, then bytes ascending (deterministic); drop count < min_count.
  const std::vector<std::string_view>& gwords = global.words();
  std::vector<uint32_t> order(counts.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (counts[a] != counts[b]) return counts[a] > counts[b];
    return gwords[a] < gwords[b];
  });
  std::vector<uint32_t> final_id(counts.size(), kDropped);
  CorpusData corpus;
  corpus.tokenizer_kind = "words";
  corpus.source = path;
  for (uint32_t g : order) {
    if (counts[g] < config.min_count) break;
    final_id[g] = static_cast<uint32_t>(corpus.vocab.size());
    corpus.vocab.emplace_back(gwords[g]);
    corpus.counts.push_back(counts[g]);
  }
  if (corpus.vocab.empty()) {
    throw input_error(path, "", "--min-count " + std::to_string(config.min_count) + " removes every word (the most frequent of " +
                                    std::to_string(counts.size()) + " distinct words occurs " +
                                    std::to_string(counts[order[0]]) + " times)");
  }
  corpus.tokenizer_checksum = word_vocab_checksum(corpus.vocab);

  // Pass 2 (parallel): local ids -> final ids, dropping rare words, into one array.
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, blocks.size(), [&](size_t i) {
      Block& b = blocks[i];
      for (uint32_t& r : b.remap) r = final_id[r];
      uint64_t kept = 0;
      for (uint32_t l : b.ids) kept += b.remap[l] != kDropped;
      b.kept = kept;
    });
  });
  std::vector<uint64_t> offset(blocks.size() + 1, 0);
  for (size_t i = 0; i < blocks.size(); ++i) offset[i + 1] = offset[i] + blocks[i].kept;
  corpus.tokens.resize(offset.back());
  std::vector<std::vector<uint64_t>> block_lines(blocks.size());
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, blocks.size(), [&](size_t i) {
      Block& b = blocks[i];
      uint32_t* out = corpus.tokens.data() + offset[i];
      uint64_t n = 0;
      size_t next_break = 0;
      std::vector<uint64_t>& lines = block_lines[i];
      for (size_t t = 0; t <= b.ids.size(); ++t) {
        while (next_break < b.line_breaks.size() && b.line_breaks[next_break] == t) {
          lines.push_back(offset[i] + n);
          ++next_break;
        }
        if (t == b.ids.size()) break;
        uint32_t id = b.remap[b.ids[t]];
        if (id != kDropped) out[n++] = id;
      }
      b.ids = {};
      b.remap = {};
    });
  });
  // Line ends: global token offsets, without empty lines; the last line ends at the end.
  for (const std::vector<uint64_t>& lines : block_lines) {
    for (uint64_t e : lines) {
      if (e > (corpus.line_ends.empty() ? 0 : corpus.line_ends.back())) corpus.line_ends.push_back(e);
    }
  }
  if (corpus.line_ends.empty() || corpus.line_ends.back() != corpus.tokens.size()) {
    corpus.line_ends.push_back(corpus.tokens.size());
  }
  return corpus;
}

}  // namespace tokvec
