// STUB: to be replaced by the owner of these commands.
#include "commands.h"
#include "tokvec/status.h"
namespace tokvec::cli {
int cmd_train(int, char**) { throw internal_error("train: not implemented yet"); }
}  // namespace tokvec::cli
