#pragma once
// Task throughput and latency: 10^5 (MPP_BENCH_TASKS) submissions of a ~1 us function with all
// results collected; and the p50/p99 latency of one submission + wait on an idle pool
// (MPP_BENCH_LATENCY_SAMPLES samples, 100 us apart so that the workers go idle in between).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "../common/common.hpp"

namespace tasks {

inline std::size_t count() {
  return bench::size("MPP_BENCH_TASKS", 100'000);
}

// The task: about one microsecond of work.
inline std::uint64_t work(std::uint64_t i) {
  static const std::uint64_t rounds = bench::rounds_per_microsecond();
  return bench::spin(i, rounds);
}

inline std::uint64_t expected(std::size_t n) {
  static std::size_t cached_n = 0;
  static std::uint64_t cached = 0;
  if (cached_n != n) {
    cached = 0;
    for (std::size_t i = 0; i < n; ++i) cached += work(i);
    cached_n = n;
  }
  return cached;
}

inline bool check(benchmark::State& state, std::uint64_t sum, std::size_t n) {
  if (!bench::check(state, sum, expected(n))) return false;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  return true;
}

inline constexpr const char* baseline = "tasks/serial";

// Runs `one(i)` (submit one task and wait for it) on an otherwise idle executor `samples` times,
// and reports the median and 99th percentile of its wall time in microseconds.
template <class One>
void latency(benchmark::State& state, One one) {
  const std::size_t samples = bench::size("MPP_BENCH_LATENCY_SAMPLES", 2000);
  std::vector<double> us;
  us.reserve(samples);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    us.clear();
    for (std::size_t i = 0; i < samples; ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      const auto start = std::chrono::steady_clock::now();
      sum += one(i);
      const std::chrono::duration<double, std::micro> took =
          std::chrono::steady_clock::now() - start;
      us.push_back(took.count());
    }
  }
  benchmark::DoNotOptimize(sum);
  std::sort(us.begin(), us.end());
  const auto at = [&](double q) {
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["threads"] = bench::max_threads();
}

// Registers a latency benchmark at the run's largest thread count.
template <class Fn>
void register_latency(const char* name, Fn fn) {
  benchmark::RegisterBenchmark(name, fn)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Teardown(bench::cool_down);
}

}  // namespace tasks
