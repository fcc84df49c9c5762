// STUB: to be replaced by the owner of these commands.
#include "commands.h"
#include "tokvec/status.h"
namespace tokvec::cli {
int cmd_export(int, char**) { throw internal_error("export: not implemented yet"); }
int cmd_neighbors(int, char**) { throw internal_error("neighbors: not implemented yet"); }
int cmd_eval(int, char**) { throw internal_error("eval: not implemented yet"); }
}  // namespace tokvec::cli
