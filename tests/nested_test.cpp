// Tasks may use their own pool: call map inside a task, submit with apply_async and wait with
// get(), recurse. This never deadlocks, even at Pool(1): a thread of the pool that waits for a task
// nobody has started runs that task itself. (Python's processes cannot do this; a thread pool
// should.) Every wait below is bounded, so a deadlock shows as a failure.

#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <mpp/mpp.hpp>
#include <numeric>
#include <ranges>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

long long fib_reference(int n) {
  return n < 2 ? n : fib_reference(n - 1) + fib_reference(n - 2);
}

// Recursive Fibonacci where every call below the cutoff is a task of `pool` waited for by get().
long long fib(mpp::Pool& pool, int n) {
  if (n < 2) return n;
  auto a = pool.apply_async(fib, std::ref(pool), n - 1);
  auto b = pool.apply_async(fib, std::ref(pool), n - 2);
  return a.get() + b.get();
}

}  // namespace

TEST_CASE("recursive fib with apply_async and get() inside tasks does not deadlock") {
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto r = pool.apply_async(fib, std::ref(pool), 16);
    REQUIRE(r.wait(mpp_test::patience));
    CHECK(r.get() == fib_reference(16));
    // Also when the top-level call is made directly by the caller.
    CHECK(fib(pool, 12) == fib_reference(12));
  }
}

TEST_CASE("waiting inside a task for a pending task of the same pool runs it on that thread") {
  mpp::Pool pool(1);
  // At one thread the awaited task can only run if the waiting task runs it.
  auto outer = pool.apply_async([&] {
    const auto here = std::this_thread::get_id();
    auto inner = pool.apply_async([] { return std::this_thread::get_id(); });
    return inner.get() == here;
  });
  REQUIRE(outer.wait(mpp_test::patience));
  CHECK(outer.get());

  // The same with wait(timeout) and get(timeout).
  auto timed = pool.apply_async([&] {
    auto inner = pool.apply_async([] { return 3; });
    bool ready = inner.wait(mpp_test::patience);
    return ready ? inner.get(mpp_test::patience) : -1;
  });
  REQUIRE(timed.wait(mpp_test::patience));
  CHECK(timed.get() == 3);
}

TEST_CASE("map inside a task of the same pool") {
  for (int threads : {1, 2}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto r = pool.apply_async([&] {
      auto squares = pool.map([](int x) { return x * x; }, std::views::iota(0, 1'000));
      return std::accumulate(squares.begin(), squares.end(), 0LL);
    });
    REQUIRE(r.wait(mpp_test::patience));
    CHECK(r.get() == 332'833'500LL);
  }
}

TEST_CASE("map inside map items, two levels deep") {
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto rows = pool.map(
        [&](int i) {
          auto row = pool.map([i](int j) { return i * j; }, std::views::iota(0, 50));
          return std::accumulate(row.begin(), row.end(), 0);
        },
        std::views::iota(0, 50), {.chunksize = 1});
    for (int i = 0; i < 50; ++i) CHECK(rows[static_cast<std::size_t>(i)] == i * 1'225);
  }
}

TEST_CASE("apply_async(...).get() inside map items does not deadlock") {
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto r = pool.map_async(
        [&](int x) { return pool.apply_async([](int y) { return y + 1; }, x).get(); },
        std::views::iota(0, 2'000), {.chunksize = 1});
    REQUIRE(r.wait(mpp_test::patience));
    const auto& out = r.get();
    for (int x = 0; x < 2'000; ++x) CHECK(out[static_cast<std::size_t>(x)] == x + 1);
  }
}

TEST_CASE("map_async(...).get() and imap inside a task of the same pool") {
  for (int threads : {1, 2}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto r = pool.apply_async([&] {
      auto inner = pool.map_async([](int x) { return x; }, std::views::iota(0, 100));
      int total = 0;
      for (int x : inner.get()) total += x;
      for (int x : pool.imap([](int x) { return x; }, std::views::iota(0, 100), {.chunksize = 7})) {
        total += x;
      }
      for (int x : pool.imap_unordered([](int x) { return x; }, std::views::iota(0, 100))) {
        total += x;
      }
      return total;
    });
    REQUIRE(r.wait(mpp_test::patience));
    CHECK(r.get() == 3 * 4'950);
  }
}

TEST_CASE("every thread of the pool blocked in a nested wait still makes progress") {
  // Each of the n running tasks waits for a task it submits; none of those can find a free thread,
  // so each waiter has to run its own.
  for (int threads : {1, 2, 3}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    mpp_test::Rendezvous all(threads);
    std::vector<mpp::AsyncResult<int>> rs;
    for (int i = 0; i < threads; ++i) {
      rs.push_back(pool.apply_async([&, i] {
        all.arrive_and_wait();  // all threads are now busy
        return pool.apply_async([i] { return i * 10; }).get();
      }));
    }
    for (int i = 0; i < threads; ++i) {
      REQUIRE(rs[static_cast<std::size_t>(i)].wait(mpp_test::patience));
      CHECK(rs[static_cast<std::size_t>(i)].get() == i * 10);
    }
  }
}
