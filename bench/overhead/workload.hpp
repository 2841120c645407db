#pragma once
// Overhead: `map` of 10^6 trivial items (MPP_BENCH_MAP_N), default chunking and a chunksize
// sweep. The work per item is one multiply-add, so the time is the scheduling overhead plus
// allocating and writing the result vector, which every contender does alike.

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "../common/common.hpp"

namespace overhead {

inline std::size_t items() {
  return bench::size("MPP_BENCH_MAP_N", 1'000'000);
}

inline const std::vector<int>& input() {
  static const std::vector<int> values = [] {
    std::vector<int> v(items());
    std::iota(v.begin(), v.end(), 0);
    return v;
  }();
  return values;
}

inline constexpr auto f = [](int x) { return 2 * x + 1; };

// Checks a whole result against the serial definition.
inline bool check(benchmark::State& state, const std::vector<int>& out) {
  const auto& in = input();
  if (!bench::check(state, out.size(), in.size())) return false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!bench::check(state, out[i], f(in[i]))) return false;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
  return true;
}

inline constexpr const char* baseline = "overhead/serial";

}  // namespace overhead
