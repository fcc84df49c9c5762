#include "tokvec/vocab.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

// The hash of every word of the corpus: inline XXH3 (the header holds the whole library).
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <numeric>
#include <string_view>

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/enumerable_thread_specific.h>
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

/// One block of the file after the counting pass. Block i owns the words that start in
/// bytes [i·S, (i+1)·S) of the file and the line ends in that range; a word crossing the
/// block's end is read to its end.
struct Block {
  std::string arena;                    // the block's distinct words, back to back
  std::vector<std::string_view> words;  // local vocabulary (views into arena)
  std::vector<uint64_t> counts;         // per local id
  std::vector<uint32_t> ids;            // the block's tokens as local ids, then final ids
  std::vector<uint64_t> line_breaks;    // local token index at each line end
  std::vector<uint32_t> remap;          // local id -> final id, or kDropped
};

constexpr uint32_t kDropped = UINT32_MAX;

/// Closes a file descriptor on scope exit.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// Appends bytes [offset, offset + n) of the file to `out` (fewer at the end of the file).
void read_at(int fd, const std::string& path, uint64_t offset, size_t n, std::string& out) {
  size_t old = out.size();
  out.resize(old + n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, out.data() + old + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw io_error(path, "cannot read at byte " + std::to_string(offset + got), errno);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(old + got);
}

/// Reads block `i` (streamed: only this block's bytes are in memory) and counts its words.
void count_block(int fd, const std::string& path, uint64_t file_size, uint64_t block_bytes, size_t i, Block& block,
                 std::string& buf) {
  const uint64_t begin = i * block_bytes;
  const uint64_t end = std::min(file_size, begin + block_bytes);
  // One byte before the block tells whether its first word started in the previous block.
  const uint64_t read_from = begin == 0 ? 0 : begin - 1;
  buf.clear();
  read_at(fd, path, read_from, end - read_from, buf);
  // A word crossing the end is ours: read on until whitespace or the end of the file.
  for (uint64_t pos = end; pos < file_size && !buf.empty() && !is_space(static_cast<unsigned char>(buf.back()));) {
    size_t before = buf.size();
    read_at(fd, path, pos, 4096, buf);
    pos += buf.size() - before;
    if (buf.size() == before) break;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
  const size_t n = buf.size();
  const size_t own_end = static_cast<size_t>(end - read_from);  // bytes before this are ours
  size_t k = 0;
  if (begin > 0) {
    k = 1;
    if (!is_space(p[0])) {
      while (k < n && !is_space(p[k])) ++k;  // the tail of the previous block's word
    }
  }
  WordMap map;
  block.ids.reserve(own_end / 5);
  while (k < own_end) {
    unsigned char c = p[k];
    if (is_space(c)) {
      if (is_line_end(c) && (block.line_breaks.empty() || block.line_breaks.back() != block.ids.size())) {
        block.line_breaks.push_back(block.ids.size());
      }
      ++k;
      continue;
    }
    size_t start = k;
    while (k < n && !is_space(p[k])) ++k;
    uint32_t id = map.find_or_insert(std::string_view(buf.data() + start, k - start));
    if (id == block.counts.size()) block.counts.push_back(0);
    ++block.counts[id];
    block.ids.push_back(id);
  }
  // Keep the distinct words: copy them out of the reused read buffer.
  size_t bytes = 0;
  for (std::string_view w : map.words()) bytes += w.size();
  block.arena.reserve(bytes);
  for (std::string_view w : map.words()) block.arena.append(w);
  block.words.reserve(map.words().size());
  size_t off = 0;
  for (std::string_view w : map.words()) {
    block.words.emplace_back(block.arena.data() + off, w.size());
    off += w.size();
  }
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
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw io_error(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) throw io_error(path, "cannot stat", errno);
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  const int threads = resolve_threads(config.threads);
  const uint64_t block_bytes = std::max<uint64_t>(config.block_bytes, 64);
  std::vector<Block> blocks((file_size + block_bytes - 1) / block_bytes);

  tbb::task_arena arena(threads);
  // Pass 1 (parallel): read, tokenize and count each block with a block-local map. Memory:
  // one read buffer per worker, each block's distinct words and its token ids.
  tbb::enumerable_thread_specific<std::string> buffers;
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, blocks.size(), [&](size_t i) {
      count_block(file.fd, path, file_size, block_bytes, i, blocks[i], buffers.local());
    });
  });
  buffers.clear();

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

  // Pass 2 (parallel): local ids -> final ids in place, dropping rare words; line breaks
  // move with the tokens.
  arena.execute([&] {
    tbb::parallel_for(size_t{0}, blocks.size(), [&](size_t i) {
      Block& b = blocks[i];
      for (uint32_t& r : b.remap) r = final_id[r];
      size_t n = 0, next_break = 0;
      for (size_t t = 0; t < b.ids.size(); ++t) {
        while (next_break < b.line_breaks.size() && b.line_breaks[next_break] == t) b.line_breaks[next_break++] = n;
        uint32_t id = b.remap[b.ids[t]];
        if (id != kDropped) b.ids[n++] = id;
      }
      while (next_break < b.line_breaks.size()) b.line_breaks[next_break++] = n;
      b.ids.resize(n);
      b.remap = {};
    });
  });
  // Pass 3: concatenate, freeing each block as it is copied (peak: the id array once).
  uint64_t total = 0;
  for (const Block& b : blocks) total += b.ids.size();
  corpus.tokens.reserve(total);
  for (Block& b : blocks) {
    const uint64_t offset = corpus.tokens.size();
    corpus.tokens.insert(corpus.tokens.end(), b.ids.begin(), b.ids.end());
    for (uint64_t e : b.line_breaks) {
      // Line ends as global token offsets, without empty lines.
      if (offset + e > (corpus.line_ends.empty() ? 0 : corpus.line_ends.back())) corpus.line_ends.push_back(offset + e);
    }
    b.ids = {};
    b.line_breaks = {};
  }
  if (corpus.line_ends.empty() || corpus.line_ends.back() != corpus.tokens.size()) {
    corpus.line_ends.push_back(corpus.tokens.size());
  }
  return corpus;
}

}  // namespace tokvec
