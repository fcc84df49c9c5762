// The BPE model: its file format, encoding (a per-thread cache in front of a merge-rank
// encoder) and decoding. Encoding a file is in bpe_encode_file.cpp, the block reader in
// block_reader.cpp, training in bpe_train.cpp.
#include "tokvec/bpe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <functional>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include "bpe_detail.h"
#include "base/pipeline_slots.h"
#include "base/config.h"
#include "base/io.h"
#include "base/progress.h"
#include "base/sniff.h"
#include "tokvec/status.h"
#include "base/thread_arena.h"
#include "text/text.h"

namespace tokvec {

using bpe_detail::PairMap;
using bpe_detail::StringTable;

// ---------------------------------------------------------------------------------------
// The model

struct BpeModel::Impl {
  std::vector<uint32_t> chars;      ///< code points of ids 257...
  std::vector<BpeMerge> merges;     ///< merge i makes id first_merge_id + i
  uint32_t first_merge_id = kBpeFixedAlphabet;
  std::vector<std::string> bytes;   ///< per id: raw bytes (no marker)
  std::vector<uint8_t> marker;      ///< per id: starts with the word-start marker
  std::vector<std::string> display; ///< per id: piece()
  std::unordered_map<uint32_t, uint32_t> char_ids;
  PairMap ranks;                    ///< pair_key(left, right) -> merge index
  std::string body;                 ///< the file content before the checksum line
  uint64_t checksum = 0;
};

namespace {

constexpr std::string_view kMarkerDisplay = "\xE2\x96\x81";  // U+2581

/// Display form: the marker as "▁", printable characters as themselves, a literal U+2581 and
/// other non-printable characters as "<U+XXXX>", bytes that are not valid UTF-8 and ASCII
/// controls/space as "<0xAB>". Injective on (marker, bytes), and never contains a space.
std::string display_piece(bool marker, std::string_view bytes) {
  std::string out;
  if (marker) out.append(kMarkerDisplay);
  char buf[16];
  for (size_t i = 0; i < bytes.size();) {
    Utf8Char c = decode_utf8(bytes, i);
    if (c.valid && c.code_point != 0x2581 && is_printable(c.code_point)) {
      out.append(bytes.substr(i, c.length));
    } else if (c.valid && c.code_point >= 0x80) {
      std::snprintf(buf, sizeof buf, "<U+%04X>", c.code_point);
      out.append(buf);
    } else {
      for (uint32_t k = 0; k < c.length; ++k) {
        std::snprintf(buf, sizeof buf, "<0x%02X>", static_cast<unsigned char>(bytes[i + k]));
        out.append(buf);
      }
    }
    i += c.length;
  }
  return out;
}

/// Builds the tables of a model; `fail(record_index, message)` reports an inconsistency
/// (record_index counts chars then merges, from 0) and must throw.
std::shared_ptr<BpeModel::Impl> build_impl(std::vector<uint32_t> chars, std::vector<BpeMerge> merges,
                                           const std::function<void(size_t, const std::string&)>& fail) {
  auto impl = std::make_shared<BpeModel::Impl>();
  const size_t vocab = kBpeFixedAlphabet + chars.size() + merges.size();
  if (vocab > kBpeMaxVocab) fail(0, "vocabulary of " + std::to_string(vocab) + " exceeds the cap " + std::to_string(kBpeMaxVocab));
  impl->bytes.reserve(vocab);
  impl->marker.reserve(vocab);
  for (uint32_t b = 0; b < kBpeByteSymbols; ++b) {
    impl->bytes.emplace_back(1, static_cast<char>(b));
    impl->marker.push_back(0);
  }
  impl->bytes.emplace_back();
  impl->marker.push_back(1);
  std::unordered_set<std::string> contents;  // (marker byte + bytes) of every non-byte token
  contents.reserve(vocab);
  contents.insert(std::string(1, '\1'));
  uint32_t previous_cp = 0;
  for (size_t i = 0; i < chars.size(); ++i) {
    uint32_t cp = chars[i];
    if (cp < 0x80 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail(i, "code point " + std::to_string(cp) + " cannot be a character symbol (must be a non-ASCII Unicode scalar value)");
    if (i > 0 && cp <= previous_cp) fail(i, "characters must be in increasing code-point order");
    previous_cp = cp;
    std::string s;
    append_utf8(s, cp);
    impl->char_ids.emplace(cp, static_cast<uint32_t>(impl->bytes.size()));
    contents.insert('\0' + s);
    impl->bytes.push_back(std::move(s));
    impl->marker.push_back(0);
  }
  impl->first_merge_id = static_cast<uint32_t>(impl->bytes.size());
  impl->ranks = PairMap(merges.size());
  for (size_t m = 0; m < merges.size(); ++m) {
    const BpeMerge& mg = merges[m];
    const size_t here = impl->bytes.size();
    if (mg.left >= here || mg.right >= here) fail(chars.size() + m, "merge uses id " + std::to_string(std::max(mg.left, mg.right)) + ", not below " + std::to_string(here));
    if (impl->marker[mg.right]) fail(chars.size() + m, "the right side of a merge cannot start with the word-start marker");
    if (impl->ranks.insert(bpe_detail::pair_key(mg.left, mg.right), static_cast<uint32_t>(m)) != m) fail(chars.size() + m, "the pair is merged twice");
    std::string s = impl->bytes[mg.left] + impl->bytes[mg.right];
    std::string key = std::string(1, impl->marker[mg.left] ? '\1' : '\0') + s;
    // Both sides hold at least one byte or the left is the marker, so `key` can never be a
    // byte token's; it must not repeat the content of any other token either.
    if (!contents.insert(key).second) fail(chars.size() + m, "the merge makes a token that already exists");
    impl->marker.push_back(impl->marker[mg.left]);
    impl->bytes.push_back(std::move(s));
  }
  impl->display.reserve(vocab);
  for (size_t id = 0; id < impl->bytes.size(); ++id) impl->display.push_back(display_piece(impl->marker[id] != 0, impl->bytes[id]));
  impl->chars = std::move(chars);
  impl->merges = std::move(merges);

  std::string& body = impl->body;
  body += std::string(kBpeMagic) + " " + std::to_string(kBpeVersion) + "\n";
  body += "vocab " + std::to_string(vocab) + " chars " + std::to_string(impl->chars.size()) + " merges " + std::to_string(impl->merges.size()) + "\n";
  char buf[64];
  for (size_t i = 0; i < impl->chars.size(); ++i) {
    uint32_t id = kBpeFixedAlphabet + static_cast<uint32_t>(i);
    std::snprintf(buf, sizeof buf, "char %u U+%04X ", id, impl->chars[i]);
    body += buf;
    body += impl->display[id];
    body += '\n';
  }
  for (size_t m = 0; m < impl->merges.size(); ++m) {
    const BpeMerge& mg = impl->merges[m];
    uint32_t id = impl->first_merge_id + static_cast<uint32_t>(m);
    std::snprintf(buf, sizeof buf, "merge %u %u -> %u ", mg.left, mg.right, id);
    body += buf;
    body += impl->display[mg.left] + " " + impl->display[mg.right] + " " + impl->display[id] + "\n";
  }
  impl->checksum = checksum64(body);
  return impl;
}

/// Strict unsigned decimal.
bool parse_u32(std::string_view s, uint32_t& value) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > UINT32_MAX) return false;
  value = static_cast<uint32_t>(v);
  return true;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

BpeModel BpeModel::from_parts(std::vector<uint32_t> chars, std::vector<BpeMerge> merges) {
  BpeModel model;
  model.impl_ = build_impl(std::move(chars), std::move(merges), [](size_t index, const std::string& message) {
    throw internal_error("inconsistent BPE model, record " + std::to_string(index) + ": " + message);
  });
  return model;
}

BpeModel BpeModel::load(const std::string& path) {
  std::string text = read_file(path);
  // Split into lines, remembering where each starts (for the checksum and error places).
  std::vector<std::string_view> lines;
  std::vector<size_t> starts;
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find('\n', i);
    if (j == std::string::npos) {
      starts.push_back(i);
      lines.push_back(std::string_view(text).substr(i));
      break;
    }
    starts.push_back(i);
    lines.push_back(std::string_view(text).substr(i, j - i));
    i = j + 1;
  }
  auto where = [](size_t line_index) { return "line " + std::to_string(line_index + 1); };
  const std::string expected_magic = std::string(kBpeMagic) + " " + std::to_string(kBpeVersion);
  if (lines.empty() || lines[0].substr(0, std::strlen(kBpeMagic) + 1) != std::string(kBpeMagic) + " ") {
    throw_wrong_kind(path, "line 1", "a tokvec BPE model (tokenizer.bpe, written by bpe-train)", "(expected '" + expected_magic + "')");
  }
  if (lines[0] != expected_magic) {
    throw corrupt_error(path, "line 1", "format '" + std::string(lines[0]) + "' is not supported (this tokvec reads '" + expected_magic + "')");
  }
  uint32_t vocab = 0, nchars = 0, nmerges = 0;
  {
    auto f = lines.size() > 1 ? split_fields(lines[1]) : std::vector<std::string_view>{};
    if (f.size() != 6 || f[0] != "vocab" || f[2] != "chars" || f[4] != "merges" || !parse_u32(f[1], vocab) ||
        !parse_u32(f[3], nchars) || !parse_u32(f[5], nmerges)) {
      throw corrupt_error(path, "line 2", "expected 'vocab N chars C merges M'");
    }
    if (vocab > kBpeMaxVocab || uint64_t{kBpeFixedAlphabet} + nchars + nmerges != vocab) {
      throw corrupt_error(path, "line 2", "vocab " + std::to_string(vocab) + " is not 257 + chars + merges (or exceeds the cap)");
    }
  }
  const size_t records = size_t{nchars} + nmerges;
  const size_t checksum_line = 2 + records;
  if (lines.size() <= checksum_line) {
    throw corrupt_error(path, where(lines.size() > 0 ? lines.size() - 1 : 0),
                        "file ends after " + std::to_string(lines.size()) + " lines; the header announces " +
                            std::to_string(checksum_line + 1) + " (truncated)");
  }
  std::vector<uint32_t> chars;
  std::vector<BpeMerge> merges;
  chars.reserve(nchars);
  merges.reserve(nmerges);
  for (size_t r = 0; r < records; ++r) {
    size_t li = 2 + r;
    auto f = split_fields(lines[li]);
    if (r < nchars) {
      uint32_t id = 0, cp = 0;
      if (f.size() != 4 || f[0] != "char" || !parse_u32(f[1], id) || f[2].substr(0, 2) != "U+" ||
          f[2].size() < 6 || f[2].size() > 8 ||
          std::from_chars(f[2].data() + 2, f[2].data() + f[2].size(), cp, 16).ptr != f[2].data() + f[2].size()) {
        throw corrupt_error(path, where(li), "expected 'char ID U+XXXX PIECE'");
      }
      if (id != kBpeFixedAlphabet + r) throw corrupt_error(path, where(li), "char id " + std::to_string(id) + ", expected " + std::to_string(kBpeFixedAlphabet + r));
      chars.push_back(cp);
    } else {
      uint32_t left = 0, right = 0, id = 0;
      if (f.size() != 8 || f[0] != "merge" || !parse_u32(f[1], left) || !parse_u32(f[2], right) || f[3] != "->" ||
          !parse_u32(f[4], id)) {
        throw corrupt_error(path, where(li), "expected 'merge LEFT RIGHT -> ID PIECE PIECE PIECE'");
      }
      if (id != kBpeFixedAlphabet + r) throw corrupt_error(path, where(li), "merge makes id " + std::to_string(id) + ", expected " + std::to_string(kBpeFixedAlphabet + r));
      merges.push_back({left, right});
    }
  }
  BpeModel model;
  model.impl_ = build_impl(std::move(chars), std::move(merges), [&](size_t index, const std::string& message) {
    throw corrupt_error(path, where(2 + index), message);
  });
  // Every record must read exactly as the model writes it (this checks the pieces).
  std::string_view body = model.impl_->body;
  for (size_t li = 0, pos = 0; li < checksum_line; ++li) {
    size_t end = body.find('\n', pos);
    if (body.substr(pos, end - pos) != lines[li]) {
      throw corrupt_error(path, where(li), "reads '" + std::string(lines[li]) + "', expected '" + std::string(body.substr(pos, end - pos)) + "'");
    }
    pos = end + 1;
  }
  auto f = split_fields(lines[checksum_line]);
  uint64_t stored = 0;
  if (f.size() != 2 || f[0] != "checksum" || f[1].size() != 16 ||
      std::from_chars(f[1].data(), f[1].data() + 16, stored, 16).ptr != f[1].data() + 16) {
    throw corrupt_error(path, where(checksum_line), "expected 'checksum' and 16 hex digits (truncated or altered)");
  }
  if (starts[checksum_line] + lines[checksum_line].size() + 1 != text.size()) {
    throw corrupt_error(path, where(checksum_line), "the file must end with the checksum line and a newline");
  }
  uint64_t actual = checksum64(text.data(), starts[checksum_line]);
  if (stored != actual || actual != model.impl_->checksum) {
    throw corrupt_error(path, where(checksum_line), "checksum " + hex64(stored) + " does not match the content (" + hex64(actual) + "): the file was altered");
  }
  return model;
}

std::string BpeModel::serialize() const {
  if (!impl_) throw internal_error("serialize of an empty BpeModel");
  return impl_->body + "checksum " + hex64(impl_->checksum) + "\n";
}

void BpeModel::save(const std::string& path) const { write_file_atomically(path, serialize()); }

uint32_t BpeModel::vocab_size() const noexcept { return impl_ ? static_cast<uint32_t>(impl_->bytes.size()) : 0; }
uint64_t BpeModel::checksum() const noexcept { return impl_ ? impl_->checksum : 0; }

namespace {
void check_id(const BpeModel::Impl* impl, uint32_t id) {
  if (impl == nullptr) throw internal_error("use of an empty BpeModel");
  if (id >= impl->bytes.size()) {
    throw Error(ErrorKind::input, "token id " + std::to_string(id) + " is not below the vocabulary size " + std::to_string(impl->bytes.size()));
  }
}
}  // namespace

std::string_view BpeModel::piece(uint32_t id) const {
  check_id(impl_.get(), id);
  return impl_->display[id];
}
std::string_view BpeModel::token_bytes(uint32_t id) const {
  check_id(impl_.get(), id);
  return impl_->bytes[id];
}
bool BpeModel::starts_word(uint32_t id) const {
  check_id(impl_.get(), id);
  return impl_->marker[id] != 0;
}
std::span<const uint32_t> BpeModel::chars() const noexcept { return impl_ ? std::span<const uint32_t>(impl_->chars) : std::span<const uint32_t>(); }
std::span<const BpeMerge> BpeModel::merges() const noexcept { return impl_ ? std::span<const BpeMerge>(impl_->merges) : std::span<const BpeMerge>(); }

std::string BpeModel::decode(std::span<const uint32_t> ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    check_id(impl_.get(), ids[i]);
    if (impl_->marker[ids[i]] && i > 0) out.push_back(' ');
    out.append(impl_->bytes[ids[i]]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Encoding

namespace {

/// Per-call scratch of the merge-rank encoder.
struct MergeScratch {
  std::vector<uint32_t> symbols;
  std::vector<int32_t> prev, next;
  std::vector<uint64_t> heap;  ///< (rank << 32 | position), a min-heap via std::greater
};

/// BPE of one pre-token: start from its symbols (marker, known characters, bytes) and
/// apply the merge of lowest rank first, the leftmost one among equals, until no adjacent
/// pair has a merge. A merge's output only pairs with merges of higher rank (it did not
/// exist before), so ranks come out in increasing order and the result equals applying
/// the merge list in training order. Cost O(n log n) for n symbols (a heap of candidate
/// pairs over a linked list, stale entries skipped when popped) instead of O(n^2).
void encode_pretoken(const BpeModel::Impl& m, std::string_view bytes, bool word_start, MergeScratch& s,
                     std::vector<uint32_t>& out) {
  auto& sym = s.symbols;
  sym.clear();
  if (word_start) sym.push_back(kBpeMarkerId);
  for (size_t i = 0; i < bytes.size();) {
    unsigned char b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      sym.push_back(b);
      ++i;
      continue;
    }
    Utf8Char c = decode_utf8(bytes, i);
    auto it = c.valid ? m.char_ids.find(c.code_point) : m.char_ids.end();
    if (it != m.char_ids.end()) {
      sym.push_back(it->second);
    } else {
      for (uint32_t k = 0; k < c.length; ++k) sym.push_back(static_cast<unsigned char>(bytes[i + k]));
    }
    i += c.length;
  }
  const int32_t n = static_cast<int32_t>(sym.size());
  if (n >= 2 && !m.merges.empty()) {
    s.prev.resize(n);
    s.next.resize(n);
    for (int32_t i = 0; i < n; ++i) {
      s.prev[i] = i - 1;
      s.next[i] = i + 1 < n ? i + 1 : -1;
    }
    auto& heap = s.heap;
    heap.clear();
    auto push = [&](int32_t pos) {
      int32_t nx = s.next[pos];
      if (nx < 0) return;
      uint32_t rank = m.ranks.get(bpe_detail::pair_key(sym[pos], sym[nx]));
      if (rank == PairMap::kAbsent) return;
      heap.push_back((uint64_t{rank} << 32) | static_cast<uint32_t>(pos));
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    };
    for (int32_t i = 0; i + 1 < n; ++i) push(i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>());
      uint64_t top = heap.back();
      heap.pop_back();
      const uint32_t rank = static_cast<uint32_t>(top >> 32);
      const int32_t pos = static_cast<int32_t>(top & 0xFFFFFFFFu);
      const int32_t nx = s.next[pos];
      if (sym[pos] == UINT32_MAX || nx < 0) continue;  // merged away since pushed
      const BpeMerge& mg = m.merges[rank];
      if (sym[pos] != mg.left || sym[nx] != mg.right) continue;  // stale
      sym[pos] = m.first_merge_id + rank;
      sym[nx] = UINT32_MAX;
      s.next[pos] = s.next[nx];
      if (s.next[nx] >= 0) s.prev[s.next[nx]] = pos;
      if (s.prev[pos] >= 0) push(s.prev[pos]);
      push(pos);
    }
    for (int32_t i = 0; i >= 0; i = s.next[i]) out.push_back(sym[i]);
  } else {
    out.insert(out.end(), sym.begin(), sym.end());
  }
}

}  // namespace

void BpeModel::encode_line(std::string_view line, std::vector<uint32_t>& out) const {
  if (!impl_) throw internal_error("use of an empty BpeModel");
  MergeScratch scratch;
  pretokenize(line, true, [&](std::string_view bytes, bool ws, size_t) { encode_pretoken(*impl_, bytes, ws, scratch, out); });
}

std::vector<uint32_t> BpeModel::encode_word(std::string_view word) const {
  std::vector<uint32_t> out;
  encode_line(word, out);
  return out;
}

namespace {

/// The encoder's per-thread cache of pre-token -> ids. One 64-byte slot (one cache line)
/// holds the key and the ids inline, so a hit costs one memory access after the hash:
/// English pre-tokens are short (a key of up to 26 bytes, up to 6 ids covers nearly all
/// of them); longer ones are not cached and simply re-encoded. Open addressing, linear
/// probing; cleared when 3/4 full at kMaxSlots, so memory stays bounded (kMaxSlots * 64 bytes).
class EncodeCache {
 public:
  static constexpr size_t kMaxKey = 26;
  static constexpr size_t kMaxIds = 6;
  struct alignas(64) Slot {
    uint64_t hash;
    uint32_t ids[kMaxIds];
    uint8_t key_length;  ///< 0xFF: empty
    uint8_t flag;
    uint8_t id_count;
    char key[kMaxKey + 1];
  };
  static_assert(sizeof(Slot) == 64);
  static constexpr size_t kMaxSlots = size_t{1} << 20;  // 64 MiB per thread at most

