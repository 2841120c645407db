// mandelbrot: renders the Mandelbrot set row by row and compares the schedules of `pool.map`.
//
// Teaches why the schedule matters when items have very different costs: a row crossing the set
// costs up to 1000 iterations per pixel, a row outside it a handful. `schedule::static_` gives
// each thread one contiguous block of rows decided up front, so the thread that gets the rows
// with most of the set finishes last; `schedule::dynamic` hands out rows one at a time on
// demand; the default, work stealing (`schedule::adaptive`), splits ranges when threads run idle.
// In Python:
//
//     with Pool() as pool:
//         rows = pool.map(render_row, range(height))                 # Python's chunking
//         rows = pool.imap(render_row, range(height), chunksize=1)   # one row at a time
//
// and in C++ (workloads/mandelbrot.hpp):
//
//     pool.map(render_row, std::views::iota(0, height), {.schedule = mpp::schedule::static_});
//     pool.map(render_row, std::views::iota(0, height), {.schedule = mpp::schedule::dynamic});
//     pool.map(render_row, std::views::iota(0, height));              // work stealing
//
// Writes the image as a binary PGM (any image viewer opens it).
// Usage: mandelbrot [output.pgm] [width]      (defaults: mandelbrot.pgm, 1200)

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <mpp/mpp.hpp>

#include "workloads/common.hpp"
#include "workloads/mandelbrot.hpp"

int main(int argc, char** argv) {
  namespace w = workloads::mandelbrot;
  const std::string path = argc > 1 ? argv[1] : "mandelbrot.pgm";
  w::Params params;
  params.width = static_cast<int>(workloads::size_argument(argc, argv, 2, params.width));
  params.height = std::max(1, params.width * 7 / 12);

  mpp::Pool pool;
  const auto [expected, serial_s] = workloads::timed([&] { return w::serial(params); });
  std::printf("%dx%d pixels, %d iterations at most; mpp::Pool with %d threads\n\n", params.width,
              params.height, params.max_iterations, pool.threads());
  std::printf("%-32s %9s %8s\n", "schedule", "time (s)", "speedup");
  std::printf("%-32s %9.3f %8.2f\n", "serial", serial_s, 1.0);

  struct Contender {
    const char* name;
    mpp::MapOptions options;
  };
  const Contender contenders[] = {
      {"schedule::static_", {.schedule = mpp::schedule::static_}},
      {"schedule::dynamic", {.schedule = mpp::schedule::dynamic}},
      {"schedule::dynamic, chunksize 16", {.chunksize = 16, .schedule = mpp::schedule::dynamic}},
      {"schedule::python", {.schedule = mpp::schedule::python}},
      {"work stealing (default)", {}},
  };
  bool all_same = true;
  for (const Contender& contender : contenders) {
    std::vector<double> times;
    for (int run = 0; run < 3; ++run) {  // the median of three runs
      auto [image, seconds] =
          workloads::timed([&] { return w::parallel(pool, params, contender.options); });
      all_same = all_same && image == expected;
      times.push_back(seconds);
    }
    std::ranges::sort(times);
    std::printf("%-32s %9.3f %8.2f\n", contender.name, times[1], serial_s / times[1]);
  }

  std::printf("\n%zu of %zu pixels in the set\n", w::pixels_in_set(expected),
              expected.pixels.size());
  if (!w::write_pgm(expected, path)) {
    std::fprintf(stderr, "error: could not write %s\n", path.c_str());
    return 1;
  }
  std::printf("wrote %s\n", path.c_str());
  if (!all_same) {
    std::fprintf(stderr, "error: a parallel image differs from the serial one\n");
    return 1;
  }
  return 0;
}
