#include <algorithm>

#include "workload.hpp"

namespace {

void copy_fresh(benchmark::State& state) {
  const auto& in = bandwidth::input();
  std::vector<double> out;
  for (auto _ : state) {
    out = std::vector<double>();  // free the last result first, as the map contenders do
    std::vector<double> result(in.size());
    std::copy(in.begin(), in.end(), result.begin());
    benchmark::DoNotOptimize(result.data());
    out = std::move(result);
  }
  bandwidth::check(state, out);
}

void copy_reused(benchmark::State& state) {
  const auto& in = bandwidth::input();
  std::vector<double> out(in.size());
  for (auto _ : state) {
    std::copy(in.begin(), in.end(), out.begin());
    benchmark::DoNotOptimize(out.data());
  }
  bandwidth::check(state, out);
}

const auto* fresh = bench::serial(bandwidth::baseline, copy_fresh);
const auto* reused = bench::serial("bandwidth/serial_copy_reused", copy_reused);

}  // namespace
