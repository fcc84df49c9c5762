#include "base/io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/interrupt.h"
#include "base/sniff.h"
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

/// A folder holding a tokvec run (or one being started).
bool is_run_folder(const std::string& folder) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(folder) / "config.json", ec) ||
         std::filesystem::exists(std::filesystem::path(folder) / "state.tkv", ec);
}

void fsync_folder(const std::string& folder) {
  int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // Some file systems do not allow it; the rename is still atomic.
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string resolve_output_target(const std::string& path) {
  std::string p = path;
  // As the kernel does: at most 40 links in a chain.
  for (int hop = 0; hop < 40; ++hop) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::string link(static_cast<size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
    const ssize_t n = ::readlink(p.c_str(), link.data(), link.size());
    if (n < 0) throw io_error(path, "cannot read the symbolic link " + p, errno);
    link.resize(static_cast<size_t>(n));
    std::filesystem::path next(link);
    // Not normalised: "dir/../x" goes where the kernel goes only if dir is looked up.
    if (next.is_relative()) next = std::filesystem::path(p).parent_path() / next;
    p = next.string();
  }
  throw io_error(path, "too many levels of symbolic links", ELOOP);
}

namespace {

/// The process id of a temporary file name `NAME.tmp.PID` of `name` (any name when empty),
/// or 0 if it is not one.
long temp_pid(const std::string& file, const std::string& name) {
  const size_t at = file.rfind(".tmp.");
  if (at == std::string::npos || at == 0) return 0;
  // NAME.tmp.PID, or NAME.old.tmp.PID (AtomicFileSet's link to the file it replaces).
  if (!name.empty() && file.substr(0, at) != name && file.substr(0, at) != name + ".old") return 0;
  long pid = 0;
  for (size_t i = at + 5; i < file.size(); ++i) {
    if (file[i] < '0' || file[i] > '9' || pid > 100000000) return 0;
    pid = pid * 10 + (file[i] - '0');
  }
  return at + 5 < file.size() ? pid : 0;
}

bool process_is_gone(long pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

}  // namespace

void remove_stale_temporaries(const std::string& folder, const std::string& name) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (process_is_gone(temp_pid(file, name))) std::filesystem::remove(it->path(), ec);
  }
}

