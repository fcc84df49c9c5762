// The vector files: word2vec text and binary, .npy with its vocabulary file, read and
// written (atomically, or to a stream), and the format names.
#include "base/config.h"
#include "tokvec/export.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <tbb/parallel_for.h>

#include "tokvec/bpe.h"
#include "tokvec/corpus.h"
#include "base/io.h"
#include "base/sniff.h"
#include "tokvec/status.h"
#include "text/text.h"
#include "text/words.h"
#include "vectors/export_detail.h"

namespace tokvec {

namespace fs = std::filesystem;

using namespace export_detail;

namespace {

/// Upper bounds a vectors file may declare: far above real files, low enough that a
/// damaged header is reported before a huge allocation.
constexpr uint64_t kMaxRows = 1ull << 31;
constexpr uint64_t kMaxDim = 1ull << 16;

void check_shape(const Embeddings& e) {
  if (e.dim == 0) throw input_error("", "", "vectors have dimension 0");
  if (e.data.size() != e.words.size() * e.dim) throw internal_error("Embeddings: data size does not match rows x dim");
}

std::string header_line(const Embeddings& e) { return std::to_string(e.size()) + " " + std::to_string(e.dim) + "\n"; }

/// Splits `text` into fields separated by runs of spaces and tabs.
void split_fields(std::string_view text, std::vector<std::string_view>& out) {
  out.clear();
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
}

bool parse_float(std::string_view s, float& v) {
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (first != last && *first == '+') ++first;  // Python's float() accepts a leading '+'
  auto [ptr, ec] = std::from_chars(first, last, v);
  return ec == std::errc() && ptr == last;
}

bool parse_u64(std::string_view s, uint64_t& v) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

/// Parses the "N D" header that ends at the first '\n'; returns the offset after it.
size_t parse_header(std::string_view bytes, const std::string& path, uint64_t& rows, uint64_t& dim) {
  size_t nl = bytes.find('\n');
  if (nl == std::string_view::npos) {
    throw input_error(path, "line 1", bytes.empty() ? "empty file: expected a header \"N D\"" : "no end of line after the header \"N D\" (truncated?)");
  }
  std::string_view line = bytes.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string_view> f;
  split_fields(line, f);
  if (f.size() != 2 || !parse_u64(f[0], rows) || !parse_u64(f[1], dim)) {
    throw input_error(path, "line 1", "expected a header \"N D\" (vector count and dimension), got " + quote_token(line.substr(0, 80)));
  }
  if (dim == 0 || dim > kMaxDim) throw input_error(path, "line 1", "dimension " + std::to_string(dim) + " is outside [1, " + std::to_string(kMaxDim) + "]");
  if (rows > kMaxRows) throw input_error(path, "line 1", "vector count " + std::to_string(rows) + " is absurd");
  return nl + 1;
}

std::string npy_header(uint64_t rows, uint64_t cols) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  // Magic (6) + version (2) + header length (2) + dict + padding + '\n' is a multiple of 64.
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>((dict.size() >> 8) & 0xFF);
  return out + dict;
}

void require_little_endian(const std::string& path) {
  if (!host_is_little_endian()) throw input_error(path, "", "binary vector files need a little-endian machine");
}

}  // namespace

VectorFormat parse_vector_format(std::string_view name) {
  if (name == "word2vec-text") return VectorFormat::word2vec_text;
  if (name == "word2vec-binary") return VectorFormat::word2vec_binary;
  if (name == "npy") return VectorFormat::npy;
  throw FieldError(ErrorKind::usage, "format", "must be word2vec-text, word2vec-binary or npy, got '" + std::string(name) + "'");
}

std::string_view vector_format_name(VectorFormat format) {
  switch (format) {
    case VectorFormat::word2vec_text: return "word2vec-text";
    case VectorFormat::word2vec_binary: return "word2vec-binary";
    case VectorFormat::npy: return "npy";
  }
  return "?";
}

