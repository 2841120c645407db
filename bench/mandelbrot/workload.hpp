#pragma once
// Imbalance: the Mandelbrot set on a 1000 x 1000 grid (MPP_BENCH_MANDEL_SIZE), at most 200
// iterations per pixel (MPP_BENCH_MANDEL_ITERS), one row per item, as in Taskflow's benchmark.
// Rows through the set cost up to 200 x more than rows outside it. Each row writes its pixels
// into the image and returns its iteration count; the checksum is the total.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/common.hpp"

namespace mandelbrot {

inline int size() {
  return static_cast<int>(bench::size("MPP_BENCH_MANDEL_SIZE", 1000));
}
inline int max_iterations() {
  return static_cast<int>(bench::size("MPP_BENCH_MANDEL_ITERS", 200));
}

// Computes row `y` of an n x n image of [-2, 1] x [-1.5, 1.5]; returns its iterations.
inline std::int64_t row(std::vector<std::uint8_t>& image, int n, int iterations, int y) {
  std::int64_t total = 0;
  const double ci = -1.5 + 3.0 * y / n;
  for (int x = 0; x < n; ++x) {
    const double cr = -2.0 + 3.0 * x / n;
    double zr = 0;
    double zi = 0;
    int k = 0;
    while (k < iterations && zr * zr + zi * zi <= 4.0) {
      const double t = zr * zr - zi * zi + cr;
      zi = 2.0 * zr * zi + ci;
      zr = t;
      ++k;
    }
    image[static_cast<std::size_t>(y) * n + x] = static_cast<std::uint8_t>(k);
    total += k;
  }
  return total;
}

inline std::int64_t expected() {
  static const std::int64_t total = [] {
    const int n = size();
    std::vector<std::uint8_t> image(static_cast<std::size_t>(n) * n);
    std::int64_t sum = 0;
    for (int y = 0; y < n; ++y) sum += row(image, n, max_iterations(), y);
    return sum;
  }();
  return total;
}

inline bool check(benchmark::State& state, std::int64_t total) {
  if (!bench::check(state, total, expected())) return false;
  state.SetItemsProcessed(state.iterations() * size());
  return true;
}

inline constexpr const char* baseline = "mandelbrot/serial";

}  // namespace mandelbrot