  EncodeCache() { reset(size_t{1} << 14); }

  /// The cached ids (nullptr if absent).
  const Slot* find(std::string_view key, bool flag, uint64_t hash) const noexcept {
    size_t i = hash & mask_;
    for (;;) {
      const Slot& s = slots_[i];
      if (s.key_length == 0xFF) return nullptr;
      if (s.hash == hash && s.key_length == key.size() && s.flag == flag && std::memcmp(s.key, key.data(), key.size()) == 0) return &s;
      i = (i + 1) & mask_;
    }
  }

  void insert(std::string_view key, bool flag, uint64_t hash, const uint32_t* ids, size_t count) {
    if (key.size() > kMaxKey || count > kMaxIds) return;
    if (4 * (size_ + 1) > 3 * slots_.size()) {  // load <= 3/4: the slots are whole cache lines
      if (slots_.size() >= kMaxSlots) reset(slots_.size());  // full: start over
      else grow();
    }
    size_t i = hash & mask_;
    while (slots_[i].key_length != 0xFF) i = (i + 1) & mask_;
    Slot& s = slots_[i];
    s.hash = hash;
    s.key_length = static_cast<uint8_t>(key.size());
    s.flag = flag ? 1 : 0;
    s.id_count = static_cast<uint8_t>(count);
    std::memcpy(s.key, key.data(), key.size());
    std::memcpy(s.ids, ids, count * sizeof(uint32_t));
    ++size_;
  }

