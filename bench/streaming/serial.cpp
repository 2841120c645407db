#include "workload.hpp"

namespace {

void serial(benchmark::State& state) {
  const std::int64_t n = streaming::items();
  std::int64_t sum = 0;
  for (auto _ : state) {
    sum = 0;
    for (std::int64_t x : streaming::Generator(n)) sum += streaming::f(x);
    benchmark::DoNotOptimize(sum);
  }
  streaming::check(state, sum, n);
}

const auto* registered = bench::serial(streaming::baseline, serial);

}  // namespace