void check_word2vec_tokens(const Embeddings& e, std::string_view what) {
  for (size_t i = 0; i < e.size(); ++i) {
    const std::string& t = e.words[i];
    bool bad = t.empty();
    for (char c : t) {
      auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7F) bad = true;
    }
    if (bad) {
      throw input_error(std::string(what), "row " + std::to_string(i),
                        "the token " + quote_token(t) +
                            " is empty or holds whitespace or a control character, which the word2vec formats cannot "
                            "store (a space ends a token); use " + setting_name("format") + " npy");
    }
  }
}

namespace {

/// "token v1 ... vD\n": the shortest decimal that reads back to the same float32 (exact and
/// compact) for each value.
void append_text_record(std::string& line, std::string_view word, const float* r, uint32_t dim) {
  line.append(word);
  char buf[32];
  for (uint32_t d = 0; d < dim; ++d) {
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, r[d]);
    line += ' ';
    line.append(buf, ptr);
  }
  line += '\n';
}

/// The two word2vec layouts, written to a file (AtomicFileWriter) or a stream (StreamSink).
template <typename Sink>
void emit_word2vec_text(Sink& out, const Embeddings& e) {
  out.write(header_line(e));
  std::string line;
  for (size_t i = 0; i < e.size(); ++i) {
    line.clear();
    append_text_record(line, e.words[i], e.row(i), e.dim);
    out.write(line);
  }
}

template <typename Sink>
void emit_word2vec_binary(Sink& out, const Embeddings& e) {
  out.write(header_line(e));
  for (size_t i = 0; i < e.size(); ++i) {
    out.write(e.words[i]);
    out.write(" ");
    out.write(e.row(i), e.dim * sizeof(float));
    out.write("\n");
  }
}

/// Writes to an open stream (stdout), reporting a failed write as an I/O error on `name`.
class StreamSink {
 public:
  StreamSink(std::FILE* stream, std::string name) : stream_(stream), name_(std::move(name)) {}
  void write(const void* data, size_t size) {
    if (size > 0 && std::fwrite(data, 1, size, stream_) != size) throw io_error(name_, "cannot write", errno);
  }
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  void finish() {
    if (std::fflush(stream_) != 0) throw io_error(name_, "cannot write", errno);
  }

 private:
  std::FILE* stream_;
  std::string name_;
};

}  // namespace

std::string word2vec_text_record(std::string_view word, const float* values, uint32_t dim) {
  std::string line;
  append_text_record(line, word, values, dim);
  return line;
}

void write_word2vec_text(const std::string& path, const Embeddings& e, uint64_t fail_after_bytes) {
  check_shape(e);
  check_word2vec_tokens(e, path);
  AtomicFileWriter out(path, fail_after_bytes);
  emit_word2vec_text(out, e);
  out.commit();
}

void write_word2vec_binary(const std::string& path, const Embeddings& e, uint64_t fail_after_bytes) {
  check_shape(e);
  check_word2vec_tokens(e, path);
  require_little_endian(path);
  AtomicFileWriter out(path, fail_after_bytes);
  emit_word2vec_binary(out, e);
  out.commit();
}

void write_vectors_to_stream(std::FILE* stream, const std::string& name, VectorFormat format, const Embeddings& e) {
  check_shape(e);
  if (format == VectorFormat::npy) {
    throw usage_error("npy writes two files (the matrix and its vocabulary), so it cannot go to " + name +
                      "; give a file name, or use " + setting_name("format") + " word2vec-text or word2vec-binary");
  }
  check_word2vec_tokens(e, name);
  StreamSink out(stream, name);
  if (format == VectorFormat::word2vec_binary) {
    require_little_endian(name);
    emit_word2vec_binary(out, e);
  } else {
    emit_word2vec_text(out, e);
  }
  out.finish();
}

std::optional<VectorFormat> vector_format_of_name(std::string_view path) {
  auto ends_with = [&](std::string_view ext) {
    if (path.size() <= ext.size()) return false;
    for (size_t i = 0; i < ext.size(); ++i) {
      char c = path[path.size() - ext.size() + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != ext[i]) return false;
    }
    return true;
  };
  if (ends_with(".npy")) return VectorFormat::npy;
  if (ends_with(".bin")) return VectorFormat::word2vec_binary;
  if (ends_with(".vec") || ends_with(".txt")) return VectorFormat::word2vec_text;
  return std::nullopt;
}

