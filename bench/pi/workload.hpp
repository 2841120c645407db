#pragma once
// The seed demo "pi": Monte-Carlo pi from 1000 sampling tasks (MPP_BENCH_PI_TASKS) of 10^5
// points each (MPP_BENCH_PI_SAMPLES), every task seeded from its index so the hit count is the
// same in any order, on any number of threads (Python's `Pool.map(sample, ...)` demo).

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "../common/common.hpp"

namespace pi {

struct Workload {
  static constexpr const char* name = "pi";
  struct Item {
    std::uint64_t samples = 0;
    std::uint64_t index = 0;
  };

  static std::uint64_t f(const Item& task) {
    std::seed_seq seed{std::uint64_t{2024}, task.index};
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::uint64_t hits = 0;
    for (std::uint64_t i = 0; i < task.samples; ++i) {
      const double x = uniform(rng);
      const double y = uniform(rng);
      hits += x * x + y * y <= 1.0 ? 1 : 0;
    }
    return hits;
  }

  static const std::vector<Item>& items() {
    static const std::vector<Item> tasks = [] {
      const std::size_t count = bench::size("MPP_BENCH_PI_TASKS", 1000);
      const std::uint64_t samples = bench::size("MPP_BENCH_PI_SAMPLES", 100'000);
      std::vector<Item> v(count);
      for (std::size_t i = 0; i < count; ++i) v[i] = {samples, i};
      return v;
    }();
    return tasks;
  }

  static std::uint64_t expected() {
    static const std::uint64_t total = [] {
      std::uint64_t sum = 0;
      for (const auto& item : items()) sum += f(item);
      return sum;
    }();
    return total;
  }
};

}  // namespace pi
