// File input/output shared by every tokvec file: atomic writes, memory maps, XXH3
// checksums and little-endian encoding.
//
// Files a user keeps are written through AtomicFileWriter: the bytes go to a temporary
// file beside the target, which is fsynced and renamed over the target, then the folder is
// fsynced. A crash, a kill or a full disk therefore never leaves a half-written file under
// the real name: either the old file or the complete new one is there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokvec/status.h"

namespace tokvec {

class RemoveOnSignal;  // interrupt.h

/// XXH3-64 of a byte range (the checksum of every tokvec file and section).
uint64_t checksum64(const void* data, size_t size) noexcept;
inline uint64_t checksum64(std::string_view bytes) noexcept { return checksum64(bytes.data(), bytes.size()); }
/// 16 lowercase hex digits.
std::string hex64(uint64_t value);

/// XXH3-64 of bytes fed in pieces: digest() equals checksum64 of their concatenation, so a
/// section can be checksummed while it is written or read chunk by chunk.
class StreamingChecksum {
 public:
  StreamingChecksum();
  ~StreamingChecksum();
  StreamingChecksum(StreamingChecksum&&) noexcept;
  StreamingChecksum& operator=(StreamingChecksum&&) noexcept;
  void update(const void* data, size_t size) noexcept;
  uint64_t digest() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Writes a file atomically (temp file, fsync, rename, fsync of the folder).
///
/// Construction checks that the folder exists and is writable and creates the temporary
/// file; write() appends; commit() makes the file visible under its name. If the writer is
/// destroyed without commit() (an exception, a failed write) the temporary file is removed
/// and the target is untouched.
///
/// A path that is a symbolic link is written where the link points (resolve_output_target):
/// the temporary file lies beside the real file and is renamed over it, so the link stays a
/// link. The temporary file is removed as well when SIGINT/SIGTERM stop the process
/// (RemoveOnSignal), and temporaries of the same target left by dead processes are removed.
class AtomicFileWriter {
 public:
  /// `fail_after_bytes` is fault injection for tests: the write that would pass that many
  /// bytes fails as if the disk were full (ENOSPC). The default never fails. The environment
  /// variable TOKVEC_TEST_FAIL_WRITE=NAME (a file name without folder) makes the final flush
  /// of every file of that name fail the same way, for CLI tests of a disk filling up.
  explicit AtomicFileWriter(std::string path, uint64_t fail_after_bytes = UINT64_MAX);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  /// Writes at a byte offset of the file (pwrite), apart from the appending write(): for
  /// files whose table is written last, over space reserved for it, or whose sections are
  /// filled side by side. Bytes never written read as zero. Does not move bytes_written().
  void write_at(uint64_t offset, const void* data, size_t size);
  /// Zero bytes up to the next multiple of `alignment` of the file offset.
  void pad_to(size_t alignment);
  uint64_t bytes_written() const noexcept { return written_; }
  /// finish() then publish().
  void commit();
  /// The first half of commit(): flushes, fsyncs and closes the temporary file. Every error
  /// of a full disk shows here at the latest; the target is still untouched.
  void finish();
  /// The second half: renames the finished temporary file over the target.
  void publish();
  /// The path as given (for messages).
  const std::string& path() const noexcept { return path_; }
  /// Where the file lands: the path, or the file a symbolic link there points to.
  const std::string& target() const noexcept { return target_; }

 private:
  void flush_buffer();
  void write_fully(const char* p, size_t size);
  std::string path_;
  std::string target_;
  std::string temp_path_;
  std::unique_ptr<RemoveOnSignal> on_signal_;
  int fd_ = -1;
  uint64_t written_ = 0;
  uint64_t written_at_ = 0;  // bytes given to write_at (for fault injection)
  uint64_t fail_after_bytes_;
  bool fail_at_finish_ = false;  // TOKVEC_TEST_FAIL_WRITE names this file
  std::string buffer_;
  bool finished_ = false;
  bool committed_ = false;
};

/// Several files that appear together or not at all (a matrix and its vocabulary, the
/// CSV, JSON and SVG of one audit): each is written to its own temporary file, and only
/// when all of them are complete on disk are they renamed into place. If any write fails,
/// no file of the set is replaced. A rename failing halfway (rare: the space is already
/// taken) puts the files already renamed back as they were.
class AtomicFileSet {
 public:
  AtomicFileSet() = default;
  ~AtomicFileSet();
  AtomicFileSet(const AtomicFileSet&) = delete;
  AtomicFileSet& operator=(const AtomicFileSet&) = delete;

  /// Starts one more file of the set; two paths naming the same file are a usage error.
  AtomicFileWriter& add(const std::string& path, uint64_t fail_after_bytes = UINT64_MAX);
  /// Finishes every file, then renames them all into place.
  void commit();

