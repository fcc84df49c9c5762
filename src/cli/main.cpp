// tokvec: the command-line entry point. The only place that exits.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli_common.h"
#include "commands.h"
#include "base/config.h"
#include "base/interrupt.h"
#include "tokvec/simd.h"
#include "tokvec/status.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"bpe-train", tokvec::cli::cmd_bpe_train, "train a BPE tokenizer on raw UTF-8 text"},
    {"encode", tokvec::cli::cmd_encode, "encode text into a binary token corpus"},
    {"decode", tokvec::cli::cmd_decode, "decode a token corpus (or text) back to text"},
    {"train", tokvec::cli::cmd_train, "train skip-gram embeddings (text -> tokenizer -> corpus -> vectors)"},
    {"export", tokvec::cli::cmd_export, "export vectors (word2vec text/binary, .npy)"},
    {"vectors", tokvec::cli::cmd_vectors, "print the vector of each word given or read from stdin"},
    {"neighbors", tokvec::cli::cmd_neighbors, "nearest neighbours of words by cosine similarity (or of words read from stdin)"},
    {"eval", tokvec::cli::cmd_eval, "analogy accuracy and word-similarity correlation"},
    {"audit", tokvec::cli::cmd_audit, "list rare, under-trained rows (CSV, JSON, SVG plot)"},
    {"inspect", tokvec::cli::cmd_inspect, "describe a tokenizer model, token corpus or training state"},
};

void print_usage(FILE* out) {
  std::fprintf(out, "tokvec: token embeddings trained from scratch on a CPU\n\nusage: tokvec <command> [options]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`tokvec <command> --help` lists a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  // Library messages name settings and the way to resume: here, by flags and commands.
  tokvec::set_front_end_names({[](std::string_view field) { return tokvec::cli::flag_name(field); },
                               [](std::string_view dir) { return "tokvec train --resume " + std::string(dir); }});
  const char* name = argv[1];
  if (std::strcmp(name, "-h") == 0 || std::strcmp(name, "--help") == 0 || std::strcmp(name, "help") == 0) {
    print_usage(stdout);
    return 0;
  }
  if (std::strcmp(name, "--version") == 0) {
    try {
      const std::string simd = tokvec::simd::describe();
      std::printf("tokvec 0.1.0\n%s\n", simd.c_str());
    } catch (const std::exception&) {
      return tokvec::report_current_exception("--version");
    }
    return 0;
  }
  for (const Command& c : kCommands) {
    if (std::strcmp(name, c.name) != 0) continue;
    // Ctrl-C or SIGTERM anywhere: temporaries removed, one line on what was kept, 130/143.
    tokvec::exit_cleanly_on_signal(name);
    try {
      // The kernels' instruction set is chosen (or TOKVEC_SIMD refused) before any work.
      tokvec::simd::active();
      const int status = c.run(argc - 1, argv + 1);
      // What went to stdout is still in its buffer: a full disk or a closed pipe shows only
      // now, and the exit status must say so (else `tokvec inspect F > /full/disk` exits 0).
      if (std::fflush(stdout) != 0 || std::ferror(stdout)) throw tokvec::io_error("<stdout>", "write failed", errno);
      return status;
    } catch (const tokvec::FieldError& e) {
      // A setting the library names by its field: shown as the flag that sets it.
      try {
        throw e.with_field_name(tokvec::cli::flag_name(e.field()));
      } catch (const std::exception&) {
        return tokvec::report_current_exception(name);
      }
    } catch (const std::exception&) {
      return tokvec::report_current_exception(name);
    }
  }
  std::vector<std::string> names;
  for (const Command& c : kCommands) names.push_back(c.name);
  const std::string hint = tokvec::cli::closest(name, names);
  std::fprintf(stderr, "tokvec: error: unknown command '%s'%s (run `tokvec --help` for the list)\n", name,
               hint.empty() ? "" : ("; did you mean " + hint + "?").c_str());
  return 2;
}
