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

namespace tokvec {

namespace fs = std::filesystem;

namespace {

/// Upper bounds a vectors file may declare: far above real files, low enough that a
/// damaged header is reported before a huge allocation.
constexpr uint64_t kMaxRows = 1ull << 31;
constexpr uint64_t kMaxDim = 1ull << 16;

bool is_ascii_space(char c) { return is_word_space(static_cast<unsigned char>(c)); }

std::string at_line(size_t line) { return "line " + std::to_string(line); }
std::string at_byte(size_t offset) { return "byte " + std::to_string(offset); }

/// A token as it is quoted in error messages (bytes < 0x20 shown as \xHH).
std::string quote_token(std::string_view token) {
  std::string out = "'";
  for (char c : token) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "'";
}

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
  throw usage_error("--format must be word2vec-text, word2vec-binary or npy, got '" + std::string(name) + "'");
}

TokenOrder parse_token_order(std::string_view name) {
  if (name == "id") return TokenOrder::id;
  if (name == "frequency") return TokenOrder::frequency;
  throw usage_error("--order must be id or frequency, got '" + std::string(name) + "'");
}

std::string_view vector_format_name(VectorFormat format) {
  switch (format) {
    case VectorFormat::word2vec_text: return "word2vec-text";
    case VectorFormat::word2vec_binary: return "word2vec-binary";
    case VectorFormat::npy: return "npy";
  }
  return "?";
}

void ExportConfig::validate() const {
  if (!words_file.empty() && corpus_words) throw usage_error("give --words FILE or --corpus-words, not both");
  if ((!words_file.empty() || corpus_words) && matrix != MatrixChoice::input) {
    throw usage_error("word vectors are composed from the input matrix; drop --matrix output");
  }
}

Embeddings token_embeddings(const TrainingState& state, MatrixChoice matrix, TokenOrder rows) {
  const Matrix& m = matrix == MatrixChoice::input ? state.input : state.output;
  size_t n = state.vocab.size();
  if (m.rows() != n || state.frequencies.size() != n) throw internal_error("token_embeddings: inconsistent state");
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  if (rows == TokenOrder::frequency) {
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return state.frequencies[a] > state.frequencies[b]; });
  }
  Embeddings e;
  e.dim = static_cast<uint32_t>(m.cols());
  e.words.reserve(n);
  e.data.resize(n * e.dim);
  for (size_t i = 0; i < n; ++i) {
    e.words.push_back(state.vocab[order[i]]);
    std::memcpy(e.row(i), m.row(order[i]), e.dim * sizeof(float));
  }
  return e;
}

Embeddings compose_word_vectors(const TrainingState& state, const std::vector<std::string>& words,
                                const PieceEncoder& encode) {
  Embeddings e;
  e.dim = state.dim();
  e.words = words;
  e.data.assign(words.size() * e.dim, 0.0f);
  std::vector<double> sum(e.dim);
  for (size_t w = 0; w < words.size(); ++w) {
    std::vector<uint32_t> ids = encode(words[w]);
    if (ids.empty()) throw input_error("", "", "the word " + quote_token(words[w]) + " encodes to no token");
    std::fill(sum.begin(), sum.end(), 0.0);
    for (uint32_t id : ids) {
      if (id >= state.vocab.size()) {
        throw internal_error("piece id " + std::to_string(id) + " of " + quote_token(words[w]) + " is outside the vocabulary of " +
                             std::to_string(state.vocab.size()));
      }
      const float* r = state.input.row(id);
      for (uint32_t d = 0; d < e.dim; ++d) sum[d] += r[d];
    }
    // The mean of the piece vectors (see export.h for why the mean).
    float* out = e.row(w);
    for (uint32_t d = 0; d < e.dim; ++d) out[d] = static_cast<float>(sum[d] / static_cast<double>(ids.size()));
  }
  return e;
}

std::vector<WordCount> count_text_words(const std::string& path, uint64_t min_count) {
  WordCountConfig config;
  config.rule = WordRule::pretokens;
  config.min_count = min_count;
  return count_words(path, config);
}

std::vector<WordCount> count_words_in_text(std::string_view text, uint64_t min_count) {
  WordCountConfig config;
  config.rule = WordRule::pretokens;
  config.min_count = min_count;
  return count_words_in_memory(text, config);
}

std::vector<std::string> read_word_list(const std::string& path) {
  std::string text = read_file(path);
  std::vector<std::string> words;
  std::unordered_map<std::string, size_t> seen;
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    while (!line.empty() && is_ascii_space(line.back())) line.remove_suffix(1);
    while (!line.empty() && is_ascii_space(line.front())) line.remove_prefix(1);
    if (line.empty()) continue;
    for (char c : line) {
      if (is_ascii_space(c)) throw input_error(input_name(path), at_line(line_no), "expected one word per line, got " + quote_token(line));
    }
    std::string w(line);
    if (seen.emplace(w, words.size()).second) words.push_back(std::move(w));
  }
  return words;
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
                            "store (a space ends a token); use --format npy");
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
                      "; give a file name, or use --format word2vec-text or word2vec-binary");
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

bool is_run_path(const std::string& path) { return find_run_target(path).has_value(); }

