// Hand-written oneTBB: parallel_pipeline reading chunks of items from the generator
// (serial_in_order), mapping them (parallel) and summing them (serial_in_order for imap's input
// order, serial_out_of_order for imap_unordered's), with at most 4 x threads chunks in flight,
// as mpp's imap default window.
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include <memory>
#include <vector>

#include "workload.hpp"

namespace {

// The sum of `f` over the first n items of the generator, `chunk` items per token.
template <class F>
auto pipeline_sum(int threads, F f, std::int64_t n, std::size_t chunk, tbb::filter_mode out) {
  using R = decltype(f(std::int64_t{}));
  using Chunk = std::unique_ptr<std::vector<R>>;
  R sum = 0;
  streaming::Generator generator(n);
  auto it = generator.begin();
  const auto end = generator.end();
  auto read = [&](tbb::flow_control& fc) -> Chunk {
    auto items = std::make_unique<std::vector<R>>();
    items->reserve(chunk);
    while (items->size() < chunk && !(it == end)) {
      items->push_back(static_cast<R>(*it));
      ++it;
    }
    if (items->empty()) fc.stop();
    return items;
  };
  auto map = [&](Chunk items) {
    for (auto& x : *items) x = f(static_cast<std::int64_t>(x));
    return items;
  };
  auto add = [&](Chunk items) {
    for (auto r : *items) sum += r;
  };
  tbb::parallel_pipeline(4 * static_cast<std::size_t>(threads),
                         tbb::make_filter<void, Chunk>(tbb::filter_mode::serial_in_order, read) &
                             tbb::make_filter<Chunk, Chunk>(tbb::filter_mode::parallel, map) &
                             tbb::make_filter<Chunk, void>(out, add));
  return sum;
}

template <tbb::filter_mode Out>
void pipeline(benchmark::State& state, int threads) {
  const std::int64_t n = streaming::items();
  tbb::task_arena arena(threads);
  std::int64_t sum = 0;
  for (auto _ : state) {
    sum = arena.execute([&] { return pipeline_sum(threads, streaming::f, n, 1000, Out); });
  }
  streaming::check(state, sum, n);
}

// Items of about 1 us, one per token (imap's chunksize 1): against its own 1-thread run.
void pipeline_work(benchmark::State& state, int threads) {
  const std::int64_t n = streaming::work_items();
  tbb::task_arena arena(threads);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    sum = arena.execute([&] {
      return pipeline_sum(threads, streaming::work, n, 1, tbb::filter_mode::serial_in_order);
    });
  }
  streaming::check_work(state, sum, n);
}

const auto* registered =
    bench::contender("streaming/tbb_parallel_pipeline", pipeline<tbb::filter_mode::serial_in_order>,
                     streaming::baseline);
const auto* unordered =
    bench::contender("streaming/tbb_parallel_pipeline_out_of_order",
                     pipeline<tbb::filter_mode::serial_out_of_order>, streaming::baseline);
const auto* single_work =
    bench::contender("streaming/tbb_parallel_pipeline_1us_chunksize:1", pipeline_work, "");

}  // namespace
