#include <mpp/pool.hpp>

#include <numeric>
#include <ranges>

#include "workload.hpp"

namespace {

void rows(benchmark::State& state, int threads, const mpp::MapOptions& options) {
  const int n = mandelbrot::size();
  const int iterations = mandelbrot::max_iterations();
  std::vector<std::uint8_t> image(static_cast<std::size_t>(n) * n);
  mpp::Pool pool(threads);
  std::int64_t total = 0;
  for (auto _ : state) {
    const auto per_row = pool.map([&](int y) { return mandelbrot::row(image, n, iterations, y); },
                                  std::views::iota(0, n), options);
    total = std::accumulate(per_row.begin(), per_row.end(), std::int64_t{0});
  }
  mandelbrot::check(state, total);
}

const auto* adaptive = bench::contender(
    "mandelbrot/mpp", [](benchmark::State& s, int p) { rows(s, p, {}); }, mandelbrot::baseline);
const auto* chunk1 = bench::contender(
    "mandelbrot/mpp_chunksize:1", [](benchmark::State& s, int p) { rows(s, p, {.chunksize = 1}); },
    mandelbrot::baseline);
const auto* dynamic = bench::contender(
    "mandelbrot/mpp_dynamic",
    [](benchmark::State& s, int p) { rows(s, p, {.schedule = mpp::schedule::dynamic}); },
    mandelbrot::baseline);
const auto* python = bench::contender(
    "mandelbrot/mpp_python",
    [](benchmark::State& s, int p) { rows(s, p, {.schedule = mpp::schedule::python}); },
    mandelbrot::baseline);

}  // namespace
