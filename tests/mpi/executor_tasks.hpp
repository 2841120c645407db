#pragma once
// Task functions the Executor test files share. Each file registers them by name on every rank
// (inline: one address per program, which is how submit finds them).
#include <chrono>
#include <mpp/mpi.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mpp_test {

// Sleeps `ms` milliseconds and returns it.
inline int nap(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

// Returns `x`; a negative `x` throws std::invalid_argument("negative input <x>").
inline int checked(int x) {
  if (x < 0) throw std::invalid_argument("negative input " + std::to_string(x));
  return x;
}

// Occupies every computing rank's share (4 tasks of 50 ms per thread; executors made with one
// thread), so that what is submitted next waits in the root's queue, where it can be
// cancelled. `nap` must be registered.
inline std::vector<mpp::mpi::Future<int>> occupy(mpp::mpi::Executor& ex) {
  std::vector<mpp::mpi::Future<int>> blockers;
  for (int i = 0; i < 4 * ex.num_workers(); ++i) blockers.push_back(ex.submit(nap, 50));
  return blockers;
}

}  // namespace mpp_test
