// mpp::as_completed against the loop of get() in tasks/mpp.cpp: the same 10^5 apply_async, with
// the results taken in the order they complete. The watching (a completion hook per pending
// result, one shared notifier) should cost little against the tasks themselves.

#include <mpp/pool.hpp>
#include <mpp/wait.hpp>

#include "workload.hpp"

namespace {

void as_completed(benchmark::State& state, int threads) {
  const std::size_t n = tasks::count();
  mpp::Pool pool(threads);
  std::vector<mpp::AsyncResult<std::uint64_t>> results;
  results.reserve(n);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    results.clear();
    for (std::size_t i = 0; i < n; ++i) results.push_back(pool.apply_async(tasks::work, i));
    sum = 0;
    for (const auto& r : mpp::as_completed(results)) sum += r.get();
  }
  tasks::check(state, sum, n);
}

const auto* registered = bench::contender("tasks/mpp_as_completed", as_completed, tasks::baseline);

}  // namespace
