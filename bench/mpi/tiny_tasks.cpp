// Throughput of tiny tasks at chunksize 1: mpp::mpi::Executor::map, the same workload as
// tiny_tasks.py runs with mpi4py.futures.MPIPoolExecutor.map. Prints the time per task.
//   mpirun -np 3 ./mpp_bench_tiny_tasks [tasks] [repetitions]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mpp/mpi.hpp>
#include <ranges>
#include <vector>

int tiny(int x) {
  return x + 1;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const int tasks = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  mpp::mpi::Executor executor;
  executor.register_function("tiny", tiny);
  if (executor.serve()) return 0;
  std::vector<double> per_task;
  for (int r = 0; r < reps + 1; ++r) {
    const double start = MPI_Wtime();
    const std::vector<int> out = executor.map(tiny, std::views::iota(0, tasks), {.chunksize = 1});
    const double seconds = MPI_Wtime() - start;
    if (out.size() != static_cast<std::size_t>(tasks) || out.back() != tasks) {
      std::fprintf(stderr, "wrong result\n");
      return 1;
    }
    if (r > 0) per_task.push_back(seconds / tasks * 1e6);  // the first is warm-up
  }
  std::ranges::sort(per_task);
  std::printf("mpp Executor.map chunksize 1, np %d: %.2f us per task (median of %d)\n",
              executor.size(), per_task[per_task.size() / 2], reps);
}
