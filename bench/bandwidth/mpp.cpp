#include <mpp/pool.hpp>

#include "workload.hpp"

namespace {

void map(benchmark::State& state, int threads, const mpp::MapOptions& options) {
  const auto& in = bandwidth::input();
  mpp::Pool pool(threads);
  std::vector<double> out;
  for (auto _ : state) {
    out = std::vector<double>();
    out = pool.map(bandwidth::f, in, options);
    benchmark::DoNotOptimize(out.data());
  }
  bandwidth::check(state, out);
}

// `transform` into a buffer allocated once, as tbb_copy_reused copies into one.
void transform(benchmark::State& state, int threads) {
  const auto& in = bandwidth::input();
  mpp::Pool pool(threads);
  std::vector<double> out(in.size());
  for (auto _ : state) {
    pool.transform(in, out, bandwidth::f);
    benchmark::DoNotOptimize(out.data());
  }
  bandwidth::check(state, out);
}

const auto* adaptive = bench::contender(
    "bandwidth/mpp_map", [](benchmark::State& s, int p) { map(s, p, {}); }, bandwidth::baseline);
const auto* static_ = bench::contender(
    "bandwidth/mpp_map_static",
    [](benchmark::State& s, int p) { map(s, p, {.schedule = mpp::schedule::static_}); },
    bandwidth::baseline);
const auto* reused =
    bench::contender("bandwidth/mpp_transform_reused", transform, bandwidth::baseline);

}  // namespace
