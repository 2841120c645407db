// OpenMP copy loops, schedule(static): the classic STREAM-style copy.
#include <omp.h>

#include "workload.hpp"

namespace {

void copy(int threads, const std::vector<double>& in, std::vector<double>& out) {
  const auto n = static_cast<std::ptrdiff_t>(in.size());
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::ptrdiff_t i = 0; i < n; ++i) out[i] = in[i];
}

void fresh(benchmark::State& state, int threads) {
  const auto& in = bandwidth::input();
  std::vector<double> out;
  for (auto _ : state) {
    out = std::vector<double>();
    std::vector<double> result(in.size());
    copy(threads, in, result);
    benchmark::DoNotOptimize(result.data());
    out = std::move(result);
  }
  bandwidth::check(state, out);
}

void reused(benchmark::State& state, int threads) {
  const auto& in = bandwidth::input();
  std::vector<double> out(in.size());
  for (auto _ : state) {
    copy(threads, in, out);
    benchmark::DoNotOptimize(out.data());
  }
  bandwidth::check(state, out);
}

const auto* f = bench::contender("bandwidth/omp_copy_fresh", fresh, bandwidth::baseline);
const auto* r = bench::contender("bandwidth/omp_copy_reused", reused, bandwidth::baseline);

}  // namespace
