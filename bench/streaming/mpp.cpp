#include <mpp/pool.hpp>

#include "workload.hpp"

namespace {

// The sum of `f` over the first n items of the generator, through imap or imap_unordered.
template <bool Ordered, class F>
auto stream_sum(mpp::Pool& pool, F f, std::int64_t n, const mpp::MapOptions& options) {
  decltype(f(std::int64_t{})) sum = 0;
  if constexpr (Ordered) {
    for (auto r : pool.imap(f, streaming::Generator(n), options)) sum += r;
  } else {
    for (auto r : pool.imap_unordered(f, streaming::Generator(n), options)) sum += r;
  }
  return sum;
}

template <bool Ordered>
void imap(benchmark::State& state, int threads, std::int64_t n, const mpp::MapOptions& options) {
  mpp::Pool pool(threads);
  std::int64_t sum = 0;
  for (auto _ : state) sum = stream_sum<Ordered>(pool, streaming::f, n, options);
  streaming::check(state, sum, n);
}

// Items of about 1 us at chunksize 1: measured against its own 1-thread run.
void imap_work(benchmark::State& state, int threads) {
  const std::int64_t n = streaming::work_items();
  mpp::Pool pool(threads);
  std::uint64_t sum = 0;
  for (auto _ : state) sum = stream_sum<true>(pool, streaming::work, n, {});
  streaming::check_work(state, sum, n);
}

const auto* ordered = bench::contender(
    "streaming/mpp_imap_chunksize:1000",
    [](benchmark::State& s, int p) { imap<true>(s, p, streaming::items(), {.chunksize = 1000}); },
    streaming::baseline);
const auto* unordered = bench::contender(
    "streaming/mpp_imap_unordered_chunksize:1000",
    [](benchmark::State& s, int p) { imap<false>(s, p, streaming::items(), {.chunksize = 1000}); },
    streaming::baseline);
// Python's default chunksize (1): every item is a task, so a hundredth of the items; compare
// items_per_second.
const auto* single = bench::contender(
    "streaming/mpp_imap_chunksize:1",
    [](benchmark::State& s, int p) { imap<true>(s, p, streaming::items() / 100, {}); }, "");
const auto* single_work = bench::contender("streaming/mpp_imap_1us_chunksize:1", imap_work, "");

}  // namespace
