// The block reader: a text file in blocks that end between pre-tokens, for the parallel
// pipelines of BPE training and encoding.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "bpe_detail.h"
#include "base/io.h"
#include "tokvec/status.h"
#include "text/text.h"

namespace tokvec {


namespace bpe_detail {

BlockReader::BlockReader(std::string path, size_t block_bytes, TextCheck* check)
    : path_(std::move(path)), block_bytes_(block_bytes), check_(check) {
  check_readable_input(path_);
  fd_ = open_input(path_);
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
    file_size_ = static_cast<uint64_t>(st.st_size);
    regular_ = true;
  }
  if (after_size_taken_for_test != nullptr) after_size_taken_for_test(path_);
}

BlockReader::~BlockReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool BlockReader::next(TextBlock& block) {
  while (!eof_ && pending_.size() < block_bytes_) {
    size_t have = pending_.size();
    pending_.resize(block_bytes_);
    ssize_t got = ::read(fd_, pending_.data() + have, block_bytes_ - have);
    if (got < 0) {
      pending_.resize(have);
      if (errno == EINTR) continue;
      throw io_error(input_name(path_), "read failed at byte " + std::to_string(consumed_ + have), errno);
    }
    pending_.resize(have + static_cast<size_t>(got));
    read_total_ += static_cast<uint64_t>(got);
    if (regular_ && read_total_ > file_size_) {
      throw changed_size_error(path_, file_size_, "it grew past that");
    }
    if (got == 0) {
      eof_ = true;
      if (regular_ && read_total_ != file_size_) {
        throw changed_size_error(path_, file_size_, "it ended at byte " + std::to_string(read_total_));
      }
    }
  }
  if (pending_.empty()) return false;

  size_t cut = pending_.size();
  bool next_word_start = true;
  if (!eof_) {
    const char* data = pending_.data();
    // A trailing '\r' may be the first half of "\r\n": never cut right after it.
    size_t limit = pending_.size() - (pending_.back() == '\r' ? 1 : 0);
    auto last_of = [&](char a, char b) -> size_t {
      const void* pa = ::memrchr(data, a, limit);
      const void* pb = ::memrchr(data, b, limit);
      const char* p = std::max(static_cast<const char*>(pa), static_cast<const char*>(pb));
      return p == nullptr ? SIZE_MAX : static_cast<size_t>(p - data);
    };
    size_t p = last_of('\n', '\r');
    if (p == SIZE_MAX) p = last_of(' ', '\t');
    if (p != SIZE_MAX) {
      cut = p + 1;
    } else {
      // No ASCII whitespace at all: cut at the start of the last pre-token that starts at
      // least 8 bytes before the end. Where a pre-token starts depends on the character
      // there and, for an apostrophe, on the next one (up to 1 + 4 bytes; 8 leaves room):
      // those must lie wholly inside the block, or a truncated character at the very end
      // could decode differently here than in the whole file.
      std::string_view view(data, limit);
      size_t best = 0;
      bool best_ws = true;
      pretokenize(view, pending_word_start_, [&](std::string_view, bool ws, size_t offset) {
        if (offset > 0 && offset + 8 <= limit) {
          best = offset;
          best_ws = ws;
        }
      });
      if (best == 0) {
        // Only Unicode whitespace (at most one pre-token at the start): cut after the last
        // whitespace character that is surely complete.
        for (size_t i = 0; i < limit;) {
          Utf8Char c = decode_utf8(view, i);
          if (i + c.length + 8 <= limit && c.valid && is_white_space(c.code_point)) best = i + c.length;
          i += c.length;
        }
        best_ws = true;
      }
      if (best == 0) throw internal_error("block reader found no place to cut " + path_);
      cut = best;
      next_word_start = best_ws;
    }
  }
  // The block takes the buffer; the tail after the cut moves to a recycled one.
  std::string next_buffer;
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!pool_.empty()) {
      next_buffer = std::move(pool_.back());
      pool_.pop_back();
    }
  }
  next_buffer.reserve(block_bytes_);
  next_buffer.assign(pending_, cut, std::string::npos);
  pending_.resize(cut);
  block.text.swap(pending_);
  pending_.swap(next_buffer);
  if (!next_buffer.empty() || next_buffer.capacity() > 0) recycle(std::move(next_buffer));
  // Blocks end between characters (at whitespace or at a pre-token's start), so the check
  // sees whole sequences.
  if (check_ != nullptr) check_->feed(block.text);
  block.at_word_start = pending_word_start_;
  block.offset = consumed_;
  consumed_ += cut;
  pending_word_start_ = next_word_start;
  return true;
}

}  // namespace bpe_detail

}  // namespace tokvec
