// The fuzzing entry points: one function per reader of outside bytes, shared by the
// libFuzzer targets (tests/fuzz/targets/, built with clang under TOKVEC_FUZZ) and by the
// regression test (tests/fuzz_regression_test.cpp, built with the normal suite), so a crash
// input found by the fuzzer is replayed through exactly the code that found it.
//
// Contract checked on every input: the library either succeeds or throws tokvec::Error of
// a kind other than `internal` (an internal error is tokvec's own broken invariant, never
// the right answer to bad bytes). Anything else escaping (std::bad_alloc, std::out_of_range,
// a json exception...) and every FuzzFinding is a bug: the fuzz target lets it escape, so
// libFuzzer reports a crash, and the regression test fails. ASan/UBSan catch the rest.
//
// Checksums. Every tokvec file carries XXH3 checksums, which a mutating fuzzer almost never
// gets right, so it would only ever test the checksum check. Each loader therefore runs
// twice: on the bytes as given (the checksum paths), and on a copy whose checksums are
// recomputed (fix_section_checksums / fix_bpe_checksum), which reaches the parsers and
// validators behind them, as a deliberately crafted file would.
//
// Most loaders take a path (they map the file, as sections.h needs its 64-byte alignment);
// the input is written to a file in a private temp folder (on /dev/shm when there is one),
// which keeps the code under test exactly the code users run.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"
#include "tokvec/eval.h"
#include "tokvec/export.h"
#include "base/io.h"
#include "tokvec/status.h"
#include "text/text.h"
#include "tokvec/trainer.h"

namespace tokvec::fuzz {

/// A broken property: lets the fuzzer report the input as a crash.
struct FuzzFinding : std::logic_error {
  using std::logic_error::logic_error;
};

/// Takes a string_view so that the checks in hot loops build no std::string.
inline void require(bool ok, std::string_view what) {
  if (!ok) throw FuzzFinding(std::string(what));
}

/// A private folder for the files the loaders read, removed at exit.
class Scratch {
 public:
  static Scratch& get() {
    static Scratch s;
    return s;
  }
  /// Writes `bytes` to the file `name` in the folder and returns its path.
  std::string put(const std::string& name, std::string_view bytes) {
    std::string path = dir_ + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("fuzz scratch: cannot write " + path);
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
      std::fclose(f);
      throw std::runtime_error("fuzz scratch: short write to " + path);
    }
    std::fclose(f);
    return path;
  }
  const std::string& dir() const { return dir_; }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  Scratch() {
    std::error_code ec;
    std::string base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : std::filesystem::temp_directory_path().string();
    std::string templ = base + "/tokvec-fuzz-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("fuzz scratch: mkdtemp failed in " + base);
    dir_ = templ;
  }
  std::string dir_;
};

/// Runs `f`; a tokvec::Error of a user-facing kind is the accepted answer to bad input and
/// must name the file it is about (`path`, when not empty). Returns whether `f` succeeded.
template <typename F>
bool accepts(F&& f, const std::string& path = {}) {
  try {
    f();
    return true;
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::internal) throw FuzzFinding(std::string("internal error on outside input: ") + e.what());
    if (!path.empty() && std::string_view(e.what()).find(path) == std::string_view::npos) {
      throw FuzzFinding("error does not name the file " + path + ": " + e.what());
    }
    return false;
  }
}

// ---- Checksum fix-ups ---------------------------------------------------------------------