std::string npy_vocab_path(const std::string& npy_path) {
  constexpr std::string_view ext = ".npy";
  if (npy_path.size() > ext.size() && npy_path.compare(npy_path.size() - ext.size(), ext.size(), ext) == 0) {
    return npy_path.substr(0, npy_path.size() - ext.size()) + ".vocab.txt";
  }
  return npy_path + ".vocab.txt";
}

std::string escape_vocab_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

std::string unescape_vocab_token(std::string_view text, const std::string& path, size_t line) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (next == '\\') out += '\\';
    else if (next == 'n') out += '\n';
    else if (next == 'r') out += '\r';
    else throw input_error(path, at_line(line), "bad escape after a backslash (expected \\\\, \\n or \\r)");
    ++i;
  }
  return out;
}

void write_npy(const std::string& path, const Embeddings& e, uint64_t fail_after_bytes) {
  check_shape(e);
  require_little_endian(path);
  std::string vocab_path = npy_vocab_path(path);
  // One set: a failure while writing either (a full disk) replaces neither, so a matrix
  // never sits beside another export's vocabulary.
  AtomicFileSet files;
  AtomicFileWriter& out = files.add(path, fail_after_bytes);
  AtomicFileWriter& vocab = files.add(vocab_path, fail_after_bytes);
  for (const std::string& w : e.words) {
    vocab.write(escape_vocab_token(w));
    vocab.write("\n");
  }
  out.write(npy_header(e.size(), e.dim));
  out.write(e.data.data(), e.data.size() * sizeof(float));
  files.commit();
}

void write_vectors(const std::string& path, VectorFormat format, const Embeddings& e) {
  switch (format) {
    case VectorFormat::word2vec_text: return write_word2vec_text(path, e);
    case VectorFormat::word2vec_binary: return write_word2vec_binary(path, e);
    case VectorFormat::npy: return write_npy(path, e);
  }
}

namespace {

/// A word2vec file opened: its header read and room made for the vectors it announces.
struct Word2VecFile {
  MappedFile file;
  size_t pos = 0;  ///< first byte after the header
  uint64_t rows = 0, dim = 0;
  Embeddings e;
};

/// Each announced value takes at least `min_bytes_per_value` bytes of the file (2 as text,
/// 4 in binary), so a damaged header is refused before it can make us allocate terabytes.
Word2VecFile open_word2vec(const std::string& path, size_t min_bytes_per_value) {
  check_readable_file(path);
  Word2VecFile w{MappedFile(path), 0, 0, 0, {}};
  std::string_view bytes = w.file.view();
  w.pos = parse_header(bytes, path, w.rows, w.dim);
  if (w.rows * w.dim > (bytes.size() - w.pos) / min_bytes_per_value) {
    throw input_error(path, "line 1", "the header announces " + std::to_string(w.rows) + " vectors of " + std::to_string(w.dim) +
                                          " values, more than the file's " + std::to_string(bytes.size()) + " bytes can hold (truncated?)");
  }
  w.e.dim = static_cast<uint32_t>(w.dim);
  w.e.words.reserve(w.rows);
  w.e.data.resize(w.rows * w.dim);
  return w;
}

}  // namespace

