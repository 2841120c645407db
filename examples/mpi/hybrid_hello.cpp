// The first thing to run on a new cluster: every rank says where it runs and with how many
// threads, so you can check that ranks land on the nodes you asked for and that each gets the
// CPUs of --cpus-per-task.
//
//   mpirun -np 4 --bind-to none ./hybrid_hello
//   srun --mpi=pmix --ntasks=4 --cpus-per-task=2 ./hybrid_hello
#include <cstdio>
#include <mpp/mpi.hpp>
#include <ranges>

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  mpp::mpi::Pool cluster;

  // One line per rank. With schedule::static_ and as many items as ranks, item r is computed
  // by rank r, so the map gathers each rank's own line on the root.
  struct Line {
    int rank = 0, size = 0, threads = 0, cpus = 0;
    char host[64] = {};
  };
  Line mine{cluster.rank(), cluster.size(), cluster.threads(), mpp::available_cpus()};
  std::snprintf(mine.host, sizeof mine.host, "%s", cluster.host().c_str());
  const auto all = cluster.map([&](int) { return mine; }, std::views::iota(0, cluster.size()),
                               {.schedule = mpp::schedule::static_});
  if (cluster.is_root()) {
    for (const Line& l : all) {
      std::printf("hello from rank %d of %d on %s with %d threads (%d CPUs available)\n", l.rank,
                  l.size, l.host, l.threads, l.cpus);
    }
    std::printf("mpp %s, MPI thread level %s\n", mpp::version,
                env.provided() == mpp::mpi::thread_level::multiple ? "MPI_THREAD_MULTIPLE"
                                                                   : "below MPI_THREAD_MULTIPLE");
  }
}
