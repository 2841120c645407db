#include <cstdio>
#include <memory>

#include <mpp/pool.hpp>
#include <mpp/progress.hpp>

#include "workload.hpp"

namespace {

void run(benchmark::State& state, int threads, const mpp::MapOptions& options) {
  const auto& in = overhead::input();
  mpp::Pool pool(threads);
  std::vector<int> out;
  for (auto _ : state) {
    auto result = pool.map(overhead::f, in, options);
    benchmark::DoNotOptimize(result.data());
    out = std::move(result);
  }
  overhead::check(state, out);
}

const auto* default_chunking = bench::contender(
    "overhead/mpp", [](benchmark::State& state, int threads) { run(state, threads, {}); },
    overhead::baseline, benchmark::kMicrosecond);

const bool sweep = [] {
  for (std::size_t chunksize : {1, 10, 100, 1000, 10000}) {
    bench::contender(
        "overhead/mpp_chunksize:" + std::to_string(chunksize),
        [chunksize](benchmark::State& state, int threads) {
          run(state, threads, {.chunksize = chunksize});
        },
        overhead::baseline, benchmark::kMicrosecond);
  }
  return true;
}();

// The same map with MapOptions::progress: the cost of progress reporting, which should stay
// under 1%. Two reporters: a callback that only counts its calls, and mpp::progress_bar writing
// to a file (as in a batch job's log: one line per map shorter than the log interval).
const auto* callback = bench::contender(
    "overhead/mpp_progress_callback",
    [](benchmark::State& state, int threads) {
      std::size_t calls = 0;
      run(state, threads, {.progress = [&calls](std::size_t, std::size_t) { ++calls; }});
      benchmark::DoNotOptimize(calls);
    },
    overhead::baseline, benchmark::kMicrosecond);

const auto* bar = bench::contender(
    "overhead/mpp_progress_bar",
    [](benchmark::State& state, int threads) {
      const std::unique_ptr<std::FILE, int (*)(std::FILE*)> log(std::fopen("/dev/null", "w"),
                                                                &std::fclose);
      if (!log) {
        state.SkipWithError("cannot open /dev/null for the bar");
        return;
      }
      run(state, threads, {.progress = mpp::progress_bar("overhead", log.get())});
    },
    overhead::baseline, benchmark::kMicrosecond);

}  // namespace
