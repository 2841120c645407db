// soak: a long flood of apply_async with random durations and random failures, checking that
// every task's result or exception arrives exactly once and that memory does not grow.
//
// Usage: soak [tasks per thread count] [thread counts...]   (default 1000000, 1 2 4 8)
// Prints one line per thread count: tasks, failures injected and received, wall time, task
// rate and resident memory at 10% and at 100% of the run. Exits non-zero on any lost,
// duplicated or unexpected result.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <mpp/mpp.hpp>

namespace {

// Resident set size in MiB, from /proc/self/statm.
double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

// A deterministic pseudo-random number per task (splitmix64), so failures can be counted.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

bool fails(std::uint64_t task) {
  return mix(task) % 10 == 0;
}  // 10% of tasks throw

// Spins for 0..20 µs, then returns the task number or throws.
std::uint64_t work(std::uint64_t task) {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::nanoseconds(static_cast<long>(mix(task ^ 0xabcdef) % 20'000));
  while (std::chrono::steady_clock::now() < until) {
  }
  if (fails(task)) throw std::runtime_error("injected failure");
  return task;
}

struct Outcome {
  std::uint64_t values = 0, failures = 0, wrong = 0;
};

// Submits `tasks` tasks keeping at most `window` in flight, and collects every outcome.
Outcome soak(mpp::Pool& pool, std::uint64_t tasks, std::size_t window, double& rss_early) {
  Outcome outcome;
  std::deque<std::pair<std::uint64_t, mpp::AsyncResult<std::uint64_t>>> in_flight;
  auto collect = [&] {
    auto& [task, result] = in_flight.front();
    try {
      outcome.wrong += result.get() != task;
      ++outcome.values;
    } catch (const std::runtime_error&) {
      ++outcome.failures;
      outcome.wrong += !fails(task);
    }
    in_flight.pop_front();
  };
  for (std::uint64_t task = 0; task < tasks; ++task) {
    if (in_flight.size() == window) collect();
    in_flight.emplace_back(task, pool.apply_async(work, task));
    if (task == tasks / 10) rss_early = rss_mib();
  }
  while (!in_flight.empty()) collect();
  return outcome;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t tasks = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  std::vector<int> thread_counts;
  for (int i = 2; i < argc; ++i) thread_counts.push_back(std::atoi(argv[i]));
  if (thread_counts.empty()) thread_counts = {1, 2, 4, 8};

  std::uint64_t expected_failures = 0;
  for (std::uint64_t t = 0; t < tasks; ++t) expected_failures += fails(t);

  int status = 0;
  std::printf("%8s %10s %10s %10s %8s %12s %10s %10s\n", "threads", "tasks", "failures", "results",
              "wall s", "tasks/s", "RSS@10%", "RSS@end");
  for (int threads : thread_counts) {
    mpp::Pool pool(threads);
    double rss_early = 0;
    const auto start = std::chrono::steady_clock::now();
    const Outcome outcome = soak(pool, tasks, 10'000, rss_early);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rss_end = rss_mib();
    std::printf("%8d %10llu %10llu %10llu %8.2f %12.0f %8.1fMi %8.1fMi\n", threads,
                static_cast<unsigned long long>(tasks),
                static_cast<unsigned long long>(outcome.failures),
                static_cast<unsigned long long>(outcome.values), seconds,
                static_cast<double>(tasks) / seconds, rss_early, rss_end);
    if (outcome.values + outcome.failures != tasks || outcome.failures != expected_failures ||
        outcome.wrong != 0) {
      std::printf(
          "error: %llu outcomes for %llu tasks, %llu failures for %llu injected, %llu "
          "wrong\n",
          static_cast<unsigned long long>(outcome.values + outcome.failures),
          static_cast<unsigned long long>(tasks), static_cast<unsigned long long>(outcome.failures),
          static_cast<unsigned long long>(expected_failures),
          static_cast<unsigned long long>(outcome.wrong));
      status = 1;
    }
    if (rss_end > rss_early + 16) {
      std::printf("error: resident memory grew by %.1f MiB\n", rss_end - rss_early);
      status = 1;
    }
  }
  return status;
}
