#include "tokvec/vocab.h"
#include "text/words.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

// The hash of every word of the corpus: inline XXH3 (the header holds the whole library).
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <string_view>

#include <tbb/parallel_pipeline.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/task_arena.h>

#include "base/pipeline_slots.h"
#include "base/config.h"
#include "base/io.h"
#include "tokvec/status.h"
#include "text/text.h"
#include "text/text_check.h"
#include "base/thread_arena.h"

namespace tokvec {

namespace {

constexpr bool is_space(unsigned char c) noexcept { return is_word_space(c); }
constexpr bool is_line_end(unsigned char c) noexcept { return c == '\n' || c == '\r'; }

/// Open-addressing map from a word to a dense id. Linear probing on a power-of-two table of
/// (hash, id + 1); grows at 1/2 load. A block's map holds views into the block's read
/// buffer; the whole text's map (`owning`) copies each new word into its own arena, so its
/// memory is that of the distinct words, not of the text.
class WordMap {
 public:
  explicit WordMap(bool owning = false) : owning_(owning) { table_.assign(1024, Slot{}); }

  static constexpr uint32_t kAbsent = UINT32_MAX;

  /// The id of `word`, inserting it with the next id if it is new.
  uint32_t find_or_insert(std::string_view word) {
    uint64_t h = XXH3_64bits(word.data(), word.size());
    size_t mask = table_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = table_[i];
      if (s.id_plus_one == 0) {
        uint32_t id = static_cast<uint32_t>(words_.size());
        s = {h, id + 1};
        words_.push_back(owning_ ? keep(word) : word);
        if (2 * words_.size() > table_.size()) grow();
        return id;
      }
      if (s.hash == h && words_[s.id_plus_one - 1] == word) return s.id_plus_one - 1;
    }
  }
  /// The id of `word`, or kAbsent. Safe from many threads while nothing inserts.
  uint32_t find(std::string_view word) const {
    uint64_t h = XXH3_64bits(word.data(), word.size());
    size_t mask = table_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = table_[i];
      if (s.id_plus_one == 0) return kAbsent;
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
  /// A copy of `word` in the arena: 1 MB chunks that never move once allocated.
  std::string_view keep(std::string_view word) {
    constexpr size_t kChunk = size_t{1} << 20;
    if (arena_.empty() || arena_cap_ - arena_used_ < word.size()) {
      arena_cap_ = std::max(kChunk, word.size());
      arena_.push_back(std::make_unique<char[]>(arena_cap_));
      arena_used_ = 0;
    }
    char* dst = arena_.back().get() + arena_used_;
    std::memcpy(dst, word.data(), word.size());
    arena_used_ += word.size();
    return {dst, word.size()};
  }
  bool owning_;
  std::vector<Slot> table_;
  std::vector<std::string_view> words_;
  std::vector<std::unique_ptr<char[]>> arena_;
  size_t arena_cap_ = 0, arena_used_ = 0;
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
  std::vector<uint32_t> distinct;       // local id -> the text's distinct-word id (the merge)
  TextTally tally;                      // the bytes of the block's words (the UTF-8 check)
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
/// Returns how many it got.
size_t read_at(int fd, const std::string& path, uint64_t offset, size_t n, std::string& out) {
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
  return got;
}

/// Where the text comes from: a file read block by block (pread), or a text in memory.
struct TextSource {
  int fd = -1;
  std::string_view memory;  // when fd < 0
  std::string path;         // for messages

  size_t read_at(uint64_t offset, size_t n, std::string& out) const {
    if (fd >= 0) return tokvec::read_at(fd, path, offset, n, out);
    const size_t got = offset < memory.size() ? std::min<size_t>(n, memory.size() - offset) : 0;
    out.append(memory.substr(static_cast<size_t>(std::min<uint64_t>(offset, memory.size())), got));
    return got;
  }
};

/// Counts the words of `stretch` by the pre-token rule (words.h); the stretch starts
/// and ends at ASCII whitespace or the text's ends, as pre-tokens never cross it.
void count_pretoken_words(std::string_view stretch, WordMap& map, Block& block, bool lowercase, std::string& lowered) {
  pretokenize(stretch, true, [&](std::string_view piece, bool, size_t) {
    uint32_t len;
    const CharClass cls = detail::char_at(piece, 0, len);
    if (cls != CharClass::letter && cls != CharClass::mark && cls != CharClass::digit) return;
    if (lowercase && needs_lowercase(piece)) {
      lowercase_utf8(piece, lowered);
      piece = lowered;
    }
    uint32_t id = map.find_or_insert(piece);
    if (id == block.counts.size()) block.counts.push_back(0);
    ++block.counts[id];
  });
}

/// Reads block `i` (streamed: only this block's bytes are in memory) and counts its words
/// by `rule`. The whitespace rule also keeps the block's tokens (local ids) and line ends,
/// for encoding.
void count_block(const TextSource& src, uint64_t file_size, uint64_t block_bytes, size_t i, Block& block,
                 std::string& buf, bool lowercase, WordRule rule = WordRule::whitespace) {
  const std::string& path = src.path;
  const int fd = src.fd;
  const uint64_t begin = i * block_bytes;
  const uint64_t end = std::min(file_size, begin + block_bytes);
  // One byte before the block tells whether its first word started in the previous block.
  const uint64_t read_from = begin == 0 ? 0 : begin - 1;
  buf.clear();
  // Every byte below file_size must be there: the loops below index the buffer up to the
  // block's end, so a file cut short while we read it must stop here.
  auto short_read = [&](uint64_t at) {
    struct stat st {};
    if (::fstat(fd, &st) == 0) return changed_size_error(path, file_size, std::to_string(st.st_size) + " bytes now");
    return changed_size_error(path, file_size, "a read at byte " + std::to_string(at) + " came up short");
  };
  const size_t got = src.read_at(read_from, end - read_from, buf);
  if (got != end - read_from) throw short_read(read_from + got);
  // A word crossing the end is ours: read on until whitespace or the end of the file.
  for (uint64_t pos = end; pos < file_size && !is_space(static_cast<unsigned char>(buf.back()));) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(4096, file_size - pos));
    const size_t more = src.read_at(pos, want, buf);
    if (more != want) throw short_read(pos + more);
    pos += want;
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
  // Lowercased words live in a scratch string that the next word overwrites: the map
  // keeps its own copy of each then.
  WordMap map(/*owning=*/lowercase);
  std::string lowered;
  block.ids.reserve(own_end / 5);
  const size_t first_own = k;
  if (rule == WordRule::pretokens) {
    // To the end of the word that crosses the block's end, if one does.
    size_t stretch_end = own_end;
    if (own_end > first_own && !is_space(p[own_end - 1])) {
      while (stretch_end < n && !is_space(p[stretch_end])) ++stretch_end;
    }
    if (stretch_end > first_own) {
      count_pretoken_words(std::string_view(buf.data() + first_own, stretch_end - first_own), map, block, lowercase, lowered);
    }
    k = std::max(k, stretch_end);
  }
  while (rule == WordRule::whitespace && k < own_end) {
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
    std::string_view word(buf.data() + start, k - start);
    if (lowercase && needs_lowercase(word)) {
      lowercase_utf8(word, lowered);
      word = lowered;
    }
    uint32_t id = map.find_or_insert(word);
    if (id == block.counts.size()) block.counts.push_back(0);
    ++block.counts[id];
    block.ids.push_back(id);
  }
  // The block's words and the whitespace between them, whole (whitespace never cuts a
  // character): blocks' stretches do not overlap and together cover the text's words.
  block.tally = tally_text(std::string_view(buf.data() + first_own, std::min(k, n) - first_own), read_from + first_own);
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

namespace {

/// The text file, open for the two passes. A stream ("-", a pipe) is first copied into a
/// temporary file, since it can be read only once.
struct WordInput {
  std::string path;
  SpooledText spool;
  Fd file{-1};
  std::string_view memory;  // a text in memory instead of a file (file.fd < 0)
  uint64_t size = 0;
  struct timespec mtime {};
  uint64_t block_bytes = 0;
  size_t blocks = 0;
  int threads = 1;
  bool lowercase = false;
  WordRule rule = WordRule::whitespace;

  WordInput(const std::string& p, const WordVocabConfig& config)
      : WordInput(p, config.threads, config.block_bytes, config.lowercase, WordRule::whitespace) {}
  /// A text in memory.
  WordInput(std::string_view text, int requested_threads, size_t requested_block_bytes, bool lower, WordRule word_rule)
      : path("the text"), memory(text), size(text.size()), lowercase(lower), rule(word_rule) {
    set_blocks(requested_threads, requested_block_bytes);
  }
  WordInput(const std::string& p, int requested_threads, size_t requested_block_bytes, bool lower, WordRule word_rule)
      : path(input_name(p)), lowercase(lower), rule(word_rule) {
    check_readable_input(p);
    spool = SpooledText(p);
    file.fd = ::open(spool.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (file.fd < 0) throw io_error(path, "cannot open", errno);
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) throw io_error(path, "cannot stat", errno);
    size = static_cast<uint64_t>(st.st_size);
    mtime = st.st_mtim;
    if (after_size_taken_for_test != nullptr) after_size_taken_for_test(path);
    set_blocks(requested_threads, requested_block_bytes);
  }
  void set_blocks(int requested_threads, size_t requested_block_bytes) {
    threads = resolve_threads(requested_threads);
    block_bytes = std::max<uint64_t>(requested_block_bytes, 64);
    blocks = static_cast<size_t>((size + block_bytes - 1) / block_bytes);
  }
  TextSource source() const { return {file.fd, memory, path}; }
  /// After a pass: the blocks read only the bytes below `size`, so a file that grew (or was
  /// rewritten) meanwhile must be caught here.
  void check_unchanged() const {
    if (file.fd < 0) return;
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) throw io_error(path, "cannot stat", errno);
    if (static_cast<uint64_t>(st.st_size) != size) {
      throw changed_size_error(path, size, std::to_string(st.st_size) + " bytes now");
    }
    if (st.st_mtim.tv_sec != mtime.tv_sec || st.st_mtim.tv_nsec != mtime.tv_nsec) {
      throw input_error(path, "", "changed while being read (modified since it was opened); let whatever writes it finish, then run again");
    }
  }
  /// Blocks in flight in a pass: enough to keep every thread busy while the serial stage
  /// merges or writes, few enough that memory is a handful of blocks per thread.
  size_t live_blocks() const { return static_cast<size_t>(2 * threads + 2); }
};

/// A block's tokens as the counting pass left them, kept for encoding without reading the
/// text again: local ids, line ends, and each local id's distinct-word id.
struct KeptBlock {
  std::vector<uint32_t> ids;
  std::vector<uint64_t> line_breaks;
  std::vector<uint32_t> distinct;
};

/// The counting pass's result: every distinct word with its count, and the vocabulary.
struct CountedWords {
  WordMap words{/*owning=*/true};
  std::vector<uint64_t> counts;        // per distinct word
  std::vector<uint32_t> final_id;      // distinct word -> vocabulary id, or kDropped
  std::vector<std::string> vocab;      // count descending, then bytes ascending
  std::vector<uint64_t> vocab_counts;  // per vocabulary id
  uint64_t token_count = 0;            // tokens kept (sum of vocab_counts)
  uint64_t checksum = 0;
  /// Every block's tokens in file order, when they fitted in keep_ids_bytes (then `kept_all`).
  std::vector<KeptBlock> kept;
  bool kept_all = false;
};

/// Both passes read the text the same way: an ordered oneTBB pipeline over its blocks that
/// counts each block in parallel (count_block), lets `prepare` reduce it there (still in
/// parallel), and hands it to `consume` on one thread at a time, in file order. Memory: a few
/// blocks per thread, whatever the text's length.
template <typename Prepare, typename Consume>
void for_each_block_in_order(const WordInput& in, tbb::task_arena& arena, Prepare prepare, Consume consume) {
  tbb::enumerable_thread_specific<std::string> buffers;
  size_t next = 0;
  PipelineSlots<Block> slots;
  arena.execute([&] {
    tbb::parallel_pipeline(
        in.live_blocks(),
        tbb::make_filter<void, size_t>(tbb::filter_mode::serial_in_order,
                                       [&](tbb::flow_control& fc) -> size_t {
                                         if (next == in.blocks) fc.stop();
                                         return next++;
                                       }) &
            tbb::make_filter<size_t, Block*>(tbb::filter_mode::parallel,
                                                             [&](size_t i) {
                                                               Block* b = slots.take();
                                                               *b = Block{};
                                                               count_block(in.source(), in.size, in.block_bytes, i, *b,
                                                                           buffers.local(), in.lowercase, in.rule);
                                                               prepare(*b);
                                                               return b;
                                                             }) &
            tbb::make_filter<Block*, void>(tbb::filter_mode::serial_in_order, [&](Block* b) {
              consume(*b);
              slots.give_back(b);
            }));
  });
  in.check_unchanged();
}

/// Adds a counted block's words to the text's map; `distinct` (when given) receives each
/// local id's distinct-word id.
void merge_block(CountedWords& cw, const Block& b, std::vector<uint32_t>* distinct = nullptr) {
  if (distinct != nullptr) distinct->resize(b.words.size());
  for (size_t l = 0; l < b.words.size(); ++l) {
    uint32_t g = cw.words.find_or_insert(b.words[l]);
    if (g == cw.counts.size()) cw.counts.push_back(0);
    cw.counts[g] += b.counts[l];
    if (distinct != nullptr) (*distinct)[l] = g;
  }
}

/// Local ids -> final ids in place through `remap`, dropping rare words (kDropped); line
/// breaks move with the tokens.
void remap_block(std::vector<uint32_t>& ids, std::vector<uint64_t>& line_breaks, const std::vector<uint32_t>& remap) {
  size_t n = 0, next_break = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    while (next_break < line_breaks.size() && line_breaks[next_break] == t) line_breaks[next_break++] = n;
    uint32_t id = remap[ids[t]];
    if (id != kDropped) ids[n++] = id;
  }
  while (next_break < line_breaks.size()) line_breaks[next_break++] = n;
  ids.resize(n);
}

/// The distinct words' indices, count descending, then bytes ascending (deterministic).
std::vector<uint32_t> by_count_then_bytes(const CountedWords& cw) {
  const std::vector<uint64_t>& counts = cw.counts;
  const std::vector<std::string_view>& gwords = cw.words.words();
  std::vector<uint32_t> order(counts.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (counts[a] != counts[b]) return counts[a] > counts[b];
    return gwords[a] < gwords[b];
  });
  return order;
}

/// Pass 1 (an ordered oneTBB pipeline): read and count blocks in parallel, each with a
/// block-local map, and merge each into the text's map as soon as it is counted. Memory:
/// the distinct words of the text plus a few blocks per thread, whatever the text's length.
/// Then order and cut the vocabulary.
CountedWords count_words(const WordInput& in, const WordVocabConfig& config, tbb::task_arena& arena) {
  CountedWords cw;
  TextCheck check(in.path, config.allow_binary);
  if (config.check_text) {
    std::string start;
    read_at(in.file.fd, in.path, 0, static_cast<size_t>(std::min<uint64_t>(in.size, TextCheck::kSampleBytes)), start);
    check.check_start(start, in.size <= TextCheck::kSampleBytes);
  }
  // Keeping the ids saves the second pass, which reads and splits the text again and
  // looks every token up in a block map once more (about half the time before training).
  bool keeping = config.keep_ids_bytes > 0;
  uint64_t kept_bytes = 0;
  for_each_block_in_order(
      in, arena,
      [&](Block& b) {
        if (keeping) return;
        b.ids = {};  // pass 2 encodes again
        b.line_breaks = {};
      },
      [&](Block& b) {
        check.add(b.tally);
        if (!keeping) {
          merge_block(cw, b);
          return;
        }
        KeptBlock k;
        merge_block(cw, b, &k.distinct);
        kept_bytes += 4 * (b.ids.capacity() + k.distinct.size()) + 8 * b.line_breaks.size();
        if (kept_bytes > config.keep_ids_bytes) {
          keeping = false;  // too long a text: read it again to encode it
          cw.kept = {};
          return;
        }
        k.ids = std::move(b.ids);
        k.line_breaks = std::move(b.line_breaks);
        cw.kept.push_back(std::move(k));
      });
  cw.kept_all = keeping;
  if (config.check_text) {
    const std::string warning = check.finish();
    if (!warning.empty() && config.on_warning) config.on_warning(in.path + ": " + warning);
  }
  const std::vector<uint64_t>& counts = cw.counts;
  if (counts.empty()) throw input_error(in.path, "", "the text holds no word (empty or only whitespace)");

  // Order: count descending, then bytes ascending (deterministic); drop count < min_count.
  const std::vector<std::string_view>& gwords = cw.words.words();
  const std::vector<uint32_t> order = by_count_then_bytes(cw);
  cw.final_id.assign(counts.size(), kDropped);
  // A base vocabulary keeps its ids, whatever its words' counts here (0 when absent).
  for (const std::string& word : config.base_vocab) {
    const uint32_t g = cw.words.find(word);
    const uint64_t count = g == WordMap::kAbsent ? 0 : counts[g];
    if (g != WordMap::kAbsent) cw.final_id[g] = static_cast<uint32_t>(cw.vocab.size());
    cw.vocab.push_back(word);
    cw.vocab_counts.push_back(count);
    cw.token_count += count;
  }
  for (uint32_t g : order) {
    if (counts[g] < config.min_count) break;
    if (cw.final_id[g] != kDropped) continue;  // in the base vocabulary
    cw.final_id[g] = static_cast<uint32_t>(cw.vocab.size());
    cw.vocab.emplace_back(gwords[g]);
    cw.vocab_counts.push_back(counts[g]);
    cw.token_count += counts[g];
  }
  if (cw.vocab.empty()) {
    throw input_error(in.path, "", setting_name("min_count") + " " + std::to_string(config.min_count) + " removes every word (the most frequent of " +
                                       std::to_string(counts.size()) + " distinct words occurs " +
                                       std::to_string(counts[order[0]]) + " times)");
  }
  cw.checksum = word_vocab_checksum(cw.vocab);
  return cw;
}

/// Pass 2 (an ordered oneTBB pipeline): encode blocks in parallel (block-local ids, then
/// final ids through the text's map once per distinct word of the block, rare words
/// dropped) and hand each block's ids and line ends to `sink`, in file order, as soon as it
/// is ready. `sink.append(ids)` and `sink.end_line()` run on one thread at a time.
template <typename Sink>
void encode_words(const WordInput& in, CountedWords& cw, tbb::task_arena& arena, Sink& sink) {
  if (cw.kept_all) {
    // The counting pass kept every block: final ids by the distinct-word ids it recorded,
    // the same ids a second pass would find. Each block's memory goes once it is written.
    std::vector<uint32_t> remap;
    for (KeptBlock& k : cw.kept) {
      remap.resize(k.distinct.size());
      for (size_t l = 0; l < k.distinct.size(); ++l) remap[l] = cw.final_id[k.distinct[l]];
      remap_block(k.ids, k.line_breaks, remap);
      append_block_lines(sink, k.ids, k.line_breaks);
      k = KeptBlock{};
    }
    cw.kept = {};
    return;
  }
  uint64_t tokens = 0;
  auto changed = [&] {
    return input_error(in.path, "", "changed while tokvec was reading it (the second pass over the text does not match the first)");
  };
  for_each_block_in_order(
      in, arena,
      [&](Block& b) {
        b.remap.resize(b.words.size());
        for (size_t l = 0; l < b.words.size(); ++l) {
          const uint32_t g = cw.words.find(b.words[l]);
          if (g == WordMap::kAbsent) throw changed();
          b.remap[l] = cw.final_id[g];
        }
        remap_block(b.ids, b.line_breaks, b.remap);
        b.remap = {};
        b.words = {};
        b.arena = {};
        b.counts = {};
      },
      [&](const Block& b) {
        if (b.ids.size() > cw.token_count - tokens) throw changed();
        tokens += b.ids.size();
        append_block_lines(sink, b.ids, b.line_breaks);
      });
  if (tokens != cw.token_count) throw changed();
}

/// Collects the corpus in memory (build_word_corpus).
struct MemorySink {
  CorpusData& corpus;
  void append(std::span<const uint32_t> ids) { corpus.tokens.insert(corpus.tokens.end(), ids.begin(), ids.end()); }
  void end_line() {
    // Line ends as token offsets, without empty lines.
    if (corpus.tokens.size() > (corpus.line_ends.empty() ? 0 : corpus.line_ends.back())) corpus.line_ends.push_back(corpus.tokens.size());
  }
};

}  // namespace

