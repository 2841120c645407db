// Hand-written oneTBB: task_group::run per task in a task_arena, results stored by index.
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "workload.hpp"

namespace {

void task_group(benchmark::State& state, int threads) {
  const std::size_t n = tasks::count();
  tbb::task_arena arena(threads);
  std::vector<std::uint64_t> results(n);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    arena.execute([&] {
      tbb::task_group group;
      for (std::size_t i = 0; i < n; ++i) group.run([&, i] { results[i] = tasks::work(i); });
      group.wait();
    });
    sum = 0;
    for (auto r : results) sum += r;
  }
  tasks::check(state, sum, n);
}

const auto* registered = bench::contender("tasks/tbb_task_group", task_group, tasks::baseline);

const bool latency = [] {
  tasks::register_latency("latency/tbb_task_group", [](benchmark::State& state) {
    tbb::task_arena arena(bench::max_threads());
    tasks::latency(state, [&](std::size_t i) {
      std::uint64_t r = 0;
      arena.execute([&] {
        tbb::task_group group;
        group.run([&] { r = tasks::work(i); });
        group.wait();
      });
      return r;
    });
  });
  return true;
}();

}  // namespace
