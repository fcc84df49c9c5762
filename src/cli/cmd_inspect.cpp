// tokvec inspect FILE: says what a tokenizer model, token corpus or training state holds,
// and whether its checksums are intact.
#include <cstdio>
#include <fstream>

#include "cli_common.h"
#include "commands.h"
#include "tokvec/bpe.h"
#include "tokvec/checkpoint.h"
#include "tokvec/corpus.h"
#include "base/io.h"
#include "base/sniff.h"
#include "tokvec/status.h"

namespace tokvec::cli {

namespace {

/// The first 8 bytes of a file (fewer if it is shorter).
std::string file_magic(const std::string& path) {
  check_readable_file(path);
  // Every kind of file inspect describes is read whole or mapped: a pipe or a device
  // (/dev/zero) would be read without end, and a FIFO's open() waits for a writer.
  if (is_stream_input(path)) {
    throw io_error(path, "is a pipe or a device, not a regular file: inspect describes tokenizer, corpus and state files (save it to a file first)", 0);
  }
  std::ifstream in(path, std::ios::binary);
  char buf[8] = {};
  in.read(buf, sizeof buf);
  return std::string(buf, static_cast<size_t>(in.gcount()));
}

}  // namespace

int cmd_inspect(int argc, char** argv) {
  cxxopts::Options options("tokvec inspect", "Describe a tokenizer model, token corpus or training state.");
  options.add_options()("file", "File to describe", cxxopts::value<std::string>());
  options.parse_positional({"file"});
  options.positional_help("FILE");
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  require(*parsed, "file");
  std::string path = (*parsed)["file"].as<std::string>();
  std::string magic = file_magic(path);
  std::vector<std::string> lines;
  if (magic == std::string_view(kCorpusMagic, 8)) {
    lines = TokenCorpus::open(path).describe();
  } else if (magic == std::string_view(kStateMagic, 8)) {
    lines = describe_state(path);
  } else {
    if (magic != std::string(kBpeMagic).substr(0, 8)) {
      throw_wrong_kind(path, "header", "a tokvec file (a BPE model, a token corpus or a training state)");
    }
    BpeModel model = BpeModel::load(path);  // throws a clear error if it is not a model either
    lines.push_back("BPE tokenizer model");
    lines.push_back("vocabulary: " + std::to_string(model.vocab_size()) + " tokens");
    lines.push_back("checksum: " + hex64(model.checksum()) + " OK");
  }
  std::printf("%s\n", path.c_str());
  for (const std::string& l : lines) std::printf("  %s\n", l.c_str());
  return 0;
}

}  // namespace tokvec::cli