inline uint64_t get_u64(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(s[at + i])} << (8 * i);
  return v;
}
inline void put_u64(std::string& s, size_t at, uint64_t v) {
  for (size_t i = 0; i < 8; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

/// Recomputes the checksums of a sectioned file (sections.h layout) wherever the table
/// entries point inside the file, then the header's. Returns false if nothing changed.
inline bool fix_section_checksums(std::string& b) {
  if (b.size() < 24) return false;
  const std::string before = b;
  uint64_t count = static_cast<uint8_t>(b[12]) | uint64_t{static_cast<uint8_t>(b[13])} << 8 |
                   uint64_t{static_cast<uint8_t>(b[14])} << 16 | uint64_t{static_cast<uint8_t>(b[15])} << 24;
  count = std::min<uint64_t>(count, (b.size() - 24) / 32);
  for (uint64_t i = 0; i < count; ++i) {
    size_t e = 24 + 32 * i;
    uint64_t off = get_u64(b, e + 8), len = get_u64(b, e + 16);
    if (off <= b.size() && len <= b.size() - off) put_u64(b, e + 24, checksum64(b.data() + off, len));
  }
  std::string covered = b.substr(0, 16) + b.substr(24, 32 * count);
  put_u64(b, 16, checksum64(covered));
  return b != before;
}

/// Rewrites the value of a BPE model's "checksum" line (the last line) to match the bytes
/// before it. Returns false if there is no such line or nothing changed.
inline bool fix_bpe_checksum(std::string& t) {
  if (t.size() < 2 || t.back() != '\n') return false;
  size_t start = t.rfind('\n', t.size() - 2);
  start = start == std::string::npos ? 0 : start + 1;
  if (t.compare(start, 9, "checksum ") != 0) return false;
  std::string fixed = t.substr(0, start) + "checksum " + hex64(checksum64(t.data(), start)) + "\n";
  if (fixed == t) return false;
  t = std::move(fixed);
  return true;
}

// ---- Shared fixtures ------------------------------------------------------------------------

/// Splits text into lines the way text.h defines them ('\n', "\r\n", lone '\r').
inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && text[j] != '\n' && text[j] != '\r') ++j;
    lines.push_back(text.substr(i, j - i));
    if (j < text.size() && text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n') ++j;
    i = j + 1;
  }
  return lines;
}

/// Trains a BPE model on `text` (written to the scratch folder) on one thread.
inline BpeModel train_small_model(std::string_view text, uint32_t vocab, uint64_t min_frequency) {
  BpeTrainConfig c;
  c.inputs = {Scratch::get().put("train.txt", text)};
  c.vocab_size = vocab;
  c.min_frequency = min_frequency;
  c.threads = 1;
  c.quiet = true;
  c.block_bytes = 4096;
  c.allow_binary = true;  // any bytes: the UTF-8 check would refuse most fuzz inputs before the trainer
  return train_bpe(c);
}

/// The fixed model the text target encodes with: trained once on a few sentences of
/// English, French and German (so it has multi-byte characters and merges across them).
inline const BpeModel& fixed_model() {
  static const BpeModel model = train_small_model(
      "The quick brown fox jumps over the lazy dog. The dog doesn't mind; it's lazy.\n"
      "L'homme et la femme mangèrent des crêpes à Noël, déjà été.\n"
      "Über die Brücke gehen die Mädchen, größer und schöner.\n"
      "the the the then there these those other brother mother 1234 5678 1234\n"
      "ünter über fähig fähigkeit café café naïve résumé — “quoted” ‘single’\n",
      300, 2);
  return model;
}

/// A small fixed set of vectors for the evaluation readers: words of the classic analogy
/// and similarity files, in two cases, with deterministic values.
inline const Embeddings& fixed_embeddings() {
  static const Embeddings e = [] {
    Embeddings x;
    x.dim = 4;
    const char* words[] = {"the", "king", "queen", "man", "woman", "Athens", "Greece", "Baghdad", "Iraq", "Paris",
                           "France", "tiger", "cat", "love", "sex", "boy", "girl", "good", "better", "bad",
                           "worse", "Tokyo", "Japan", "money", "cash", "ÉTÉ", "été", "Über"};
    uint32_t state = 12345;
    for (const char* w : words) {
      x.words.emplace_back(w);
      for (uint32_t d = 0; d < x.dim; ++d) {
        state = state * 1664525u + 1013904223u;
        x.data.push_back(static_cast<float>(state >> 8) / 16777216.0f - 0.5f);
      }
    }
    x.data[0] = x.data[1] = x.data[2] = x.data[3] = 0.0f;  // a zero row
    return x;
  }();
  return e;
}

// ---- Entry points ---------------------------------------------------------------------------

