// Hand-written oneTBB copy loops (parallel_for in a task_arena).
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>

#include "workload.hpp"

namespace {

void copy(tbb::task_arena& arena, const std::vector<double>& in, std::vector<double>& out) {
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size()),
                      [&](const tbb::blocked_range<std::size_t>& r) {
                        std::copy(in.begin() + static_cast<std::ptrdiff_t>(r.begin()),
                                  in.begin() + static_cast<std::ptrdiff_t>(r.end()),
                                  out.begin() + static_cast<std::ptrdiff_t>(r.begin()));
                      });
  });
}

void fresh(benchmark::State& state, int threads) {
  const auto& in = bandwidth::input();
  tbb::task_arena arena(threads);
  std::vector<double> out;
  for (auto _ : state) {
    out = std::vector<double>();
    std::vector<double> result(in.size());
    copy(arena, in, result);
    benchmark::DoNotOptimize(result.data());
    out = std::move(result);
  }
  bandwidth::check(state, out);
}

void reused(benchmark::State& state, int threads) {
  const auto& in = bandwidth::input();
  tbb::task_arena arena(threads);
  std::vector<double> out(in.size());
  for (auto _ : state) {
    copy(arena, in, out);
    benchmark::DoNotOptimize(out.data());
  }
  bandwidth::check(state, out);
}

const auto* f = bench::contender("bandwidth/tbb_copy_fresh", fresh, bandwidth::baseline);
const auto* r = bench::contender("bandwidth/tbb_copy_reused", reused, bandwidth::baseline);

}  // namespace
