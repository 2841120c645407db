#pragma once
// Monte-Carlo estimate of π from independent, reproducibly seeded sampling tasks: the workload
// of examples/pi.cpp and of the demo.

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include <mpp/mpp.hpp>

namespace workloads::pi {

/// One sampling task: how many points to draw, and which task it is (its seed).
struct Task {
  std::uint64_t samples = 0;
  std::uint64_t index = 0;
};

/// The seed all tasks derive theirs from; change it for a different (still reproducible) run.
inline constexpr std::uint64_t base_seed = 2024;

/// The task: draws `task.samples` points uniformly in the unit square and counts those inside
/// the quarter circle. Its generator is seeded from the task's index alone, so the answer is the
/// same whichever thread runs it, in any order and with any number of threads.
inline std::uint64_t sample(Task task) {
  std::seed_seq seed{base_seed, task.index};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::uint64_t hits = 0;
  for (std::uint64_t i = 0; i < task.samples; ++i) {
    const double x = uniform(rng);
    const double y = uniform(rng);
    hits += x * x + y * y <= 1.0 ? 1 : 0;
  }
  return hits;
}

/// Python's `[samples] * tasks`, with each entry also numbered for its seed.
inline std::vector<Task> tasks(std::uint64_t samples, std::size_t count) {
  std::vector<Task> list(count);
  for (std::size_t i = 0; i < count; ++i) list[i] = {samples, i};
  return list;
}

/// The total number of hits, each task in turn on this thread.
inline std::uint64_t serial(std::uint64_t samples, std::size_t count) {
  std::uint64_t hits = 0;
  for (const Task& task : tasks(samples, count)) hits += sample(task);
  return hits;
}

/// `sum(pool.map(sample, [samples] * count))`.
inline std::uint64_t parallel(mpp::Pool& pool, std::uint64_t samples, std::size_t count,
                              const mpp::MapOptions& options = {}) {
  const std::vector<std::uint64_t> hits = pool.map(sample, tasks(samples, count), options);
  return std::reduce(hits.begin(), hits.end(), std::uint64_t{0});
}

/// π ≈ 4 × hits / points.
inline double estimate(std::uint64_t hits, std::uint64_t samples, std::size_t count) {
  return 4.0 * static_cast<double>(hits) / static_cast<double>(samples * count);
}

}  // namespace workloads::pi
