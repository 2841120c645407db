#include "workload.hpp"

namespace {

void serial(benchmark::State& state) {
  const std::size_t n = tasks::count();
  std::vector<std::uint64_t> results(n);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) results[i] = tasks::work(i);
    sum = 0;
    for (auto r : results) sum += r;
  }
  tasks::check(state, sum, n);
}

const auto* registered = bench::serial(tasks::baseline, serial);

// The cost of the work alone, without submission: the reference of the latency figures.
const bool latency = [] {
  tasks::register_latency("latency/direct_call", [](benchmark::State& state) {
    tasks::latency(state, [](std::size_t i) { return tasks::work(i); });
  });
  return true;
}();

}  // namespace
