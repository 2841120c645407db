// tenacious: a map whose tasks fail at random 30% of the time still completes with every result.
//
// Teaches `MapOptions::retries` (ipyparallel's `retries`): a call that throws is run again, and
// only when every attempt fails does its last exception reach the caller. Transient failures —
// a flaky file system, a node that drops a connection — then cost time, not the whole run.
//
//     view = client.load_balanced_view(); view.retries = 10
//     results = view.map_sync(flaky_simulation, range(10000))
//
// in C++:
//
//     auto results = pool.map(flaky_simulation, std::views::iota(0, 10000), {.retries = 10});
//
// Usage: tenacious [items]   (default 10000)

#include <atomic>
#include <cstdio>
#include <random>
#include <ranges>
#include <stdexcept>

#include <mpp/mpp.hpp>

#include "workloads/common.hpp"

namespace {

std::atomic<long> failures{0};

// Fails 30% of the time, like a task on an unreliable node; otherwise squares its input.
long flaky_simulation(int x) {
  thread_local std::mt19937 rng(std::random_device{}());
  if (std::uniform_real_distribution<>(0, 1)(rng) < 0.3) {
    failures.fetch_add(1, std::memory_order_relaxed);
    throw std::runtime_error("transient failure on item " + std::to_string(x));
  }
  return static_cast<long>(x) * x;
}

}  // namespace

int main(int argc, char** argv) {
  const int items = static_cast<int>(workloads::size_argument(argc, argv, 1, 10'000));
  mpp::Pool pool;
  // With 30% failures, 20 retries leave a chance of 0.3^21 ≈ 1e-11 per item of failing for good.
  const auto results =
      pool.map(flaky_simulation, std::views::iota(0, items), {.chunksize = 16, .retries = 20});
  for (int x = 0; x < items; ++x) {
    if (results[static_cast<std::size_t>(x)] != static_cast<long>(x) * x) {
      std::fprintf(stderr, "error: wrong result for item %d\n", x);
      return 1;
    }
  }
  std::printf("%d results, all correct, after %ld injected failures were retried (%.0f%% of %d)\n",
              items, failures.load(), 100.0 * static_cast<double>(failures.load()) / items, items);
  return 0;
}
