// mpp-info under mpirun or srun --mpi=pmix: every rank's facts gathered on rank 0 and checked
// together for the classic mistakes of hybrid MPI + threads runs.

#include <mpi.h>

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "report.hpp"

#ifdef MPP_INFO_WITH_MPI_LAYER
#include <mpp/mpi/cpus.hpp>
#endif

namespace mpp_info {
namespace {

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

}  // namespace

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

}  // namespace mpp_info
