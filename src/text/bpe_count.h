// Step 1 of BPE training (bpe_train.cpp): counting the distinct pre-tokens of the inputs.
// Not a public header.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "text/bpe_detail.h"
#include "tokvec/bpe.h"

namespace tokvec::bpe_detail {

/// Pre-token -> count, in about a quarter of StringTable's memory (which counting
/// millions of distinct words needs: one table per thread, then their sum). Each key is a
/// record in an arena of 4 MiB chunks (no copy when it grows): count (8 bytes), length * 2
/// + word-start flag (4 bytes), the bytes. A slot is 8 bytes: the record's offset + 1
/// (40 bits; 0 marks a free slot) and the top 24 bits of the hash, which rule out nearly
/// every non-matching slot without reading the record. Linear probing, load <= 3/4. About
/// 11-21 + 12 + length bytes a key, against 80-160 + length for StringTable.
class CountTable {
 public:
  static constexpr size_t kChunk = size_t{4} << 20;  ///< a record never straddles chunks

  explicit CountTable(size_t capacity = 1024) { reset(capacity); }

  void add(std::string_view key, bool flag, uint64_t hash, uint64_t count) {
    if (4 * (size_ + 1) > 3 * slots_.size()) grow();
    const uint64_t tag = hash >> 40;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == 0) {
        slots_[i] = (append(key, flag, count) + 1) | (tag << 40);
        ++size_;
        return;
      }
      if ((slot >> 40) == tag) {
        char* r = record(slot);
        uint32_t lf;
        std::memcpy(&lf, r + 8, 4);
        if (lf == key.size() * 2 + (flag ? 1 : 0) && std::memcmp(r + 12, key.data(), key.size()) == 0) {
          uint64_t c;
          std::memcpy(&c, r, 8);
          c += count;
          std::memcpy(r, &c, 8);
          return;
        }
      }
    }
  }

  /// f(std::string_view key, bool flag, uint64_t count) for every entry (arena order).
  template <typename F>
  void for_each(F&& f) const {
    for (size_t c = 0; c < chunks_.size(); ++c) {
      const char* r = chunks_[c].get();
      const char* end = r + (c + 1 == chunks_.size() ? used_ : chunk_used_[c]);
      while (r < end) {
        uint64_t count;
        uint32_t lf;
        std::memcpy(&count, r, 8);
        std::memcpy(&lf, r + 8, 4);
        f(std::string_view(r + 12, lf / 2), (lf & 1) != 0, count);
        r += 12 + lf / 2;
      }
    }
  }

  size_t size() const noexcept { return size_; }
  void clear() {
    chunks_.clear();
    chunk_used_.clear();
    reset(1024);
  }

 private:
  char* record(uint64_t slot) const noexcept {
    const uint64_t offset = (slot & ((uint64_t{1} << 40) - 1)) - 1;
    return chunks_[offset / kChunk].get() + offset % kChunk;
  }
  uint64_t append(std::string_view key, bool flag, uint64_t count) {
    const size_t need = 12 + key.size();  // key.size() <= 4 * 32 bytes: far below a chunk
    if (chunks_.empty() || used_ + need > kChunk) {
      if (!chunks_.empty()) chunk_used_.push_back(used_);
      chunks_.push_back(std::make_unique_for_overwrite<char[]>(kChunk));
      used_ = 0;
    }
    char* r = chunks_.back().get() + used_;
    const uint32_t lf = static_cast<uint32_t>(key.size() * 2 + (flag ? 1 : 0));
    std::memcpy(r, &count, 8);
    std::memcpy(r + 8, &lf, 4);
    std::memcpy(r + 12, key.data(), key.size());
    const uint64_t offset = (chunks_.size() - 1) * kChunk + used_;
    used_ += need;
    return offset;
  }
  void reset(size_t capacity) {
    size_t c = 16;
    while (c < capacity) c *= 2;
    slots_.assign(c, 0);
    mask_ = c - 1;
    size_ = 0;
    used_ = 0;
  }
  void grow() {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, 0);
    mask_ = slots_.size() - 1;
    for (uint64_t slot : old) {
      if (slot == 0) continue;
      const char* r = record(slot);
      uint32_t lf;
      std::memcpy(&lf, r + 8, 4);
      const uint64_t hash = bpe_detail::hash_pretoken(std::string_view(r + 12, lf / 2), (lf & 1) != 0);
      size_t i = hash & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }
  std::vector<uint64_t> slots_;
  std::vector<std::unique_ptr<char[]>> chunks_;
  std::vector<size_t> chunk_used_;  ///< bytes used in each full chunk
  size_t used_ = 0;                 ///< bytes used in the last chunk
  size_t mask_ = 0;
  size_t size_ = 0;
};

/// Distinct pre-tokens and their counts over all inputs of `config`, counted by `threads`
/// threads.
CountTable count_pretokens(const BpeTrainConfig& config, int threads);

}  // namespace tokvec::bpe_detail
