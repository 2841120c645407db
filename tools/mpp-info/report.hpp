#pragma once
// What mpp-info reports and the functions its parts share: facts.cpp gathers this process's
// facts and checks them, world.cpp (MPI builds) gathers every rank's on rank 0 and checks the
// ranks together, json_report.cpp and text_report.cpp print them.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <mpp/detail/cgroup.hpp>

namespace mpp_info {

// What this process sees.
struct Facts {
  std::string host;
  long pid = 0;
  int online = 0;                                // std::thread::hardware_concurrency()
  std::vector<int> affinity;                     // CPUs in sched_getaffinity's mask
  std::string cgroup;                            // our cgroup v2 path, "" if none
  std::vector<mpp::detail::CgroupQuota> quotas;  // every cpu.max with a quota, leaf first
  int quota_cpus = 0;                            // the smallest of them, 0 = no quota
  std::map<std::string, std::string> slurm;      // SLURM_* variables that are set
  std::map<std::string, std::string> launcher;   // OMPI_*/PMIX_*/PMI_* rank variables
  std::string mpp_num_threads;                   // MPP_NUM_THREADS as set, "" if unset
  std::string omp_num_threads;                   // OMP_NUM_THREADS, for comparison
  int available = 0;                             // mpp::available_cpus(), 0 if it threw
  std::string available_error;
  std::string reason;   // why available_cpus() returned what it did
  int tbb_default = 0;  // tbb::info::default_concurrency()
  std::size_t tbb_max_parallelism = 0;
  std::string tbb_version;
  std::vector<std::string> warnings;
  std::string single_cpu_warning;  // shown when this process reports alone
};

// One rank's view, as rank 0 gathers it (MPI).
struct Rank {
  int rank = 0;
  std::string host;
  std::vector<int> affinity;
  int available = 0;
  int online = 0;
  int mpi_threads = 0;  // mpp::mpi::node_threads(): its threads in mpi::Pool / Executor; 0: unknown
};

// Every rank's view, on rank 0 (MPI).
struct World {
  std::string launcher;  // "mpirun", "mpiexec.hydra", "srun" or "" (see launched_by())
  int size = 1;
  int thread_level = 0;  // MPI_THREAD_* provided
  std::string library;   // MPI_Get_library_version, first line
  std::vector<Rank> ranks;
  std::vector<std::string> warnings;
};

// Gathers this process's facts and checks them, filling `warnings` and `single_cpu_warning`.
Facts gather_facts();

// "0-3,8,10-11" for a sorted list of CPUs, "none" for an empty one.
std::string cpu_list(const std::vector<int>& cpus);

// Who started this process: "mpirun" (Open MPI's launcher, also inside a Slurm job),
// "mpiexec.hydra" (MPICH's launcher, which sets PMI_RANK and MPI_LOCALNRANKS), "srun" (a Slurm
// job step), or "" (by hand, or the batch script itself).
std::string launched_by(const Facts& facts);

// The MPI library mpp-info was compiled against, from its mpi.h ("" without MPI).
std::string built_against();

// SLURM_* variable as a number, 0 when unset or not a number.
int slurm_number(const Facts& facts, const char* name);

// What to do about processes bound to one CPU each, in the options of the launcher used.
std::string one_cpu_advice(const std::string& launcher, int online);

#ifdef MPP_INFO_WITH_MPI
// Gathers every rank's facts on rank 0 and checks them together (collective); returns the world
// on rank 0, an empty one elsewhere.
World gather_world(const Facts& facts, int provided);

// "MPI_THREAD_MULTIPLE" for MPI_THREAD_MULTIPLE, and so on; "unknown" for another value.
const char* thread_level_name(int level);
#else
// Without MPI, a launcher's variables still say how many ranks share this host.
void check_launcher_without_mpi(Facts& facts);
#endif

// The report as one JSON object on one line of stdout; `world` is null without MPI.
void print_json(const Facts& f, const World* world);

// The report as text on stdout; `world` is null without MPI.
void print_text(const Facts& f, const World* world);

}  // namespace mpp_info
