#include <mpp/pool.hpp>

#include "workload.hpp"

namespace {

void apply_async(benchmark::State& state, int threads) {
  const std::size_t n = tasks::count();
  mpp::Pool pool(threads);
  std::vector<mpp::AsyncResult<std::uint64_t>> results;
  results.reserve(n);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    results.clear();
    for (std::size_t i = 0; i < n; ++i) results.push_back(pool.apply_async(tasks::work, i));
    sum = 0;
    for (auto& r : results) sum += r.get();
  }
  tasks::check(state, sum, n);
}

const auto* registered = bench::contender("tasks/mpp_apply_async", apply_async, tasks::baseline);

const bool latency = [] {
  tasks::register_latency("latency/mpp_apply_async", [](benchmark::State& state) {
    mpp::Pool pool(bench::max_threads());
    tasks::latency(state, [&](std::size_t i) { return pool.apply_async(tasks::work, i).get(); });
  });
  return true;
}();

}  // namespace