AtomicFileWriter::AtomicFileWriter(std::string path, uint64_t fail_after_bytes)
    : path_(std::move(path)), fail_after_bytes_(fail_after_bytes) {
  if (path_.empty()) throw usage_error("output path is empty");
  struct stat st {};
  // What the path names, through any links (/dev/stdout names a terminal, pipe or file).
  if (::stat(path_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw io_error(path_, "is a folder, expected a file path", 0);
    // A rename over a device or pipe would replace the node itself: run as root,
    // `--output /dev/full` would turn /dev's entry into a regular file.
    if (!S_ISREG(st.st_mode)) {
      throw io_error(path_, "is a device, pipe or socket, not a regular file: tokvec writes a temporary file and renames it over the target", 0);
    }
  }
  target_ = resolve_output_target(path_);
  std::string folder = parent_folder(target_);
  if (::stat(folder.c_str(), &st) != 0) throw io_error(path_, "output folder " + folder + " does not exist", errno);
  if (!S_ISDIR(st.st_mode)) throw io_error(path_, folder + " is not a folder", 0);
  const std::string name = std::filesystem::path(target_).filename().string();
  remove_stale_temporaries(folder, name);
  if (const char* fail = std::getenv("TOKVEC_TEST_FAIL_WRITE"); fail != nullptr && name == fail) fail_at_finish_ = true;
  temp_path_ = target_ + ".tmp." + std::to_string(::getpid());
  on_signal_ = std::make_unique<RemoveOnSignal>(temp_path_);  // before the file exists
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
  if (finished_) throw internal_error("write after commit to " + path_);
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
  if (finished_) throw internal_error("write after commit to " + path_);
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

void AtomicFileWriter::finish() {
  if (finished_) return;
  // The last buffered bytes are where a small file meets a full disk.
  if (fail_at_finish_) throw io_error(path_, "write failed", ENOSPC);
  flush_buffer();
  if (::fsync(fd_) != 0) throw io_error(path_, "fsync failed", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw io_error(path_, "close failed", errno);
  }
  fd_ = -1;
  finished_ = true;
}

void AtomicFileWriter::publish() {
  if (!finished_) throw internal_error("publish before finish of " + path_);
  if (committed_) return;
  signal_point("commit:" + std::filesystem::path(target_).filename().string());
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) throw io_error(path_, "rename of the finished file failed", errno);
  committed_ = true;
  on_signal_.reset();
  note_file_completed();
  fsync_folder(parent_folder(target_));
}

void AtomicFileWriter::commit() {
  finish();
  publish();
}

AtomicFileSet::~AtomicFileSet() = default;

AtomicFileWriter& AtomicFileSet::add(const std::string& path, uint64_t fail_after_bytes) {
  // Two names of one file would share one temporary file: the set would write garbage.
  const std::string target = std::filesystem::absolute(resolve_output_target(path)).lexically_normal().string();
  for (const auto& f : files_) {
    if (std::filesystem::absolute(f->target()).lexically_normal().string() == target) {
      throw usage_error(path + " is given twice as an output (also as " + f->path() + ")");
    }
  }
  files_.push_back(std::make_unique<AtomicFileWriter>(path, fail_after_bytes));
  return *files_.back();
}

void AtomicFileSet::commit() {
  for (auto& f : files_) f->finish();
  // Keep a hard link to each file about to be replaced, so that a rename failing halfway
  // can put the earlier ones back (without a link, that file is replaced for good).
  std::vector<std::string> backups(files_.size());
  std::vector<std::unique_ptr<RemoveOnSignal>> backups_on_signal;
  auto drop_backups = [&] {
    for (const std::string& b : backups)
      if (!b.empty()) ::unlink(b.c_str());
  };
  for (size_t i = 0; i < files_.size(); ++i) {
    const std::string& target = files_[i]->target();
    std::string backup = target + ".old.tmp." + std::to_string(::getpid());
    backups_on_signal.push_back(std::make_unique<RemoveOnSignal>(backup));
    if (::link(target.c_str(), backup.c_str()) == 0) backups[i] = backup;
  }
  size_t done = 0;
  try {
    for (; done < files_.size(); ++done) files_[done]->publish();
  } catch (...) {
    for (size_t i = 0; i < done; ++i) {
      const std::string& target = files_[i]->target();
      if (!backups[i].empty()) {
        if (::rename(backups[i].c_str(), target.c_str()) == 0) backups[i].clear();
      } else {
        ::unlink(target.c_str());
      }
    }
    drop_backups();
    throw;
  }
  drop_backups();
}

bool is_run_file_name(std::string_view name) {
  for (const char* own : {"config.json", "tokenizer.bpe", "corpus.tkc", "state.tkv", "train.log"}) {
    if (name == own) return true;
  }
  constexpr std::string_view prefix = "checkpoint-", suffix = ".tkv";
  return name.size() > prefix.size() + suffix.size() && name.substr(0, prefix.size()) == prefix &&
         name.substr(name.size() - suffix.size()) == suffix;
}

void check_output_is_safe(std::string_view option, const std::string& output, const std::vector<std::string>& inputs) {
  if (output == "-") return;
  const std::string target = resolve_output_target(output);
  std::string shown(option);
  shown += shown.empty() ? output : " " + output;
  struct stat out {};
  if (::stat(target.c_str(), &out) == 0) {
    for (const std::string& in : inputs) {
      struct stat st {};
      if (in.empty() || in == "-" || ::stat(in.c_str(), &st) != 0) continue;
      if (st.st_dev == out.st_dev && st.st_ino == out.st_ino) {
        throw usage_error(shown + " is the same file as the input " + in +
                          ": writing it would destroy what is being read; choose another output");
      }
    }
  }
  const std::filesystem::path t(target);
  const std::string folder = parent_folder(target);
  if (is_run_file_name(t.filename().string()) && is_run_folder(folder)) {
    throw usage_error(shown + " is one of the files of the run folder " + folder +
                      ", which only tokvec train writes; choose another output name");
  }
}

long flock_holder(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  FILE* f = std::fopen("/proc/locks", "r");
  if (f == nullptr) return 0;
  long found = 0;
  char line[256];
  while (found == 0 && std::fgets(line, sizeof line, f) != nullptr) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:10953732 0 EOF" (waiters have "->" first).
    char kind[16], mode[16], access[16];
    long pid = 0;
    unsigned maj = 0, min = 0;
    unsigned long long ino = 0;
    const char* p = std::strchr(line, ':');
    if (p == nullptr || std::strstr(line, "->") != nullptr) continue;
    if (std::sscanf(p + 1, "%15s %15s %15s %ld %x:%x:%llu", kind, mode, access, &pid, &maj, &min, &ino) != 7) continue;
    if (std::strcmp(kind, "FLOCK") != 0) continue;
    if (ino == st.st_ino && maj == major(st.st_dev) && min == minor(st.st_dev)) found = pid;
  }
  std::fclose(f);
  return found;
}

FolderLock lock_if_in_run_folder(const std::string& output) {
  if (output.empty() || output == "-") return {};
  const std::string folder = parent_folder(resolve_output_target(output));
  if (!is_run_folder(folder)) return {};
  return FolderLock(folder, /*shared=*/true);
}