Embeddings read_word2vec_text(const std::string& path) {
  Word2VecFile w = open_word2vec(path, 2);
  std::string_view bytes = w.file.view();
  const uint64_t rows = w.rows, dim = w.dim;
  size_t pos = w.pos;
  Embeddings& e = w.e;
  std::vector<std::string_view> f;
  size_t line_no = 1;
  for (uint64_t i = 0; i < rows; ++i) {
    ++line_no;
    if (pos >= bytes.size()) {
      throw input_error(path, at_line(line_no), "file ends after " + std::to_string(i) + " vectors, the header promised " + std::to_string(rows) + " (truncated?)");
    }
    size_t nl = bytes.find('\n', pos);
    bool last = nl == std::string_view::npos;
    std::string_view line = bytes.substr(pos, (last ? bytes.size() : nl) - pos);
    pos = last ? bytes.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    split_fields(line, f);
    if (f.size() != dim + 1) {
      throw input_error(path, at_line(line_no), "expected a token and " + std::to_string(dim) + " values, got " +
                                                    std::to_string(f.empty() ? 0 : f.size() - 1) + " values" + (last ? " (truncated?)" : ""));
    }
    e.words.emplace_back(f[0]);
    float* r = e.row(i);
    for (uint64_t d = 0; d < dim; ++d) {
      if (!parse_float(f[d + 1], r[d])) {
        throw input_error(path, at_line(line_no), "value " + std::to_string(d + 1) + " " + quote_token(f[d + 1].substr(0, 40)) + " is not a number");
      }
    }
  }
  for (; pos < bytes.size(); ++pos) {
    if (!is_ascii_space(bytes[pos])) {
      throw input_error(path, at_line(line_no + 1), "more vectors than the " + std::to_string(rows) + " the header announced");
    }
  }
  return std::move(e);  // e names w.e: move it out
}

Embeddings read_word2vec_binary(const std::string& path) {
  require_little_endian(path);
  Word2VecFile w = open_word2vec(path, sizeof(float));
  std::string_view bytes = w.file.view();
  const uint64_t rows = w.rows, dim = w.dim;
  size_t pos = w.pos;
  Embeddings& e = w.e;
  const size_t vec_bytes = dim * sizeof(float);
  for (uint64_t i = 0; i < rows; ++i) {
    while (pos < bytes.size() && bytes[pos] == '\n') ++pos;  // word2vec.c's newline after each vector
    size_t space = bytes.find(' ', pos);
    if (space == std::string_view::npos || space - pos > 4096) {
      throw input_error(path, at_byte(pos), "record " + std::to_string(i + 1) + " of " + std::to_string(rows) +
                                                (pos >= bytes.size() ? ": file ends (truncated?)" : ": no space after a token (truncated or not a word2vec binary file?)"));
    }
    if (space == pos) throw input_error(path, at_byte(pos), "record " + std::to_string(i + 1) + " has an empty token");
    if (bytes.size() - (space + 1) < vec_bytes) {
      throw input_error(path, at_byte(space + 1), "record " + std::to_string(i + 1) + " of " + std::to_string(rows) + ": file ends inside its " +
                                                      std::to_string(dim) + " floats (truncated?)");
    }
    e.words.emplace_back(bytes.substr(pos, space - pos));
    std::memcpy(e.row(i), bytes.data() + space + 1, vec_bytes);
    pos = space + 1 + vec_bytes;
  }
  while (pos < bytes.size() && bytes[pos] == '\n') ++pos;
  if (pos != bytes.size()) throw input_error(path, at_byte(pos), "more data than the " + std::to_string(rows) + " vectors the header announced");
  return std::move(e);  // e names w.e: move it out
}

