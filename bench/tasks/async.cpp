// std::async(std::launch::async) per task: libstdc++ starts a thread for each, so the thread
// count is not bounded; MPP_BENCH_ASYNC_TASKS (default a tenth of the tasks) keeps it short,
// and items_per_second makes it comparable.
#include <future>

#include "workload.hpp"

namespace {

void async_each(benchmark::State& state, int /*threads: std::async has no pool size*/) {
  const std::size_t n = bench::size("MPP_BENCH_ASYNC_TASKS", 10'000);
  std::vector<std::future<std::uint64_t>> futures;
  futures.reserve(n);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    futures.clear();
    for (std::size_t i = 0; i < n; ++i) {
      futures.push_back(std::async(std::launch::async, [i] { return tasks::work(i); }));
    }
    sum = 0;
    for (auto& f : futures) sum += f.get();
  }
  tasks::check(state, sum, n);
}

const auto* registered = bench::contender("tasks/std_async", async_each, "");

const bool latency = [] {
  tasks::register_latency("latency/std_async", [](benchmark::State& state) {
    tasks::latency(state, [](std::size_t i) {
      return std::async(std::launch::async, [i] { return tasks::work(i); }).get();
    });
  });
  return true;
}();

}  // namespace
