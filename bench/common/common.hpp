#pragma once
// What every benchmark of the suite shares: sizes from the environment, the thread counts, the
// cool-down between runs, and the registration helpers.

#include <benchmark/benchmark.h>
#include <mpp/benchmark.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace bench {

// MPP_BENCH_SCALE (default 1) multiplies every default size, for quick runs (e.g. 0.01).
inline double scale() {
  const char* text = std::getenv("MPP_BENCH_SCALE");
  return text != nullptr && *text != '\0' ? std::strtod(text, nullptr) : 1.0;
}

// A size: the environment variable `name` if set, else `fallback` times MPP_BENCH_SCALE (>= 1).
inline std::size_t size(const char* name, std::size_t fallback) {
  if (const char* text = std::getenv(name); text != nullptr && *text != '\0') {
    return static_cast<std::size_t>(std::strtod(text, nullptr));
  }
  const double scaled = static_cast<double>(fallback) * scale();
  return scaled < 1 ? 1 : static_cast<std::size_t>(scaled);
}

// The thread counts of the scaling runs: MPP_BENCH_THREADS ("1,2,4") or 1, 2, 4, ...,
// mpp::available_cpus().
inline std::vector<int> threads() {
  const char* text = std::getenv("MPP_BENCH_THREADS");
  if (text == nullptr || *text == '\0') return mpp::bench::thread_counts();
  std::vector<int> counts;
  for (const char* p = text; *p != '\0';) {
    char* end = nullptr;
    const long value = std::strtol(p, &end, 10);
    if (end == p) break;
    if (value > 0) counts.push_back(static_cast<int>(value));
    p = *end == ',' ? end + 1 : end;
  }
  return counts.empty() ? mpp::bench::thread_counts() : counts;
}

// The largest thread count of the run: what single-count benchmarks (latency) use.
inline int max_threads() {
  int most = 1;
  for (int p : threads()) most = p > most ? p : most;
  return most;
}

// Idle workers of OpenMP (and, briefly, of TBB) keep spinning after a parallel region and would
// slow whatever runs next: every run ends with a pause.
inline void cool_down(const benchmark::State&) {
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// Registers a contender over the thread counts, measured against `baseline` (a family name;
// "" = the contender's own 1-thread run).
template <class Body>
benchmark::internal::Benchmark* contender(const std::string& name, Body body,
                                          const std::string& baseline,
                                          benchmark::TimeUnit unit = benchmark::kMillisecond) {
  return mpp::bench::scaling(name, std::move(body), {.threads = threads(), .baseline = baseline})
      ->Unit(unit)
      ->Teardown(cool_down);
}

// Registers the serial reference of a workload (its name is the baseline of the others).
template <class Body>
benchmark::internal::Benchmark* serial(const std::string& name, Body body,
                                       benchmark::TimeUnit unit = benchmark::kMillisecond) {
  return benchmark::RegisterBenchmark(name.c_str(), std::move(body))
      ->UseRealTime()
      ->Unit(unit)
      ->Teardown(cool_down);
}

// Marks a run as failed when its result is wrong; the suite checks every run.
template <class T, class U>
bool check(benchmark::State& state, const T& got, const U& expected) {
  if (got == expected) return true;
  state.SkipWithError(
      ("wrong result: got " + std::to_string(got) + ", expected " + std::to_string(expected))
          .c_str());
  return false;
}

// About `ns` nanoseconds of dependent integer work, returning a value that depends on `seed`.
std::uint64_t spin(std::uint64_t seed, std::uint64_t rounds);

// Rounds of `spin` that take about one microsecond on this machine (measured once).
std::uint64_t rounds_per_microsecond();

}  // namespace bench
