#include "mpp/mpi/cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "mpp/cpus.hpp"
#include "mpp/mpi/detail/comm.hpp"

namespace mpp::mpi {

int node_threads(MPI_Comm comm) {
  auto lock = detail::mpi_guard("mpp::mpi::node_threads");
  // A communicator mpp cannot use is refused later, by the pool or executor, on every rank
  // given it; the same ranks skip the collective part here.
  int inter = 0;
  if (comm == MPI_COMM_NULL || MPI_Comm_test_inter(comm, &inter) != MPI_SUCCESS || inter) {
    return mpp::available_cpus();
  }
  MPI_Comm node = MPI_COMM_NULL;
  detail::check_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
                    "MPI_Comm_split_type");
  // Every rank takes part whatever it decides below, so ranks that differ in MPP_NUM_THREADS
  // cannot leave the others waiting in the gather.
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (sched_getaffinity(0, sizeof mine, &mine) != 0) CPU_ZERO(&mine);
  int ranks = 0;
  MPI_Comm_size(node, &ranks);
  std::vector<cpu_set_t> all(static_cast<std::size_t>(ranks));
  const int code = MPI_Allgather(&mine, static_cast<int>(sizeof mine), MPI_BYTE, all.data(),
                                 static_cast<int>(sizeof mine), MPI_BYTE, node);
  MPI_Comm_free(&node);
  detail::check_mpi(code, "MPI_Allgather");
  // After the collective part: a bad MPP_NUM_THREADS throws on its rank alone.
  const int available = mpp::available_cpus();
  const char* forced = std::getenv("MPP_NUM_THREADS");
  if ((forced != nullptr && *forced != '\0') || CPU_COUNT(&mine) == 0) return available;
  cpu_set_t shared;
  CPU_ZERO(&shared);
  int sharing = 0;
  for (auto& other : all) {
    cpu_set_t both;
    CPU_AND(&both, &mine, &other);
    if (CPU_COUNT(&both) == 0) continue;
    CPU_OR(&shared, &shared, &other);
    ++sharing;
  }
  return std::min(available, std::max(1, CPU_COUNT(&shared) / std::max(1, sharing)));
}

}  // namespace mpp::mpi