 private:
  void reset(size_t n) {
    slots_.assign(n, Slot{});
    for (Slot& s : slots_) s.key_length = 0xFF;
    mask_ = n - 1;
    size_ = 0;
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    reset(old.size() * 2);
    for (const Slot& s : old) {
      if (s.key_length == 0xFF) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].key_length != 0xFF) i = (i + 1) & mask_;
      slots_[i] = s;
      ++size_;
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace

struct BpeEncoder::State {
  std::shared_ptr<const BpeModel::Impl> model;
  MergeScratch scratch;
  EncodeCache cache;
};

BpeEncoder::BpeEncoder(const BpeModel& model) : state_(std::make_unique<State>()) {
  if (!model.impl_) throw internal_error("BpeEncoder of an empty BpeModel");
  state_->model = model.impl_;
}
BpeEncoder::~BpeEncoder() = default;
BpeEncoder::BpeEncoder(BpeEncoder&&) noexcept = default;
BpeEncoder& BpeEncoder::operator=(BpeEncoder&&) noexcept = default;

void BpeEncoder::encode_line(std::string_view line, std::vector<uint32_t>& out, bool at_word_start) {
  State& st = *state_;
  const BpeModel::Impl& m = *st.model;
  pretokenize(line, at_word_start, [&](std::string_view bytes, bool ws, size_t) {
    if (bytes.size() > EncodeCache::kMaxKey) {
      encode_pretoken(m, bytes, ws, st.scratch, out);
      return;
    }
    uint64_t h = bpe_detail::hash_pretoken(bytes, ws);
    if (const EncodeCache::Slot* hit = st.cache.find(bytes, ws, h)) {
      for (uint32_t k = 0; k < hit->id_count; ++k) out.push_back(hit->ids[k]);
      return;
    }
    size_t before = out.size();
    encode_pretoken(m, bytes, ws, st.scratch, out);
    st.cache.insert(bytes, ws, h, out.data() + before, out.size() - before);
  });
}

}  // namespace tokvec
