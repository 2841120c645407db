#include "workload.hpp"

namespace {

void serial(benchmark::State& state) {
  const int n = mandelbrot::size();
  const int iterations = mandelbrot::max_iterations();
  std::vector<std::uint8_t> image(static_cast<std::size_t>(n) * n);
  std::int64_t total = 0;
  for (auto _ : state) {
    total = 0;
    for (int y = 0; y < n; ++y) total += mandelbrot::row(image, n, iterations, y);
  }
  mandelbrot::check(state, total);
}

const auto* registered = bench::serial(mandelbrot::baseline, serial);

}  // namespace
