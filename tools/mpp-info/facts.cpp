// mpp-info: this process's facts (affinity, cgroup quotas, Slurm and launcher variables,
// MPP_NUM_THREADS, mpp::available_cpus(), oneTBB) and the warnings they call for.

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/version.h>

#include <mpp/cpus.hpp>
#include <mpp/detail/cgroup.hpp>

#include "report.hpp"

#ifdef MPP_INFO_WITH_MPI
#include <mpi.h>
#endif

namespace mpp_info {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::vector<int> affinity_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

// The quotas mpp::available_cpus() reads, every one kept.
void read_cgroup(Facts& facts) {
  facts.cgroup = mpp::detail::cgroup_path();
  facts.quotas = mpp::detail::cgroup_quotas();
  for (const auto& quota : facts.quotas) {
    facts.quota_cpus = facts.quota_cpus == 0 ? quota.cpus : std::min(facts.quota_cpus, quota.cpus);
  }
}

void read_environment(Facts& facts) {
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    std::string value = entry.substr(eq + 1);
    if (name.rfind("SLURM_", 0) == 0) {
      static const std::set<std::string> interesting{
          "SLURM_JOB_ID",         "SLURM_JOB_NAME",         "SLURM_JOB_NODELIST",
          "SLURM_JOB_NUM_NODES",  "SLURM_NTASKS",           "SLURM_NTASKS_PER_NODE",
          "SLURM_CPUS_PER_TASK",  "SLURM_CPUS_ON_NODE",     "SLURM_JOB_CPUS_PER_NODE",
          "SLURM_TASKS_PER_NODE", "SLURM_PROCID",           "SLURM_LOCALID",
          "SLURM_NODEID",         "SLURM_STEP_ID",          "SLURM_CPU_BIND",
          "SLURM_CPU_BIND_TYPE",  "SLURM_DISTRIBUTION",     "SLURM_HINT",
          "SLURM_MPI_TYPE",       "SLURM_THREADS_PER_CORE", "SLURM_OVERCOMMIT",
          "SLURM_STEP_NUM_TASKS"};
      if (interesting.contains(name)) facts.slurm.emplace(std::move(name), std::move(value));
    } else if (name.rfind("OMPI_COMM_WORLD_", 0) == 0 || name == "PMIX_RANK" ||
               name == "PMI_RANK" || name == "PMI_SIZE" || name == "MPI_LOCALRANKID" ||
               name == "MPI_LOCALNRANKS") {
      facts.launcher.emplace(std::move(name), std::move(value));
    }
  }
}

void explain_available(Facts& facts) {
  try {
    facts.available = mpp::available_cpus();
  } catch (const std::exception& e) {
    facts.available_error = e.what();
    facts.reason = "MPP_NUM_THREADS is invalid, so every mpp::Pool() throws";
    return;
  }
  if (!facts.mpp_num_threads.empty()) {
    facts.reason = "MPP_NUM_THREADS=" + facts.mpp_num_threads + " overrides everything else";
    return;
  }
  std::string reason = "smallest of: affinity mask " + std::to_string(facts.affinity.size());
  if (facts.quota_cpus > 0) reason += ", cgroup quota " + std::to_string(facts.quota_cpus);
  if (auto it = facts.slurm.find("SLURM_CPUS_PER_TASK"); it != facts.slurm.end()) {
    reason += ", SLURM_CPUS_PER_TASK " + it->second;
  }
  facts.reason = reason;
}

// Mistakes only an srun step shows: fewer CPUs than the job's --cpus-per-task (srun -n with
// --overcommit, or a step that did not get -c), and several tasks started without PMIx, which
// Open MPI programs then see as that many separate one-rank jobs.
void check_srun(Facts& facts) {
  if (launched_by(facts) != "srun") return;
  const int per_task = slurm_number(facts, "SLURM_CPUS_PER_TASK");
  const int affinity = static_cast<int>(facts.affinity.size());
  if (per_task > affinity && affinity > 0) {
    facts.warnings.push_back(
        "the job asked for --cpus-per-task=" + std::to_string(per_task) +
        " but srun gave this task " + std::to_string(affinity) + " CPU(s), so mpp::Pool() gets " +
        std::to_string(affinity) +
        ": give the step as many CPUs per task (srun --cpus-per-task=$SLURM_CPUS_PER_TASK, "
        "without --overcommit)");
  }
  const int tasks = slurm_number(facts, "SLURM_STEP_NUM_TASKS");
  if (tasks > 1 && !facts.launcher.contains("PMIX_RANK") && !facts.launcher.contains("PMI_RANK")) {
    facts.warnings.push_back(
        "srun started " + std::to_string(tasks) + " tasks without PMIx (SLURM_MPI_TYPE=" +
        (facts.slurm.contains("SLURM_MPI_TYPE") ? facts.slurm.at("SLURM_MPI_TYPE") : "none") +
        "): they are separate processes, not one MPI job, and each reports alone here; "
        "launch MPI programs with srun --mpi=pmix");
  }
}

