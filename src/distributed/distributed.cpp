// The parts of distributed training every build has (with or without MPI): the job cursor
// stored in checkpoints, the rank-count check on --resume, the sync options and the launcher
// detection. The MPI code itself is in src/distributed/mpi/.
#include "distributed/distributed.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "base/config.h"
#include "base/io.h"
#include "tokvec/status.h"

namespace tokvec {

namespace {
constexpr uint32_t kJobCursorMagic = 0x4A49504Du;  // bytes "MPIJ" in little-endian order
constexpr uint32_t kJobCursorVersion = 1;
}  // namespace

void SyncOptions::validate() const {
  if (!(every_seconds > 0.0 && every_seconds <= 3600.0)) check_field_range("sync_every", every_seconds, 0.001, 3600.0);
  check_field_range("sync_rows", static_cast<int64_t>(std::min<uint64_t>(rows, uint64_t{1} << 40)), 1, int64_t{1} << 32);
  check_field_range("sync_full_every", static_cast<int64_t>(full_every), 1, 1000000);
  if (tokens != 0) check_field_range("sync_tokens", static_cast<int64_t>(std::min<uint64_t>(tokens, uint64_t{1} << 62)), 1000, int64_t{1} << 50);
}

std::string SyncOptions::to_string() const {
  char buf[240];
  std::snprintf(buf, sizeof buf, "every %gs%s: the %llu most frequent rows, every %u-th sync all rows, mode %s", every_seconds,
                tokens == 0 ? "" : (" or " + std::to_string(tokens) + " tokens of a process (its workers wait at " +
                                    std::to_string(2 * tokens) + ")").c_str(),
                static_cast<unsigned long long>(rows), full_every, std::string(sync_mode_name(mode)).c_str());
  return buf;
}

std::string encode_job_cursor(uint64_t corpus_tokens, const std::vector<RankCursor>& ranks) {
  ByteWriter w;
  w.u32(kJobCursorMagic);
  w.u32(kJobCursorVersion);
  w.u64(corpus_tokens);
  w.u32(static_cast<uint32_t>(ranks.size()));
  for (const RankCursor& r : ranks) {
    w.u64(r.begin);
    w.u64(r.end);
    w.u64(r.tokens_done);
    w.u32(r.epochs_done);
    w.str(r.trainer_cursor);
  }
  return std::move(w.bytes());
}

std::optional<std::vector<RankCursor>> decode_job_cursor(const std::string& cursor, const std::string& path,
                                                         uint64_t corpus_tokens) {
  if (cursor.size() < 4) return std::nullopt;
  ByteReader r(cursor, path, "CURS");
  if (r.u32() != kJobCursorMagic) return std::nullopt;
  if (r.u32() != kJobCursorVersion) r.fail("unknown job cursor version");
  if (r.u64() != corpus_tokens) r.fail("the job cursor was written for a corpus of another length");
  const uint32_t p = r.u32();
  if (p < 2 || p > (1u << 20)) r.fail("bad rank count " + std::to_string(p));
  std::vector<RankCursor> ranks(p);
  uint64_t expect_begin = 0;
  for (RankCursor& c : ranks) {
    c.begin = r.u64();
    c.end = r.u64();
    c.tokens_done = r.u64();
    c.epochs_done = r.u32();
    c.trainer_cursor = r.str();
    if (c.begin != expect_begin || c.end < c.begin || c.end > corpus_tokens) r.fail("rank shards do not tile the corpus");
    expect_begin = c.end;
  }
  if (expect_begin != corpus_tokens) r.fail("rank shards do not cover the corpus");
  r.expect_done();
  return ranks;
}

int cursor_ranks(const std::string& cursor) {
  if (cursor.size() < 16) return 1;
  ByteReader r(cursor, "", "CURS");
  if (r.u32() != kJobCursorMagic) return 1;
  r.u32();
  r.u64();
  return static_cast<int>(r.u32());
}

void check_resume_ranks(const std::string& path, const std::string& cursor, int ranks, const std::string& dir) {
  if (cursor.empty()) return;
  const int written = cursor_ranks(cursor);
  if (written == ranks) return;
  auto how = [&](int p) {
    return p == 1 ? "`" + resume_command(dir) + "` (one process, no mpirun)"
                  : "`mpirun -np " + std::to_string(p) + " " + resume_command(dir) + "`";
  };
  auto who = [](int p) { return p == 1 ? std::string("a single process") : std::to_string(p) + " MPI processes"; };
  throw usage_error(path + " was written by a job of " + who(written) + ", but this run has " + who(ranks) +
                    "; a checkpoint resumes only with the process count that wrote it (each process holds one shard "
                    "of the corpus and its own positions): resume with " + how(written));
}

void set_job_progress(TrainingState& out, const std::vector<RankCursor>& ranks, uint64_t corpus_tokens, uint32_t epochs) {
  out.tokens_done = 0;
  out.epochs_done = epochs;
  bool all_done = true;
  for (const RankCursor& r : ranks) {
    out.tokens_done += r.tokens_done;
    out.epochs_done = std::min(out.epochs_done, r.epochs_done);
    all_done = all_done && r.trainer_cursor.empty();
  }
  out.cursor = all_done ? std::string() : encode_job_cursor(corpus_tokens, ranks);
}

std::pair<uint64_t, uint64_t> rank_shard(uint64_t n, int p, int r) {
  // k·n/p without overflow: (n/p)·k + (n%p)·k/p, where (n%p)·k < p² is small.
  const uint64_t P = static_cast<uint64_t>(p);
  auto bound = [&](uint64_t k) { return n / P * k + n % P * k / P; };
  return {bound(static_cast<uint64_t>(r)), bound(static_cast<uint64_t>(r) + 1)};
}

int launched_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') {
      const long n = std::strtol(v, nullptr, 10);
      if (n >= 1 && n < (1L << 20)) return static_cast<int>(n);
    }
  }
  return 1;
}

}  // namespace tokvec
