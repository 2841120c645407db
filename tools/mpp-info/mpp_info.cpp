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

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <cereal/archives/json.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/version.h>

#include <mpp/cpus.hpp>
#include <mpp/detail/cgroup.hpp>
#include <mpp/version.hpp>

#ifdef MPP_INFO_WITH_MPI
#include <mpi.h>
#endif
#ifdef MPP_INFO_WITH_MPI_LAYER
#include <mpp/mpi/cpus.hpp>
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Facts about this process

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

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// "0-3,8,10-11" for a sorted list of CPUs.
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

// Who started this process: "mpirun" (Open MPI's launcher, also inside a Slurm job),
// "mpiexec.hydra" (MPICH's launcher, which sets PMI_RANK and MPI_LOCALNRANKS), "srun" (a Slurm
// job step), or "" (by hand, or the batch script itself).
std::string launched_by(const Facts& facts) {
  if (facts.launcher.contains("OMPI_COMM_WORLD_SIZE")) return "mpirun";
  if (facts.launcher.contains("MPI_LOCALNRANKS") && !facts.slurm.contains("SLURM_STEP_ID")) {
    return "mpiexec.hydra";
  }
  if (facts.slurm.contains("SLURM_STEP_ID")) return "srun";
  return "";
}

// The MPI library mpp-info was compiled against, from its mpi.h ("" without MPI).
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

// SLURM_* variable as a number, 0 when unset or not a number.
int slurm_number(const Facts& facts, const char* name) {
  const auto it = facts.slurm.find(name);
  return it == facts.slurm.end() ? 0 : std::atoi(it->second.c_str());
}

// What to do about processes bound to one CPU each, in the options of the launcher used.
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

// ---------------------------------------------------------------------------------------------
// Several ranks (MPI)

struct Rank {
  int rank = 0;
  std::string host;
  std::vector<int> affinity;
  int available = 0;
  int online = 0;
  int mpi_threads = 0;  // mpp::mpi::node_threads(): its threads in mpi::Pool / Executor; 0: unknown
};

struct World {
  std::string launcher;  // "mpirun", "mpiexec.hydra", "srun" or "" (see launched_by())
  int size = 1;
  int thread_level = 0;  // MPI_THREAD_* provided
  std::string library;   // MPI_Get_library_version, first line
  std::vector<Rank> ranks;
  std::vector<std::string> warnings;
};

#ifdef MPP_INFO_WITH_MPI
// The classic mistakes of hybrid MPI + threads runs, from every rank's view.
void check_world(World& world) {
  std::map<std::string, std::vector<const Rank*>> by_host;
  for (const Rank& r : world.ranks) by_host[r.host].push_back(&r);
  for (const auto& [host, ranks] : by_host) {
    const int online = ranks.front()->online;
    int single = 0;
    int threads = 0;
    std::map<int, int> users;  // cpu -> ranks whose mask holds it
    for (const Rank* r : ranks) {
      if (r->affinity.size() == 1) ++single;
      threads += r->available;
      for (int cpu : r->affinity) ++users[cpu];
    }
    std::set<int> covered;
    for (const auto& [cpu, count] : users) covered.insert(cpu);
    const int idle = online - static_cast<int>(covered.size());
    const int per_rank = std::max(1, online / static_cast<int>(ranks.size()));
    const std::string where = " on " + host + ": ";
    if (single > 0 && online > 1) {
      world.warnings.push_back(
          std::to_string(single) + " of " + std::to_string(ranks.size()) + " ranks on " + host +
          " are bound to a single core each, so their pools have 1 thread and no parallelism "
          "inside the rank" +
          (idle > 0 ? " (" + std::to_string(idle) + " of " + std::to_string(online) +
                          " CPUs are in no rank's mask and stay idle)"
                    : std::string()) +
          ". " + one_cpu_advice(world.launcher, online));
    }
    if (threads > online) {
      world.warnings.push_back("oversubscribed" + where + std::to_string(ranks.size()) +
                               " ranks run " + std::to_string(threads) + " pool threads on " +
                               std::to_string(online) + " CPUs; set MPP_NUM_THREADS=" +
                               std::to_string(per_rank) + " or give each rank its own cores");
    } else if (static_cast<int>(ranks.size()) > 1 &&
               std::any_of(users.begin(), users.end(), [](auto& u) { return u.second > 1; })) {
      world.warnings.push_back("ranks" + where +
                               "share CPUs in their affinity masks; their pools compete for "
                               "them when every rank is busy");
    }
    if (static_cast<int>(ranks.size()) > online) {
      world.warnings.push_back(std::to_string(ranks.size()) + " ranks" + where + "but only " +
                               std::to_string(online) +
                               " CPUs: the ranks themselves oversubscribe");
    }
  }
}

