#pragma once
// A depth-first tree: quicksort of 10^7 random ints (MPP_BENCH_TREE_N) that splits each range
// around a pivot into two subranges, sorted as two tasks, until a range is at most
// MPP_BENCH_TREE_CUTOFF items, sorted serially. Unlike fib, the tree is unbalanced (pivots split
// unevenly) and each node does O(size) work before it forks, so the first levels are long serial
// steps and the leaves are many small ones: what work stealing of the biggest piece is for.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "../common/common.hpp"

namespace tree {

inline std::size_t items() {
  return bench::size("MPP_BENCH_TREE_N", 10'000'000);
}

// Ranges up to this size are sorted serially (std::sort) without forking.
inline std::size_t cutoff() {
  if (const char* text = std::getenv("MPP_BENCH_TREE_CUTOFF"); text != nullptr && *text != '\0') {
    return std::max<std::size_t>(2, static_cast<std::size_t>(std::strtod(text, nullptr)));
  }
  return 4096;
}

// The input of every run: the same random ints, made once per process.
inline const std::vector<std::int32_t>& input() {
  static const std::vector<std::int32_t> data = [] {
    std::vector<std::int32_t> v(items());
    std::mt19937 random(17);
    std::uniform_int_distribution<std::int32_t> value;
    for (auto& x : v) x = value(random);
    return v;
  }();
  return data;
}

// Splits `range` around the median of its first, middle and last items into the items below the
// pivot and those above it; the items equal to it are in place between the two, so every split
// shrinks the problem even when many items are equal.
inline std::pair<std::span<std::int32_t>, std::span<std::int32_t>> partition(
    std::span<std::int32_t> range) {
  const std::int32_t a = range.front(), b = range[range.size() / 2], c = range.back();
  const std::int32_t pivot = std::max(std::min(a, b), std::min(std::max(a, b), c));
  const auto below = std::partition(range.begin(), range.end(), [&](auto x) { return x < pivot; });
  const auto above = std::partition(below, range.end(), [&](auto x) { return !(pivot < x); });
  return {std::span(range.begin(), below), std::span(above, range.end())};
}

// The serial reference: the same tree, walked depth-first on one thread.
inline void serial_sort(std::span<std::int32_t> range) {
  if (range.size() <= cutoff()) {
    std::sort(range.begin(), range.end());
    return;
  }
  const auto [left, right] = partition(range);
  serial_sort(left);
  serial_sort(right);
}

// A position-weighted sum: equal for two vectors with the same items only when their order is
// the same too, so it checks the sort and not just the multiset.
inline std::uint64_t fingerprint(std::span<const std::int32_t> v) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    sum += (i + 1) * static_cast<std::uint64_t>(static_cast<std::uint32_t>(v[i]));
  }
  return sum;
}

inline bool check(benchmark::State& state, const std::vector<std::int32_t>& sorted) {
  static const std::uint64_t expected = [] {
    auto v = input();
    std::sort(v.begin(), v.end());
    return fingerprint(v);
  }();
  if (!bench::check(state, fingerprint(sorted), expected)) return false;
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sorted.size()));
  return true;
}

// Runs `sort` on a fresh copy of the input per iteration; the copy is not timed.
template <class Sort>
void run(benchmark::State& state, Sort sort) {
  std::vector<std::int32_t> data;
  for (auto _ : state) {
    state.PauseTiming();
    data = input();
    state.ResumeTiming();
    sort(std::span(data));
  }
  check(state, data);
}

inline constexpr const char* baseline = "tree/serial";

}  // namespace tree
