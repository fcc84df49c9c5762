#include "tokvec/sections.h"

#include "tokvec/status.h"

namespace tokvec {

namespace {
constexpr size_t kHeaderBytes = 24;
constexpr size_t kEntryBytes = 32;
constexpr size_t kAlignment = 64;

void check_tag(std::string_view tag) {
  if (tag.size() != 4) throw internal_error("section tag must have 4 characters: " + std::string(tag));
}

uint64_t align_up(uint64_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }
}  // namespace

SectionWriter::SectionWriter(std::string path, std::string_view magic, uint32_t version)
    : path_(std::move(path)), magic_(magic), version_(version) {
  if (magic_.size() != 8) throw internal_error("file magic must have 8 characters");
  if (!host_is_little_endian()) throw internal_error("tokvec files are little-endian; this machine is not");
}

void SectionWriter::add(std::string_view tag, std::string bytes) {
  check_tag(tag);
  sections_.push_back({std::string(tag), std::move(bytes), {}, false});
}

void SectionWriter::add_view(std::string_view tag, std::span<const std::byte> bytes) {
  check_tag(tag);
  sections_.push_back({std::string(tag), {}, bytes, true});
}

void SectionWriter::commit(uint64_t fail_after_bytes) {
  // Lay the sections out first so the table (which precedes them) can be written at once.
  ByteWriter table;
  uint64_t offset = align_up(kHeaderBytes + kEntryBytes * sections_.size());
  std::vector<uint64_t> offsets;
  for (const Pending& s : sections_) {
    std::string_view bytes = s.is_view ? std::string_view(reinterpret_cast<const char*>(s.view.data()), s.view.size())
                                       : std::string_view(s.owned);
    table.raw(s.tag.data(), 4);
    table.u32(0);
    table.u64(offset);
    table.u64(bytes.size());
    table.u64(checksum64(bytes));
    offsets.push_back(offset);
    offset = align_up(offset + bytes.size());
  }
  ByteWriter head;
  head.raw(magic_.data(), 8);
  head.u32(version_);
  head.u32(static_cast<uint32_t>(sections_.size()));
  std::string covered = head.bytes() + table.bytes();
  head.u64(checksum64(covered));

  AtomicFileWriter out(path_, fail_after_bytes);
  out.write(head.bytes());
  out.write(table.bytes());
  for (size_t i = 0; i < sections_.size(); ++i) {
    out.pad_to(kAlignment);
    if (out.bytes_written() != offsets[i]) throw internal_error("section layout mismatch writing " + path_);
    const Pending& s = sections_[i];
    if (s.is_view) {
      out.write(s.view.data(), s.view.size());
    } else {
      out.write(s.owned);
    }
  }
  out.commit();
}

SectionReader::SectionReader(const std::string& path, std::string_view magic, uint32_t min_version,
                             uint32_t max_version)
    : file_(path) {
  if (!host_is_little_endian()) throw internal_error("tokvec files are little-endian; this machine is not");
  std::string_view all = file_.view();
  if (all.size() < kHeaderBytes) {
    throw corrupt_error(path, "header", "file is " + std::to_string(all.size()) + " bytes, too short for a tokvec " +
                                            std::string(magic) + " file");
  }
  if (all.substr(0, 8) != magic) {
    throw corrupt_error(path, "header", "not a tokvec " + std::string(magic) + " file (wrong magic)");
  }
  ByteReader head(all.substr(8, 16), path, "header");
  version_ = head.u32();
  uint32_t count = head.u32();
  uint64_t stored_header_sum = head.u64();
  if (version_ < min_version || version_ > max_version) {
    throw corrupt_error(path, "header", "format version " + std::to_string(version_) + " is not supported (this tokvec reads " +
                                            std::to_string(min_version) + ".." + std::to_string(max_version) + ")");
  }
  if (count > 4096 || kHeaderBytes + kEntryBytes * uint64_t{count} > all.size()) {
    throw corrupt_error(path, "section table", "truncated or damaged (section count " + std::to_string(count) + ")");
  }
  std::string_view table_bytes = all.substr(kHeaderBytes, kEntryBytes * count);
  std::string covered = std::string(all.substr(0, 16)) + std::string(table_bytes);
  if (checksum64(covered) != stored_header_sum) {
    throw corrupt_error(path, "section table", "checksum mismatch: the header or table is damaged");
  }
  ByteReader table(table_bytes, path, "section table");
  for (uint32_t i = 0; i < count; ++i) {
    Entry e;
    e.tag = std::string(table.take(4));
    table.u32();
    e.offset = table.u64();
    e.length = table.u64();
    e.checksum = table.u64();
    if (e.offset > all.size() || e.length > all.size() - e.offset) {
      throw corrupt_error(path, "section " + e.tag,
                          "truncated: the section needs bytes up to " + std::to_string(e.offset + e.length) +
                              ", the file has " + std::to_string(all.size()));
    }
    if (checksum64(all.data() + e.offset, e.length) != e.checksum) {
      throw corrupt_error(path, "section " + e.tag, "checksum mismatch: the section is damaged");
    }
    entries_.push_back(std::move(e));
  }
}

bool SectionReader::has(std::string_view tag) const noexcept {
  for (const Entry& e : entries_) {
    if (e.tag == tag) return true;
  }
  return false;
}

std::string_view SectionReader::section(std::string_view tag) const {
  for (const Entry& e : entries_) {
    if (e.tag == tag) return file_.view().substr(e.offset, e.length);
  }
  throw corrupt_error(path(), "section " + std::string(tag), "missing");
}

ByteReader SectionReader::reader(std::string_view tag) const {
  return ByteReader(section(tag), path(), std::string(tag));
}

void SectionReader::check_array(std::string_view tag, std::string_view bytes, size_t elem_size, size_t align) const {
  if (bytes.size() % elem_size != 0) {
    throw corrupt_error(path(), "section " + std::string(tag),
                        "length " + std::to_string(bytes.size()) + " is not a multiple of " + std::to_string(elem_size));
  }
  if (reinterpret_cast<uintptr_t>(bytes.data()) % align != 0) {
    throw corrupt_error(path(), "section " + std::string(tag), "misaligned array");
  }
}

std::vector<std::string> SectionReader::describe() const {
  std::vector<std::string> lines;
  for (const Entry& e : entries_) {
    lines.push_back(e.tag + "  offset " + std::to_string(e.offset) + "  length " + std::to_string(e.length) +
                    "  xxh3 " + hex64(e.checksum) + "  OK");
  }
  return lines;
}

}  // namespace tokvec