/// Raw text into the pre-tokeniser, the normaliser and the BPE encoder (fixed model).
/// Properties: pre-tokens are non-empty, in order, at most kMaxPretokenChars characters and
/// never hold whitespace; the two encoders agree; decode(encode(line)) == normalise(line);
inline void fuzz_text(std::string_view data) {
  const BpeModel& model = fixed_model();
  // One encoder for the whole run, as a thread of encode_file keeps one for a whole file:
  // its cache of pre-tokens must give the same ids whatever came before.
  static BpeEncoder encoder(model);
  std::string norm = normalise(data);
  std::vector<std::string_view> lines = split_lines(data);
  std::vector<std::string_view> norm_lines = split_lines(norm);
  require(norm.empty() == data.empty() && (norm.empty() || norm.back() == '\n'), "normalise: text must end with a newline");
  require(norm_lines.size() == lines.size(), "normalise changed the number of lines");
  std::vector<uint32_t> a, b;
  for (size_t li = 0; li < lines.size(); ++li) {
    std::string_view line = lines[li];
    size_t last_end = 0;
    pretokenize(line, true, [&](std::string_view bytes, bool /*word_start*/, size_t offset) {
      require(!bytes.empty(), "empty pre-token");
      require(offset >= last_end && offset + bytes.size() <= line.size() && line.substr(offset, bytes.size()) == bytes,
              "pre-token is not the next piece of its line");
      last_end = offset + bytes.size();
      size_t chars = 0;
      for (size_t i = 0; i < bytes.size(); ++chars) {
        Utf8Char c = decode_utf8(bytes, i);
        require(c.length >= 1 && c.length <= 4 && i + c.length <= bytes.size(), "decode_utf8 length out of range");
        require(!(c.valid && is_white_space(c.code_point)), "pre-token holds whitespace");
        i += c.length;
      }
      require(chars <= kMaxPretokenChars, "pre-token longer than kMaxPretokenChars");
    });
    a.clear();
    b.clear();
    model.encode_line(line, a);
    encoder.encode_line(line, b);
    require(a == b, "BpeModel::encode_line and BpeEncoder::encode_line disagree");
    for (uint32_t id : a) require(id < model.vocab_size(), "encoder produced an id outside the vocabulary");
    require(model.decode(a) == norm_lines[li], "decode(encode(line)) != normalise(line)");
  }
  if (!lines.empty()) {
    // A block cut mid-line (the file encoder's case): no word-start flag at the cut.
    b.clear();
    encoder.encode_line(lines[0], b, /*at_word_start=*/false);
    for (uint32_t id : b) require(id < model.vocab_size(), "encoder produced an id outside the vocabulary");
  }
}

/// BPE training on the text itself (inputs up to 2 KiB: training sets up tables sized for
/// big files, which costs ~0.1 s a call under ASan), then the file encoder over it in 4 KiB
/// blocks. Properties: the encoded corpus decodes to normalise(text); the trained model
/// saves and loads back with its checksum.
inline void fuzz_bpe_train(std::string_view data) {
  if (data.size() > 2048) return;
  std::string norm = normalise(data);
  if (norm.find_first_not_of('\n') == std::string::npos) return;  // refused as empty
  BpeModel own;
  if (!accepts([&] { own = train_small_model(data, 270, 1); })) return;
  std::string path = Scratch::get().put("text.txt", data);
  EncodeOptions options;
  options.threads = 1;
  options.block_bytes = 4096;
  options.allow_binary = true;
  CorpusData c;
  if (!accepts([&] { c = encode_file(own, path, options); }, path)) return;
  std::string back;
  uint64_t begin = 0;
  for (uint64_t end : c.line_ends) {
    require(begin <= end && end <= c.tokens.size(), "line ends out of order");
    back += own.decode(std::span<const uint32_t>(c.tokens).subspan(begin, end - begin));
    back += '\n';
    begin = end;
  }
  require(back == norm, "encode_file then decode != normalise(text)");
  // The trained model must save and load back identically.
  std::string saved = own.serialize();
  std::string mpath = Scratch::get().put("own.bpe", saved);
  BpeModel again = BpeModel::load(mpath);
  require(again.checksum() == own.checksum(), "a trained model does not load back with its checksum");
}

/// Uses a loaded model: encode and decode text, pieces of every id.
inline void exercise_model(const BpeModel& m, std::string_view text) {
  for (uint32_t id = 0; id < m.vocab_size(); ++id) {
    (void)m.piece(id);
    (void)m.token_bytes(id);
  }
  std::vector<uint32_t> ids;
  for (std::string_view line : split_lines(text)) {
    ids.clear();
    m.encode_line(line, ids);
    require(m.decode(ids) == split_lines(normalise(line)).at(0), "loaded model: decode(encode(line)) != normalise(line)");
  }
  (void)m.encode_word("the");
  require(m.serialize().size() > 0, "empty serialisation");
}