 private:
  std::vector<std::unique_ptr<AtomicFileWriter>> files_;
};

/// Where a write to `path` must land so that it writes to what the path names: `path`
/// itself, or, when it is a symbolic link (or a chain of them, dangling or not), the path
/// the last link names (relative links taken from their own folder). Throws an io error for
/// a loop of links.
std::string resolve_output_target(const std::string& path);

/// Removes the temporary files `NAME.tmp.PID` in `folder` whose process PID is no longer
/// running: what a process killed while writing (SIGKILL, a crash, a power cut) left. With
/// `name` given, only the temporaries of that file. Errors are ignored.
void remove_stale_temporaries(const std::string& folder, const std::string& name = {});

/// The names of the files a run folder holds for its run (config.json, tokenizer.bpe,
/// corpus.tkc, state.tkv, train.log, checkpoint-N.tkv): never an output of another command.
bool is_run_file_name(std::string_view name);

/// Refuses (a usage error naming `option`) an output that would destroy what tokvec reads
/// or keeps: the same file as one of `inputs` (compared by device and inode, so a link or
/// another spelling of the path counts), or one of a run folder's own files (a folder
/// holding config.json or state.tkv). "-" (stdout) and a path not yet there with no run
/// beside it pass. Call before any slow work.
void check_output_is_safe(std::string_view option, const std::string& output, const std::vector<std::string>& inputs);

/// An exclusive lock on a folder (flock on the folder itself, so no file is added to it),
/// held while the object lives: for the commands that write a run folder, so that two of them never mix their files. Released by the kernel
/// however the process ends. If another process holds it, throws an io error naming the
/// folder and, when /proc/locks tells it, the holder's process id.
class FolderLock {
 public:
  FolderLock() = default;
  /// `shared`: a lock many holders may share (commands writing a file beside a run's own
  /// files, e.g. an export into the run folder); the exclusive lock of train excludes them.
  explicit FolderLock(const std::string& folder, bool shared = false);
  ~FolderLock();
  FolderLock(FolderLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FolderLock& operator=(FolderLock&& other) noexcept;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  bool held() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

/// For a command writing `output` (export, audit): a shared lock on the folder the output
/// lands in when that is a run folder (holding config.json or state.tkv), so that it never
/// writes into a run that `train` is replacing or continuing; an unheld lock otherwise.
FolderLock lock_if_in_run_folder(const std::string& output);

/// The process holding a flock on `path` (from /proc/locks), or 0 when unknown.
long flock_holder(const std::string& path);

/// The most bytes read_file reads: it is for small files (models, word lists, evaluation
/// files, config.json), and a stream without end (/dev/zero) must not fill memory.
inline constexpr uint64_t kReadFileMaxBytes = uint64_t{256} << 20;

/// Reads a whole (small) file: a regular file, or "-" (standard input), a pipe or a FIFO,
/// read once to its end. Throws an io error naming the path if it cannot, and an input
/// error if it holds more than `max_bytes`.
std::string read_file(const std::string& path, uint64_t max_bytes = kReadFileMaxBytes);

// ---- Text inputs: files, "-" and pipes --------------------------------------------------
//
// Text a user gives (training text, word lists, evaluation files) may be a regular file,
// "-" for standard input, or a pipe, FIFO or character device (`<(cmd)`, /dev/stdin). Such
// a stream can be read once, from its start, and has no size (st_size is 0): readers read
// it as a stream, and a reader that needs two passes first copies it into a regular file
// (SpooledText). No reader opens a stream twice.

/// Whether `path` is "-", standard input.
inline bool is_stdin_path(const std::string& path) noexcept { return path == "-"; }
/// How messages name an input: "<stdin>" for "-", else the path.
std::string input_name(const std::string& path);
/// Whether `path` is "-" or names something other than a regular file or folder (a pipe,
/// a FIFO, a character device, a socket): something that can be read only once.
bool is_stream_input(const std::string& path);
/// Like check_readable_file, but also accepts "-" and streams.
void check_readable_input(const std::string& path);
/// Opens a text input for one read from its start: "-" is a duplicate of standard input's
/// descriptor. The caller closes it. Throws an io error naming the input if it cannot.
int open_input(const std::string& path);

/// A text input as a regular file: the path itself when it is one, otherwise a copy of the
/// stream, made once (the constructor reads it to its end) into `spool_file` (a new file in
/// the system's temporary folder when empty), removed when the object is destroyed.
/// `on_bytes(chunk)`, when given, sees every byte as it is copied (the encoding check).
class SpooledText {
 public:
  SpooledText();
  SpooledText(const std::string& path, const std::string& spool_file = "",
              const std::function<void(std::string_view)>& on_bytes = {});
  ~SpooledText();
  SpooledText(SpooledText&& other) noexcept;
  SpooledText& operator=(SpooledText&& other) noexcept;
  SpooledText(const SpooledText&) = delete;
  SpooledText& operator=(const SpooledText&) = delete;
  /// The regular file to read.
  const std::string& path() const noexcept { return path_; }
  /// Whether the input was a stream, copied to path().
  bool spooled() const noexcept { return spooled_; }
  /// Bytes copied (spooled inputs).
  uint64_t bytes() const noexcept { return bytes_; }

 private:
  std::string path_;
  bool spooled_ = false;
  uint64_t bytes_ = 0;
  std::unique_ptr<RemoveOnSignal> on_signal_;  ///< a temporary copy goes with a signal too
};
/// Writes `bytes` as the whole file, atomically (AtomicFileWriter).
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Copies a file to `to` atomically (AtomicFileWriter), a few MB at a time.
void copy_file_atomically(const std::string& from, const std::string& to);
/// Appends the whole file `from` to `out` (not committed).
void copy_file_to(const std::string& from, AtomicFileWriter& out);

/// Throws a clear io error if `path` is not a readable regular file.
void check_readable_file(const std::string& path);

/// Files that change while tokvec reads them: a reader trusts only the bytes it got, and
/// a regular file whose size differs from the size taken when it was opened is an input
/// error naming it: "PATH: changed size while being read (N bytes when opened, ...)".
Error changed_size_error(const std::string& path, uint64_t size_when_opened, std::string_view now);

/// Test seam: when set, the readers of text files (word counting, the BPE block reader)
/// and MappedFile call it with the path right after taking the file's size and before
/// reading, so a test can truncate or grow the file at exactly that point. Null in
/// production.
inline void (*after_size_taken_for_test)(const std::string& path) = nullptr;

/// A read-only memory map of a whole file. An empty file maps to an empty span.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }
  size_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }

