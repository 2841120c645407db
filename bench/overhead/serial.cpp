#include "workload.hpp"

namespace {

void serial(benchmark::State& state) {
  const auto& in = overhead::input();
  std::vector<int> out;
  for (auto _ : state) {
    std::vector<int> result(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) result[i] = overhead::f(in[i]);
    benchmark::DoNotOptimize(result.data());
    out = std::move(result);
  }
  overhead::check(state, out);
}

const auto* registered = bench::serial(overhead::baseline, serial, benchmark::kMicrosecond);

}  // namespace
