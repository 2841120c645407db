// Monte-Carlo pi, the `Pool.map(sample, ...)` demo, across ranks: every rank draws its share of
// the batches on all its threads, and the counts are gathered on the root.
//
//   mpirun -np 4 --bind-to none ./mpi_pi [batches] [samples per batch]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mpp/mpi.hpp>
#include <numeric>
#include <random>
#include <ranges>

// Points of batch `b` that fall inside the unit quarter circle; the seed makes every run (and
// every rank count) give the same answer.
std::uint64_t hits(std::uint64_t b, std::uint64_t samples) {
  std::mt19937_64 rng(0x9E3779B97F4A7C15ULL * (b + 1));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::uint64_t inside = 0;
  for (std::uint64_t i = 0; i < samples; ++i) {
    const double x = u(rng), y = u(rng);
    inside += x * x + y * y <= 1.0 ? 1 : 0;
  }
  return inside;
}

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv);
  const std::uint64_t batches = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 256;
  const std::uint64_t samples = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100000;

  mpp::mpi::Pool cluster;
  const double start = MPI_Wtime();
  const auto counts = cluster.map([&](std::uint64_t b) { return hits(b, samples); },
                                  std::views::iota(std::uint64_t{0}, batches));
  if (cluster.is_root()) {
    const std::uint64_t inside = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
    const double pi = 4.0 * static_cast<double>(inside) / static_cast<double>(batches * samples);
    std::printf("pi ~= %.6f from %llu samples on %d ranks x %d threads in %.3f s\n", pi,
                static_cast<unsigned long long>(batches * samples), cluster.size(),
                cluster.threads(), MPI_Wtime() - start);
  }
}
