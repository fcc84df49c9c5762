// The subcommands of the tokvec CLI. Each takes (argc, argv) with argv[0] the subcommand
// name, returns the process exit code and throws tokvec::Error for failures; main() prints
// the error on one line and maps it to an exit code.
#pragma once

namespace tokvec::cli {

int cmd_bpe_train(int argc, char** argv);  // src/cli/cmd_bpe.cpp
int cmd_encode(int argc, char** argv);     // src/cli/cmd_bpe.cpp
int cmd_decode(int argc, char** argv);     // src/cli/cmd_bpe.cpp
int cmd_train(int argc, char** argv);      // src/cli/cmd_train.cpp
int cmd_export(int argc, char** argv);     // src/cli/cmd_export.cpp
int cmd_neighbors(int argc, char** argv);  // src/cli/cmd_export.cpp
int cmd_eval(int argc, char** argv);       // src/cli/cmd_export.cpp
int cmd_vectors(int argc, char** argv);    // src/cli/cmd_export.cpp
int cmd_inspect(int argc, char** argv);    // src/cli/cmd_inspect.cpp
int cmd_audit(int argc, char** argv);      // src/cli/cmd_audit.cpp

}  // namespace tokvec::cli
