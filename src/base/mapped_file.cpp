// Memory-mapped files: MappedFile (with the SIGBUS guard for files cut short under a
// mapping) and the page advice helpers.
#include "base/io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstdio>

#include "base/interrupt.h"
#include "tokvec/status.h"

namespace tokvec {

size_t page_bytes() noexcept {
  static const size_t bytes = [] {
    long v = ::sysconf(_SC_PAGESIZE);
    return v > 0 ? static_cast<size_t>(v) : size_t{4096};
  }();
  return bytes;
}

namespace {
/// [begin, end) shrunk to whole pages; false if no whole page lies inside.
bool whole_pages(const void* begin, const void* end, uintptr_t& lo, uintptr_t& hi) noexcept {
  const uintptr_t page = page_bytes();
  lo = (reinterpret_cast<uintptr_t>(begin) + page - 1) / page * page;
  hi = reinterpret_cast<uintptr_t>(end) / page * page;
  return lo < hi;
}
}  // namespace

void release_mapped_pages(const void* begin, const void* end) noexcept {
  uintptr_t lo = 0, hi = 0;
  if (whole_pages(begin, end, lo, hi)) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

void advise_sequential(const void* begin, const void* end) noexcept {
  uintptr_t lo = 0, hi = 0;
  if (whole_pages(begin, end, lo, hi)) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_SEQUENTIAL);
}

namespace {

/// Mapped files cut short under us. Reading a page of a mapping beyond the file's new end
/// raises SIGBUS, which would kill the process with no word on which file. Every
/// MappedFile registers its range here; the handler turns a fault inside one into the
/// error line naming the file and exit status 3 (input error), as the readers do for a
/// file that changed size under read() or pread(). A fault elsewhere keeps its default
/// action. The handler only reads these fixed slots and calls write() and _exit().
struct MappedRange {
  std::atomic<bool> used{false};
  std::atomic<const std::byte*> begin{nullptr};
  std::atomic<size_t> size{0};
  char path[512] = {};
};
constexpr int kMappedSlots = 64;
MappedRange g_mapped[kMappedSlots];
struct sigaction g_previous_bus {};

void write_all(const char* s, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

extern "C" void on_sigbus(int signal, siginfo_t* info, void* context) {
  const auto* addr = static_cast<const std::byte*>(info->si_addr);
  for (MappedRange& m : g_mapped) {
    const std::byte* b = m.begin.load();
    if (!m.used.load() || b == nullptr || addr < b || addr >= b + m.size.load()) continue;
    static constexpr char kHead[] = "tokvec: error: ";
    static constexpr char kTail[] =
        ": changed size while being read (cut short while tokvec had it mapped); let whatever writes it finish, then run again\n";
    write_all(kHead, sizeof kHead - 1);
    write_all(m.path, std::strlen(m.path));
    write_all(kTail, sizeof kTail - 1);
    ::_exit(3);
  }
  // Not one of ours: the previous handler, or the default action on return.
  if ((g_previous_bus.sa_flags & SA_SIGINFO) != 0 && g_previous_bus.sa_sigaction != nullptr) {
    g_previous_bus.sa_sigaction(signal, info, context);
  } else if (g_previous_bus.sa_handler != SIG_DFL && g_previous_bus.sa_handler != SIG_IGN && g_previous_bus.sa_handler != nullptr) {
    g_previous_bus.sa_handler(signal);
  } else {
    // The default action: pending until this handler returns (or the faulting access
    // runs again), then it ends the process as if no handler had been installed.
    ::signal(SIGBUS, SIG_DFL);
    ::raise(SIGBUS);
  }
}

/// Registers a mapping (none when all slots are taken: then a cut file just ends the
/// process by SIGBUS, as before). Returns the slot, or -1.
int register_mapping(const std::string& path, const std::byte* data, size_t size) {
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_sigaction = on_sigbus;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_SIGINFO;
    return ::sigaction(SIGBUS, &action, &g_previous_bus) == 0;
  }();
  if (!installed) return -1;
  for (int i = 0; i < kMappedSlots; ++i) {
    bool expected = false;
    MappedRange& m = g_mapped[i];
    if (!m.used.compare_exchange_strong(expected, true)) continue;
    m.begin.store(nullptr);
    std::snprintf(m.path, sizeof m.path, "%s", path.c_str());
    m.size.store(size);
    m.begin.store(data);
    return i;
  }
  return -1;
}

void unregister_mapping(const std::byte* data) {
  for (MappedRange& m : g_mapped) {
    if (m.used.load() && m.begin.load() == data) {
      m.begin.store(nullptr);
      m.used.store(false);
      return;
    }
  }
}

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
  check_readable_file(path);
  // Before open(): opening a FIFO blocks until a writer comes.
  if (is_stream_input(path)) {
    throw io_error(path, "is a pipe or a device, not a regular file: tokvec maps this kind of file into memory (save it to a file first)", 0);
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw io_error(path, "cannot stat", e);
  }
  if (!S_ISREG(st.st_mode)) {  // replaced between the two looks
    ::close(fd);
    throw io_error(path, "is a pipe or a device, not a regular file: tokvec maps this kind of file into memory (save it to a file first)", 0);
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      throw io_error(path, "cannot map into memory", e);
    }
    data_ = static_cast<const std::byte*>(p);
    (void)register_mapping(path_, data_, size_);
  }
  ::close(fd);
  if (after_size_taken_for_test != nullptr) after_size_taken_for_test(path_);
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() noexcept {
  if (data_ != nullptr) {
    unregister_mapping(data_);
    ::munmap(const_cast<std::byte*>(data_), size_);
  }
  data_ = nullptr;
  size_ = 0;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

}  // namespace tokvec