Run load_run(const std::string& path) {
  std::error_code ec;
  Run run;
  const RunTarget target = resolve_run_target(path);
  const fs::path dir = target.dir;
  RunState rs = load_run_state(target);
  run.state_path = std::move(rs.path);
  run.state = std::move(rs.state);
  run.note = std::move(rs.note);
  if (fs::exists(dir / "corpus.tkc", ec)) run.corpus_path = (dir / "corpus.tkc").string();
  run.tokenizer_kind = run.state.tokenizer_kind;
  nlohmann::json config = nlohmann::json::parse(run.state.config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_object()) {
    if (config.contains("min_count") && config["min_count"].is_number_unsigned()) run.min_count = config["min_count"].get<uint64_t>();
    run.input_path = path_from_json(config, "input");
    if (config.contains("lowercase") && config["lowercase"].is_boolean()) run.lowercase = config["lowercase"].get<bool>();
  }
  if (run.is_bpe()) {
    std::string tok = (dir / "tokenizer.bpe").string();
    if (!fs::exists(tok, ec)) throw input_error(run.state_path, "", "is a BPE run but " + tok + " is missing");
    auto model = std::make_shared<const BpeModel>(BpeModel::load(tok));
    if (model->checksum() != run.state.tokenizer_checksum) {
      throw input_error(tok, "", "checksum " + hex64(model->checksum()) + " does not match the run's tokenizer " + hex64(run.state.tokenizer_checksum));
    }
    run.encode = [model](std::string_view w) { return model->encode_word(w); };
    run.model = model;
  } else if (run.tokenizer_kind != "words") {
    throw input_error(run.state_path, "", "unknown tokenizer kind '" + run.tokenizer_kind + "' (expected bpe or words)");
  }
  return run;
}

std::vector<std::string> run_corpus_words(const Run& run, std::string* source) {
  if (!run.is_bpe()) {
    if (source) *source = "the vocabulary of " + run.state_path;
    return token_embeddings(run.state).words;
  }
  std::vector<std::string> words;
  std::error_code ec;
  if (!run.corpus_path.empty() && run.model) {
    const TokenCorpus corpus = TokenCorpus::open(run.corpus_path);
    if (corpus.tokenizer_kind() == "bpe" && corpus.tokenizer_checksum() == run.state.tokenizer_checksum) {
      // decode(encode(x)) is x normalised (whitespace runs made one space), which splits
      // into the same words as x.
      const CorpusView v = corpus.view();
      std::string text;
      uint64_t begin = 0;
      for (uint64_t end : v.line_ends) {
        text += run.model->decode(v.tokens.subspan(begin, end - begin));
        text.push_back('\n');
        begin = end;
      }
      for (WordCount& wc : count_words_in_text(text, run.min_count)) words.push_back(std::move(wc.word));
      if (source) *source = run.corpus_path;
      return words;
    }
  }
  if (!run.input_path.empty() && fs::is_regular_file(run.input_path, ec)) {
    for (WordCount& wc : count_text_words(run.input_path, run.min_count)) words.push_back(std::move(wc.word));
    if (source) *source = run.input_path;
    return words;
  }
  const std::string corpus = (fs::path(run.state_path).parent_path() / "corpus.tkc").string();
  throw io_error(run.state_path,
                 "a BPE run's word list comes from the text it trained on, and neither its corpus (" + corpus + ", of this tokenizer) nor " +
                     (run.input_path.empty() ? std::string("a recorded input text") : "its input " + run.input_path) +
                     " is there to take them from",
                 ENOENT);
}

Embeddings run_word_vectors(const Run& run, const std::vector<std::string>& words, size_t* missing) {
  if (missing) *missing = 0;
  if (run.is_bpe()) return compose_word_vectors(run.state, words, run.encode);
  std::unordered_map<std::string_view, uint32_t> index;
  for (uint32_t i = 0; i < run.state.vocab.size(); ++i) index.emplace(run.state.vocab[i], i);
  Embeddings e;
  e.dim = run.state.dim();
  std::vector<bool> given(run.state.vocab.size(), false);
  for (const std::string& w : words) {
    auto it = index.find(run.lowercase ? lowercase_utf8(w) : w);
    if (it == index.end()) {
      if (missing) ++*missing;
      continue;
    }
    if (given[it->second]) continue;  // "Sea" and "sea" in a lowercased run: one row
    given[it->second] = true;
    e.words.push_back(run.state.vocab[it->second]);
    const float* r = run.state.input.row(it->second);
    e.data.insert(e.data.end(), r, r + e.dim);
  }
  return e;
}

size_t drop_flagged(const Run& run, Embeddings& vectors, uint64_t min_updates, bool composed) {
  const TrainingState& state = run.state;
  std::unordered_map<std::string_view, uint32_t> index;
  if (!composed) {
    for (uint32_t i = 0; i < state.vocab.size(); ++i) index.emplace(state.vocab[i], i);
  }
  auto flagged = [&](const std::string& entry) {
    if (composed) {
      for (uint32_t id : run.encode(entry)) {
        if (id < state.vocab.size() && state.input_updates[id] < min_updates) return true;
      }
      return false;
    }
    auto it = index.find(entry);
    return it != index.end() && state.input_updates[it->second] < min_updates;
  };
  Embeddings kept;
  kept.dim = vectors.dim;
  for (size_t i = 0; i < vectors.size(); ++i) {
    if (flagged(vectors.words[i])) continue;
    kept.words.push_back(std::move(vectors.words[i]));
    kept.data.insert(kept.data.end(), vectors.row(i), vectors.row(i) + vectors.dim);
  }
  const size_t dropped = vectors.size() - kept.size();
  vectors = std::move(kept);
  return dropped;
}

}  // namespace tokvec
