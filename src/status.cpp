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

int report_current_exception(std::string_view command) noexcept {
  const int name_len = static_cast<int>(command.size());
  try {
    throw;
  } catch (const Error& e) {
    std::fprintf(stderr, "tokvec %.*s: error: %s\n", name_len, command.data(), e.what());
    return exit_code(e.kind());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tokvec %.*s: error: out of memory\n", name_len, command.data());
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokvec %.*s: error: %s\n", name_len, command.data(), e.what());
    return 70;
  } catch (...) {
    std::fprintf(stderr, "tokvec %.*s: error: unknown error\n", name_len, command.data());
    return 70;
  }
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
