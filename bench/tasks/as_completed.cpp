// mpp::as_completed against the loop of get() in tasks/mpp.cpp: the same 10^5 apply_async, with
// the results taken in the order they complete. The watching (a completion hook per pending
// result, one shared notifier) should cost little against the tasks themselves.
//
// tasks/mpp_as_completed_paired measures both in each iteration, on one pool, in alternating
// order, and reports the median of the per-iteration ratios as `ratio` (as_completed / get loop):
// this machine's speed drifts by tens of percent between runs a minute apart, which the paired
// ratio cancels.

#include <mpp/pool.hpp>
#include <mpp/wait.hpp>

#include <algorithm>
#include <chrono>

#include "workload.hpp"

namespace {

using Results = std::vector<mpp::AsyncResult<std::uint64_t>>;

void submit(mpp::Pool& pool, Results& results, std::size_t n) {
  results.clear();
  for (std::size_t i = 0; i < n; ++i) results.push_back(pool.apply_async(tasks::work, i));
}

std::uint64_t take_as_completed(const Results& results) {
  std::uint64_t sum = 0;
  for (const auto& r : mpp::as_completed(results)) sum += r.get();
  return sum;
}

std::uint64_t take_in_order(Results& results) {
  std::uint64_t sum = 0;
  for (auto& r : results) sum += r.get();
  return sum;
}

void as_completed(benchmark::State& state, int threads) {
  const std::size_t n = tasks::count();
  mpp::Pool pool(threads);
  Results results;
  results.reserve(n);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    submit(pool, results, n);
    sum = take_as_completed(results);
  }
  tasks::check(state, sum, n);
}

// Seconds to submit `n` tasks and take their results with `take`.
template <class Take>
double timed(mpp::Pool& pool, Results& results, std::size_t n, std::uint64_t& sum, Take take) {
  const auto start = std::chrono::steady_clock::now();
  submit(pool, results, n);
  sum = take(results);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void paired(benchmark::State& state, int threads) {
  const std::size_t n = tasks::count();
  mpp::Pool pool(threads);
  Results results;
  results.reserve(n);
  std::vector<double> ratios;
  std::uint64_t in_order = 0;
  std::uint64_t completed = 0;
  for (auto _ : state) {
    const bool get_first = ratios.size() % 2 == 0;
    double get_loop = 0;
    if (get_first) get_loop = timed(pool, results, n, in_order, take_in_order);
    const double watched = timed(pool, results, n, completed, take_as_completed);
    if (!get_first) get_loop = timed(pool, results, n, in_order, take_in_order);
    ratios.push_back(watched / get_loop);
  }
  if (!tasks::check(state, in_order, n) || !tasks::check(state, completed, n)) return;
  std::nth_element(ratios.begin(), ratios.begin() + ratios.size() / 2, ratios.end());
  state.counters["ratio"] = ratios[ratios.size() / 2];
}

const auto* registered = bench::contender("tasks/mpp_as_completed", as_completed, tasks::baseline);
const auto* registered_paired =
    bench::contender("tasks/mpp_as_completed_paired", paired, tasks::baseline);

}  // namespace
