#include "base/sniff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"
#include "tokvec/status.h"
#include "text/text.h"

namespace tokvec {

namespace {

namespace fs = std::filesystem;

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

/// "N D" (a word2vec header): two whole numbers, spaces around them allowed.
bool word2vec_header(std::string_view line, uint64_t& dim) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return false;
  std::string_view a = line.substr(0, sp), b = line.substr(sp + 1);
  while (!b.empty() && b.front() == ' ') b.remove_prefix(1);
  if (!digits(a) || !digits(b) || b.size() > 6) return false;
  dim = std::stoull(std::string(b));
  return dim > 0;
}

/// Text when nearly every character is valid UTF-8 and not a control character.
bool looks_like_text(std::string_view s) {
  size_t bad = 0, chars = 0;
  for (size_t i = 0; i < s.size(); ++chars) {
    const Utf8Char c = decode_utf8(s, i);
    // The last character may be cut by the 64 KiB read.
    if (!c.valid && i + 4 < s.size()) ++bad;
    else if (c.valid && c.code_point < 0x20 && c.code_point != '\n' && c.code_point != '\r' && c.code_point != '\t' &&
             c.code_point != '\f')
      ++bad;
    i += c.length;
  }
  return chars > 0 && bad * 100 <= chars;
}

std::string sniff_bytes(std::string_view h, uint64_t size) {
  auto starts = [&](std::string_view m) { return h.substr(0, m.size()) == m; };
  if (size == 0) return "an empty file";
  if (starts(std::string_view(kStateMagic, 8))) return "a tokvec training state (state.tkv or a checkpoint)";
  if (starts(std::string_view(kCorpusMagic, 8))) return "a tokvec token corpus (.tkc)";
  if (starts(std::string(kBpeMagic) + " ")) return "a tokvec BPE model";
  if (starts(std::string_view("\x93NUMPY", 6))) return "a NumPy .npy file";
  if (starts("\x1f\x8b")) return "a gzip-compressed file";
  if (starts(std::string_view("\xfd" "7zXZ\0", 6))) return "an xz-compressed file";
  if (starts("BZh")) return "a bzip2-compressed file";
  if (starts("\x28\xb5\x2f\xfd")) return "a zstd-compressed file";
  if (starts("PK\x03\x04")) return "a zip archive";
  if (starts("\xba\x16\x4f\x2f")) return "a fastText binary model";
  if (starts("\xff\xfe") || starts("\xfe\xff")) return "UTF-16 text (tokvec reads UTF-8)";
  const size_t nl = h.find('\n');
  uint64_t dim = 0;
  if (nl != std::string_view::npos && word2vec_header(h.substr(0, nl), dim)) {
    // The first record: "word v1 .. vD" in text, "word " + D raw floats in binary.
    const size_t end = h.find('\n', nl + 1);
    std::string_view rec = h.substr(nl + 1, end == std::string_view::npos ? std::string_view::npos : end - nl - 1);
    size_t fields = 0;
    for (size_t i = 0; i < rec.size();) {
      while (i < rec.size() && rec[i] == ' ') ++i;
      if (i < rec.size()) ++fields;
      while (i < rec.size() && rec[i] != ' ') ++i;
    }
    if (fields == dim + 1 && looks_like_text(rec)) return "a word2vec text file";
    return "a word2vec binary file";
  }
  if (looks_like_text(h)) return "plain text";
  return "";
}

}  // namespace

std::string sniff_file_kind(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec) return "";
  if (fs::is_directory(st)) {
    if (fs::exists(fs::path(path) / "state.tkv", ec)) return "a tokvec run folder";
    if (fs::exists(fs::path(path) / "config.json", ec)) return "an unfinished tokvec run folder";
    return "a folder";
  }
  if (!fs::is_regular_file(st)) return "";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string head(64 * 1024, '\0');
  size_t got = 0;
  while (got < head.size()) {
    const ssize_t n = ::read(fd, head.data() + got, head.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  struct stat s {};
  const bool stat_ok = ::fstat(fd, &s) == 0;
  ::close(fd);
  head.resize(got);
  return sniff_bytes(head, stat_ok ? static_cast<uint64_t>(s.st_size) : got);
}

std::string tokvec_file_kind(std::string_view magic) {
  if (magic == std::string_view(kStateMagic, 8)) return "a tokvec run folder or training state (state.tkv, checkpoint-N.tkv)";
  if (magic == std::string_view(kCorpusMagic, 8)) return "a tokvec token corpus (.tkc)";
  return "a tokvec " + std::string(magic) + " file";
}

void throw_wrong_kind(const std::string& path, const std::string& where, const std::string& expected, const std::string& detail) {
  const std::string kind = sniff_file_kind(path);
  if (kind == "an empty file") throw corrupt_error(path, where, "the file is empty, not " + expected);
  if (!kind.empty()) throw corrupt_error(path, "", "looks like " + kind + ", not " + expected);
  throw corrupt_error(path, where, "not " + expected + (detail.empty() ? "" : " " + detail));
}

}  // namespace tokvec
