#include <mpp/pool.hpp>

#include "workload.hpp"

namespace {

// Sorts the left part with apply_async, the right part here, then get(): a task per node.
void sort_task(mpp::Pool& pool, std::span<std::int32_t> range) {
  if (range.size() <= tree::cutoff()) {
    std::sort(range.begin(), range.end());
    return;
  }
  const auto [left, right] = tree::partition(range);
  auto child = pool.apply_async(sort_task, std::ref(pool), left);
  sort_task(pool, right);
  child.get();
}

void apply_async(benchmark::State& state, int threads) {
  mpp::Pool pool(threads);
  tree::run(state,
            [&](std::span<std::int32_t> data) { pool.apply(sort_task, std::ref(pool), data); });
}

const auto* registered = bench::contender("tree/mpp_apply_async", apply_async, tree::baseline);

}  // namespace