/// The tokenizer model loader (BpeModel::load), as given and with its checksum line fixed.
inline void fuzz_bpe_model(std::string_view data) {
  std::string bytes(data);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1 && !fix_bpe_checksum(bytes)) break;
    std::string path = Scratch::get().put("model.bpe", bytes);
    BpeModel m;
    if (accepts([&] { m = BpeModel::load(path); }, path)) {
      // The loader reads the checksum's hex digits in either case and writes them in lower
      // case (a first run flagged "…B24c…"); every other byte must come back as it was.
      std::string canonical = bytes;
      for (size_t i = canonical.rfind("checksum "); i < canonical.size(); ++i) canonical[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(canonical[i])));
      require(m.serialize() == canonical, "a model that loads must serialise to the same bytes");
      exercise_model(m, "The brother's café, \xC3\xA9t\xC3\xA9 1234 \xFF\xFE the end\n  x  y\n");
    }
  }
}

/// The token corpus loader (TokenCorpus::open), as given and with checksums fixed.
inline void fuzz_corpus(std::string_view data) {
  std::string bytes(data);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1 && !fix_section_checksums(bytes)) break;
    std::string path = Scratch::get().put("corpus.tkc", bytes);
    accepts(
        [&] {
          TokenCorpus c = TokenCorpus::open(path);
          CorpusView v = c.view();
          require(v.counts.size() == c.vocab().size(), "counts and vocabulary differ in size");
          uint64_t sum = 0;
          for (uint64_t n : v.counts) sum += n;
          require(sum == v.tokens.size(), "counts do not add up to the token count");
          for (uint32_t id : v.tokens) require(id < c.vocab().size(), "token id outside the vocabulary");
          uint64_t prev = 0;
          for (uint64_t e : v.line_ends) {
            require(e >= prev && e <= v.tokens.size(), "line ends out of order");
            prev = e;
          }
          (void)c.describe();
        },
        path);
  }
}

/// What `train --resume` does with a checkpoint once it matches the run (cmd_train's
/// check_checkpoint_matches): continue training from its cursor. The corpus is made up to
/// the checkpoint's length (ids cycling over its vocabulary); only small states are tried
/// (at most 8 threads in the cursor, 20,000 tokens, 64 dimensions), and training pauses at
/// once (TrainPause at the checkpoint's own progress), so what runs is the cursor decoding
/// and the restart, not hours of training.
inline void resume_from(const std::string& path) {
  TrainingState s = load_state(path);
  if (s.cursor.size() < 8) return;
  uint32_t cursor_threads = 0;
  std::memcpy(&cursor_threads, s.cursor.data() + 4, 4);
  nlohmann::json j = nlohmann::json::parse(s.config_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return;
  TrainConfig cfg;
  if (!accepts([&] { cfg = TrainConfig::from_json(j); })) return;
  cfg.quiet = true;
  cfg.threads = 1;
  if (cursor_threads > 8 || cfg.epochs == 0 || s.tokens_total % cfg.epochs != 0 || s.dim() != cfg.dim || cfg.dim > 64) return;
  const uint64_t n = s.tokens_total / cfg.epochs;
  if (n == 0 || n > 20000 || s.vocab_size() > 20000) return;
  CorpusData c;
  c.vocab = s.vocab;
  for (uint64_t i = 0; i < n; ++i) c.tokens.push_back(static_cast<uint32_t>(i % s.vocab_size()));
  c.line_ends = {n};
  c.recount();
  // The made-up corpus must suit the config (else its errors, naming "corpus", are ours).
  if (!accepts([&] { cfg.validate(c.view(), "corpus"); })) return;
  // As train --resume does (cmd_train's check_checkpoint_matches), then continue.
  if (!accepts([&] { check_cursor(s, c.view(), cfg, path); }, path)) return;
  TrainPause pause;
  pause.at_tokens = s.tokens_done;
  accepts([&] { train(c.view(), cfg, s, pause); }, path);
}

/// The training-state loader (load_state, describe_state, load_run), what export does with
/// a loaded state and what --resume does with a checkpoint, as given and with checksums fixed.
inline void fuzz_state(std::string_view data) {
  std::string bytes(data);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1 && !fix_section_checksums(bytes)) break;
    std::string path = Scratch::get().put("state.tkv", bytes);
    bool loaded = accepts(
        [&] {
          TrainingState s = load_state(path);
          require(s.frequencies.size() == s.vocab.size() && s.input.rows() == s.vocab.size() &&
                      s.output.rows() == s.vocab.size() && s.input_updates.size() == s.vocab.size(),
                  "loaded state with inconsistent sizes");
          Embeddings e = token_embeddings(s);
          require(e.size() == s.vocab.size() && e.data.size() == e.size() * e.dim, "token_embeddings size");
          Embeddings o = token_embeddings(s, MatrixChoice::output);
          (void)o;
        },
        path);
    accepts([&] { (void)describe_state(path); }, path);
    if (loaded) resume_from(path);
    if (loaded) {
      // load_run also reads the state's config JSON; a "bpe" state finds no tokenizer here.
      accepts([&] {
        Run run = load_run(path);
        size_t missing = 0;
        if (!run.is_bpe()) (void)run_word_vectors(run, {"the", "king", "x"}, &missing);
      });
    }
  }
}

