#pragma once
// The seed demo "pi": Monte-Carlo pi from 1000 sampling tasks (MPP_BENCH_PI_TASKS) of 10^5
// points each (MPP_BENCH_PI_SAMPLES), every task seeded from its index so the hit count is the
// same in any order, on any number of threads (Python's `Pool.map(sample, ...)` demo). The
// kernel is the examples' own (examples/workloads/pi.hpp).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/common.hpp"
#include "workloads/pi.hpp"

namespace pi {

struct Workload {
  static constexpr const char* name = "pi";
  using Item = workloads::pi::Task;

  static std::uint64_t f(const Item& task) { return workloads::pi::sample(task); }

  static const std::vector<Item>& items() {
    static const std::vector<Item> tasks = [] {
      const std::size_t count = bench::size("MPP_BENCH_PI_TASKS", 1000);
      const std::uint64_t samples = bench::size("MPP_BENCH_PI_SAMPLES", 100'000);
      return workloads::pi::tasks(samples, count);
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