 private:
  void release() noexcept;
  std::string path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

/// Drops the pages lying wholly inside [begin, end) of a read-only file mapping (a
/// MappedFile) from this process's memory (madvise MADV_DONTNEED): they stop counting in its
/// resident set, and a later read faults them back in from the page cache or the disk. This
/// is what keeps a pass over a corpus larger than memory in bounded memory. Never call it on
/// anything else (heap memory would be zeroed). Advice only: failures are ignored.
void release_mapped_pages(const void* begin, const void* end) noexcept;
/// Tells the kernel that [begin, end) of a mapped file will be read in order
/// (MADV_SEQUENTIAL: read ahead further, reclaim behind sooner). Advice only.
void advise_sequential(const void* begin, const void* end) noexcept;
/// The size of a memory page (sysconf), for rounding ranges given to madvise.
size_t page_bytes() noexcept;

/// Appends fixed-width little-endian values to a byte string.
class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { put(v); }
  void u64(uint64_t v) { put(v); }
  void i64(int64_t v) { put(static_cast<uint64_t>(v)); }
  void f32(float v) { uint32_t bits; std::memcpy(&bits, &v, 4); put(bits); }
  void f64(double v) { uint64_t bits; std::memcpy(&bits, &v, 8); put(bits); }
  /// A u64 length followed by the bytes.
  void str(std::string_view s) { u64(s.size()); out_.append(s); }
  void raw(const void* data, size_t size) { out_.append(static_cast<const char*>(data), size); }
  std::string& bytes() noexcept { return out_; }

 private:
  template <typename T> void put(T v) {
    for (size_t i = 0; i < sizeof(T); ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

/// Reads fixed-width little-endian values; a read past the end throws a corrupt error that
/// names the file, the section and the byte offset.
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string path, std::string section)
      : bytes_(bytes), path_(std::move(path)), section_(std::move(section)) {}
  uint8_t u8() { return static_cast<uint8_t>(take(1)[0]); }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  int64_t i64() { return static_cast<int64_t>(get<uint64_t>()); }
  float f32() { uint32_t bits = get<uint32_t>(); float v; std::memcpy(&v, &bits, 4); return v; }
  double f64() { uint64_t bits = get<uint64_t>(); double v; std::memcpy(&v, &bits, 8); return v; }
  std::string str();
  std::string_view take(size_t n);
  size_t offset() const noexcept { return pos_; }
  size_t remaining() const noexcept { return bytes_.size() - pos_; }
  bool done() const noexcept { return pos_ == bytes_.size(); }
  /// Throws if bytes remain: a section must be consumed exactly.
  void expect_done() const;
  /// A corrupt error at the current offset.
  [[noreturn]] void fail(std::string_view message) const;

 private:
  template <typename T> T get() {
    std::string_view s = take(sizeof(T));
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<uint8_t>(s[i])) << (8 * i);
    return v;
  }
  std::string_view bytes_;
  size_t pos_ = 0;
  std::string path_;
  std::string section_;
};

/// Whether this machine stores numbers little-endian (the on-disk order of every tokvec
/// file). Bulk arrays (token ids, matrices) are written and mapped as-is on such machines;
/// on a big-endian machine tokvec refuses to read or write them rather than misread them.
constexpr bool host_is_little_endian() noexcept { return std::endian::native == std::endian::little; }

}  // namespace tokvec