void check(Facts& facts) {
  const int affinity = static_cast<int>(facts.affinity.size());
  if (!facts.available_error.empty()) {
    facts.warnings.push_back("mpp::available_cpus() throws: " + facts.available_error);
  }
  if (affinity == 1 && facts.online > 1) {
    facts.single_cpu_warning = "this process is bound to a single CPU of " +
                               std::to_string(facts.online) + ", so mpp::Pool() gets 1 thread. " +
                               one_cpu_advice(launched_by(facts), facts.online);
  }
  check_srun(facts);
  if (facts.available > 0 && facts.available > affinity && affinity > 0) {
    facts.warnings.push_back("MPP_NUM_THREADS=" + facts.mpp_num_threads +
                             " asks for more threads than the " + std::to_string(affinity) +
                             " CPUs this process may run on: the pool is oversubscribed");
  }
  if (facts.quota_cpus > 0 && facts.quota_cpus < affinity) {
    facts.warnings.push_back("the cgroup quota (" + std::to_string(facts.quota_cpus) +
                             " CPUs) is below the affinity mask (" + std::to_string(affinity) +
                             " CPUs): mpp follows the quota; programs that count the mask "
                             "oversubscribe and get throttled");
  }
  if (facts.tbb_default > 0 && facts.available > 0 && facts.tbb_default != facts.available) {
    facts.warnings.push_back(
        "oneTBB's default concurrency (" + std::to_string(facts.tbb_default) +
        ") differs from mpp::available_cpus() (" + std::to_string(facts.available) +
        "): code using TBB directly (tbb::parallel_for outside an mpp pool) uses " +
        std::to_string(facts.tbb_default) + " threads");
  }
  if (!facts.omp_num_threads.empty() && facts.mpp_num_threads.empty() && facts.available > 0 &&
      facts.omp_num_threads != std::to_string(facts.available)) {
    facts.warnings.push_back("OMP_NUM_THREADS=" + facts.omp_num_threads +
                             " is ignored by mpp; set MPP_NUM_THREADS to choose the pool's size");
  }
}

}  // namespace

std::string cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out.empty() ? "none" : out;
}

std::string launched_by(const Facts& facts) {
  if (facts.launcher.contains("OMPI_COMM_WORLD_SIZE")) return "mpirun";
  if (facts.launcher.contains("MPI_LOCALNRANKS") && !facts.slurm.contains("SLURM_STEP_ID")) {
    return "mpiexec.hydra";
  }
  if (facts.slurm.contains("SLURM_STEP_ID")) return "srun";
  return "";
}

std::string built_against() {
#if defined(MPP_INFO_WITH_MPI) && defined(OMPI_MAJOR_VERSION)
  return "Open MPI " + std::to_string(OMPI_MAJOR_VERSION) + "." +
         std::to_string(OMPI_MINOR_VERSION) + "." + std::to_string(OMPI_RELEASE_VERSION);
#elif defined(MPP_INFO_WITH_MPI) && defined(MPICH_VERSION)
  return std::string("MPICH ") + MPICH_VERSION;
#elif defined(MPP_INFO_WITH_MPI)
  return "MPI " + std::to_string(MPI_VERSION) + "." + std::to_string(MPI_SUBVERSION);
#else
  return "";
#endif
}

int slurm_number(const Facts& facts, const char* name) {
  const auto it = facts.slurm.find(name);
  return it == facts.slurm.end() ? 0 : std::atoi(it->second.c_str());
}

std::string one_cpu_advice(const std::string& launcher, int online) {
  if (launcher == "srun") {
    return "srun binds each task to the CPUs of its --cpus-per-task: ask for "
           "--cpus-per-task=<threads per rank> in #SBATCH and pass it to srun as well (srun "
           "--cpus-per-task=$SLURM_CPUS_PER_TASK: since Slurm 22.05 srun does not inherit it)";
  }
  const std::string mpirun =
      "mpirun binds each rank to a core by default when np <= 2: use --bind-to none, or fewer "
      "ranks with several cores each (--map-by slot:PE=<cores per rank>; one rank per host here: "
      "PE=" +
      std::to_string(online) + ")";
  if (launcher == "mpirun") return mpirun;
  return "under " + mpirun +
         "; with srun use --cpus-per-task=<cores per rank>; check "
         "taskset/numactl otherwise";
}

Facts gather_facts() {
  Facts facts;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) facts.host = host;
  facts.pid = static_cast<long>(getpid());
  facts.online = static_cast<int>(std::thread::hardware_concurrency());
  facts.affinity = affinity_cpus();
  read_cgroup(facts);
  read_environment(facts);
  facts.mpp_num_threads = env("MPP_NUM_THREADS");
  facts.omp_num_threads = env("OMP_NUM_THREADS");
  explain_available(facts);
  facts.tbb_default = tbb::info::default_concurrency();
  facts.tbb_max_parallelism =
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
  facts.tbb_version = std::string(TBB_VERSION_STRING) + " (runtime " + TBB_runtime_version() + ")";
  check(facts);
  return facts;
}

#ifndef MPP_INFO_WITH_MPI
void check_launcher_without_mpi(Facts& facts) {
  std::string local_size = facts.launcher.count("OMPI_COMM_WORLD_LOCAL_SIZE")
                               ? facts.launcher["OMPI_COMM_WORLD_LOCAL_SIZE"]
                           : facts.launcher.count("MPI_LOCALNRANKS")
                               ? facts.launcher["MPI_LOCALNRANKS"]
                               : "";
  if (local_size.empty() && facts.slurm.count("SLURM_NTASKS_PER_NODE")) {
    local_size = facts.slurm["SLURM_NTASKS_PER_NODE"];
  }
  const int ranks = std::atoi(local_size.c_str());
  if (ranks > 1 && facts.available > 0 && ranks * facts.available > facts.online) {
    facts.warnings.push_back(
        std::to_string(ranks) + " ranks on this host, each with a pool of " +
        std::to_string(facts.available) + " threads, on " + std::to_string(facts.online) +
        " CPUs: oversubscribed; set MPP_NUM_THREADS=" +
        std::to_string(std::max(1, facts.online / ranks)) + " or give each rank its own cores");
  }
}
#endif

}  // namespace mpp_info
