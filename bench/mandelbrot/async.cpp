// std::async: one task per thread, taking rows round-robin (y = t, t + threads, ...), the usual
// hand-balanced split when a pool is not at hand.
#include <future>

#include "workload.hpp"

namespace {

void rows(benchmark::State& state, int threads) {
  const int n = mandelbrot::size();
  const int iterations = mandelbrot::max_iterations();
  std::vector<std::uint8_t> image(static_cast<std::size_t>(n) * n);
  std::vector<std::future<std::int64_t>> futures;
  std::int64_t total = 0;
  for (auto _ : state) {
    futures.clear();
    for (int t = 0; t < threads; ++t) {
      futures.push_back(std::async(std::launch::async, [&, t] {
        std::int64_t sum = 0;
        for (int y = t; y < n; y += threads) sum += mandelbrot::row(image, n, iterations, y);
        return sum;
      }));
    }
    total = 0;
    for (auto& f : futures) total += f.get();
  }
  mandelbrot::check(state, total);
}

const auto* registered = bench::contender("mandelbrot/std_async", rows, mandelbrot::baseline);

}  // namespace
