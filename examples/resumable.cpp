// resumable: a long map that survives the batch system's time limit and resumes where it stopped.
//
// Teaches `MapOptions::checkpoint`. Finished chunks are saved in a journal; SIGTERM (what Slurm
// sends at the time limit) or Ctrl-C stops the map cleanly with `mpp::InterruptedError`, and even a
// SIGKILL loses only the chunks that were running. Running the program again resumes: it reads
// what the journal holds and computes the rest.
//
//     sbatch resumable.sbatch   # examples/slurm/: stopped by its time limit, exit status 3
//     sbatch resumable.sbatch   # the same script again finishes the rest
//
// Usage: resumable <journal> [items] [microseconds per item]   (defaults 20000, 500)
// Exit status: 0 when complete (prints the checksum), 3 when interrupted.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <ranges>
#include <thread>

#include <mpp/mpp.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: resumable <journal> [items] [microseconds per item]\n");
    return 2;
  }
  const int items = argc > 2 ? std::atoi(argv[2]) : 20'000;
  const auto cost = std::chrono::microseconds(argc > 3 ? std::atoi(argv[3]) : 500);
  std::atomic<long> computed{0};
  auto simulate = [&](int x) {
    std::this_thread::sleep_for(cost);  // stands for real work
    computed.fetch_add(1, std::memory_order_relaxed);
    return static_cast<long>(x) * x % 1'000'003;
  };

  mpp::Pool pool;
  try {
    const auto results =
        pool.map(simulate, std::views::iota(0, items), {.chunksize = 50, .checkpoint = argv[1]});
    std::printf("complete: computed %ld of %d items now, the rest came from the journal\n",
                computed.load(), items);
    std::printf("checksum %ld\n", std::accumulate(results.begin(), results.end(), 0L));
    return 0;
  } catch (const mpp::InterruptedError& stop) {
    std::printf("interrupted after computing %ld items: %s\n", computed.load(), stop.what());
    return 3;
  }
}
