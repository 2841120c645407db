// Hand-written oneTBB: task_group per call, the child run, the other half here, then wait().
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include "workload.hpp"

namespace {

std::uint64_t fib_task(int k) {
  if (k < 2) return static_cast<std::uint64_t>(k);
  std::uint64_t a = 0;
  tbb::task_group group;
  group.run([&] { a = fib_task(k - 1); });
  const std::uint64_t b = fib_task(k - 2);
  group.wait();
  return a + b;
}

void task_group(benchmark::State& state, int threads) {
  tbb::task_arena arena(threads);
  std::uint64_t result = 0;
  for (auto _ : state) {
    result = arena.execute([] { return fib_task(fib::n()); });
  }
  fib::check(state, result);
}

const auto* registered = bench::contender("fib/tbb_task_group", task_group, fib::baseline);

}  // namespace
