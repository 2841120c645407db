// pi: estimates π by Monte Carlo, mapping a sampling function over `[10^5] * 10`.
//
// Teaches `pool.map` over identical tasks and reproducible randomness: each task seeds its own
// generator from its index, so the estimate is the same on every run, with any number of threads
// and whichever thread runs which task (a generator per thread would not be). It mirrors the
// `multiprocessing` demo
//
//     def sample(n):
//         return sum(random.random() ** 2 + random.random() ** 2 <= 1 for _ in range(n))
//
//     with Pool() as pool:
//         hits = pool.map(sample, [100_000] * 10)
//     print(4 * sum(hits) / 1_000_000)
//
// and in C++ (workloads/pi.hpp; `tasks` is `[samples] * 10`, each entry numbered for its seed):
//
//     std::vector<std::uint64_t> hits = pool.map(sample, tasks(100'000, 10));
//
// Usage: pi [samples per task]      (default 100000)

#include <cstdint>
#include <cstdio>
#include <numbers>

#include <mpp/mpp.hpp>

#include "workloads/common.hpp"
#include "workloads/pi.hpp"

int main(int argc, char** argv) {
  namespace w = workloads::pi;
  const auto samples = static_cast<std::uint64_t>(workloads::size_argument(argc, argv, 1, 100'000));
  const std::size_t tasks = 10;

  mpp::Pool pool;
  const auto [expected, serial_s] = workloads::timed([&] { return w::serial(samples, tasks); });
  const auto [hits, parallel_s] =
      workloads::timed([&] { return w::parallel(pool, samples, tasks); });

  const double pi = w::estimate(hits, samples, tasks);
  std::printf("pi ~ %.6f from %llu samples (error %.1e)\n", pi,
              static_cast<unsigned long long>(samples * tasks), pi - std::numbers::pi);
  std::printf("mpp::Pool with %d threads: %.3f s; serial: %.3f s\n", pool.threads(), parallel_s,
              serial_s);
  if (hits != expected) {
    std::fprintf(stderr, "error: %llu hits in parallel, %llu serially\n",
                 static_cast<unsigned long long>(hits), static_cast<unsigned long long>(expected));
    return 1;
  }
  return 0;
}
