#include "mpp/cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mpp/detail/cgroup.hpp"
#include "mpp/errors.hpp"

namespace mpp {
namespace {

// A positive integer from the environment, or 0 when unset; anything else is the user's error.
int positive_env(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || value <= 0 || value > 1'000'000) {
    detail::throw_invalid_argument(std::string(name) + "='" + text +
                                   "' is not a positive integer; set it to a thread count such "
                                   "as 4, or unset it");
  }
  return static_cast<int>(value);
}

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  return CPU_COUNT(&set);
}

// The smallest cgroup quota in CPUs, or 0 when unlimited.
int cgroup_quota_cpus() {
  int best = 0;
  for (const auto& quota : detail::cgroup_quotas()) {
    best = best == 0 ? quota.cpus : std::min(best, quota.cpus);
  }
  return best;
}

}  // namespace

namespace detail {

std::string cgroup_path() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return {};
}

std::vector<CgroupQuota> cgroup_quotas() {
  std::vector<CgroupQuota> quotas;
  std::string path = cgroup_path();
  while (true) {
    const std::string file = "/sys/fs/cgroup" + path + (path.ends_with('/') ? "" : "/") + "cpu.max";
    std::ifstream in(file);
    std::string quota;
    double period = 0;
    if (in >> quota >> period && quota != "max" && period > 0) {
      quotas.push_back({file, quota + " " + std::to_string(static_cast<long>(period)),
                        std::max(1, static_cast<int>(std::ceil(std::stod(quota) / period)))});
    }
    if (path.empty() || path == "/") break;
    path = path.substr(0, path.find_last_of('/'));
  }
  return quotas;
}

}  // namespace detail

int available_cpus() {
  if (int forced = positive_env("MPP_NUM_THREADS")) return forced;
  int cpus = affinity_cpus();
  if (int quota = cgroup_quota_cpus()) cpus = std::min(cpus, quota);
  if (int slurm = positive_env("SLURM_CPUS_PER_TASK")) cpus = std::min(cpus, slurm);
  return std::max(1, cpus);
}

}  // namespace mpp
