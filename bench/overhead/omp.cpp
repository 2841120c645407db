// OpenMP parallel for with schedule(static), (dynamic) and (guided), num_threads(threads).
#include <omp.h>

#include "workload.hpp"

namespace {

enum class Kind { static_, dynamic, guided };

template <Kind kind>
void omp_for(benchmark::State& state, int threads) {
  const auto& in = overhead::input();
  const auto n = static_cast<std::ptrdiff_t>(in.size());
  std::vector<int> out;
  for (auto _ : state) {
    std::vector<int> result(in.size());
    if constexpr (kind == Kind::static_) {
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::ptrdiff_t i = 0; i < n; ++i) result[i] = overhead::f(in[i]);
    } else if constexpr (kind == Kind::dynamic) {
#pragma omp parallel for num_threads(threads) schedule(dynamic)
      for (std::ptrdiff_t i = 0; i < n; ++i) result[i] = overhead::f(in[i]);
    } else {
#pragma omp parallel for num_threads(threads) schedule(guided)
      for (std::ptrdiff_t i = 0; i < n; ++i) result[i] = overhead::f(in[i]);
    }
    benchmark::DoNotOptimize(result.data());
    out = std::move(result);
  }
  overhead::check(state, out);
}

const auto* s = bench::contender("overhead/omp_static", omp_for<Kind::static_>, overhead::baseline,
                                 benchmark::kMicrosecond);
const auto* d = bench::contender("overhead/omp_dynamic", omp_for<Kind::dynamic>, overhead::baseline,
                                 benchmark::kMicrosecond);
const auto* g = bench::contender("overhead/omp_guided", omp_for<Kind::guided>, overhead::baseline,
                                 benchmark::kMicrosecond);

}  // namespace