CorpusData build_word_corpus(const std::string& path, const WordVocabConfig& config) {
  WordInput in(path, config);
  ThreadArena arena_threads(in.threads);  // exactly that many threads, with no oneTBB warning above the core count
  tbb::task_arena& arena = arena_threads.arena();
  CountedWords cw = count_words(in, config, arena);
  CorpusData corpus;
  corpus.tokenizer_kind = TokenizerKind::words;
  corpus.source = path;
  corpus.tokenizer_checksum = cw.checksum;
  corpus.vocab = cw.vocab;
  corpus.counts = cw.vocab_counts;
  corpus.tokens.reserve(cw.token_count);
  MemorySink sink{corpus};
  encode_words(in, cw, arena, sink);
  sink.end_line();
  return corpus;
}

namespace {

std::vector<WordCount> count_all_words(const WordInput& in, uint64_t min_count) {
  ThreadArena arena_threads(in.threads);
  CountedWords cw;
  for_each_block_in_order(
      in, arena_threads.arena(),
      [](Block& b) {
        b.ids = {};
        b.line_breaks = {};
      },
      [&](const Block& b) { merge_block(cw, b); });
  std::vector<WordCount> out;
  for (uint32_t g : by_count_then_bytes(cw)) {
    if (cw.counts[g] < min_count) break;
    out.push_back({std::string(cw.words.words()[g]), cw.counts[g]});
  }
  return out;
}

}  // namespace

