// Errors raised by the tokvec library.
//
// Only main() exits. Library code throws tokvec::Error, whose message already names the
// file and the place (line, byte offset, section) and says what was expected, so the CLI
// can print it on one line and map its kind to an exit code.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tokvec {

/// What went wrong, coarsely; each kind has its own process exit code (see exit_code()).
enum class ErrorKind {
  usage,        ///< bad option or argument value
  input,        ///< the user's input cannot be used (empty corpus, invalid value in a file)
  io,           ///< the operating system refused a read or write (missing file, full disk)
  corrupt,      ///< a tokvec file is truncated, altered or of another version
  interrupted,  ///< the user stopped the work (SIGINT/SIGTERM)
  internal,     ///< a bug: an invariant tokvec itself should have kept
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// Process exit code for an error kind: usage 2, input 3, io 4, corrupt 5, interrupted 130,
/// internal 70. (1 is left to "generic failure" of wrappers.)
int exit_code(ErrorKind kind) noexcept;

/// The exception being handled, as users are told of it: its message and the exit code
/// (an Error: its kind's; std::bad_alloc: "out of memory", 4; any other: 70). Call inside a
/// catch block; `message` points into the exception object (or a literal) and stays valid
/// while that block runs. Allocates nothing, so it also works when memory ran out.
struct ErrorReport {
  const char* message;
  int exit_code;
};
ErrorReport describe_current_exception() noexcept;

/// For a command's top level, inside a catch block for std::exception: prints the exception
/// being handled (describe_current_exception) as the one line "tokvec COMMAND: error:
/// MESSAGE" on stderr and returns its exit code.
int report_current_exception(std::string_view command) noexcept;

/// An error about one setting, named by its field (`dim`, `output`, ...), not by a
/// command-line flag: what() is "FIELD DETAIL". A front end that spells its settings
/// otherwise rewrites the name (the CLI: `--dim`) with with_field_name().
class FieldError : public Error {
 public:
  FieldError(ErrorKind kind, std::string field, const std::string& detail)
      : Error(kind, field + " " + detail), field_(std::move(field)), detail_(detail) {}
  const std::string& field() const noexcept { return field_; }
  const std::string& detail() const noexcept { return detail_; }
  /// The same error with the setting called `name`.
  Error with_field_name(std::string_view name) const { return Error(kind(), std::string(name) + " " + detail_); }

 private:
  std::string field_;
  std::string detail_;
};

/// A bad option or argument, e.g. usage_error("--vocab-size must be >= 258, got 7").
Error usage_error(std::string_view message);
/// Unusable input in `path`; `where` is a place such as "line 3" or "byte 1024" (may be empty).
Error input_error(std::string_view path, std::string_view where, std::string_view message);
/// A failed system call on `path`; appends strerror(errno_value) when errno_value != 0.
Error io_error(std::string_view path, std::string_view what, int errno_value);
/// A tokvec file that fails validation: `where` names the section or byte offset.
Error corrupt_error(std::string_view path, std::string_view where, std::string_view message);
/// A broken invariant inside tokvec.
Error internal_error(std::string_view message);

}  // namespace tokvec
