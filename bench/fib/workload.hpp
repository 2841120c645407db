#pragma once
// Recursion: fib(30) (MPP_BENCH_FIB_N) with a task per call, each parent waiting for its child:
// nested submission and waiting, the pattern of libfork's and Taskflow's fib benchmarks.

#include <cstdint>
#include <cstdlib>

#include "../common/common.hpp"

namespace fib {

// Not scaled linearly like the other sizes (the work grows as 1.6^n): 30, or 20 for quick runs.
inline int n() {
  if (const char* text = std::getenv("MPP_BENCH_FIB_N"); text != nullptr && *text != '\0') {
    return std::atoi(text);
  }
  return bench::scale() < 1 ? 20 : 30;
}

inline std::uint64_t serial(int k) {
  return k < 2 ? static_cast<std::uint64_t>(k) : serial(k - 1) + serial(k - 2);
}

inline bool check(benchmark::State& state, std::uint64_t result) {
  if (!bench::check(state, result, serial(n()))) return false;
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(serial(n() + 1) * 2 - 1));
  return true;
}

inline constexpr const char* baseline = "fib/serial";

}  // namespace fib
