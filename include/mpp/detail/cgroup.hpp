#pragma once
// The cgroup v2 CPU quotas that bound this process: read by mpp::available_cpus() and reported
// by mpp-info, from one implementation.

#include <string>
#include <vector>

namespace mpp::detail {

// One cpu.max with a quota on the path from this process's cgroup to the root.
struct CgroupQuota {
  std::string file;   // the cpu.max file
  std::string value;  // its content, "quota period"
  int cpus = 0;       // ceil(quota / period), at least 1
};

// The cgroup v2 path of this process ("0::/path" in /proc/self/cgroup), or "" if none.
std::string cgroup_path();

// Every quota from this process's cgroup up to the root, leaf first; empty when unlimited.
std::vector<CgroupQuota> cgroup_quotas();

}  // namespace mpp::detail
