// OpenMP over rows: schedule(static), (dynamic,1) and (guided,1).
#include <omp.h>

#include "workload.hpp"

namespace {

enum class Kind { static_, dynamic, guided };

template <Kind kind>
void rows(benchmark::State& state, int threads) {
  const int n = mandelbrot::size();
  const int iterations = mandelbrot::max_iterations();
  std::vector<std::uint8_t> image(static_cast<std::size_t>(n) * n);
  std::int64_t total = 0;
  for (auto _ : state) {
    std::int64_t sum = 0;
    if constexpr (kind == Kind::static_) {
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : sum)
      for (int y = 0; y < n; ++y) sum += mandelbrot::row(image, n, iterations, y);
    } else if constexpr (kind == Kind::dynamic) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(+ : sum)
      for (int y = 0; y < n; ++y) sum += mandelbrot::row(image, n, iterations, y);
    } else {
#pragma omp parallel for num_threads(threads) schedule(guided, 1) reduction(+ : sum)
      for (int y = 0; y < n; ++y) sum += mandelbrot::row(image, n, iterations, y);
    }
    total = sum;
  }
  mandelbrot::check(state, total);
}

const auto* s =
    bench::contender("mandelbrot/omp_static", rows<Kind::static_>, mandelbrot::baseline);
const auto* d =
    bench::contender("mandelbrot/omp_dynamic,1", rows<Kind::dynamic>, mandelbrot::baseline);
const auto* g =
    bench::contender("mandelbrot/omp_guided,1", rows<Kind::guided>, mandelbrot::baseline);

}  // namespace
