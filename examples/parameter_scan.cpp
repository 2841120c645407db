// parameter_scan: a scan over a parameter grid that keeps going when some points fail.
//
// Teaches `mpp::on_error::collect` and `MapOptions::task_timeout`. In a real scan a few inputs
// are bad (the model rejects them) and a few never converge; without these options the first
// bad point ends the whole scan, and a point that never converges holds it forever. Here every
// point gets an `mpp::Outcome`, a point past its time limit becomes an `mpp::TaskTimeoutError`,
// and the summary says what failed and why:
//
//     auto out = pool.map(mpp::on_error::collect, simulate, grid, {.task_timeout = 200ms});
//
// The simulation iterates the logistic map x -> r x (1 - x) until it settles. Points with
// x0 < 0 are rejected, and r = 3.5, whose orbit cycles for ever, is stopped at its time limit:
// the iteration checks `mpp::this_task::stop_requested()` each round, since a thread cannot be
// killed from outside.
//
// Usage: parameter_scan [r values] [time limit in ms]   (defaults 40 and 200)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <mpp/mpp.hpp>

#include "workloads/common.hpp"

namespace {

struct Point {
  double r;
  double x0;
};

// Iterates the logistic map from x0 until two steps differ by less than 1e-12; returns where it
// settled. Throws for inputs the model does not accept.
double simulate(const Point& p) {
  if (p.x0 < 0.0 || p.x0 > 1.0) {
    throw std::domain_error("x0 = " + std::to_string(p.x0) + " lies outside [0, 1]");
  }
  double x = p.x0;
  for (long step = 0;; ++step) {
    // Checked every 4096 steps: cheap, and soon enough to end well within the time limit.
    if (step % 4096 == 0 && mpp::this_task::stop_requested()) {
      throw std::runtime_error("stopped after " + std::to_string(step) + " steps");
    }
    const double next = p.r * x * (1.0 - x);
    if (std::abs(next - x) < 1e-12) return next;
    x = next;
  }
}

// r in [1.1, 2.9] times x0 in {-0.1, 0.1, ..., 0.9}: the x0 = -0.1 column is bad input. One
// extra point, r = 3.5, never settles.
std::vector<Point> make_grid(int r_values) {
  std::vector<Point> grid;
  for (int i = 0; i < r_values; ++i) {
    const double r = 1.1 + 1.8 * i / std::max(1, r_values - 1);
    for (int j = 0; j < 11; ++j) grid.push_back({r, -0.1 + 0.1 * j});
  }
  grid.push_back({3.5, 0.3});
  return grid;
}

}  // namespace

int main(int argc, char** argv) {
  const int r_values = static_cast<int>(workloads::size_argument(argc, argv, 1, 40));
  const auto limit = std::chrono::milliseconds(workloads::size_argument(argc, argv, 2, 200));
  const std::vector<Point> grid = make_grid(r_values);

  mpp::Pool pool;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<mpp::Outcome<double>> out =
      pool.map(mpp::on_error::collect, simulate, grid, {.task_timeout = limit});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int settled = 0, rejected = 0, timed_out = 0, other = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i]) {
      ++settled;
      continue;
    }
    try {
      std::rethrow_exception(out[i].error());
    } catch (const mpp::TaskTimeoutError& e) {
      ++timed_out;
      std::printf("timed out: r = %.2f, x0 = %.2f (item %zu) ran %.3f s, limit %.3f s\n", grid[i].r,
                  grid[i].x0, i, std::chrono::duration<double>(e.elapsed()).count(),
                  std::chrono::duration<double>(e.limit()).count());
    } catch (const std::domain_error& e) {
      if (++rejected <= 3) std::printf("rejected:  item %zu: %s\n", i, e.what());
    } catch (const std::exception& e) {
      ++other;
      std::printf("failed:    item %zu: %s\n", i, e.what());
    }
  }
  std::printf(
      "%zu points in %.2f s on %d threads: %d settled, %d rejected, %d timed out, "
      "%d other failures\n",
      grid.size(), seconds, pool.threads(), settled, rejected, timed_out, other);
  // The scan is only useful if exactly the bad inputs and the cycling point failed.
  const bool as_expected = rejected == r_values && timed_out == 1 && other == 0;
  return as_expected ? 0 : 1;
}
