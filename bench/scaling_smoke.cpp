// CTest smoke test of include/mpp/benchmark.hpp (no timing is checked): a scaling family over
// two thread counts, measured against a named baseline and against its own 1-thread run, gets
// the speedup, efficiency and Karp-Flatt counters, also when its runs are interleaved with the
// baseline's.
#include <benchmark/benchmark.h>
#include <mpp/benchmark.hpp>
#include <mpp/pool.hpp>

#include <cmath>
#include <cstdio>
#include <numeric>
#include <ranges>
#include <string>
#include <vector>

namespace {

// Records what the wrapped reporter is given.
class Capture : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) seen.push_back(run);
  }
  std::vector<Run> seen;
};

long work(int i) {
  long x = i;
  for (int k = 0; k < 200; ++k) x = (x * 1103515245 + 12345) % 2147483648;
  return x;
}

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    ++failures;
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("smoke/serial", [](benchmark::State& state) {
    for (auto _ : state) {
      long sum = 0;
      for (int i = 0; i < 2000; ++i) sum += work(i);
      benchmark::DoNotOptimize(sum);
    }
  })->UseRealTime();
  const auto body = [](benchmark::State& state, int threads) {
    mpp::Pool pool(threads);
    for (auto _ : state) benchmark::DoNotOptimize(pool.map(work, std::views::iota(0, 2000)));
  };
  mpp::bench::scaling("smoke/named", body, {.threads = {1, 2}, .baseline = "smoke/serial"});
  mpp::bench::scaling("smoke/own", body, {.threads = {1, 2}});

  benchmark::Initialize(&argc, argv);
  Capture capture;
  mpp::bench::ScalingReporter reporter(&capture);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  int scaled = 0;
  for (const auto& run : capture.seen) {
    // The own baseline is the median of the fewest-threads runs: its median has S = 1 exactly.
    if (run.run_name.function_name == "smoke/own" && run.aggregate_name == "median" &&
        run.counters.at("threads").value == 1) {
      expect(std::abs(run.counters.at("speedup").value - 1) < 1e-9, "smoke/own: S(1) = 1");
    }
  }
  for (const auto& run : capture.seen) {
    const std::string name = run.run_name.function_name;
    if (name == "smoke/serial" || run.run_type != benchmark::BenchmarkReporter::Run::RT_Iteration) {
      continue;
    }
    ++scaled;
    const auto& c = run.counters;
    const int threads = static_cast<int>(c.at("threads").value);
    expect(c.count("speedup") == 1, name + ": speedup counter");
    expect(c.count("efficiency") == 1, name + ": efficiency counter");
    if (c.count("speedup") == 0 || c.count("efficiency") == 0) continue;
    const double s = c.at("speedup").value;
    expect(std::isfinite(s) && s > 0, name + ": speedup is positive");
    expect(std::abs(c.at("efficiency").value - s / threads) < 1e-9, name + ": E = S / p");
    if (threads > 1) {
      expect(c.count("karp_flatt") == 1, name + ": karp_flatt counter");
      if (c.count("karp_flatt") == 1) {
        const double e = c.at("karp_flatt").value;
        expect(std::abs(e - (1 / s - 1.0 / threads) / (1 - 1.0 / threads)) < 1e-9,
               name + ": Karp-Flatt formula");
      }
    } else {
      expect(c.count("karp_flatt") == 0, name + ": no Karp-Flatt at 1 thread");
    }
  }
  expect(scaled >= 4, "every scaled instance reported, got " + std::to_string(scaled));
  std::printf("%s: %d scaled runs checked\n", failures == 0 ? "ok" : "FAILED", scaled);
  return failures == 0 ? 0 : 1;
}
