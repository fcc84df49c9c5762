// Internals shared by the BPE model and encoder (bpe.cpp, bpe_encode_file.cpp) and the
// trainer (bpe_train.cpp, bpe_count.cpp): flat hash tables and the block reader
// (block_reader.cpp). Not a public header.
#pragma once

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "text/text_check.h"

namespace tokvec::bpe_detail {

/// Hash of a pre-token: its bytes and its word-start flag.
inline uint64_t hash_pretoken(std::string_view bytes, bool word_start) noexcept {
  return XXH3_64bits(bytes.data(), bytes.size()) ^ (word_start ? 0x9E3779B97F4A7C15ull : 0);
}

/// Open-addressing hash table from (bytes, flag) to a u64 value, keys kept in one arena.
/// Linear probing, power-of-two capacity, load <= 1/2; no deletion (clear() only). One
/// allocation per growth instead of one per key, which is what makes counting millions of
/// pre-tokens cheap.
class StringTable {
 public:
  struct Slot {
    uint64_t hash;
    uint64_t offset;
    uint32_t length;  ///< kEmpty marks a free slot
    uint32_t flag;
    uint64_t value;
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;

  explicit StringTable(size_t capacity = 1024) { reset(capacity); }

  /// The value of the key, inserted as 0 when absent (`inserted` says which).
  uint64_t& upsert(std::string_view key, bool flag, uint64_t hash, bool& inserted) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    size_t i = hash & mask_;
    for (;;) {
      Slot& s = slots_[i];
      if (s.length == kEmpty) {
        s.hash = hash;
        s.offset = arena_.size();
        s.length = static_cast<uint32_t>(key.size());
        s.flag = flag ? 1 : 0;
        s.value = 0;
        arena_.append(key);
        ++size_;
        inserted = true;
        return s.value;
      }
      if (matches(s, key, flag, hash)) {
        inserted = false;
        return s.value;
      }
      i = (i + 1) & mask_;
    }
  }

  const uint64_t* find(std::string_view key, bool flag, uint64_t hash) const {
    size_t i = hash & mask_;
    for (;;) {
      const Slot& s = slots_[i];
      if (s.length == kEmpty) return nullptr;
      if (matches(s, key, flag, hash)) return &s.value;
      i = (i + 1) & mask_;
    }
  }

  /// f(std::string_view key, bool flag, uint64_t value) for every entry (table order).
  template <typename F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.length != kEmpty) f(std::string_view(arena_).substr(s.offset, s.length), s.flag != 0, s.value);
    }
  }

  size_t size() const noexcept { return size_; }
  size_t memory_bytes() const noexcept { return arena_.capacity() + slots_.capacity() * sizeof(Slot); }
  void clear() { reset(1024); }

 private:
  bool matches(const Slot& s, std::string_view key, bool flag, uint64_t hash) const noexcept {
    return s.hash == hash && s.length == key.size() && s.flag == (flag ? 1u : 0u) &&
           std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0;
  }
  void reset(size_t capacity) {
    size_t c = 16;
    while (c < capacity) c *= 2;
    slots_.assign(c, Slot{0, 0, kEmpty, 0, 0});
    mask_ = c - 1;
    size_ = 0;
    arena_.clear();
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Slot{0, 0, kEmpty, 0, 0});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.length == kEmpty) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].length != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

inline uint64_t pair_key(uint32_t left, uint32_t right) noexcept { return (uint64_t{left} << 32) | right; }

/// Open-addressing map from a pair key to a u32 (the pair's index, or a merge's rank).
class PairMap {
 public:
  static constexpr uint64_t kEmptyKey = UINT64_MAX;  // never a pair: ids are < 2^32 - 1
  static constexpr uint32_t kAbsent = UINT32_MAX;