std::vector<WordCount> count_words(const std::string& path, const WordCountConfig& config) {
  return count_all_words(WordInput(path, config.threads, config.block_bytes, config.lowercase, config.rule), config.min_count);
}

std::vector<WordCount> count_words_in_memory(std::string_view text, const WordCountConfig& config) {
  return count_all_words(WordInput(text, config.threads, config.block_bytes, config.lowercase, config.rule), config.min_count);
}

WordCorpusInfo write_word_corpus(const std::string& path, const WordVocabConfig& config, const std::string& out_path,
                                 const std::function<void(const WordCorpusInfo&)>& before_write) {
  WordInput in(path, config);
  ThreadArena arena_threads(in.threads);  // exactly that many threads, with no oneTBB warning above the core count
  tbb::task_arena& arena = arena_threads.arena();
  CountedWords cw = count_words(in, config, arena);
  WordCorpusInfo info;
  info.vocab_size = cw.vocab.size();
  info.distinct_words = cw.counts.size();
  info.token_count = cw.token_count;
  info.tokenizer_checksum = cw.checksum;
  if (before_write) before_write(info);
  CorpusFileWriter writer(out_path, TokenizerKind::words, cw.checksum, path, cw.vocab, cw.vocab_counts);
  cw.vocab = {};  // in VOCB now
  info.passes = cw.kept_all ? 1 : 2;
  encode_words(in, cw, arena, writer);
  writer.commit();
  info.line_count = writer.lines_written();
  return info;
}

}  // namespace tokvec
