// Hand-written oneTBB: parallel_for over rows (auto_partitioner, grain 1) in a task_arena.
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/task_arena.h>

#include <functional>

#include "workload.hpp"

namespace {

void rows(benchmark::State& state, int threads) {
  const int n = mandelbrot::size();
  const int iterations = mandelbrot::max_iterations();
  std::vector<std::uint8_t> image(static_cast<std::size_t>(n) * n);
  tbb::task_arena arena(threads);
  std::int64_t total = 0;
  for (auto _ : state) {
    total = arena.execute([&] {
      return tbb::parallel_reduce(
          tbb::blocked_range<int>(0, n), std::int64_t{0},
          [&](const tbb::blocked_range<int>& r, std::int64_t sum) {
            for (int y = r.begin(); y != r.end(); ++y) {
              sum += mandelbrot::row(image, n, iterations, y);
            }
            return sum;
          },
          std::plus<>());
    });
  }
  mandelbrot::check(state, total);
}

const auto* registered =
    bench::contender("mandelbrot/tbb_parallel_for", rows, mandelbrot::baseline);

}  // namespace
