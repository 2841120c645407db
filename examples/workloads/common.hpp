#pragma once
// Small utilities shared by the examples and the demo: reading an optional size argument and
// timing a call.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace workloads {

/// The positive integer `argv[position]`, or `fallback` when there are fewer arguments. Exits
/// with a message when the argument is not a positive integer.
inline long long size_argument(int argc, char** argv, int position, long long fallback) {
  if (argc <= position) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(argv[position], &end, 10);
  if (end == argv[position] || *end != '\0' || value <= 0) {
    std::fprintf(stderr, "%s: argument %d must be a positive integer, got '%s'\n", argv[0],
                 position, argv[position]);
    std::exit(2);
  }
  return value;
}

/// Wall-clock seconds taken by `f()`.
template <class F>
double seconds(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  std::forward<F>(f)();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// `f()`'s result together with the wall-clock seconds it took.
template <class F>
auto timed(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  auto result = std::forward<F>(f)();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::pair{std::move(result), elapsed};
}

}  // namespace workloads
