#pragma once
/// @file
/// Scaling benchmarks with Google Benchmark: register one benchmark over a set of thread counts
/// and get speedup, parallel efficiency and the Karp-Flatt serial fraction as counters.
///
/// Header-only; it needs Google Benchmark (`find_package(benchmark)`) and is not part of
/// `mpp::mpp`, so the library itself never depends on Google Benchmark. Link the CMake target
/// `mpp::benchmark` (or `mpp::mpp` and `benchmark::benchmark`) and write:
///
/// ```cpp
/// #include <mpp/benchmark.hpp>
/// #include <mpp/pool.hpp>
///
/// static const auto* serial = benchmark::RegisterBenchmark("sum/serial", [](auto& state) {
///   for (auto _ : state) benchmark::DoNotOptimize(work(0, n));
/// })->UseRealTime();
///
/// static const auto* parallel = mpp::bench::scaling(
///     "sum/mpp",
///     [](benchmark::State& state, int threads) {
///       mpp::Pool pool(threads);
///       for (auto _ : state) benchmark::DoNotOptimize(pool.map(step, items));
///     },
///     {.baseline = "sum/serial"});  // unset: the family's own 1-thread run
///
/// MPP_BENCHMARK_MAIN();
/// ```
///
/// Each run `sum/mpp/threads:p` then shows, next to its time T_p:
/// - `speedup` S = T_base / T_p;
/// - `efficiency` E = S / p;
/// - `karp_flatt` e = (1/S - 1/p) / (1 - 1/p), the experimentally determined serial fraction
///   (only for p > 1): constant e as p grows means a serial part limits scaling, growing e means
///   parallel overhead does.
///
/// Where the counters come from: T_base is the median (or, without repetitions, the mean) real time
/// of the baseline benchmark in the same process, so the ratios are measured side by side. A run
/// reported before its baseline (with `--benchmark_enable_random_interleaving`) is held back and
/// printed once the baseline has run. Counters are added by `mpp::bench::ScalingReporter`, which
/// `MPP_BENCHMARK_MAIN()` installs for the console and for `--benchmark_out` (JSON or console
/// format); a program with its own `main` wraps its reporters in it. Not thread-safe: register from
/// one thread (static initialisation or `main`), as Google Benchmark requires.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mpp/cpus.hpp"

namespace mpp::bench {

/// The thread counts 1, 2, 4, ... below `max`, and `max` itself (1, 2, 4, 6 for `max` = 6).
/// Default `max`: `mpp::available_cpus()`.
inline std::vector<int> thread_counts(int max = mpp::available_cpus()) {
  std::vector<int> counts;
  for (int p = 1; p < max; p *= 2) counts.push_back(p);
  counts.push_back(std::max(1, max));
  return counts;
}

/// Options of `mpp::bench::scaling`.
struct ScalingOptions {
  /// The thread counts to register, one run each; empty: `thread_counts()`.
  std::vector<int> threads = {};
  /// The family name of the benchmark the speedup is measured against (e.g. a serial loop
  /// registered as `"primes/serial"`). Empty: this family's run with the fewest threads.
  std::string baseline = {};
};

namespace detail {

// What `scaling` registered: a family's baseline ("" = its own run with `fewest` threads).
struct ScalingFamily {
  std::string baseline;
  int fewest = 1;
};

inline std::map<std::string, ScalingFamily, std::less<>>& scaling_families() {
  static std::map<std::string, ScalingFamily, std::less<>> families;
  return families;
}

}  // namespace detail

/// Registers `body(state, threads)` as the Google Benchmark family `name/threads:p`, one run per
/// thread count in `options.threads`, timed in real (wall-clock) time, and marks it for the
/// speedup, efficiency and Karp-Flatt counters (see the file comment). `body` runs its
/// `for (auto _ : state)` loop with `threads` threads. Returns the family, so that Google
/// Benchmark's settings chain: `->Unit(benchmark::kMillisecond)->Repetitions(5)`.
///
/// ```cpp
/// mpp::bench::scaling("map/mpp", [](benchmark::State& s, int p) {
///   mpp::Pool pool(p);
///   for (auto _ : s) benchmark::DoNotOptimize(pool.map(f, xs));
/// })->Unit(benchmark::kMicrosecond);
/// ```
template <class Body>
::benchmark::internal::Benchmark* scaling(const std::string& name, Body body,
                                          ScalingOptions options = {}) {
  if (options.threads.empty()) options.threads = thread_counts();
  detail::scaling_families()[name] = {
      options.baseline, *std::min_element(options.threads.begin(), options.threads.end())};
  auto* family = ::benchmark::RegisterBenchmark(
      name.c_str(), [body = std::move(body)](::benchmark::State& state) mutable {
        const int threads = static_cast<int>(state.range(0));
        body(state, threads);
        state.counters["threads"] = threads;
      });
  family->ArgName("threads")->UseRealTime();
  for (int p : options.threads) family->Arg(p);
  return family;
}

/// A reporter that adds `speedup`, `efficiency` and `karp_flatt` to the runs of families
/// registered with `mpp::bench::scaling`, then hands every run to the reporter it wraps (the
/// console or JSON reporter). Runs whose baseline has not been reported yet are held back
/// until it has; `Finalize` flushes what is left without counters.
class ScalingReporter : public ::benchmark::BenchmarkReporter {
 public:
  /// One measured run, as Google Benchmark reports it.
  using Run = ::benchmark::BenchmarkReporter::Run;