// Gathers every rank's facts on rank 0; returns the world on rank 0, an empty one elsewhere.
World gather_world(const Facts& facts, int provided) {
  World world;
  world.launcher = launched_by(facts);
  world.thread_level = provided;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world.size);
  char library[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(library, &length);
  world.library = std::string(library, static_cast<std::size_t>(length));
  world.library = world.library.substr(0, world.library.find_first_of("\n,"));

  // The default of mpp's MPI layer, where the ranks of a node share its CPUs (collective).
  int mpi_threads = 0;
#ifdef MPP_INFO_WITH_MPI_LAYER
  try {
    mpi_threads = mpp::mpi::node_threads(MPI_COMM_WORLD);
  } catch (const std::exception&) {
    mpi_threads = 0;  // a bad MPP_NUM_THREADS: reported as available_cpus() fails
  }
#endif
  // Each rank as one line of text: "host available online mpi_threads cpu cpu ...".
  std::ostringstream line;
  line << (facts.host.empty() ? "?" : facts.host) << ' ' << facts.available << ' ' << facts.online
       << ' ' << mpi_threads;
  for (int cpu : facts.affinity) line << ' ' << cpu;
  const std::string mine = line.str();
  const int my_length = static_cast<int>(mine.size());
  std::vector<int> lengths(rank == 0 ? world.size : 0);
  MPI_Gather(&my_length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<int> offsets(lengths.size());
  int total = 0;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    offsets[i] = total;
    total += lengths[i];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Gatherv(mine.data(), my_length, MPI_CHAR, all.data(), lengths.data(), offsets.data(),
              MPI_CHAR, 0, MPI_COMM_WORLD);
  if (rank != 0) return world;
  for (int r = 0; r < world.size; ++r) {
    std::istringstream in(
        all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
    Rank info;
    info.rank = r;
    in >> info.host >> info.available >> info.online >> info.mpi_threads;
    for (int cpu; in >> cpu;) info.affinity.push_back(cpu);
    world.ranks.push_back(std::move(info));
  }
  check_world(world);
  return world;
}

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED:
      return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED:
      return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE:
      return "MPI_THREAD_MULTIPLE";
    default:
      return "unknown";
  }
}
#else
// Without MPI, a launcher's variables still say how many ranks share this host.
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

// ---------------------------------------------------------------------------------------------
// Output

using JsonArchive = cereal::JSONOutputArchive;

// `name`: the text, or null when it is empty.
void text_or_null(JsonArchive& ar, const char* name, const std::string& value) {
  if (value.empty()) {
    ar(cereal::make_nvp(name, nullptr));
  } else {
    ar(cereal::make_nvp(name, value));
  }
}

// `name`: the count, or null when it is 0 (unknown, or none).
template <class Number>
void count_or_null(JsonArchive& ar, const char* name, Number value) {
  if (value == 0) {
    ar(cereal::make_nvp(name, nullptr));
  } else {
    ar(cereal::make_nvp(name, value));
  }
}

// Writes `write()`'s members as the object `name` (an unnamed one inside an array).
template <class Members>
void object(JsonArchive& ar, const char* name, Members write) {
  if (name != nullptr) ar.setNextName(name);
  ar.startNode();
  write();
  ar.finishNode();
}

// Writes what `write()` writes, unnamed, as the array `name`.
template <class Elements>
void array(JsonArchive& ar, const char* name, Elements write) {
  ar.setNextName(name);
  ar.startNode();
  ar.makeArray();
  write();
  ar.finishNode();
}

// The variables as one object of name -> value (cereal would write a std::map as an array of
// key/value pairs).
void variables(JsonArchive& ar, const char* name, const std::map<std::string, std::string>& vars) {
  object(ar, name, [&] {
    for (const auto& [variable, value] : vars) ar(cereal::make_nvp(variable, value));
  });
}

