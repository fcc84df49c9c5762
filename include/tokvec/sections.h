// The container of tokvec's binary files (token corpus, training state, checkpoints).
//
// Layout, all integers little-endian:
//
//   offset  size    field
//   0       8       magic: 8 ASCII bytes naming the file kind, e.g. "TKVCORPS"
//   8       4       format version of that kind
//   12      4       section count N
//   16      8       XXH3-64 of bytes [0, 16) followed by the N table entries
//   24      32 * N  table: tag (4 ASCII bytes), reserved u32 (0), offset u64, length u64,
//                   XXH3-64 of the section's bytes
//   ...             sections, each starting at a multiple of 64 bytes (so arrays of
//                   floats and token ids can be used straight from a memory map)
//
// Every section carries its own checksum, so a flipped byte or a cut file is reported
// with the name of the section it hit.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/io.h"

namespace tokvec {

/// Builds a sectioned file and writes it atomically.
class SectionWriter {
 public:
  SectionWriter(std::string path, std::string_view magic, uint32_t version);
  /// Adds a section holding a copy of `bytes`. `tag` is exactly 4 ASCII characters.
  void add(std::string_view tag, std::string bytes);
  /// Adds a section whose bytes are written from `bytes` at commit(); the caller keeps
  /// them alive and unchanged until then (used for large matrices, to avoid a copy).
  void add_view(std::string_view tag, std::span<const std::byte> bytes);
  /// Writes the file: temp file, fsync, rename, fsync of the folder. `fail_after_bytes`
  /// injects a write failure for tests.
  void commit(uint64_t fail_after_bytes = UINT64_MAX);

 private:
  struct Pending {
    std::string tag;
    std::string owned;
    std::span<const std::byte> view;
    bool is_view = false;
  };
  std::string path_;
  std::string magic_;
  uint32_t version_;
  std::vector<Pending> sections_;
};

/// Opens a sectioned file through a memory map and checks its magic, version, table and
/// every section's checksum. Errors name the file and the section.
class SectionReader {
 public:
  /// Accepts versions in [min_version, max_version].
  SectionReader(const std::string& path, std::string_view magic, uint32_t min_version, uint32_t max_version);
  uint32_t version() const noexcept { return version_; }
  bool has(std::string_view tag) const noexcept;
  /// The bytes of a section; throws a corrupt error naming the tag if it is missing.
  std::string_view section(std::string_view tag) const;
  /// A reader positioned at the start of a section, whose errors name file and section.
  ByteReader reader(std::string_view tag) const;
  /// Reinterprets a section as an array of little-endian T; checks size and alignment.
  template <typename T> std::span<const T> array(std::string_view tag) const {
    std::string_view bytes = section(tag);
    check_array(tag, bytes, sizeof(T), alignof(T));
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
  const std::string& path() const noexcept { return file_.path(); }
  /// One line per section: tag, offset, length, checksum (for `tokvec inspect`).
  std::vector<std::string> describe() const;

 private:
  void check_array(std::string_view tag, std::string_view bytes, size_t elem_size, size_t align) const;
  struct Entry {
    std::string tag;
    uint64_t offset;
    uint64_t length;
    uint64_t checksum;
  };
  MappedFile file_;
  uint32_t version_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace tokvec
