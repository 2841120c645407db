// The cost of mpp::as_completed over mpp::mpi::Executor futures against a loop of get() in
// submission order: the same tiny tasks, the two ways interleaved, medians.
//   mpirun -np 3 ./mpp_bench_as_completed [tasks] [repetitions]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mpp/mpi.hpp>
#include <vector>

long tiny(long x) {
  return x + 1;
}

// Seconds to submit `tasks` tasks and read every result, by get() in order or as completed.
double round_trip(mpp::mpi::Executor& executor, long tasks, bool as_completed) {
  const double start = MPI_Wtime();
  std::vector<mpp::mpi::Future<long>> futures;
  futures.reserve(static_cast<std::size_t>(tasks));
  for (long i = 0; i < tasks; ++i) futures.push_back(executor.submit(tiny, i));
  long sum = 0;
  if (as_completed) {
    for (auto& f : mpp::as_completed(futures)) sum += f.get();
  } else {
    for (auto& f : futures) sum += f.get();
  }
  if (sum != tasks * (tasks + 1) / 2) {
    std::fprintf(stderr, "wrong result\n");
    std::exit(1);
  }
  return MPI_Wtime() - start;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const long tasks = argc > 1 ? std::atol(argv[1]) : 20000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 7;
  mpp::mpi::Executor executor({.threads = 1});
  executor.register_function("tiny", tiny);
  if (executor.serve()) return 0;
  std::vector<double> loop, completed;
  for (int r = 0; r < reps; ++r) {
    loop.push_back(round_trip(executor, tasks, false));
    completed.push_back(round_trip(executor, tasks, true));
  }
  std::ranges::sort(loop);
  std::ranges::sort(completed);
  const double a = loop[loop.size() / 2], b = completed[completed.size() / 2];
  std::printf(
      "as_completed over %ld futures, np %d: get loop %.4f s, as_completed %.4f s: %.2f x\n", tasks,
      executor.size(), a, b, b / a);
}