FolderLock::FolderLock(const std::string& folder, bool shared) {
  fd_ = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw io_error(folder, "cannot open the folder to lock it", errno);
  if (::flock(fd_, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0) return;
  const int e = errno;
  ::close(fd_);
  fd_ = -1;
  if (e != EWOULDBLOCK) throw io_error(folder, "cannot lock the folder", e);
  const long pid = flock_holder(folder);
  throw io_error(folder, "is in use by another tokvec process" + (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) +
                             " writing it; two commands cannot write one run folder at once (nothing was changed)", 0);
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

FolderLock& FolderLock::operator=(FolderLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void check_readable_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw io_error(path, "cannot open", errno);
  if (S_ISDIR(st.st_mode)) {
    const std::string kind = sniff_file_kind(path);
    throw io_error(path, (kind.find("run folder") != std::string::npos ? "is " + kind + ", expected a file" : "is a folder, expected a file"), 0);
  }
  if (::access(path.c_str(), R_OK) != 0) throw io_error(path, "cannot read", errno);
}

std::string read_file(const std::string& path, uint64_t max_bytes) {
  check_readable_input(path);
  const int fd = open_input(path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(input_name(path), "read failed", errno);
    }
    if (n == 0) break;
    if (out.size() + static_cast<uint64_t>(n) > max_bytes) {
      throw input_error(input_name(path), "",
                        "holds more than " + std::to_string(max_bytes >> 20) + " MiB, more than tokvec reads for a file of this kind (an endless stream such as /dev/zero?)");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string input_name(const std::string& path) { return is_stdin_path(path) ? "<stdin>" : path; }

bool is_stream_input(const std::string& path) {
  if (is_stdin_path(path)) return true;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  return !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

void check_readable_input(const std::string& path) {
  if (is_stdin_path(path)) return;
  check_readable_file(path);
}

int open_input(const std::string& path) {
  // A duplicate, so that closing it leaves standard input open for the rest of the process.
  const int fd = is_stdin_path(path) ? ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(input_name(path), "cannot open", errno);
  return fd;
}

SpooledText::SpooledText(const std::string& path, const std::string& spool_file,
                         const std::function<void(std::string_view)>& on_bytes) : path_(path) {
  if (!is_stream_input(path)) return;
  check_readable_input(path);
  const int in = open_input(path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{in};
  int out = -1;
  std::string target = spool_file;
  if (target.empty()) {
    target = (std::filesystem::temp_directory_path() / "tokvec-input-XXXXXX").string();
    out = ::mkostemp(target.data(), O_CLOEXEC);
    if (out < 0) throw io_error(target, "cannot create a temporary copy of " + input_name(path), errno);
  } else {
    // Under a temporary name until the stream has ended: a copy cut short by a kill must
    // never pass for the whole text (a later run removes it as a stale temporary).
    target = spool_file + ".tmp." + std::to_string(::getpid());
    out = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) throw io_error(spool_file, "cannot create the copy of " + input_name(path), errno);
  }
  path_ = target;
  spooled_ = true;  // from here the destructor removes it, also when the copy fails
  on_signal_ = std::make_unique<RemoveOnSignal>(path_);
  struct OutCloser {
    int fd;
    ~OutCloser() { ::close(fd); }
  } out_closer{out};
  constexpr size_t kChunk = size_t{1} << 20;
  const auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  for (;;) {
    ssize_t n = ::read(in, buf.get(), kChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::unlink(path_.c_str());
      spooled_ = false;
      throw io_error(input_name(path), "read failed", e);
    }
    if (n == 0) break;
    if (on_bytes) on_bytes(std::string_view(buf.get(), static_cast<size_t>(n)));
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out, buf.get() + done, static_cast<size_t>(n - done));
      if (w < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        ::unlink(path_.c_str());
        spooled_ = false;
        throw io_error(path_, "write failed while copying " + input_name(path), e);
      }
      done += w;
    }
    bytes_ += static_cast<uint64_t>(n);
  }
  if (!spool_file.empty()) {
    if (::rename(path_.c_str(), spool_file.c_str()) != 0) {
      int e = errno;
      ::unlink(path_.c_str());
      spooled_ = false;
      throw io_error(spool_file, "cannot rename the finished copy of " + input_name(path) + " into place", e);
    }
    path_ = spool_file;
    on_signal_.reset();  // complete: kept for a resume if a signal stops the run now
  }
}

SpooledText::SpooledText() = default;

SpooledText::~SpooledText() {
  if (spooled_) ::unlink(path_.c_str());
}

SpooledText::SpooledText(SpooledText&& other) noexcept
    : path_(std::move(other.path_)), spooled_(other.spooled_), bytes_(other.bytes_), on_signal_(std::move(other.on_signal_)) {
  other.spooled_ = false;
}

SpooledText& SpooledText::operator=(SpooledText&& other) noexcept {
  if (this != &other) {
    if (spooled_) ::unlink(path_.c_str());
    path_ = std::move(other.path_);
    spooled_ = other.spooled_;
    bytes_ = other.bytes_;
    on_signal_ = std::move(other.on_signal_);
    other.spooled_ = false;
  }
  return *this;
}

Error changed_size_error(const std::string& path, uint64_t size_when_opened, std::string_view now) {
  return input_error(path, "", "changed size while being read (" + std::to_string(size_when_opened) + " bytes when opened, " +
                                   std::string(now) + "); let whatever writes it finish, then run again");
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFileWriter out(path);
  out.write(bytes);
  out.commit();
}

void copy_file_to(const std::string& from, AtomicFileWriter& out) {
  check_readable_file(from);
  int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(from, "cannot open", errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
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
}

void copy_file_atomically(const std::string& from, const std::string& to) {
  check_readable_file(from);
  AtomicFileWriter out(to);
  copy_file_to(from, out);
  out.commit();
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