  /// Wraps `inner`, which this reporter does not own (e.g.
  /// `benchmark::CreateDefaultDisplayReporter()`).
  explicit ScalingReporter(::benchmark::BenchmarkReporter* inner) : inner_(inner) {}
  /// Wraps and owns `inner`.
  explicit ScalingReporter(std::unique_ptr<::benchmark::BenchmarkReporter> inner)
      : owned_(std::move(inner)), inner_(owned_.get()) {}

  /// Points the wrapped reporter at this reporter's streams and passes the context on.
  bool ReportContext(const Context& context) override {
    // Google Benchmark points this reporter at the output file; the wrapped one writes there.
    inner_->SetOutputStream(&GetOutputStream());
    inner_->SetErrorStream(&GetErrorStream());
    return inner_->ReportContext(context);
  }

  /// Adds the scaling counters to `runs` once their baseline is known, then passes them on.
  void ReportRuns(const std::vector<Run>& runs) override {
    if (runs.empty()) return;
    remember_baseline(runs);
    pending_.push_back(runs);
    flush(false);
  }

  /// Passes on the runs still held back, without counters, and finalizes the wrapped reporter.
  void Finalize() override {
    flush(true);
    inner_->Finalize();
  }

 private:
  // The time per iteration, in seconds, that represents one benchmark instance's runs: the
  // median aggregate when there are repetitions, else the mean of the iterations' times.
  static double representative_seconds(const std::vector<Run>& runs) {
    double sum = 0;
    int count = 0;
    for (const auto& run : runs) {
      if (run.error_occurred) continue;
      const double seconds =
          run.GetAdjustedRealTime() / ::benchmark::GetTimeUnitMultiplier(run.time_unit);
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") return seconds;
        continue;
      }
      sum += seconds;
      ++count;
    }
    return count > 0 ? sum / count : 0.0;
  }

  static int threads_of(const Run& run) {
    const auto it = run.counters.find("threads");
    return it != run.counters.end() ? static_cast<int>(it->second.value) : 0;
  }

  // Stores the time of a family's first instance (a baseline for others), and of a scaling
  // family's fewest-threads run (its own baseline).
  void remember_baseline(const std::vector<Run>& runs) {
    const std::string& family = runs.front().run_name.function_name;
    const double seconds = representative_seconds(runs);
    if (seconds <= 0) return;
    baselines_.emplace(family, seconds);
    const auto& families = detail::scaling_families();
    const auto entry = families.find(family);
    if (entry != families.end() && threads_of(runs.front()) == entry->second.fewest) {
      own_baselines_.emplace(family, seconds);
    }
  }

