// A rank that dies inside a collective map: `exit` leaves with _Exit(3), `kill` raises SIGKILL;
// the last rank dies, or the root with `root_exit` / `root_kill` (the others then wait for it in
// the gather). The job must fail (never hang); tests/mpi/dead_rank.sh checks how fast and with
// what message.
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
  const char* mode = argc > 1 ? argv[1] : "exit";
  const bool kill = std::strstr(mode, "kill") != nullptr;
  mpp::mpi::Pool cluster({.threads = 1});
  const int victim = std::strncmp(mode, "root_", 5) == 0 ? 0 : cluster.size() - 1;
  const int fatal = victim == 0 ? 15 : 35;  // near the end of the victim's static block
  const auto r = cluster.map(
      [&](int x) {
        if (x == fatal && cluster.rank() == victim) {
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
