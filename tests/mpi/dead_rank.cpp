// A rank that dies inside a collective map: `exit` leaves with _Exit(3), `kill` raises SIGKILL.
// The job must fail (never hang); tests/mpi/dead_rank.sh checks how fast and with what message.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mpp/mpi.hpp>
#include <ranges>
#include <thread>

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const bool kill = argc > 1 && std::strcmp(argv[1], "kill") == 0;
  mpp::mpi::Pool cluster({.threads = 1});
  const int victim = cluster.size() - 1;
  const auto r = cluster.map(
      [&](int x) {
        if (x == 35 && cluster.rank() == victim) {
          const auto now = std::chrono::system_clock::now().time_since_epoch();
          std::fprintf(stderr, "rank %d dies at %.3f\n", victim,
                       std::chrono::duration<double>(now).count());
          std::fflush(stderr);
          if (kill) std::raise(SIGKILL);
          std::_Exit(3);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return x;
      },
      std::views::iota(0, 40), {.schedule = mpp::schedule::static_});
  if (cluster.is_root()) std::printf("unexpected: the map finished with %zu results\n", r.size());
  return 0;
}
