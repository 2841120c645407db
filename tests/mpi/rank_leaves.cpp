// A rank lets go of an mpp object while another rank calls into it: the caller would wait
// forever in the collective call, so the job must end at once, saying which rank left and how.
// tests/mpi/rank_leaves.sh checks how fast and with what message. Modes (the rank that leaves
// is the last one, or the root with `root_*`):
//   throw       it throws after making its mpi::Pool; the exception is caught in main
//   return      it returns 2 from main instead of calling map
//   static      its pool is a function-local static, alive until MPI_Finalize; it returns 0
//   root_throw  the root throws while the other ranks call map
//   worker      an Executor worker returns without serving while the root waits for a result
//   together    every rank throws and catches: nobody waits for anybody, the job succeeds
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mpp/mpi.hpp>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

int twice(int x) {
  return 2 * x;
}

void say_leaving(int rank, const char* how) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::fprintf(stderr, "rank %d leaves (%s) at %.3f\n", rank, how,
               std::chrono::duration<double>(now).count());
  std::fflush(stderr);
}

int map_once(mpp::mpi::Pool& cluster) {
  const auto r = cluster.map(twice, std::views::iota(0, 100));
  if (cluster.is_root()) std::printf("map done: %zu results\n", r.size());
  return 0;
}

mpp::mpi::Pool& static_pool() {
  static mpp::mpi::Pool pool({.threads = 1});
  return pool;
}

}  // namespace

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "throw";
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int leaver = mode.starts_with("root_") ? 0 : size - 1;

  if (mode == "throw" || mode == "root_throw" || mode == "together") {
    try {
      mpp::mpi::Pool cluster({.threads = 1});
      if (rank == leaver || mode == "together") {
        say_leaving(rank, "throws");
        throw std::runtime_error("input file not found");
      }
      return map_once(cluster);
    } catch (const std::runtime_error& e) {
      std::fprintf(stderr, "rank %d caught: %s\n", rank, e.what());
      return mode == "together" ? 0 : 2;
    }
  }
  if (mode == "return") {
    mpp::mpi::Pool cluster({.threads = 1});
    if (rank == leaver) {
      say_leaving(rank, "returns 2");
      return 2;
    }
    return map_once(cluster);
  }
  if (mode == "static") {
    auto& cluster = static_pool();
    if (rank == leaver) {
      say_leaving(rank, "returns 0, its pool still alive");
      return 0;
    }
    return map_once(cluster);
  }
  if (mode == "worker") {
    mpp::mpi::Executor ex({.threads = 1});
    ex.register_function("twice", twice);
    if (rank == leaver) {
      say_leaving(rank, "returns without serving");
      return 0;
    }
    if (ex.serve()) return 0;
    std::printf("result: %d\n", ex.submit(twice, 21).get());
    return 0;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 64;
}
