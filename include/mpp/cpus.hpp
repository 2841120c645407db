#pragma once
/// @file
/// How many CPUs this process may really use.

namespace mpp {

/// The number of CPUs this process may actually run on, which is the default thread count of
/// `mpp::Pool`. It is the smallest of: the CPUs in the affinity mask (`sched_getaffinity`, which
/// `taskset`, `numactl`, `mpirun --bind-to` and Slurm's binding set), the cgroup v2 `cpu.max`
/// quota rounded up (containers, Slurm's cgroup plugin), and `SLURM_CPUS_PER_TASK` when set. The
/// environment variable `MPP_NUM_THREADS`, when set, overrides all of them. Never less than 1.
///
/// Throws `std::invalid_argument` if `MPP_NUM_THREADS` is set but is not a positive integer.
/// Thread-safe; reads the environment and `/sys/fs/cgroup` on every call.
///
/// ```cpp
/// std::printf("using %d threads\n", mpp::available_cpus());
/// ```
int available_cpus();

}  // namespace mpp
