#include "common.hpp"

#include <algorithm>
#include <chrono>

namespace bench {

std::uint64_t spin(std::uint64_t seed, std::uint64_t rounds) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (std::uint64_t i = 0; i < rounds; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

std::uint64_t rounds_per_microsecond() {
  static const std::uint64_t rounds = [] {
    constexpr std::uint64_t probe = 1'000'000;
    double best = 1e300;
    for (int attempt = 0; attempt < 5; ++attempt) {
      const auto start = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(spin(static_cast<std::uint64_t>(attempt), probe));
      const std::chrono::duration<double, std::micro> took =
          std::chrono::steady_clock::now() - start;
      best = std::min(best, took.count());
    }
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(probe / best));
  }();
  return rounds;
}

}  // namespace bench
