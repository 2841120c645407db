// Hand-written oneTBB: a task_group per node, the left part run, the right part here, then wait().
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "workload.hpp"

namespace {

void sort_task(std::span<std::int32_t> range) {
  if (range.size() <= tree::cutoff()) {
    std::sort(range.begin(), range.end());
    return;
  }
  const auto [left, right] = tree::partition(range);
  tbb::task_group group;
  group.run([left] { sort_task(left); });
  sort_task(right);
  group.wait();
}

void task_group(benchmark::State& state, int threads) {
  tbb::task_arena arena(threads);
  tree::run(state, [&](std::span<std::int32_t> data) { arena.execute([&] { sort_task(data); }); });
}

const auto* registered = bench::contender("tree/tbb_task_group", task_group, tree::baseline);

}  // namespace
