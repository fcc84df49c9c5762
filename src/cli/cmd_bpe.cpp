// STUB: to be replaced by the owner of these commands.
#include "commands.h"
#include "tokvec/status.h"
namespace tokvec::cli {
int cmd_bpe_train(int, char**) { throw internal_error("bpe_train: not implemented yet"); }
int cmd_encode(int, char**) { throw internal_error("encode: not implemented yet"); }
int cmd_decode(int, char**) { throw internal_error("decode: not implemented yet"); }
}  // namespace tokvec::cli
