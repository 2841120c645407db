// Hand-written oneTBB: parallel_pipeline reading chunks of 1000 items from the generator
// (serial_in_order), mapping them (parallel) and summing in order (serial_in_order), with at
// most 4 x threads chunks in flight, as mpp's imap default window.
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include <memory>
#include <vector>

#include "workload.hpp"

namespace {

void pipeline(benchmark::State& state, int threads) {
  const std::int64_t n = streaming::items();
  constexpr std::size_t chunk = 1000;
  tbb::task_arena arena(threads);
  std::int64_t sum = 0;
  for (auto _ : state) {
    sum = 0;
    streaming::Generator generator(n);
    auto it = generator.begin();
    const auto end = generator.end();
    using Chunk = std::unique_ptr<std::vector<std::int64_t>>;
    arena.execute([&] {
      tbb::parallel_pipeline(
          4 * static_cast<std::size_t>(threads),
          tbb::make_filter<void, Chunk>(tbb::filter_mode::serial_in_order,
                                        [&](tbb::flow_control& fc) -> Chunk {
                                          auto items =
                                              std::make_unique<std::vector<std::int64_t>>();
                                          items->reserve(chunk);
                                          while (items->size() < chunk && !(it == end)) {
                                            items->push_back(*it);
                                            ++it;
                                          }
                                          if (items->empty()) fc.stop();
                                          return items;
                                        }) &
              tbb::make_filter<Chunk, Chunk>(tbb::filter_mode::parallel,
                                             [](Chunk items) {
                                               for (auto& x : *items) x = streaming::f(x);
                                               return items;
                                             }) &
              tbb::make_filter<Chunk, void>(tbb::filter_mode::serial_in_order, [&](Chunk items) {
                for (auto r : *items) sum += r;
              }));
    });
  }
  streaming::check(state, sum, n);
}

const auto* registered =
    bench::contender("streaming/tbb_parallel_pipeline", pipeline, streaming::baseline);

}  // namespace