  explicit PairMap(size_t capacity = 1024) {
    size_t c = 16;
    while (c < 2 * capacity) c *= 2;
    keys_.assign(c, kEmptyKey);
    values_.assign(c, 0);
    mask_ = c - 1;
  }
  uint32_t get(uint64_t key) const noexcept {
    size_t i = slot(key);
    for (;;) {
      if (keys_[i] == key) return values_[i];
      if (keys_[i] == kEmptyKey) return kAbsent;
      i = (i + 1) & mask_;
    }
  }
  /// Inserts key -> value unless present; returns the stored value.
  uint32_t insert(uint64_t key, uint32_t value) {
    if (2 * (size_ + 1) > keys_.size()) grow();
    size_t i = slot(key);
    for (;;) {
      if (keys_[i] == key) return values_[i];
      if (keys_[i] == kEmptyKey) {
        keys_[i] = key;
        values_[i] = value;
        ++size_;
        return value;
      }
      i = (i + 1) & mask_;
    }
  }
  size_t size() const noexcept { return size_; }

 private:
  size_t slot(uint64_t key) const noexcept {
    // Fibonacci hashing: the multiply spreads both ids over the high bits.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_;
  }
  void grow() {
    std::vector<uint64_t> old_keys;
    std::vector<uint32_t> old_values;
    old_keys.swap(keys_);
    old_values.swap(values_);
    keys_.assign(old_keys.size() * 2, kEmptyKey);
    values_.assign(old_keys.size() * 2, 0);
    mask_ = keys_.size() - 1;
    size_ = 0;
    for (size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] != kEmptyKey) insert(old_keys[i], old_values[i]);
    }
  }
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> values_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

/// A piece of a text file handed to a worker: it starts at a pre-token boundary, so it can
/// be pre-tokenised alone and give exactly the pre-tokens the whole file gives.
struct TextBlock {
  std::string text;
  bool at_word_start = true;  ///< the block starts at a line start or after whitespace
  uint64_t offset = 0;        ///< of the block in its file
};

/// Reads a file in blocks of about `block_bytes`, each cut at the last safe place:
///   1. after the last line end ('\n' or '\r'; never between '\r' and '\n');
///   2. else after the last ASCII space or tab;
///   3. else (a block inside a run of no ASCII whitespace, e.g. Chinese) at the start of
///      the last pre-token, found by pre-tokenising the block from its own (safe) start.
/// Each rule cuts at a boundary of the whole file's pre-tokenisation, so the pre-tokens do
/// not depend on the block size (or the thread count). Memory: one block plus its tail.
class BlockReader {
 public:
  /// Opens `path` once ("-" is standard input; a pipe or FIFO is read as a stream). When
  /// `check` is given, every block goes through it (TextCheck::feed) as it is read.
  BlockReader(std::string path, size_t block_bytes, TextCheck* check = nullptr);
  ~BlockReader();
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;
  /// The next block, or false at the end of the file. A regular file that ends before or
  /// after the size it had when opened is an input error (changed_size_error).
  bool next(TextBlock& block);
  uint64_t bytes_read() const noexcept { return consumed_; }
  /// Hands a finished block's buffer back for reuse (any thread): blocks are megabytes,
  /// and fresh ones cost a page fault per 4 KiB every time.
  void recycle(std::string&& buffer) {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (pool_.size() < 64) pool_.push_back(std::move(buffer));
  }
  /// The size of a regular file; 0 for a stream (unknown).
  uint64_t file_size() const noexcept { return file_size_; }

 private:
  std::string path_;
  size_t block_bytes_;
  int fd_ = -1;
  bool eof_ = false;
  std::string pending_;  ///< bytes read but not yet handed out
  bool pending_word_start_ = true;
  uint64_t consumed_ = 0;
  uint64_t file_size_ = 0;
  TextCheck* check_ = nullptr;
  uint64_t read_total_ = 0;  ///< bytes read from the file so far
  bool regular_ = false;     ///< a regular file: its size is known, and must not change
  std::mutex pool_mutex_;
  std::vector<std::string> pool_;
};

}  // namespace tokvec::bpe_detail
