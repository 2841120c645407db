#include <mpp/pool.hpp>

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

}  // namespace