/// The word-list reader (export --words), the training-text word counter (--corpus-words)
/// and the evaluation-file readers (analogies, word pairs, evaluation_words), all over the
/// same bytes.
inline void fuzz_wordlists(std::string_view data) {
  std::string path = Scratch::get().put("words.txt", data);
  accepts(
      [&] {
        std::vector<std::string> words = read_word_list(path);
        for (const std::string& w : words) {
          require(!w.empty(), "read_word_list returned an empty word");
          for (char ch : w) require(ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r', "read_word_list word holds whitespace");
        }
      },
      path);
  accepts(
      [&] {
        // --corpus-words' reader of the training text: the tokenizer's pre-tokens that are
        // runs of letters or digits, so no word carries punctuation or whitespace.
        uint64_t pieces = 0;
        pretokenize(data, true, [&](std::string_view piece, bool, size_t) {
          uint32_t len;
          const CharClass cls = detail::char_at(piece, 0, len);
          pieces += cls == CharClass::letter || cls == CharClass::mark || cls == CharClass::digit;
        });
        uint64_t counted = 0;
        for (const WordCount& wc : count_text_words(path, 1)) {
          counted += wc.count;
          for (char ch : wc.word) require(std::strchr(" \t\n\r.,;:!?\"()", ch) == nullptr || ch == '\0', "count_text_words word holds punctuation");
        }
        require(counted == pieces, "count_text_words does not count every letter or digit pre-token once");
      },
      path);
  const Embeddings& e = fixed_embeddings();
  accepts(
      [&] {
        AnalogyResult r = evaluate_analogies(e, path, 20, 1);
        require(r.answered <= r.questions && r.correct <= r.answered, "analogy counts inconsistent");
        require(r.accuracy() >= 0.0 && r.accuracy() <= 100.0, "analogy accuracy outside [0, 100]");
      },
      path);
  accepts(
      [&] {
        PairsResult p = evaluate_pairs(e, path);
        require(p.used <= p.pairs, "pairs counts inconsistent");
        require(std::isnan(p.spearman) || (p.spearman >= -1.0000001 && p.spearman <= 1.0000001), "spearman outside [-1, 1]");
      },
      path);
  accepts([&] { (void)evaluation_words(path, {path}); }, path);
}

/// The vector-file readers (word2vec text and binary, .npy + vocabulary, read_vectors'
/// format sniffing). For .npy the input is cut at the first "\nTKVVOCAB\n": before it the
/// .npy, after it the vocabulary file (empty when absent).
inline void fuzz_vectors(std::string_view data) {
  std::string vec = Scratch::get().put("vectors.txt", data);
  accepts([&] { (void)read_word2vec_text(vec); }, vec);
  accepts([&] { (void)read_word2vec_binary(vec); }, vec);
  accepts([&] { (void)read_vectors(vec); }, vec);
  constexpr std::string_view kSplit = "\nTKVVOCAB\n";
  size_t cut = data.find(kSplit);
  std::string_view npy = cut == std::string_view::npos ? data : data.substr(0, cut);
  std::string_view vocab = cut == std::string_view::npos ? std::string_view() : data.substr(cut + kSplit.size());
  std::string npath = Scratch::get().put("vectors.npy", npy);
  Scratch::get().put("vectors.vocab.txt", vocab);
  accepts([&] {
    Embeddings e = read_npy(npath);
    require(e.data.size() == e.size() * e.dim, "read_npy: data and rows disagree");
  });
  accepts([&] { (void)read_vectors(npath); });
}

/// The run configuration (config.json: TrainConfig::from_json, validate) and the
/// --checkpoint-every parser, over the same bytes.
inline void fuzz_config(std::string_view data) {
  nlohmann::json j = nlohmann::json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    accepts([&] {
      TrainConfig c = TrainConfig::from_json(j);
      c.validate();
      TrainConfig again = TrainConfig::from_json(c.to_json());
      require(again.to_json() == c.to_json(), "TrainConfig does not round-trip through JSON");
    });
  }
  accepts([&] {
    CheckpointEvery e = CheckpointEvery::parse(data);
    require(e.enabled() == (e.seconds > 0.0 || e.tokens > 0), "CheckpointEvery enabled()");
    CheckpointEvery again = CheckpointEvery::parse(e.to_string());
    require(again.enabled() == e.enabled(), "CheckpointEvery does not round-trip through to_string");
  });
}