void write_json(JsonArchive& ar, const Facts& f, const World* world) {
  ar(cereal::make_nvp("mpp_version", std::string(mpp::version)), cereal::make_nvp("host", f.host),
     cereal::make_nvp("pid", f.pid), cereal::make_nvp("online_cpus", f.online));
  object(ar, "affinity", [&] {
    ar(cereal::make_nvp("count", f.affinity.size()), cereal::make_nvp("list", cpu_list(f.affinity)),
       cereal::make_nvp("cpus", f.affinity));
  });
  object(ar, "cgroup", [&] {
    text_or_null(ar, "path", f.cgroup);
    array(ar, "quotas", [&] {
      for (const auto& quota : f.quotas) {
        object(ar, nullptr, [&] {
          ar(cereal::make_nvp("file", quota.file), cereal::make_nvp("cpu_max", quota.value),
             cereal::make_nvp("cpus", quota.cpus));
        });
      }
    });
    count_or_null(ar, "quota_cpus", f.quota_cpus);
  });
  variables(ar, "slurm", f.slurm);
  variables(ar, "launcher", f.launcher);
  text_or_null(ar, "launched_by", launched_by(f));
  text_or_null(ar, "mpi_built_against", built_against());
  text_or_null(ar, "MPP_NUM_THREADS", f.mpp_num_threads);
  text_or_null(ar, "OMP_NUM_THREADS", f.omp_num_threads);
  count_or_null(ar, "available_cpus", f.available);
  text_or_null(ar, "available_cpus_error", f.available_error);
  ar(cereal::make_nvp("reason", f.reason));
  object(ar, "tbb", [&] {
    ar(cereal::make_nvp("version", f.tbb_version),
       cereal::make_nvp("default_concurrency", f.tbb_default),
       cereal::make_nvp("max_allowed_parallelism", f.tbb_max_parallelism));
  });
  std::vector<std::string> warnings = f.warnings;
  if (!world && !f.single_cpu_warning.empty())
    warnings.insert(warnings.begin(), f.single_cpu_warning);
  if (world) {
    object(ar, "mpi", [&] {
      ar(cereal::make_nvp("size", world->size), cereal::make_nvp("library", world->library),
         cereal::make_nvp("thread_level", world->thread_level));
      array(ar, "ranks", [&] {
        for (const Rank& r : world->ranks) {
          object(ar, nullptr, [&] {
            ar(cereal::make_nvp("rank", r.rank), cereal::make_nvp("host", r.host),
               cereal::make_nvp("affinity", cpu_list(r.affinity)),
               cereal::make_nvp("threads", r.available));
            count_or_null(ar, "mpi_threads", r.mpi_threads);
            ar(cereal::make_nvp("online_cpus", r.online));
          });
        }
      });
    });
    warnings.insert(warnings.end(), world->warnings.begin(), world->warnings.end());
  } else {
    ar(cereal::make_nvp("mpi", nullptr));
  }
  ar(cereal::make_nvp("warnings", warnings));
}

// One JSON object on one line, written at once: tasks of an srun step without PMIx each print
// their own, and a reader takes one object per line.
void print_json(const Facts& f, const World* world) {
  std::ostringstream text;
  {
    JsonArchive ar(text, JsonArchive::Options::NoIndent());
    write_json(ar, f, world);
  }  // the archive closes the object when it goes
  // Without indentation the writer still breaks lines between members; a newline inside a
  // string is escaped, so every '\n' left is layout.
  std::string out = text.str();
  std::erase(out, '\n');
  out += '\n';
  std::fputs(out.c_str(), stdout);
}

void row(const char* name, const std::string& value) {
  std::printf("  %-34s %s\n", name, value.c_str());
}

// "srun (Slurm job 12, step 0, 2 tasks, 1 CPU per task, cpu-bind mask_cpu:)", "mpirun", or
// "" when no launcher started this process.
std::string describe_launch(const Facts& f) {
  const std::string launcher = launched_by(f);
  if (launcher != "srun") return launcher;
  std::string text =
      "srun (Slurm job " +
      (f.slurm.contains("SLURM_JOB_ID") ? f.slurm.at("SLURM_JOB_ID") : std::string("?")) +
      ", step " + f.slurm.at("SLURM_STEP_ID");
  if (const int tasks = slurm_number(f, "SLURM_STEP_NUM_TASKS")) {
    text += ", " + std::to_string(tasks) + (tasks == 1 ? " task" : " tasks");
  }
  if (const int cpus = slurm_number(f, "SLURM_CPUS_PER_TASK")) {
    text += ", " + std::to_string(cpus) + (cpus == 1 ? " CPU" : " CPUs") + " per task";
  }
  if (f.slurm.contains("SLURM_CPU_BIND_TYPE")) {
    text += ", cpu-bind " + f.slurm.at("SLURM_CPU_BIND_TYPE");
  }
  return text + ")";
}

