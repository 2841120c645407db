// mpi_scan: a keep-going parameter scan over a cluster, handled as the results arrive.
//
// What mpi4py.futures users write with submit, as_completed and a timeout, in C++: rank 0
// submits one simulation per point, each with a time limit its worker enforces, chains a
// summary onto each future with `then`, and reports every result as it completes. A bad point
// fails alone (its future throws; the others go on), and a point that never settles is stopped
// at its limit with mpp::TaskTimeoutError: the simulation checks
// `mpp::this_task::stop_requested()`, since a thread cannot be killed from outside.
//
//     auto f = executor.submit({.timeout = limit}, simulate, r, x0).then(summary);
//     for (auto& done : mpp::as_completed(futures)) ... done.get() ...
//
// The simulation iterates the logistic map x -> r x (1 - x) until it settles, as in
// examples/parameter_scan.cpp (the same scan on one node's pool).
//
//   mpirun -np 3 --bind-to none ./mpi_scan [r values] [time limit in ms]   (defaults 20, 200)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mpp/mpi.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Where the logistic map from x0 settles; throws for inputs the model does not accept.
double simulate(double r, double x0) {
  if (x0 < 0.0 || x0 > 1.0) {
    throw std::domain_error("x0 = " + std::to_string(x0) + " lies outside [0, 1]");
  }
  double x = x0;
  for (long step = 0;; ++step) {
    // Checked every 4096 steps: cheap, and soon enough to end well within the time limit.
    if (step % 4096 == 0 && mpp::this_task::stop_requested()) {
      throw std::runtime_error("stopped after " + std::to_string(step) + " steps");
    }
    const double next = r * x * (1.0 - x);
    if (std::abs(next - x) < 1e-12) return next;
    x = next;
  }
}

// The type of a task's exception: with workers it arrives as mpp::mpi::RemoteError, which names
// it; with one rank it is the exception itself.
std::string type_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const mpp::mpi::RemoteError& e) {
    return e.type_name();
  } catch (const mpp::TaskTimeoutError&) {
    return "mpp::TaskTimeoutError";
  } catch (const std::domain_error&) {
    return "std::domain_error";
  } catch (...) {
    return "another exception";
  }
}

int argument(int argc, char** argv, int at, int fallback) {
  return argc > at ? std::atoi(argv[at]) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  mpp::mpi::Executor executor;
  executor.register_function("simulate", simulate);
  if (executor.serve()) return 0;  // workers serve until the root shuts the executor down

  const int r_values = std::max(1, argument(argc, argv, 1, 20));
  const auto limit = std::chrono::milliseconds(argument(argc, argv, 2, 200));
  // r in [1.1, 2.9] times x0 in {-0.1, 0.3, 0.7}: the x0 = -0.1 column is bad input. One extra
  // point, r = 3.5, cycles for ever.
  struct Point {
    double r, x0;
  };
  std::vector<Point> grid;
  for (int i = 0; i < r_values; ++i) {
    for (const double x0 : {-0.1, 0.3, 0.7}) grid.push_back({1.1 + 1.8 * i / r_values, x0});
  }
  grid.push_back({3.5, 0.3});

  const auto start = std::chrono::steady_clock::now();
  std::vector<mpp::mpi::Future<std::string>> futures;
  for (const Point& p : grid) {
    futures.push_back(
        executor.submit({.timeout = limit}, simulate, p.r, p.x0).then([p](double settled) {
          char line[96];
          std::snprintf(line, sizeof line, "r = %.2f, x0 = %.1f settled at %.6f", p.r, p.x0,
                        settled);
          return std::string(line);
        }));
  }
  int settled = 0, rejected = 0, timed_out = 0, other = 0;
  for (auto& done : mpp::as_completed(futures)) {
    try {
      const std::string line = done.get();
      if (++settled <= 3) std::printf("done:      %s\n", line.c_str());
    } catch (const std::exception& e) {
      const std::string type = type_of(std::current_exception());
      if (type == "mpp::TaskTimeoutError") {
        ++timed_out;
        std::printf("timed out: %s\n", e.what());
      } else if (type == "std::domain_error") {
        if (++rejected <= 2) std::printf("rejected:  %s\n", e.what());
      } else {
        ++other;
        std::printf("failed:    %s\n", e.what());
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  executor.shutdown();
  std::printf(
      "%zu points in %.2f s on %d worker rank(s): %d settled, %d rejected, %d timed out, "
      "%d other failures\n",
      grid.size(), seconds, executor.num_workers(), settled, rejected, timed_out, other);
  // The scan is only useful if exactly the bad inputs and the cycling point failed.
  return rejected == r_values && timed_out == 1 && other == 0 ? 0 : 1;
}
