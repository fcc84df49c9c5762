// Distributed training in a build without MPI (CMake did not find it, or TOKVEC_MPI=OFF):
// every command runs as one process, and a launch by mpirun with several processes is
// refused rather than letting each process train the whole corpus on its own.
#include "distributed/distributed.h"
#include "run/backend.h"
#include "tokvec/status.h"

namespace tokvec::distributed {

bool built_with_mpi() noexcept { return false; }

int run_command(int argc, char** argv, Command command) {
  const int launched = launched_world_size();
  if (launched > 1) {
    throw usage_error("started by an MPI launcher with " + std::to_string(launched) +
                      " processes, but this tokvec was built without MPI (install libopenmpi-dev and rebuild: CMake "
                      "enables TOKVEC_MPI when it finds MPI); each process would train the whole corpus alone");
  }
  return command(argc, argv, nullptr);
}

std::unique_ptr<detail::TrainingBackend> lead(World&, const std::string&, const CorpusView&, const TrainConfig&, TrainingState&,
                                              std::shared_ptr<const SubwordMap>) {
  throw internal_error("distributed::lead in a build without MPI");
}

}  // namespace tokvec::distributed
