#include "tokvec/io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "tokvec/status.h"

namespace tokvec {

uint64_t checksum64(const void* data, size_t size) noexcept { return XXH3_64bits(data, size); }

struct StreamingChecksum::State {
  XXH3_state_t* s = nullptr;
  State() : s(XXH3_createState()) {
    if (s == nullptr) throw std::bad_alloc();
    XXH3_64bits_reset(s);
  }
  ~State() { XXH3_freeState(s); }
};

StreamingChecksum::StreamingChecksum() : state_(std::make_unique<State>()) {}
StreamingChecksum::~StreamingChecksum() = default;
StreamingChecksum::StreamingChecksum(StreamingChecksum&&) noexcept = default;
StreamingChecksum& StreamingChecksum::operator=(StreamingChecksum&&) noexcept = default;
void StreamingChecksum::update(const void* data, size_t size) noexcept { XXH3_64bits_update(state_->s, data, size); }
uint64_t StreamingChecksum::digest() const noexcept { return XXH3_64bits_digest(state_->s); }

std::string hex64(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

namespace {

constexpr size_t kWriteBufferBytes = 1 << 20;

std::string parent_folder(const std::string& path) {
  std::filesystem::path p(path);
  std::string parent = p.parent_path().string();
  return parent.empty() ? "." : parent;
}

void fsync_folder(const std::string& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // Some file systems do not allow it; the rename is still atomic.
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path, uint64_t fail_after_bytes)
    : path_(std::move(path)), fail_after_bytes_(fail_after_bytes) {
  if (path_.empty()) throw usage_error("output path is empty");
  std::string folder = parent_folder(path_);
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) throw io_error(path_, "output folder " + folder + " does not exist", errno);
  if (!S_ISDIR(st.st_mode)) throw io_error(path_, folder + " is not a folder", 0);
  if (::stat(path_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw io_error(path_, "is a folder, expected a file path", 0);
    // The rename below would replace the node itself: run as root, `--output /dev/full`
    // or `/dev/stdout` would turn /dev's entry into a regular file.
    if (!S_ISREG(st.st_mode)) {
      throw io_error(path_, "is a device, pipe or socket, not a regular file: tokvec writes a temporary file and renames it over the target", 0);
    }
  }
  temp_path_ = path_ + ".tmp." + std::to_string(::getpid());
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw io_error(path_, "cannot create a file in " + folder, errno);
  buffer_.reserve(kWriteBufferBytes);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::write_fully(const char* p, size_t left) {
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(path_, "write failed", errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void AtomicFileWriter::flush_buffer() {
  write_fully(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void AtomicFileWriter::write_at(uint64_t offset, const void* data, size_t size) {
  if (committed_) throw internal_error("write after commit to " + path_);
  if (fail_after_bytes_ != UINT64_MAX && written_ + written_at_ + size > fail_after_bytes_) {
    throw io_error(path_, "write failed", ENOSPC);
  }
  written_at_ += size;
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::pwrite(fd_, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(path_, "write at byte " + std::to_string(offset) + " failed", errno);
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
}

void AtomicFileWriter::write(const void* data, size_t size) {
  if (committed_) throw internal_error("write after commit to " + path_);
  if (fail_after_bytes_ != UINT64_MAX && written_ + size > fail_after_bytes_) {
    throw io_error(path_, "write failed", ENOSPC);
  }
  written_ += size;
  const char* p = static_cast<const char*>(data);
  if (buffer_.size() + size <= kWriteBufferBytes) {
    buffer_.append(p, size);
    return;
  }
  flush_buffer();
  if (size >= kWriteBufferBytes) {
    // Large blocks (a checkpoint's matrices) go straight from the caller's memory: a copy
    // would double the memory a 1 M x 300 checkpoint needs (2.4 GB more) while it is saved.
    write_fully(p, size);
  } else {
    buffer_.append(p, size);
  }
}

void AtomicFileWriter::pad_to(size_t alignment) {
  static const char zeros[64] = {};
  while (written_ % alignment != 0) {
    size_t n = std::min<size_t>(alignment - written_ % alignment, sizeof zeros);
    write(zeros, n);
  }
}

void AtomicFileWriter::commit() {
  flush_buffer();
  if (::fsync(fd_) != 0) throw io_error(path_, "fsync failed", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw io_error(path_, "close failed", errno);
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) throw io_error(path_, "rename of the finished file failed", errno);
  committed_ = true;
  fsync_folder(parent_folder(path_));
}

void check_readable_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw io_error(path, "cannot open", errno);
  if (S_ISDIR(st.st_mode)) throw io_error(path, "is a folder, expected a file", 0);
  if (::access(path.c_str(), R_OK) != 0) throw io_error(path, "cannot read", errno);
}

std::string read_file(const std::string& path) {
  check_readable_file(path);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(path, "cannot open", errno);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      throw io_error(path, "read failed", e);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFileWriter out(path);
  out.write(bytes);
  out.commit();
}

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

void copy_file_atomically(const std::string& from, const std::string& to) {
  check_readable_file(from);
  int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(from, "cannot open", errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  AtomicFileWriter out(to);
  // Uninitialised: read() fills what is used (zeroing 8 MB was most of the copy's memset).
  constexpr size_t kCopyBytes = size_t{8} << 20;
  const auto buf = std::make_unique_for_overwrite<char[]>(kCopyBytes);
  for (;;) {
    ssize_t n = ::read(fd, buf.get(), kCopyBytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(from, "read failed", errno);
    }
    if (n == 0) break;
    out.write(buf.get(), static_cast<size_t>(n));
  }
  out.commit();
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  check_readable_file(path);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw io_error(path, "cannot stat", e);
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
  }
  ::close(fd);
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() noexcept {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
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

std::string ByteReader::str() {
  uint64_t n = u64();
  if (n > remaining()) fail("string length " + std::to_string(n) + " runs past the end");
  return std::string(take(static_cast<size_t>(n)));
}

std::string_view ByteReader::take(size_t n) {
  if (n > remaining()) {
    fail("truncated: needed " + std::to_string(n) + " more bytes, " + std::to_string(remaining()) + " left");
  }
  std::string_view s = bytes_.substr(pos_, n);
  pos_ += n;
  return s;
}

void ByteReader::expect_done() const {
  if (!done()) fail(std::to_string(remaining()) + " unexpected trailing bytes");
}

void ByteReader::fail(std::string_view message) const {
  throw corrupt_error(path_, "section " + section_ + ", byte " + std::to_string(pos_), message);
}

}  // namespace tokvec
