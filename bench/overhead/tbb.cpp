// Hand-written oneTBB: parallel_for (auto_partitioner) in a task_arena of `threads` slots.
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "workload.hpp"

namespace {

void parallel_for(benchmark::State& state, int threads) {
  const auto& in = overhead::input();
  tbb::task_arena arena(threads);
  std::vector<int> out;
  for (auto _ : state) {
    std::vector<int> result(in.size());
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size()),
                        [&](const tbb::blocked_range<std::size_t>& r) {
                          for (std::size_t i = r.begin(); i != r.end(); ++i) {
                            result[i] = overhead::f(in[i]);
                          }
                        });
    });
    benchmark::DoNotOptimize(result.data());
    out = std::move(result);
  }
  overhead::check(state, out);
}

const auto* registered = bench::contender("overhead/tbb_parallel_for", parallel_for,
                                          overhead::baseline, benchmark::kMicrosecond);

}  // namespace
