// tokvec bpe-train / encode / decode: the command-line layer over tokvec/bpe.h.
//
// Quick text-in/text-out checks (no files written):
//   tokvec encode --model M --print pieces [--input FILE]   one line of pieces per line
//   tokvec encode --model M --print ids    [--input FILE]   one line of ids per line
//   tokvec decode --model M --ids          [--input FILE]   lines of ids back to text
// (stdin when --input is not given; output to stdout).
#include <charconv>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "tokvec/bpe.h"
#include "base/config.h"
#include "tokvec/corpus.h"
#include "base/io.h"
#include "text/text.h"
#include "tokvec/status.h"

namespace tokvec::cli {

namespace {

/// A strict decimal integer option in [lo, hi], with a message that names the option.
int64_t parse_integer(const std::string& option, const std::string& text, int64_t lo, int64_t hi) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    throw usage_error("--" + option + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + text + "'");
  }
  check_range("--" + option, value, lo, hi);
  return value;
}

/// Fails early (before hours of work) when the output's folder is missing.
void check_output_folder(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec)) throw io_error(path, "the output folder " + parent.string() + " does not exist", 0);
  if (std::filesystem::is_directory(path, ec)) throw io_error(path, "is a folder, not a file", 0);
}

std::string read_input_or_stdin(const cxxopts::ParseResult& r) {
  if (r.count("input") > 0) return read_file(r["input"].as<std::string>());
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return text;
}

/// Prints a library warning as "tokvec CMD: warning: ..." (warnings are not progress:
/// --quiet keeps them).
std::function<void(const std::string&)> print_warning(const char* command) {
  return [command](const std::string& w) { std::fprintf(stderr, "tokvec %s: warning: %s\n", command, w.c_str()); };
}

void write_stdout(std::string_view s) {
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size()) throw io_error("<stdout>", "write failed", errno);
}

}  // namespace

int cmd_bpe_train(int argc, char** argv) {
  const BpeTrainConfig defaults;
  cxxopts::Options options("tokvec bpe-train", "Train byte-pair-encoding merges on raw UTF-8 text.");
  options.add_options()
      ("input", "Text file(s) to learn from ('-' for stdin; repeat or comma-separate)", cxxopts::value<std::vector<std::string>>())
      ("vocab-size", "Vocabulary size, in [" + std::to_string(kBpeFixedAlphabet) + ", " + std::to_string(kBpeMaxVocab) + "]",
       cxxopts::value<std::string>()->default_value(std::to_string(defaults.vocab_size)))
      ("output", "Model file to write", cxxopts::value<std::string>())
      ("threads", "Threads (0 = all cores)", cxxopts::value<std::string>()->default_value(std::to_string(defaults.threads)))
      ("min-frequency", "A pair seen fewer times is never merged",
       cxxopts::value<std::string>()->default_value(std::to_string(defaults.min_frequency)))
      ("allow-binary", "Train on text that does not look like UTF-8 (UTF-16, Latin-1, binary) instead of refusing it")
      ("quiet", "No progress output", cxxopts::value<bool>()->default_value(defaults.quiet ? "true" : "false"));
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& r = *parsed;
  require(r, "input");
  require(r, "output");
  BpeTrainConfig config;
  config.allow_binary = r.count("allow-binary") > 0;
  config.on_warning = print_warning("bpe-train");
  config.inputs = r["input"].as<std::vector<std::string>>();
  config.vocab_size = static_cast<uint32_t>(parse_integer("vocab-size", r["vocab-size"].as<std::string>(), kBpeFixedAlphabet, kBpeMaxVocab));
  config.min_frequency = static_cast<uint64_t>(parse_integer("min-frequency", r["min-frequency"].as<std::string>(), 1, int64_t{1} << 40));
  config.threads = static_cast<int>(parse_integer("threads", r["threads"].as<std::string>(), 0, kMaxThreads));
  config.quiet = r["quiet"].as<bool>();
  config.validate();
  for (const std::string& in : config.inputs) check_readable_input(in);
  const std::string output = r["output"].as<std::string>();
  check_output_folder(output);
  check_output_is_safe("--output", output, config.inputs);
  AtomicFileWriter writer(output);  // the temp file is removed if training (or a signal) stops it
  BpeModel model = [&] {
    try {
      return train_bpe(config);
    } catch (const VocabularyTooLarge& e) {
      throw Error(e.kind(), e.message("--vocab-size", "--min-frequency"));
    }
  }();
  writer.write(model.serialize());
  writer.commit();
  if (!config.quiet) std::fprintf(stderr, "wrote %s: %u tokens, %zu merges, checksum %s\n", output.c_str(), model.vocab_size(), model.merges().size(), hex64(model.checksum()).c_str());
  return 0;
}

