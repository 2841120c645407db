// Written only against the documented contract of mpp's MPI layer; run under mpirun.
#include <cstdio>
#include <mpp/mpi.hpp>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>

int twice(int x) {
  return 2 * x;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  mpp::mpi::Pool cluster;
  const auto doubled = cluster.map(twice, std::views::iota(0, 1000), {.chunksize = 16});
  const auto everywhere =
      cluster.map(twice, std::views::iota(0, 10), {.schedule = mpp::schedule::static_},
                  mpp::mpi::results::on_every_rank);
  bool remote = false;
  try {
    (void)cluster.map(
        [](int x) {
          if (x == 999) throw std::runtime_error("boom");
          return x;
        },
        std::views::iota(0, 1000));
  } catch (const mpp::mpi::RemoteError& e) {
    remote = e.item() == std::optional<std::size_t>(999) && e.message() == "boom";
  } catch (const std::runtime_error& e) {  // the rank that computed item 999 gets the original
    remote = std::string(e.what()) == "boom";
  }
  bool ok = everywhere.size() == 10 && everywhere[9] == 18 && remote;
  if (cluster.is_root()) ok = ok && std::accumulate(doubled.begin(), doubled.end(), 0) == 999000;
  std::printf("consumer-mpi rank %d of %d: %s\n", cluster.rank(), cluster.size(),
              ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