Embeddings read_npy(const std::string& path, const std::string& vocab_path) {
  check_readable_file(path);
  require_little_endian(path);
  MappedFile file(path);
  std::string_view bytes = file.view();
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view("\x93NUMPY", 6)) {
    const std::string kind = sniff_file_kind(path);
    throw input_error(path, at_byte(0), "not a .npy file (bad magic)" + (kind.empty() ? std::string() : ": it looks like " + kind));
  }
  if (bytes[6] != 1 || bytes[7] != 0) throw input_error(path, at_byte(6), "unsupported .npy version (expected 1.0)");
  size_t hlen = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
  if (bytes.size() < 10 + hlen) throw input_error(path, at_byte(10), "header runs past the end of the file (truncated?)");
  std::string_view header = bytes.substr(10, hlen);
  if (header.find("'descr': '<f4'") == std::string_view::npos) throw input_error(path, at_byte(10), "expected dtype '<f4'");
  if (header.find("'fortran_order': False") == std::string_view::npos) throw input_error(path, at_byte(10), "expected C order (fortran_order False)");
  size_t s = header.find("'shape': (");
  uint64_t rows = 0, dim = 0;
  if (s != std::string_view::npos) {
    std::string_view rest = header.substr(s + 10);
    size_t comma = rest.find(',');
    size_t close = rest.find(')');
    if (comma != std::string_view::npos && close != std::string_view::npos && comma < close) {
      std::string_view a = rest.substr(0, comma), b = rest.substr(comma + 1, close - comma - 1);
      while (!b.empty() && b.front() == ' ') b.remove_prefix(1);
      if (!parse_u64(a, rows) || !parse_u64(b, dim)) s = std::string_view::npos;
    } else {
      s = std::string_view::npos;
    }
  }
  if (s == std::string_view::npos || dim == 0 || dim > kMaxDim || rows > kMaxRows) throw input_error(path, at_byte(10), "expected a 2-D shape (N, D)");
  size_t data_off = 10 + hlen;
  if (bytes.size() - data_off != rows * dim * sizeof(float)) {
    throw input_error(path, at_byte(data_off), "holds " + std::to_string(bytes.size() - data_off) + " data bytes, shape (" + std::to_string(rows) + ", " +
                                                   std::to_string(dim) + ") needs " + std::to_string(rows * dim * 4) + " (truncated?)");
  }
  Embeddings e;
  e.dim = static_cast<uint32_t>(dim);
  e.data.resize(rows * dim);
  std::memcpy(e.data.data(), bytes.data() + data_off, e.data.size() * sizeof(float));
  std::string vocab = read_file(vocab_path);
  size_t pos = 0, line = 0;
  while (pos < vocab.size()) {
    size_t nl = vocab.find('\n', pos);
    if (nl == std::string::npos) throw input_error(vocab_path, at_line(line + 1), "last line has no newline (truncated?)");
    ++line;
    if (e.words.size() == rows) throw input_error(vocab_path, at_line(line), "more tokens than the " + std::to_string(rows) + " rows of " + path);
    e.words.push_back(unescape_vocab_token(std::string_view(vocab).substr(pos, nl - pos), vocab_path, line));
    pos = nl + 1;
  }
  if (e.words.size() != rows) throw input_error(vocab_path, at_line(line), "holds " + std::to_string(e.words.size()) + " tokens, " + path + " has " + std::to_string(rows) + " rows");
  return e;
}

Embeddings read_npy(const std::string& path) { return read_npy(path, npy_vocab_path(path)); }

Embeddings read_vectors(const std::string& path) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0) return read_npy(path);
  check_readable_file(path);
  // Another kind of file is named as such; text and unknown bytes go to the word2vec
  // readers, whose errors name the line.
  if (const std::string kind = sniff_file_kind(path);
      !kind.empty() && kind != "plain text" && kind.find("word2vec") == std::string::npos) {
    throw input_error(path, "", "looks like " + kind + ", not vectors (a run folder, a state file, word2vec text or binary, or .npy)");
  }
  bool text = true;
  {
    MappedFile file(path);
    std::string_view bytes = file.view();
    uint64_t rows = 0, dim = 0;
    size_t pos = parse_header(bytes, path, rows, dim);
    if (rows > 0 && pos < bytes.size()) {
      size_t nl = bytes.find('\n', pos);
      std::string_view line = bytes.substr(pos, (nl == std::string_view::npos ? bytes.size() : nl) - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      std::vector<std::string_view> f;
      split_fields(line, f);
      // Binary floats almost never form D space-separated decimal numbers; text always does.
      bool numeric = f.size() == dim + 1;
      float v;
      for (size_t i = 1; numeric && i < f.size(); ++i) numeric = parse_float(f[i], v);
      // A binary record holds raw bytes; a text file's first record is numeric (or it is
      // damaged text, which the text reader reports with its line).
      if (!numeric) {
        size_t space = bytes.find(' ', pos);
        text = !(space != std::string_view::npos && space + 1 + dim * 4 <= bytes.size() &&
                 std::any_of(bytes.begin() + static_cast<ptrdiff_t>(space + 1), bytes.begin() + static_cast<ptrdiff_t>(space + 1 + dim * 4),
                             [](char c) { auto u = static_cast<unsigned char>(c); return u < 0x09 || (u > 0x0D && u < 0x20) || u >= 0x80; }));
      }
    }
  }
  return text ? read_word2vec_text(path) : read_word2vec_binary(path);
}

}  // namespace tokvec
