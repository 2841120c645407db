#pragma once
// The contenders of the map-reduce workloads (primes, pi): `sum(f(item) for item in items)` with
// `Workload` providing
//   static constexpr const char* name;  // "primes"
//   using Item = ...;
//   static const std::vector<Item>& items();
//   static std::uint64_t f(const Item&);
//   static std::uint64_t expected();
// Each contender file of a workload instantiates one of these.

#include <omp.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/task_arena.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdint>
#include <functional>
#include <future>
#include <mpp/pool.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "common.hpp"

namespace bench::map_reduce {

template <class W>
std::string name(const char* contender) {
  return std::string(W::name) + "/" + contender;
}

template <class W>
std::string baseline() {
  return name<W>("serial");
}

template <class W>
void finish(benchmark::State& state, std::uint64_t total) {
  if (!bench::check(state, total, W::expected())) return;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * W::items().size()));
}

template <class W>
bool serial() {
  bench::serial(baseline<W>(), [](benchmark::State& state) {
    const auto& items = W::items();
    std::uint64_t total = 0;
    for (auto _ : state) {
      total = 0;
      for (const auto& item : items) total += W::f(item);
    }
    finish<W>(state, total);
  });
  return true;
}

template <class W>
bool mpp() {
  const auto add = [](const char* contender, mpp::MapOptions options) {
    bench::contender(
        name<W>(contender),
        [options](benchmark::State& state, int threads) {
          const auto& items = W::items();
          mpp::Pool pool(threads);
          std::uint64_t total = 0;
          for (auto _ : state) {
            const auto parts = pool.map(W::f, items, options);
            total = std::reduce(parts.begin(), parts.end(), std::uint64_t{0});
          }
          finish<W>(state, total);
        },
        baseline<W>());
  };
  add("mpp", {});
  add("mpp_dynamic", {.schedule = mpp::schedule::dynamic});
  return true;
}

template <class W>
bool tbb() {
  bench::contender(
      name<W>("tbb_parallel_for"),
      [](benchmark::State& state, int threads) {
        const auto& items = W::items();
        tbb::task_arena arena(threads);
        std::uint64_t total = 0;
        for (auto _ : state) {
          total = arena.execute([&] {
            return tbb::parallel_reduce(
                tbb::blocked_range<std::size_t>(0, items.size()), std::uint64_t{0},
                [&](const tbb::blocked_range<std::size_t>& r, std::uint64_t sum) {
                  for (std::size_t i = r.begin(); i != r.end(); ++i) sum += W::f(items[i]);
                  return sum;
                },
                std::plus<>());
          });
        }
        finish<W>(state, total);
      },
      baseline<W>());
  return true;
}

enum class Omp { static_, dynamic, guided };

template <class W, Omp kind>
void omp_run(benchmark::State& state, int threads) {
  const auto& items = W::items();
  const auto n = static_cast<std::ptrdiff_t>(items.size());
  std::uint64_t total = 0;
  for (auto _ : state) {
    std::uint64_t sum = 0;
    if constexpr (kind == Omp::static_) {
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : sum)
      for (std::ptrdiff_t i = 0; i < n; ++i) sum += W::f(items[i]);
    } else if constexpr (kind == Omp::dynamic) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(+ : sum)
      for (std::ptrdiff_t i = 0; i < n; ++i) sum += W::f(items[i]);
    } else {
#pragma omp parallel for num_threads(threads) schedule(guided, 1) reduction(+ : sum)
      for (std::ptrdiff_t i = 0; i < n; ++i) sum += W::f(items[i]);
    }
    total = sum;
  }
  finish<W>(state, total);
}

template <class W>
bool omp() {
  bench::contender(name<W>("omp_static"), omp_run<W, Omp::static_>, baseline<W>());
  bench::contender(name<W>("omp_dynamic,1"), omp_run<W, Omp::dynamic>, baseline<W>());
  bench::contender(name<W>("omp_guided,1"), omp_run<W, Omp::guided>, baseline<W>());
  return true;
}

template <class W>
bool asio() {
  bench::contender(
      name<W>("asio_post_future"),
      [](benchmark::State& state, int threads) {
        const auto& items = W::items();
        boost::asio::thread_pool pool(static_cast<std::size_t>(threads));
        std::vector<std::future<std::uint64_t>> futures;
        std::uint64_t total = 0;
        for (auto _ : state) {
          futures.clear();
          for (const auto& item : items) {
            futures.push_back(
                boost::asio::post(pool, boost::asio::use_future([&item] { return W::f(item); })));
          }
          total = 0;
          for (auto& f : futures) total += f.get();
        }
        pool.join();
        finish<W>(state, total);
      },
      baseline<W>());
  return true;
}

template <class W>
bool async() {
  bench::contender(
      name<W>("std_async"),
      [](benchmark::State& state, int threads) {
        const auto& items = W::items();
        std::vector<std::future<std::uint64_t>> futures;
        std::uint64_t total = 0;
        for (auto _ : state) {
          futures.clear();
          for (int t = 0; t < threads; ++t) {
            // Items round-robin over the threads: a hand-balanced split.
            futures.push_back(std::async(std::launch::async, [&, t] {
              std::uint64_t sum = 0;
              for (std::size_t i = static_cast<std::size_t>(t); i < items.size();
                   i += static_cast<std::size_t>(threads)) {
                sum += W::f(items[i]);
              }
              return sum;
            }));
          }
          total = 0;
          for (auto& f : futures) total += f.get();
        }
        finish<W>(state, total);
      },
      baseline<W>());
  return true;
}

}  // namespace bench::map_reduce
