// multiprocessing.Pool's verbs across ranks with mpp::mpi::Executor, the twin of
// mpi_pool_map.py (mpi4py.util.pool): the same program line by line, printing the same lines.
// Rank 0 drives; the other ranks serve the functions registered on every rank.
//
//   mpirun -np 3 --bind-to none ./mpi_pool_map
#include <cstdint>
#include <cstdio>
#include <mpp/mpi.hpp>
#include <numeric>
#include <ranges>
#include <string>
#include <tuple>
#include <vector>

// A deterministic stand-in for a simulation: 10^4 steps of a 64-bit LCG, folded to 0..999.
int simulate(int seed) {
  auto x = static_cast<std::uint64_t>(seed);
  for (int i = 0; i < 10000; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return static_cast<int>(x % 1000);
}

int area(int width, int height) {
  return width * height;
}

// Python's str(list) of ints.
std::string show(const std::vector<int>& xs) {
  std::string out = "[";
  for (std::size_t i = 0; i < xs.size(); ++i) out += (i ? ", " : "") + std::to_string(xs[i]);
  return out + "]";
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  mpp::mpi::Executor pool;  // Python: with Pool() as pool:
  pool.register_function("simulate", simulate);
  pool.register_function("area", area);
  if (pool.serve()) return 0;

  const std::vector<int> results = pool.map(simulate, std::views::iota(0, 100), {.chunksize = 4});
  std::printf("map: %zu results, sum %d, first %s\n", results.size(),
              std::accumulate(results.begin(), results.end(), 0),
              show({results.begin(), results.begin() + 3}).c_str());

  auto pending = pool.apply_async(simulate, 7);
  std::printf("apply_async: %d\n", pending.get());

  std::vector<int> streamed;
  for (const int r : pool.imap(simulate, std::views::iota(0, 5))) streamed.push_back(r);
  std::printf("imap: %s\n", show(streamed).c_str());
  int sum = 0;
  for (const int r : pool.imap_unordered(simulate, std::views::iota(0, 100), {.chunksize = 10}))
    sum += r;
  std::printf("imap_unordered: sum %d\n", sum);
  const std::vector<std::tuple<int, int>> sides = {{1, 2}, {3, 4}, {5, 6}};
  std::printf("starmap: %s\n", show(pool.starmap(area, sides)).c_str());
}
