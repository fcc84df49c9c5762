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
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/io.h"

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

/// Writes a sectioned file whose sections are produced piece by piece, in bounded memory (a
/// token corpus larger than memory): the same bytes as SectionWriter gives for the same
/// sections, but every section is checksummed as it is written and the header and table
/// are written last, over the space reserved for them. Sections follow each other in the
/// order begin() is called; a section can begin once the one before it has ended or
/// declared its length (then both can be written side by side). Written atomically:
/// nothing appears under the path before commit().
class SectionStreamWriter {
 public:
  SectionStreamWriter(std::string path, std::string_view magic, uint32_t version, size_t section_count,
                      uint64_t fail_after_bytes = UINT64_MAX);
  ~SectionStreamWriter();
  SectionStreamWriter(const SectionStreamWriter&) = delete;
  SectionStreamWriter& operator=(const SectionStreamWriter&) = delete;

  /// Starts the next section; returns its index. A declared `length` is checked at end().
  size_t begin(std::string_view tag, std::optional<uint64_t> length = std::nullopt);
  /// Appends bytes to a section that has begun and not ended.
  void write(size_t section, const void* data, size_t size);
  void end(size_t section);
  /// Replaces the bytes of an ended section by as many new ones (a header whose counts are
  /// known only at the end).
  void rewrite(size_t section, std::string_view bytes);
  /// Writes the header and table, then fsyncs and renames the file into place.
  void commit();

 private:
  struct Section;
  void flush(Section& s);
  std::string magic_;
  uint32_t version_;
  std::vector<std::unique_ptr<Section>> sections_;
  size_t section_count_;
  AtomicFileWriter out_;
};

/// Opens a sectioned file through a memory map and checks its magic, version, table and
/// every section's checksum. Errors name the file and the section. The checksums are
/// computed chunk by chunk, each chunk's pages released from memory after it
/// (release_mapped_pages), so opening a file larger than memory reads it in bounded memory;
/// what is read later faults back in from the page cache.
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