/// A paused words run, made once: its corpus (in memory) and the checkpoint train --resume
/// would continue from (the run's settings recorded in it, as cmd_train records them).
struct PausedRun {
  CorpusData corpus;
  TrainingState state;
  std::string checkpoint_path;
};

inline const PausedRun& paused_run() {
  static const PausedRun run = [] {
    PausedRun r;
    for (int i = 0; i < 40; ++i) r.corpus.vocab.push_back("w" + std::to_string(i));
    for (uint32_t i = 0; i < 6000; ++i) {
      r.corpus.tokens.push_back((i * 7 + i / 13) % 40);
      if (i % 12 == 11) r.corpus.line_ends.push_back(i + 1);
    }
    r.corpus.recount();
    r.corpus.tokenizer_kind = tokvec::TokenizerKind::words;
    r.corpus.tokenizer_checksum = 0x0123456789abcdefull;
    TrainConfig cfg;
    cfg.dim = 8;
    cfg.window = 3;
    cfg.epochs = 2;
    cfg.threads = 1;
    cfg.min_count = 1;
    cfg.quiet = true;
    nlohmann::json j = cfg.to_json();  // config.json as cmd_train writes it (tests/fuzz/resume/config.json)
    j["mode"] = "words";
    j["input"] = "/data/in.txt";
    j["corpus"] = nullptr;
    j["tokenizer"] = nullptr;
    j["bpe_vocab_size"] = nullptr;
    j["version"] = "0.1.0";
    j["tokenizer_kind"] = "words";
    j["tokenizer_checksum"] = hex64(r.corpus.tokenizer_checksum);
    j["threads_used"] = 1;
    j["processes"] = 1;
    r.state = initial_state(r.corpus.view(), r.corpus.vocab, tokvec::TokenizerKind::words, r.corpus.tokenizer_checksum, cfg);
    r.state.config_json = j.dump();
    TrainPause pause;
    pause.at_tokens = 5000;
    train(r.corpus.view(), cfg, r.state, pause);
    r.checkpoint_path = Scratch::get().dir() + "/checkpoint-000001.tkv";
    return r;
  }();
  return run;
}

/// train --resume with an edited config.json (the input): the checks cmd_train's
/// resume_run makes before it trains (run_config_from_json, resume_settings against the
/// checkpoint's record, check_config_matches_corpus), then, if config.json passed, a
/// stretch of training from the checkpoint with the settings that won. Properties: every
/// refusal names config.json; what passes trains exactly the checkpoint's settings.
inline void fuzz_resume(std::string_view data) {
  const PausedRun& run = paused_run();
  nlohmann::json j = nlohmann::json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return;
  const std::string config_file = Scratch::get().dir() + "/config.json";
  accepts([&] { (void)run_config_from_json(j, config_file); }, config_file);
  TrainConfig cfg;
  if (!accepts([&] { cfg = resume_settings(j, config_file, run.state.config_json, run.checkpoint_path); }, config_file)) return;
  const TrainConfig recorded = TrainConfig::from_json(nlohmann::json::parse(run.state.config_json));
  require(cfg.to_json() == recorded.to_json(), "resume_settings returned other settings than the checkpoint's");
  if (!accepts([&] { check_config_matches_corpus(j, config_file, "corpus.tkc", tokvec::TokenizerKind::words, run.corpus.tokenizer_checksum); },
               config_file)) {
    return;
  }
  TrainingState s = run.state;
  TrainPause pause;
  pause.at_tokens = s.tokens_done + 500;
  cfg.quiet = true;
  accepts([&] { train(run.corpus.view(), cfg, s, pause); });
  require(s.tokens_done > run.state.tokens_done, "the resumed run trained nothing");
}

struct Target {
  const char* name;
  void (*run)(std::string_view);
};

/// Every target, by the name of its folder under tests/fuzz/.
inline constexpr Target kTargets[] = {
    {"text", fuzz_text},           {"bpe_train", fuzz_bpe_train}, {"bpe_model", fuzz_bpe_model}, {"corpus", fuzz_corpus}, {"state", fuzz_state},
    {"wordlists", fuzz_wordlists}, {"vectors", fuzz_vectors},     {"config", fuzz_config},     {"resume", fuzz_resume},
};

}  // namespace tokvec::fuzz
