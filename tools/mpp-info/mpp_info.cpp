// mpp-info: prints what mpp sees on this machine and why — the affinity mask, the cgroup CPU
// quota, Slurm's variables, MPP_NUM_THREADS, the resulting mpp::available_cpus() and oneTBB's
// default concurrency — and warns about settings that leave a pool fewer threads than expected.
//
// Built with MPI (MPP_INFO_WITH_MPI) and started by mpirun or srun, every rank reports to rank 0,
// which prints one line per rank and checks the classic hybrid mistakes: ranks bound to one core
// each (their pools get a single thread), ranks sharing cores, more threads than cores, srun
// steps given fewer CPUs than the job's --cpus-per-task, and srun without PMIx (tasks that do
// not form one MPI job). The advice names the options of the launcher that was used.
//
// Usage: mpp-info [--json] [--help]

#include <cstdio>
#include <string>

#include "report.hpp"

#ifdef MPP_INFO_WITH_MPI
#include <mpi.h>
#endif

namespace {

void usage(std::FILE* out) {
  std::fputs(
      "usage: mpp-info [--json]\n"
      "Prints what mpp sees on this machine: affinity mask, cgroup CPU quota, Slurm variables,\n"
      "MPP_NUM_THREADS, the resulting mpp::available_cpus() and oneTBB's default concurrency,\n"
      "with warnings about settings that starve or oversubscribe a pool. Run it under mpirun or\n"
      "srun (MPI build) to check every rank's binding.\n"
      "  --json   one JSON object on stdout, for scripts\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "mpp-info: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }

  using namespace mpp_info;
  Facts facts = gather_facts();
#ifdef MPP_INFO_WITH_MPI
  // Started by mpirun or srun --mpi=pmix (their rank variables are set): initialise MPI and
  // report every rank from rank 0. A plain srun step without PMIx runs each task alone.
  if (!facts.launcher.empty()) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    World world = gather_world(facts, provided);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
      if (world.thread_level < MPI_THREAD_MULTIPLE) {
        world.warnings.push_back(std::string("the MPI library provides only ") +
                                 thread_level_name(world.thread_level) +
                                 "; mpp::mpi needs MPI_THREAD_MULTIPLE");
      }
      json ? print_json(facts, &world) : print_text(facts, &world);
    }
    MPI_Finalize();
    return 0;
  }
#else
  check_launcher_without_mpi(facts);
#endif
  json ? print_json(facts, nullptr) : print_text(facts, nullptr);
  return 0;
}
