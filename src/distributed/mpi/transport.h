// The MPI calls of distributed training, over MPI_COMM_WORLD: element counts are int in MPI,
// so large arrays go in chunks.
//
// Threads and MPI. MPI is initialised with MPI_THREAD_SERIALIZED: while the workers train,
// only the rank's communication thread calls MPI; between training stretches (checkpoints,
// the end) only the main thread does. The communication thread never blocks inside MPI: it
// starts non-blocking collectives and polls them with short sleeps (the *_politely calls),
// because Open MPI's blocking calls spin, and on a machine with as many workers as cores a
// spinning thread would take a core from them while it waits for a slower rank.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <type_traits>

#include "distributed/replica_sync.h"
#include "tokvec/status.h"

namespace tokvec::distributed {

class Comm {
 public:
  Comm(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }

  template <typename T> void bcast(T* data, size_t n) const {
    for (size_t off = 0; off < n; off += kChunk) MPI_Bcast(data + off, chunk(n, off), type<T>(), 0, MPI_COMM_WORLD);
  }
  void bcast_string(std::string& s) const {
    uint64_t n = s.size();
    bcast(&n, 1);
    s.resize(n);
    bcast(s.data(), n);
  }
  template <typename T> void send(const T* data, size_t n, int to) const {
    for (size_t off = 0; off < n; off += kChunk) MPI_Send(data + off, chunk(n, off), type<T>(), to, 7, MPI_COMM_WORLD);
  }
  template <typename T> void recv(T* data, size_t n, int from) const {
    for (size_t off = 0; off < n; off += kChunk) {
      MPI_Recv(data + off, chunk(n, off), type<T>(), from, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  }
  /// Sum (or other op) onto rank 0 only; `out` is used on rank 0 only.
  template <typename T> void reduce_to_root(const T* in, T* out, size_t n, MPI_Op op) const {
    for (size_t off = 0; off < n; off += kChunk) {
      MPI_Reduce(in + off, rank_ == 0 ? out + off : nullptr, chunk(n, off), type<T>(), op, 0, MPI_COMM_WORLD);
    }
  }
  /// Allreduce that leaves the core to the workers while it waits (see the file comment).
  template <typename T> void allreduce_politely(const T* in, T* out, size_t n, MPI_Op op) const {
    for (size_t off = 0; off < n; off += kChunk) {
      MPI_Request request;
      MPI_Iallreduce(in + off, out + off, chunk(n, off), type<T>(), op, MPI_COMM_WORLD, &request);
      wait_politely(request);
    }
  }
  template <typename T> void allreduce_now(const T* in, T* out, size_t n, MPI_Op op) const {
    for (size_t off = 0; off < n; off += kChunk) MPI_Allreduce(in + off, out + off, chunk(n, off), type<T>(), op, MPI_COMM_WORLD);
  }

  /// A live sync of rows [0, r) of `sync`'s matrices (the workers train on): one blocking
  /// allreduce, as the control allreduce just before it has brought every rank here, so
  /// nobody waits long and the collective runs at full speed.
  void sync_rows(ReplicaSync& sync, size_t r) const {
    const std::span<const float> mine = sync.pack_rows(r);
    allreduce_now(mine.data(), sync.receive(r).data(), mine.size(), MPI_SUM);
    sync.apply_rows(r);
  }
  /// Every row, with the workers stopped: reduced on rank 0 and broadcast, so that every
  /// rank ends with bit-identical matrices.
  void combine_all(ReplicaSync& sync) const {
    for (int m = 0; m < 2; ++m) {
      const std::span<const float> mine = sync.pack_all(m);
      reduce_to_root(mine.data(), sync.receive_all(m).data(), mine.size(), MPI_SUM);
      if (rank_ == 0) sync.finish_all(m);
      std::span<float> x = sync.matrix(m).storage();
      bcast(x.data(), x.size());
      sync.adopt_all(m);
    }
  }

  /// Ends the whole job after an error inside one rank: the message first (mpirun shows each
  /// rank's stderr), then MPI_Abort, which makes mpirun kill every rank and exit with `code`.
  [[noreturn]] void abort_job(const char* message, int code) const;

 private:
  static constexpr size_t kChunk = size_t{1} << 26;
  static int chunk(size_t n, size_t off) { return static_cast<int>(std::min(kChunk, n - off)); }
  template <typename T> static MPI_Datatype type() {
    if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
    if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
    if constexpr (std::is_same_v<T, uint64_t>) return MPI_UINT64_T;
    if constexpr (std::is_same_v<T, uint32_t>) return MPI_UINT32_T;
    if constexpr (std::is_same_v<T, char>) return MPI_CHAR;
  }
  static void wait_politely(MPI_Request& request) {
    for (;;) {
      int done = 0;
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
      if (done) return;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  int rank_;
  int size_;
};

/// Runs `f`; an error it throws ends the whole job (Comm::abort_job) with the message and
/// exit code main() would have given it.
template <typename F> auto or_abort(const Comm& comm, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception&) {
    const ErrorReport e = describe_current_exception();
    comm.abort_job(e.message, e.exit_code);
  }
}

}  // namespace tokvec::distributed
