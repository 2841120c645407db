#include "workload.hpp"

namespace {

void serial(benchmark::State& state) {
  std::uint64_t result = 0;
  for (auto _ : state) {
    result = fib::serial(fib::n());
    benchmark::DoNotOptimize(result);
  }
  fib::check(state, result);
}

const auto* registered = bench::serial(fib::baseline, serial);

}  // namespace
