// progress: a map that takes a few seconds, with a progress bar on stderr, then an imap over an
// input whose length is not known in advance. It mirrors what Python users write with tqdm:
//
//     with Pool() as pool:
//         results = list(tqdm(pool.imap(simulate, range(200)), total=200, desc="simulate"))
//         for event in tqdm(pool.imap(analyse, events()), desc="events"): ...
//
// and in C++:
//
//     auto results = pool.map(simulate, xs, {.progress = mpp::progress_bar("simulate")});
//     for (auto r : pool.imap(analyse, events, {.progress = mpp::progress_bar("events")})) ...
//
// On a terminal the bar is redrawn in place at most ten times a second (percentage, done/total,
// elapsed<remaining, rate); with an unknown total it shows the count, elapsed time and rate. When
// stderr is a file or a pipe, each map writes plain lines instead: one at the end of a short map.
//
// Usage: progress [items] [milliseconds per item]     (defaults: 200 items of 10 ms)

#include <chrono>
#include <cstdio>
#include <ranges>
#include <thread>
#include <vector>

#include <mpp/mpp.hpp>

#include "workloads/common.hpp"

int main(int argc, char** argv) {
  const auto items = static_cast<int>(workloads::size_argument(argc, argv, 1, 200));
  const std::chrono::milliseconds cost(workloads::size_argument(argc, argv, 2, 10));

  // A stand-in for a simulation step: waits instead of computing, so that the run lasts as long
  // on a loaded machine as on an idle one.
  auto simulate = [cost](int x) {
    std::this_thread::sleep_for(cost);
    return x % 7;
  };

  mpp::Pool pool;
  const std::vector<int> results =
      pool.map(simulate, std::views::iota(0, items),
               {.chunksize = 1, .progress = mpp::progress_bar("simulate")});
  long sum = 0;
  for (int r : results) sum += r;
  std::printf("simulate: %zu results, sum %ld\n", results.size(), sum);

  // Every third item passes the filter: the view is not sized, so the bar counts without a total.
  auto events = std::views::iota(0, items) | std::views::filter([](int x) { return x % 3 == 0; });
  long count = 0;
  for (int r : pool.imap(simulate, events, {.progress = mpp::progress_bar("events")})) {
    count += r >= 0 ? 1 : 0;
  }
  std::printf("events: %ld results\n", count);
  return 0;
}
