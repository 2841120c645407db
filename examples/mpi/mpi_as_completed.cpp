// A submit + as_completed loop with mpp::mpi::Executor, the twin of mpi_as_completed.py: handle
// each result as it arrives, and keep going past the inputs that fail.
//
//   mpirun -np 3 --bind-to none ./mpi_as_completed
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mpp/mpi.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

int simulate(int seed) {
  if (seed % 10 == 3) throw std::invalid_argument("seed " + std::to_string(seed) + " diverged");
  // Uneven lengths: results complete out of order.
  std::this_thread::sleep_for(std::chrono::milliseconds(seed % 4));
  return seed * seed;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  mpp::mpi::Executor executor;
  executor.register_function("simulate", simulate);
  if (executor.serve()) return 0;

  std::vector<mpp::mpi::Future<int>> futures;
  for (int seed = 0; seed < 40; ++seed) futures.push_back(executor.submit(simulate, seed));
  int done = 0, total = 0;
  std::vector<std::string> failed;
  for (auto& future : mpp::as_completed(futures)) {
    try {
      total += future.get();
      ++done;
    } catch (const mpp::mpi::RemoteError& error) {  // thrown on a worker
      failed.push_back(error.message());
    } catch (const std::invalid_argument& error) {  // thrown here, with one rank
      failed.push_back(error.what());
    }
  }
  std::printf("%d succeeded, %zu failed, sum of squares %d\n", done, failed.size(), total);
  std::ranges::sort(failed);
  for (const auto& message : failed) std::printf("failed: %s\n", message.c_str());
}
