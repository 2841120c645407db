// Stress: 100,000 tasks and map items at 1, 2, 4 and 8 threads (more threads than this machine's
// cores on purpose). Every result must be delivered exactly once, to the right place.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <mpp/mpp.hpp>
#include <ranges>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

constexpr int n = 100'000;
constexpr int thread_counts[] = {1, 2, 4, 8};

// Counts, per index, how many times something happened; `exactly_once` checks every count is 1.
class Tally {
 public:
  explicit Tally(int size) : counts_(static_cast<std::size_t>(size)) {}
  void hit(int i) { counts_[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed); }
  int wrong() const {
    int bad = 0;
    for (const auto& c : counts_) bad += c.load(std::memory_order_relaxed) != 1;
    return bad;
  }

 private:
  std::vector<std::atomic<int>> counts_;
};

std::uint64_t mix(int i) {
  auto x = static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull;
  return x ^ (x >> 29);
}

}  // namespace

TEST_CASE("stress: 100,000 apply_async tasks, each result delivered exactly once") {
  for (int threads : thread_counts) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    Tally ran(n);
    std::vector<mpp::AsyncResult<std::uint64_t>> results;
    results.reserve(n);
    for (int i = 0; i < n; ++i) {
      results.push_back(pool.apply_async(
          [&ran](int x) {
            ran.hit(x);
            return mix(x);
          },
          i));
    }
    int wrong_values = 0;
    for (int i = 0; i < n; ++i)
      wrong_values += results[static_cast<std::size_t>(i)].get() != mix(i);
    CHECK(wrong_values == 0);
    CHECK(ran.wrong() == 0);
  }
}

TEST_CASE("stress: 100,000 callbacks, each called exactly once") {
  for (int threads : thread_counts) {
    INFO("threads = " << threads);
    Tally called(n);
    {
      mpp::Pool pool(threads);
      for (int i = 0; i < n; ++i) {
        (void)pool.apply_async(
            mpp::callbacks([&called](int x) { called.hit(x); }), [](int x) { return x; }, i);
      }
    }  // the destructor waits for all of them
    CHECK(called.wrong() == 0);
  }
}

TEST_CASE("stress: a map of 100,000 items, each item run once and its result in place") {
  for (int threads : thread_counts) {
    for (auto s : {mpp::schedule::adaptive, mpp::schedule::static_, mpp::schedule::dynamic,
                   mpp::schedule::python}) {
      for (std::size_t chunksize : {std::size_t{0}, std::size_t{1}, std::size_t{97}}) {
        INFO("threads = " << threads << ", schedule = " << static_cast<int>(s)
                          << ", chunksize = " << chunksize);
        mpp::Pool pool(threads);
        Tally ran(n);
        mpp::MapOptions options{.schedule = s};
        if (chunksize != 0) options.chunksize = chunksize;
        auto out = pool.map(
            [&ran](int x) {
              ran.hit(x);
              return mix(x);
            },
            std::views::iota(0, n), options);
        REQUIRE(out.size() == static_cast<std::size_t>(n));
        int wrong_values = 0;
        for (int i = 0; i < n; ++i) wrong_values += out[static_cast<std::size_t>(i)] != mix(i);
        CHECK(wrong_values == 0);
        CHECK(ran.wrong() == 0);
      }
    }
  }
}

TEST_CASE("stress: 100,000 items through imap and imap_unordered") {
  for (int threads : thread_counts) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    {
      int position = 0;
      int wrong = 0;
      for (auto r :
           pool.imap([](int x) { return mix(x); }, std::views::iota(0, n), {.chunksize = 8})) {
        wrong += r != mix(position++);
      }
      CHECK(position == n);
      CHECK(wrong == 0);
    }
    {
      Tally delivered(n);
      for (int x :
           pool.imap_unordered([](int x) { return x; }, std::views::iota(0, n), {.chunksize = 8})) {
        delivered.hit(x);
      }
      CHECK(delivered.wrong() == 0);
    }
  }
}

TEST_CASE("stress: four threads submitting 25,000 tasks each to one pool") {
  for (int threads : thread_counts) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    Tally ran(n);
    constexpr int submitters = 4;
    std::atomic<int> wrong{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < submitters; ++t) {
      ts.emplace_back([&, t] {
        std::vector<mpp::AsyncResult<int>> rs;
        rs.reserve(n / submitters);
        for (int i = t; i < n; i += submitters) {
          rs.push_back(pool.apply_async(
              [&ran](int x) {
                ran.hit(x);
                return x;
              },
              i));
        }
        int k = t;
        for (auto& r : rs) {
          wrong += r.get() != k;
          k += submitters;
        }
      });
    }
    for (auto& t : ts) t.join();
    CHECK(wrong == 0);
    CHECK(ran.wrong() == 0);
  }
}

TEST_CASE("stress: many short-lived pools") {
  std::atomic<int> total{0};
  for (int round = 0; round < 200; ++round) {
    mpp::Pool pool(1 + round % 4);
    (void)pool.apply_async([&] { ++total; });
    (void)pool.map([&](int) { return ++total; }, std::views::iota(0, 10));
    if (round % 3 == 0) pool.terminate();
  }
  // Maps always finish; a task may be cancelled by terminate() before it starts.
  CHECK(total <= 200 * 11);
  CHECK(total >= 200 * 10);
}
