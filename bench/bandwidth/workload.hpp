#pragma once
// Memory bandwidth: `map` over 10^8 doubles (MPP_BENCH_BANDWIDTH_N; 800 MB in, 800 MB out)
// against plain parallel copy loops. `map` returns a new std::vector, which the copy loops get
// both ways: into a buffer allocated once (pure bandwidth) and into a freshly allocated vector
// (what `map` has to do); `transform` writes into a buffer allocated once, as the reused copy
// loops do. bytes_per_second counts 16 bytes (one read, one write) per item.

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "../common/common.hpp"

namespace bandwidth {

inline std::size_t items() {
  return bench::size("MPP_BENCH_BANDWIDTH_N", 100'000'000);
}

inline const std::vector<double>& input() {
  static const std::vector<double> values = [] {
    std::vector<double> v(items());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 1024);
    return v;
  }();
  return values;
}

inline constexpr auto f = [](double x) { return x; };

// Spot checks (every 4099th item and the last), so the check does not cost a third pass.
inline bool check(benchmark::State& state, const std::vector<double>& out) {
  const auto& in = input();
  if (!bench::check(state, out.size(), in.size())) return false;
  for (std::size_t i = 0; i < in.size(); i += 4099) {
    if (!bench::check(state, out[i], in[i])) return false;
  }
  if (!in.empty() && !bench::check(state, out.back(), in.back())) return false;
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size() * 16));
  return true;
}

inline constexpr const char* baseline = "bandwidth/serial_copy_fresh";

}  // namespace bandwidth
