#include "tokvec/status.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

namespace tokvec {

int exit_code(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return 2;
    case ErrorKind::input: return 3;
    case ErrorKind::io: return 4;
    case ErrorKind::corrupt: return 5;
    case ErrorKind::interrupted: return 130;
    case ErrorKind::internal: return 70;
  }
  return 70;
}

namespace {
std::string place(std::string_view path, std::string_view where) {
  std::string out(path);
  if (!where.empty()) {
    out += ", ";
    out += where;
  }
  return out;
}
}  // namespace

ErrorReport describe_current_exception() noexcept {
  try {
    throw;
  } catch (const Error& e) {
    return {e.what(), exit_code(e.kind())};
  } catch (const std::bad_alloc&) {
    return {"out of memory", 4};
  } catch (const std::exception& e) {
    return {e.what(), 70};
  } catch (...) {
    return {"unknown error", 70};
  }
}

int report_current_exception(std::string_view command) noexcept {
  const ErrorReport e = describe_current_exception();
  std::fprintf(stderr, "tokvec %.*s: error: ", static_cast<int>(command.size()), command.data());
  // One line, whatever the message quotes (a file's bytes, a path): control bytes are
  // written as \xNN, so none can end the line early or drive the terminal.
  for (const char* p = e.message; *p != '\0'; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == 0x7f) {
      std::fprintf(stderr, "\\x%02x", c);
    } else {
      std::fputc(c, stderr);
    }
  }
  std::fputc('\n', stderr);
  return e.exit_code;
}

Error usage_error(std::string_view message) { return Error(ErrorKind::usage, std::string(message)); }

Error input_error(std::string_view path, std::string_view where, std::string_view message) {
  return Error(ErrorKind::input, place(path, where) + ": " + std::string(message));
}

Error io_error(std::string_view path, std::string_view what, int errno_value) {
  std::string message = std::string(path) + ": " + std::string(what);
  if (errno_value != 0) {
    message += ": ";
    message += std::strerror(errno_value);
  }
  return Error(ErrorKind::io, message);
}

Error corrupt_error(std::string_view path, std::string_view where, std::string_view message) {
  return Error(ErrorKind::corrupt, place(path, where) + ": " + std::string(message));
}

Error internal_error(std::string_view message) {
  return Error(ErrorKind::internal, "internal error: " + std::string(message));
}

}  // namespace tokvec