  // The baseline time of `family`: -1 when it is no scaling family, 0 while unknown.
  double baseline_of(const std::string& family) const {
    const auto& families = detail::scaling_families();
    const auto entry = families.find(family);
    if (entry == families.end()) return -1;
    const auto& known = entry->second.baseline.empty() ? own_baselines_ : baselines_;
    const auto it = known.find(entry->second.baseline.empty() ? family : entry->second.baseline);
    return it != known.end() ? it->second : 0.0;
  }

  static void annotate(std::vector<Run>& runs, double base_seconds) {
    for (auto& run : runs) {
      if (run.error_occurred || base_seconds <= 0) continue;
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "mean" &&
          run.aggregate_name != "median") {
        continue;  // stddev and cv are not times
      }
      const double p = threads_of(run);
      const double seconds =
          run.GetAdjustedRealTime() / ::benchmark::GetTimeUnitMultiplier(run.time_unit);
      if (p <= 0 || seconds <= 0) continue;
      const double speedup = base_seconds / seconds;
      run.counters["speedup"] = speedup;
      run.counters["efficiency"] = speedup / p;
      if (p > 1) run.counters["karp_flatt"] = (1 / speedup - 1 / p) / (1 - 1 / p);
    }
  }

  // Forwards, in arrival order, every held-back group whose baseline is known (all when final).
  void flush(bool final) {
    bool progressed = true;
    while (progressed) {
      progressed = false;
      for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        const double base = baseline_of(it->front().run_name.function_name);
        if (base == 0.0 && !final) continue;
        annotate(*it, base);
        inner_->ReportRuns(*it);
        pending_.erase(it);
        progressed = true;
        break;
      }
    }
  }

  std::unique_ptr<::benchmark::BenchmarkReporter> owned_;
  ::benchmark::BenchmarkReporter* inner_;
  std::vector<std::vector<Run>> pending_;
  std::map<std::string, double, std::less<>> baselines_;
  std::map<std::string, double, std::less<>> own_baselines_;
};

/// What `MPP_BENCHMARK_MAIN()` runs: Google Benchmark's usual `main`, with the console reporter
/// and the `--benchmark_out` file reporter (`--benchmark_out_format=json|console`) wrapped in
/// `ScalingReporter`.
inline int run_main(int argc, char** argv) {
  std::string out_format = "json";
  bool has_out = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--benchmark_out=")) has_out = true;
    if (arg.starts_with("--benchmark_out_format=")) {
      out_format = std::string(arg.substr(arg.find('=') + 1));
    }
  }
  ::benchmark::Initialize(&argc, argv);
  if (::benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ScalingReporter display(::benchmark::CreateDefaultDisplayReporter());
  std::unique_ptr<ScalingReporter> file;
  if (has_out) {
    std::unique_ptr<::benchmark::BenchmarkReporter> inner;
    if (out_format == "console") {
      inner = std::make_unique<::benchmark::ConsoleReporter>(::benchmark::ConsoleReporter::OO_None);
    } else {
      inner = std::make_unique<::benchmark::JSONReporter>();
    }
    file = std::make_unique<ScalingReporter>(std::move(inner));
  }
  ::benchmark::RunSpecifiedBenchmarks(&display, file.get());
  ::benchmark::Shutdown();
  return 0;
}

}  // namespace mpp::bench

/// Defines `main` for a benchmark program that uses `mpp::bench::scaling` (instead of
/// `BENCHMARK_MAIN()`), so that its runs carry speedup, efficiency and Karp-Flatt counters.
#define MPP_BENCHMARK_MAIN()                   \
  int main(int argc, char** argv) {            \
    return ::mpp::bench::run_main(argc, argv); \
  }                                            \
  static_assert(true, "needs a trailing semicolon")