int cmd_encode(int argc, char** argv) {
  const EncodeOptions defaults;
  cxxopts::Options options("tokvec encode", "Encode text into a binary token corpus (or print pieces/ids).");
  options.add_options()
      ("model", "BPE model file", cxxopts::value<std::string>())
      ("input", "Text file to encode ('-' for stdin, which --print reads when --input is absent)", cxxopts::value<std::string>())
      ("output", "Token corpus file to write", cxxopts::value<std::string>())
      ("threads", "Threads (0 = all cores)", cxxopts::value<std::string>()->default_value(std::to_string(defaults.threads)))
      ("print", "Print each line's tokens to stdout instead: 'pieces' or 'ids'", cxxopts::value<std::string>())
      ("allow-binary", "Encode text that does not look like UTF-8 (UTF-16, Latin-1, binary) instead of refusing it")
      ("quiet", "No progress output", cxxopts::value<bool>()->default_value("false"));
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& r = *parsed;
  require(r, "model");
  if (r.count("print") > 0) {
    const std::string mode = r["print"].as<std::string>();
    if (mode != "pieces" && mode != "ids") throw usage_error("--print must be 'pieces' or 'ids', got '" + mode + "'");
    if (r.count("output") > 0) throw usage_error("--print writes to stdout; drop --output");
    BpeModel model = BpeModel::load(r["model"].as<std::string>());
    std::string text = read_input_or_stdin(r);
    BpeEncoder encoder(model);
    std::vector<uint32_t> ids;
    std::string out;
    for_each_line(text, [&](std::string_view line) {
      ids.clear();
      encoder.encode_line(line, ids);
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) out.push_back(' ');
        if (mode == "ids") out += std::to_string(ids[i]);
        else out += model.piece(ids[i]);
      }
      out.push_back('\n');
    });
    write_stdout(out);
    return 0;
  }
  require(r, "input");
  require(r, "output");
  EncodeOptions eo;
  eo.threads = static_cast<int>(parse_integer("threads", r["threads"].as<std::string>(), 0, kMaxThreads));
  eo.quiet = r["quiet"].as<bool>();
  eo.allow_binary = r.count("allow-binary") > 0;
  eo.on_warning = print_warning("encode");
  const std::string input = r["input"].as<std::string>();
  const std::string output = r["output"].as<std::string>();
  check_readable_input(input);
  check_output_folder(output);
  check_output_is_safe("--output", output, {input, r["model"].as<std::string>()});
  BpeModel model = BpeModel::load(r["model"].as<std::string>());
  // Straight to the file as the blocks are encoded: the ids are never all in memory.
  CorpusFileWriter writer(output, TokenizerKind::bpe, model.checksum(), input, corpus_vocab(model));
  const uint64_t tokens = encode_file(model, input, eo, writer);
  writer.commit();
  if (!eo.quiet) {
    std::fprintf(stderr, "wrote %s: %llu tokens in %llu lines\n", output.c_str(), static_cast<unsigned long long>(tokens),
                 static_cast<unsigned long long>(writer.lines_written()));
  }
  return 0;
}

int cmd_decode(int argc, char** argv) {
  cxxopts::Options options("tokvec decode", "Decode a token corpus (or lines of ids) back to text.");
  options.add_options()
      ("model", "BPE model file", cxxopts::value<std::string>())
      ("input", "Token corpus (or, with --ids, a text file of ids; stdin if absent)", cxxopts::value<std::string>())
      ("output", "Text file to write (default: stdout)", cxxopts::value<std::string>())
      ("ids", "Read lines of whitespace-separated token ids instead of a corpus", cxxopts::value<bool>()->default_value("false"));
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& r = *parsed;
  require(r, "model");
  const std::string model_path = r["model"].as<std::string>();
  std::string output = r.count("output") > 0 ? r["output"].as<std::string>() : std::string();
  if (!output.empty()) {
    check_output_folder(output);
    check_output_is_safe("--output", output, {model_path, r.count("input") > 0 ? r["input"].as<std::string>() : std::string()});
  }
  std::string text;
  if (r["ids"].as<bool>()) {
    BpeModel model = BpeModel::load(model_path);
    const std::string source = r.count("input") > 0 ? input_name(r["input"].as<std::string>()) : "<stdin>";
    std::string in = read_input_or_stdin(r);
    size_t line_no = 0;
    std::vector<uint32_t> ids;
    for_each_line(in, [&](std::string_view line) {
      ++line_no;
      ids.clear();
      size_t i = 0;
      while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        if (j == i) break;
        uint32_t id = 0;
        auto [ptr, ec] = std::from_chars(line.data() + i, line.data() + j, id);
        if (ec != std::errc() || ptr != line.data() + j || id >= model.vocab_size()) {
          throw input_error(source, "line " + std::to_string(line_no), "'" + std::string(line.substr(i, j - i)) + "' is not a token id below " + std::to_string(model.vocab_size()));
        }
        ids.push_back(id);
        i = j;
      }
      text += model.decode(ids);
      text.push_back('\n');
    });
  } else {
    require(r, "input");
    const std::string input = r["input"].as<std::string>();
    BpeModel model = BpeModel::load(model_path);
    TokenCorpus corpus = TokenCorpus::open(input);
    if (corpus.tokenizer_kind() != TokenizerKind::bpe || corpus.tokenizer_checksum() != model.checksum()) {
      throw input_error(input, "", "was encoded with tokenizer " + std::string(tokenizer_kind_name(corpus.tokenizer_kind())) + " " + hex64(corpus.tokenizer_checksum()) +
                                       ", not with " + model_path + " (bpe " + hex64(model.checksum()) + ")");
    }
    // Streamed line by line: memory stays one line of text, however large the corpus.
    std::unique_ptr<AtomicFileWriter> writer;
    if (!output.empty()) writer = std::make_unique<AtomicFileWriter>(output);
    CorpusView v = corpus.view();
    uint64_t begin = 0;
    for (uint64_t end : v.line_ends) {
      std::string line = model.decode(v.tokens.subspan(begin, end - begin));
      line.push_back('\n');
      if (writer) writer->write(line);
      else write_stdout(line);
      begin = end;
    }
    if (writer) writer->commit();
    return 0;
  }
  if (output.empty()) {
    write_stdout(text);
  } else {
    write_file_atomically(output, text);
  }
  return 0;
}

}  // namespace tokvec::cli
