#include <mpp/pool.hpp>

#include "workload.hpp"

namespace {

template <bool Ordered>
void imap(benchmark::State& state, int threads, std::int64_t n, const mpp::MapOptions& options) {
  mpp::Pool pool(threads);
  std::int64_t sum = 0;
  for (auto _ : state) {
    sum = 0;
    if constexpr (Ordered) {
      for (std::int64_t r : pool.imap(streaming::f, streaming::Generator(n), options)) sum += r;
    } else {
      for (std::int64_t r : pool.imap_unordered(streaming::f, streaming::Generator(n), options)) {
        sum += r;
      }
    }
  }
  streaming::check(state, sum, n);
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

}  // namespace
