// as_completed: submit simulations of uneven length and report each as soon as it finishes.
//
// Teaches `mpp::as_completed` (Python's `concurrent.futures.as_completed`): the results come in
// the order they complete, not the order they were submitted, so a long task early in the list
// does not hold back the report of the short ones behind it; and `AsyncResult::then`, which
// post-processes a result on the pool without a thread waiting for it.
//
//     futures = [executor.submit(simulate, seed) for seed in range(n)]
//     for f in as_completed(futures):
//         print(f.result())
//
// in C++:
//
//     for (int seed = 0; seed < n; ++seed) results.push_back(pool.apply_async(simulate, seed));
//     for (const auto& r : mpp::as_completed(results)) std::printf(..., r.get());
//
// Usage: as_completed [tasks]   (default 16)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <mpp/mpp.hpp>

namespace {

struct Outcome {
  int seed;
  double estimate;
};

// A Monte-Carlo estimate of pi whose length depends on the seed: uneven work, as real
// simulations are.
Outcome simulate(int seed) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  const long samples = 20'000L * (1 + (seed * 7919) % 50);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  long inside = 0;
  for (long i = 0; i < samples; ++i) {
    const double x = u(rng);
    const double y = u(rng);
    inside += x * x + y * y <= 1.0 ? 1 : 0;
  }
  return {seed, 4.0 * static_cast<double>(inside) / static_cast<double>(samples)};
}

}  // namespace

int main(int argc, char** argv) {
  const int tasks = argc > 1 ? std::atoi(argv[1]) : 16;
  mpp::Pool pool;

  std::vector<mpp::AsyncResult<Outcome>> results;
  for (int seed = 0; seed < tasks; ++seed) results.push_back(pool.apply_async(simulate, seed));

  // A continuation: the error of each estimate, computed on the pool once it is ready.
  std::vector<mpp::AsyncResult<double>> errors;
  for (const auto& r : results) {
    errors.push_back(r.then(pool, [](const Outcome& o) { return o.estimate - 3.14159265358979; }));
  }

  int reported = 0;
  for (const auto& r : mpp::as_completed(results, std::chrono::minutes(5))) {
    const Outcome& o = r.get();
    std::printf("seed %3d finished %2d-th: pi ~ %.5f\n", o.seed, ++reported, o.estimate);
  }
  double worst = 0.0;
  for (const double e : mpp::collect(pool, errors).get()) worst = std::max(worst, std::abs(e));
  std::printf("%d simulations, largest error %.5f\n", reported, worst);
  return reported == tasks ? 0 : 1;
}
