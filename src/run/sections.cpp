#include "run/sections.h"

#include <algorithm>

#include "base/sniff.h"
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

/// Bytes checksummed between two releases of the pages read (SectionReader).
constexpr size_t kVerifyChunkBytes = size_t{64} << 20;

/// The header (magic, version, count, checksum) and the table, given the table's bytes.
std::string encode_head(std::string_view magic, uint32_t version, uint32_t count, const std::string& table) {
  ByteWriter head;
  head.raw(magic.data(), 8);
  head.u32(version);
  head.u32(count);
  std::string covered = head.bytes() + table;
  head.u64(checksum64(covered));
  return head.bytes() + table;
}

void table_entry(ByteWriter& table, std::string_view tag, uint64_t offset, uint64_t length, uint64_t checksum) {
  table.raw(tag.data(), 4);
  table.u32(0);
  table.u64(offset);
  table.u64(length);
  table.u64(checksum);
}

/// XXH3-64 of a mapped section, chunk by chunk, releasing each chunk's pages after it.
uint64_t checksum_mapped(const char* data, uint64_t length) {
  if (length <= kVerifyChunkBytes) {
    uint64_t sum = checksum64(data, length);
    release_mapped_pages(data, data + length);
    return sum;
  }
  StreamingChecksum sum;
  for (uint64_t done = 0; done < length;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kVerifyChunkBytes, length - done));
    sum.update(data + done, n);
    // Whole pages only: the page shared with the next chunk goes with that chunk.
    release_mapped_pages(data + (done / page_bytes()) * page_bytes(), data + done + n);
    done += n;
  }
  return sum.digest();
}
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
    table_entry(table, s.tag, offset, bytes.size(), checksum64(bytes));
    offsets.push_back(offset);
    offset = align_up(offset + bytes.size());
  }
  AtomicFileWriter out(path_, fail_after_bytes);
  out.write(encode_head(magic_, version_, static_cast<uint32_t>(sections_.size()), table.bytes()));
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

/// One section of a SectionStreamWriter: where it lies, its checksum so far, and the bytes
/// not yet written out.
struct SectionStreamWriter::Section {
  std::string tag;
  uint64_t offset = 0;
  uint64_t length = 0;   // bytes given so far
  uint64_t flushed = 0;  // bytes already in the file
  std::optional<uint64_t> declared;
  StreamingChecksum sum;
  uint64_t checksum = 0;
  bool ended = false;
  std::string buffer;
};

namespace {
constexpr size_t kStreamBufferBytes = size_t{1} << 20;
}

SectionStreamWriter::SectionStreamWriter(std::string path, std::string_view magic, uint32_t version,
                                         size_t section_count, uint64_t fail_after_bytes)
    : magic_(magic), version_(version), section_count_(section_count), out_(std::move(path), fail_after_bytes) {
  if (magic_.size() != 8) throw internal_error("file magic must have 8 characters");
  if (!host_is_little_endian()) throw internal_error("tokvec files are little-endian; this machine is not");
}

SectionStreamWriter::~SectionStreamWriter() = default;

size_t SectionStreamWriter::begin(std::string_view tag, std::optional<uint64_t> length) {
  check_tag(tag);
  if (sections_.size() == section_count_) throw internal_error("more sections than declared writing " + out_.path());
  uint64_t offset = align_up(kHeaderBytes + kEntryBytes * section_count_);
  if (!sections_.empty()) {
    const Section& prev = *sections_.back();
    if (!prev.ended && !prev.declared) {
      throw internal_error("section " + std::string(tag) + " begun before " + prev.tag + " ended, writing " + out_.path());
    }
    offset = align_up(prev.offset + (prev.ended ? prev.length : *prev.declared));
  }
  auto s = std::make_unique<Section>();
  s->tag = std::string(tag);
  s->offset = offset;
  s->declared = length;
  sections_.push_back(std::move(s));
  return sections_.size() - 1;
}

void SectionStreamWriter::flush(Section& s) {
  if (s.buffer.empty()) return;
  out_.write_at(s.offset + s.flushed, s.buffer.data(), s.buffer.size());
  s.flushed += s.buffer.size();
  s.buffer.clear();
}

void SectionStreamWriter::write(size_t section, const void* data, size_t size) {
  Section& s = *sections_.at(section);
  if (s.ended) throw internal_error("write to ended section " + s.tag + " of " + out_.path());
  if (s.declared && s.length + size > *s.declared) {
    throw internal_error("section " + s.tag + " of " + out_.path() + " outgrows its declared length");
  }
  s.sum.update(data, size);
  s.length += size;
  if (s.buffer.size() + size > kStreamBufferBytes) flush(s);
  if (size >= kStreamBufferBytes) {
    out_.write_at(s.offset + s.flushed, data, size);
    s.flushed += size;
  } else {
    s.buffer.append(static_cast<const char*>(data), size);
  }
}

void SectionStreamWriter::end(size_t section) {
  Section& s = *sections_.at(section);
  if (s.ended) return;
  if (s.declared && s.length != *s.declared) {
    throw internal_error("section " + s.tag + " of " + out_.path() + " holds " + std::to_string(s.length) +
                         " bytes, declared " + std::to_string(*s.declared));
  }
  flush(s);
  s.buffer.shrink_to_fit();
  s.checksum = s.sum.digest();
  s.ended = true;
}

void SectionStreamWriter::rewrite(size_t section, std::string_view bytes) {
  Section& s = *sections_.at(section);
  if (!s.ended || bytes.size() != s.length) throw internal_error("bad rewrite of section " + s.tag + " of " + out_.path());
  out_.write_at(s.offset, bytes.data(), bytes.size());
  s.checksum = checksum64(bytes);
}

void SectionStreamWriter::commit() {
  if (sections_.size() != section_count_) throw internal_error("fewer sections than declared writing " + out_.path());
  ByteWriter table;
  for (const auto& s : sections_) {
    if (!s->ended) throw internal_error("section " + s->tag + " of " + out_.path() + " not ended");
    table_entry(table, s->tag, s->offset, s->length, s->checksum);
  }
  const std::string head = encode_head(magic_, version_, static_cast<uint32_t>(section_count_), table.bytes());
  out_.write_at(0, head.data(), head.size());
  // SectionWriter pads before every section, so a file ending in empty sections still
  // reaches their (aligned) offset; the gaps between sections read as zero here anyway.
  uint64_t end = head.size();
  for (const auto& s : sections_) end = std::max(end, s->length > 0 ? s->offset + s->length : end);
  if (!sections_.empty() && sections_.back()->offset > end) {
    const std::string zeros(sections_.back()->offset - end, '\0');
    out_.write_at(end, zeros.data(), zeros.size());
  }
  out_.commit();
}

SectionReader::SectionReader(const std::string& path, std::string_view magic, uint32_t min_version,
                             uint32_t max_version)
    : file_(path) {
  if (!host_is_little_endian()) throw internal_error("tokvec files are little-endian; this machine is not");
  std::string_view all = file_.view();
  // A file that does not start with the magic is another kind of file: say which.
  const size_t prefix = std::min<size_t>(all.size(), 8);
  if (all.substr(0, prefix) != magic.substr(0, prefix) || all.empty()) {
    throw_wrong_kind(path, "header", tokvec_file_kind(magic), "(it does not start with " + std::string(magic) + ")");
  }
  if (all.size() < kHeaderBytes) {
    throw corrupt_error(path, "header", "file is " + std::to_string(all.size()) + " bytes, too short for a tokvec " +
                                            std::string(magic) + " file");
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
    if (checksum_mapped(all.data() + e.offset, e.length) != e.checksum) {
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