void print_text(const Facts& f, const World* world) {
  std::printf("mpp %s on %s (pid %ld)\n\n", mpp::version, f.host.c_str(), f.pid);
  std::printf("CPUs\n");
  row("online (hardware_concurrency)", std::to_string(f.online));
  row("affinity mask (sched_getaffinity)",
      std::to_string(f.affinity.size()) + "  [" + cpu_list(f.affinity) + "]");
  if (f.quotas.empty()) {
    row("cgroup v2 quota (cpu.max)",
        "none" + (f.cgroup.empty() ? std::string(" (no cgroup v2)") : " in " + f.cgroup));
  } else {
    for (const auto& q : f.quotas) {
      row("cgroup v2 quota (cpu.max)",
          std::to_string(q.cpus) + "  [" + q.value + " in " + q.file + "]");
    }
  }
  row("SLURM_CPUS_PER_TASK",
      f.slurm.count("SLURM_CPUS_PER_TASK") ? f.slurm.at("SLURM_CPUS_PER_TASK") : "unset");
  row("MPP_NUM_THREADS", f.mpp_num_threads.empty() ? "unset" : f.mpp_num_threads);
  if (!f.omp_num_threads.empty()) row("OMP_NUM_THREADS (not used by mpp)", f.omp_num_threads);
  row("=> mpp::available_cpus()",
      (f.available ? std::to_string(f.available) : std::string("error")) + "  (" + f.reason + ")");
  std::printf("\noneTBB\n");
  row("version", f.tbb_version);
  row("default concurrency", std::to_string(f.tbb_default));
  row("max_allowed_parallelism now", std::to_string(f.tbb_max_parallelism));

  std::printf("\nSlurm\n");
  if (f.slurm.empty()) std::printf("  not in a Slurm job (no SLURM_* variables)\n");
  for (const auto& [name, value] : f.slurm) row(name.c_str(), value);

  std::printf("\nMPI\n");
  if (const std::string mpi = built_against(); !mpi.empty()) row("built against", mpi);
  std::vector<std::string> warnings = f.warnings;
  if (!world && !f.single_cpu_warning.empty())
    warnings.insert(warnings.begin(), f.single_cpu_warning);
  if (const std::string launch = describe_launch(f); !launch.empty()) {
    row("launched by", launch);
  }
  if (world) {
    row("library", world->library);
    row("ranks", std::to_string(world->size));
#ifdef MPP_INFO_WITH_MPI
    row("thread level provided", thread_level_name(world->thread_level));
#endif
    std::printf("  %5s  %-20s %-16s %-13s %s\n", "rank", "host", "affinity", "pool threads",
                "mpi::Pool threads (ranks of a node share its CPUs)");
    for (const Rank& r : world->ranks) {
      std::printf("  %5d  %-20s %-16s %-13d %s\n", r.rank, r.host.c_str(),
                  cpu_list(r.affinity).c_str(), r.available,
                  r.mpi_threads > 0 ? std::to_string(r.mpi_threads).c_str() : "?");
    }
    for (std::string& w : warnings) w = "rank 0: " + w;
    warnings.insert(warnings.end(), world->warnings.begin(), world->warnings.end());
  } else if (f.launcher.empty() && launched_by(f) == "srun") {
    std::printf("  task %s of an srun step without PMIx: MPI is not started, this task only\n",
                f.slurm.contains("SLURM_PROCID") ? f.slurm.at("SLURM_PROCID").c_str() : "?");
  } else if (f.launcher.empty()) {
#ifdef MPP_INFO_WITH_MPI
    std::printf("  not started by mpirun or srun (one process)\n");
#else
    std::printf("  mpp-info was built without MPI; no launcher variables are set\n");
#endif
  } else {
    std::printf("  launcher variables (mpp-info was built without MPI, so only this rank):\n");
    for (const auto& [name, value] : f.launcher) row(name.c_str(), value);
  }

  std::printf("\n");
  if (warnings.empty()) {
    std::printf("No problems found: mpp::Pool() will run %d threads.\n", f.available);
  } else {
    for (const std::string& w : warnings) std::printf("warning: %s\n", w.c_str());
  }
}

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
