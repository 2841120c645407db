#include <mpp/pool.hpp>

#include "workload.hpp"

namespace {

// fib(k) = fib(k - 1) submitted with apply_async, fib(k - 2) here, then get().
std::uint64_t fib_task(mpp::Pool& pool, int k) {
  if (k < 2) return static_cast<std::uint64_t>(k);
  auto child = pool.apply_async(fib_task, std::ref(pool), k - 1);
  const std::uint64_t other = fib_task(pool, k - 2);
  return child.get() + other;
}

void apply_async(benchmark::State& state, int threads) {
  mpp::Pool pool(threads);
  std::uint64_t result = 0;
  for (auto _ : state) {
    result = pool.apply(fib_task, std::ref(pool), fib::n());
  }
  fib::check(state, result);
}

const auto* registered = bench::contender("fib/mpp_apply_async", apply_async, fib::baseline);

}  // namespace
